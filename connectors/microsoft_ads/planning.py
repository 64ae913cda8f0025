"""Microsoft Advertising planning and judging: pure functions of the state the connector read.

Experiment campaigns (`ExperimentId` set) are never changed: "With experiment campaigns you
cannot set the Budget, BudgetType, or Status ... always inherited from the base campaign"
(campaign-management-service/campaign.md; updating them fails with 6133
ExperimentCampaignCannotBeUpdated), and "to pause an experiment, you must pause the base
campaign" (experiment.md). So a pause or budget step plans the base campaign only, says that the
experiment follows it, and verification judges each experiment by its base's live status. An
experiment whose base was not read becomes a manual item: pausing that base is what stops it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adoffboard.connectors.base import StepDraft, Verdict
from adoffboard.connectors.microsoft_ads.state import (
    DAILY_TYPES,
    PAUSED,
    RUNNING,
    AccountState,
    Campaign,
    SharedBudget,
    _change,
    money,
)
from adoffboard.models import Change, CheckStatus


def own_campaigns(state: AccountState) -> list[Campaign]:
    """The campaigns whose status and budget are their own (every one but experiments)."""
    return [c for c in state.campaigns if not c.experiment_id]


def base_of(state: AccountState, experiment: Campaign) -> Campaign | None:
    return next((c for c in state.campaigns if c.id and c.id == experiment.base_id), None)


def experiment_notes(state: AccountState) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(notes, manual items) about the experiment campaigns of the account."""
    notes: list[str] = []
    manual: list[str] = []
    for c in state.campaigns:
        if not c.experiment_id or c.status == "Deleted":
            continue
        base = base_of(state, c)
        if base is None:
            manual.append(
                f"Experiment campaign {c.name!r} ({c.id}) follows base campaign "
                f"{c.base_id or '(unknown)'}, which could not be read: pause that base campaign "
                "and lower its budget in the Microsoft Advertising UI (the experiment follows it)"
            )
        else:
            notes.append(
                f"{c.name!r} ({c.id}) is an experiment campaign: it follows its base campaign "
                f"{base.id} ({base.name!r}); its status and budget are the base's, not set on it"
            )
    return tuple(notes), tuple(manual)


def judged_status(state: AccountState, c: Campaign) -> str:
    """An experiment's status is its base's; any other campaign's is its own."""
    base = base_of(state, c) if c.experiment_id else None
    return base.status if base is not None else c.status


def plan_pause(state: AccountState, step_id: str) -> StepDraft:
    own = own_campaigns(state)
    changes = tuple(
        _change(
            state,
            "campaign",
            c.id,
            c.name,
            "Status",
            c.status,
            "Paused",
            (c.status, "Paused"),
            step_id,
        )
        for c in own
        if c.status in RUNNING
    )
    counts: dict[str, int] = {}
    for c in own:
        if c.status not in RUNNING:
            counts[c.status] = counts.get(c.status, 0) + 1
    notes = []
    if counts.get("Deleted"):
        notes.append(f"{counts['Deleted']} Deleted campaign(s) skipped")
    already = sum(n for s, n in counts.items() if s in PAUSED)
    if already:
        notes.append(f"{already} campaign(s) already paused")
    notes += [
        f"{c.name!r} ({c.id}) is Suspended by Microsoft Advertising: the API cannot pause "
        "it; left alone"
        for c in own
        if c.status == "Suspended"
    ]
    experiments, manual = experiment_notes(state)
    return StepDraft(changes, manual, (*notes, *experiments, *state.warnings))


