"""Microsoft Advertising budget addendums (`set_budgets`): the signed addendum's daily budgets.

The account's budgets, as `connectors.addendum.allocate` spreads them (`state.budget_lines`):
the daily budget of each running campaign (Active or BudgetPaused) that has its own, and each
shared budget (`BudgetId` set on its campaigns) once, changed on itself through `UpdateBudgets` (a
campaign-level change of a campaign that uses one fails with error 1159). Lifetime budgets are
left out (a note says so). Amounts are in the account currency with cents, never below the
currency's minimum daily budget (`MIN_DAILY_BUDGET`, the one `budgets_to_floor` uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adoffboard.connectors.addendum import Allocation, allocate
from adoffboard.connectors.base import NO_CONTEXT, StepContext, StepDraft, Verdict
from adoffboard.connectors.microsoft_ads.state import (
    MICROS,
    PLATFORM,
    AccountState,
    _change,
    _micros,
    money,
)
from adoffboard.models import Change, CheckStatus


def _allocation(state: AccountState, params: Mapping[str, Any], ctx: StepContext) -> Allocation:
    return allocate(params.get("budget_change"), {**ctx.states, PLATFORM: state}, PLATFORM)


def _current(state: AccountState, key: str) -> tuple[str, str, float]:
    """(entity type, name, amount) of a budget line's key."""
    kind, _, entity_id = key.partition(":")
    if kind == "budget":
        budget = state.budgets[entity_id]
        return kind, budget.name, budget.amount
    campaign = next(c for c in state.campaigns if c.id == entity_id)
    return kind, campaign.name, float(campaign.daily_budget or 0.0)


def plan_set_budgets(
    state: AccountState, params: Mapping[str, Any], step_id: str, ctx: StepContext = NO_CONTEXT
) -> StepDraft:
    allocation = _allocation(state, params, ctx)
    changes: list[Change] = []
    for key, micros in sorted(allocation.of(PLATFORM).items()):
        kind, name, before = _current(state, key)
        after = round(micros / MICROS, 2)
        if _micros(before) == micros:
            continue
        changes.append(
            _change(
                state,
                kind,
                key.partition(":")[2],
                name,
                "Amount" if kind == "budget" else "DailyBudget",
                before,
                after,
                (money(before, state.currency), money(after, state.currency)),
                step_id,
            )
        )
    return StepDraft(tuple(changes), (), allocation.notes)


def verify_set_budgets(
    state: AccountState, params: Mapping[str, Any], ctx: StepContext = NO_CONTEXT
) -> Verdict:
    allocation = _allocation(state, params, ctx)
    lines = {line.key: line for line in allocation.lines if line.platform == PLATFORM}
    targets = allocation.of(PLATFORM)
    off = []
    for key, micros in sorted(targets.items()):
        _, name, live = _current(state, key)
        if abs(_micros(live) - micros) > allocation.tolerance(lines[key]):
            off.append(
                f"{name}: {money(live, state.currency)} "
                f"(addendum: {money(micros / MICROS, state.currency)})"
            )
    if off:
        return Verdict(
            CheckStatus.FAIL, f"{len(off)} budget(s) differ from the addendum", tuple(off[:20])
        )
    return Verdict(CheckStatus.PASS, f"{len(targets)} budget(s) match the addendum")