def plan_budgets(state: AccountState, step_id: str) -> StepDraft:
    live = [c for c in own_campaigns(state) if c.status != "Deleted"]
    experiments, experiment_manual = experiment_notes(state)
    floor, cur = state.floor, state.currency
    if floor is None:
        over = [c for c in live if (c.daily_budget or 0) > 0.01 or c.budget_id]
        unknown = (
            (
                f"Set the daily budgets of {len(over)} campaign(s) to the lowest amount "
                f"Microsoft Advertising accepts in {cur or 'the account currency'} by hand: "
                "adoffboard has no documented minimum for that currency",
            )
            if over
            else ()
        )
        return StepDraft(manual_items=unknown, notes=(*experiments, *state.warnings))
    changes: list[Change] = []
    manual: list[str] = list(experiment_manual)
    notes: list[str] = []
    for c in live:
        if c.budget_id:
            continue
        if c.budget_type not in DAILY_TYPES:
            manual.append(
                f"{c.name!r} ({c.id}) has a {c.budget_type or 'unknown'} budget: "
                "lower or end it in the Microsoft Advertising UI"
            )
        elif c.daily_budget is not None and c.daily_budget > floor + 0.001:
            changes.append(
                _change(
                    state,
                    "campaign",
                    c.id,
                    c.name,
                    "DailyBudget",
                    c.daily_budget,
                    floor,
                    (money(c.daily_budget, cur), money(floor, cur)),
                    step_id,
                )
            )
    users: dict[str, list[Campaign]] = {}
    for c in live:
        if c.budget_id:
            users.setdefault(c.budget_id, []).append(c)
    for bid, campaigns in sorted(users.items()):
        budget = state.budgets.get(bid)
        if budget is None:
            manual.append(
                f"Shared budget {bid} (used by {len(campaigns)} campaign(s)) could "
                "not be read: set it to the minimum in the Shared Library by hand"
            )
            continue
        if budget.budget_type not in DAILY_TYPES:
            manual.append(
                f"Shared budget {budget.name!r} ({bid}) is {budget.budget_type}: "
                "lower it in the Shared Library by hand"
            )
            continue
        if budget.amount <= floor + 0.001:
            continue
        if len(campaigns) > 1:
            notes.append(
                f"shared budget {budget.name!r} is used by {len(campaigns)} campaigns: changed once"
            )
        changes.append(
            _change(
                state,
                "budget",
                bid,
                budget.name,
                "Amount",
                budget.amount,
                floor,
                (money(budget.amount, cur), money(floor, cur)),
                step_id,
            )
        )
    return StepDraft(tuple(changes), tuple(manual), (*notes, *experiments, *state.warnings))


def verify_pause(state: AccountState) -> Verdict:
    running = [c for c in state.campaigns if judged_status(state, c) in RUNNING]
    evidence = tuple(
        f"{c.name} ({c.id}): follows base campaign {c.base_id}, {judged_status(state, c)}"
        if c.experiment_id
        else f"{c.name} ({c.id}): {c.status}"
        for c in running[:20]
    )
    if running:
        return Verdict(
            CheckStatus.FAIL, f"{len(running)} campaign(s) still running", evidence + state.warnings
        )
    through_base = sum(1 for c in state.campaigns if c.experiment_id and base_of(state, c))
    judged = f"; {through_base} experiment campaign(s) judged by their base" if through_base else ""
    return Verdict(
        CheckStatus.PASS,
        f"no Active or BudgetPaused campaign ({len(state.campaigns)} checked{judged})",
        state.warnings,
    )


def verify_budgets(state: AccountState) -> Verdict:
    draft = plan_budgets(state, "verify")
    if draft.changes:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(draft.changes)} budget(s) above the {state.currency} minimum",
            tuple(f"{c.name}: {c.shown_before}" for c in draft.changes[:20]) + state.warnings,
        )
    if draft.manual_items:
        return Verdict(CheckStatus.MANUAL_PENDING, "; ".join(draft.manual_items), state.warnings)
    checked = sum(1 for c in own_campaigns(state) if c.status != "Deleted")
    return Verdict(
        CheckStatus.PASS,
        f"every daily budget at the {state.currency} minimum "
        f"({checked} campaign(s), {len(state.budgets)} shared budget(s) checked)",
        state.warnings,
    )


def _settable(status: str) -> str:
    """The status to send: the platform sets BudgetPaused by itself (a restore sends Active)."""
    return "Active" if status in RUNNING else "Paused" if status in PAUSED else status


def _status_view(status: Any) -> Any:
    """Active and BudgetPaused are one state for drift: the platform moves between them as
    budgets run out and reset. Paused and BudgetAndManualPaused are both 'paused by us'."""
    if status in RUNNING:
        return "running"
    if status in PAUSED:
        return "Paused"
    return status


def live_values(
    changes: Sequence[Change], campaigns: Sequence[Campaign], budgets: Mapping[str, SharedBudget]
) -> dict[str, Any]:
    by_id = {c.id: c for c in campaigns}
    live: dict[str, Any] = {}
    for ch in changes:
        if ch.entity_type == "budget":
            b = budgets.get(ch.entity_id)
            live[ch.id] = b.amount if b else None
            continue
        c = by_id.get(ch.entity_id)
        if c is None:
            live[ch.id] = None
        elif c.status == "Deleted":  # deleted since the plan: nothing left to change
            live[ch.id] = "Deleted"
        elif ch.field == "Status":
            live[ch.id] = c.status
        else:
            live[ch.id] = f"shared budget {c.budget_id}" if c.budget_id else c.daily_budget
    return live
