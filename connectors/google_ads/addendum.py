"""Google Ads budget addendums (`set_budgets`): plan and verify the signed addendum's budgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adoffboard.connectors.addendum import parse_budget_change, split_monthly
from adoffboard.connectors.base import StepDraft, Verdict
from adoffboard.connectors.google_ads.planning import AccountState, Campaign, money
from adoffboard.errors import InputError
from adoffboard.models import Change, CheckStatus


def _active_budgets(state: AccountState) -> tuple[dict[str, list[Campaign]], list[str]]:
    users: dict[str, list[Campaign]] = {}
    notes = []
    for c in state.campaigns:
        if c.status == "ENABLED" and c.automatable and c.budget_id:
            budget = state.budgets[c.budget_id]
            if budget.period == "CUSTOM_PERIOD":
                notes.append(
                    f"{c.name!r} runs on a custom-period budget: not part of the monthly split"
                )
                continue
            users.setdefault(c.budget_id, []).append(c)
    return users, notes


def target_amounts(
    state: AccountState, params: Mapping[str, Any]
) -> tuple[dict[str, int], list[str]]:
    change = parse_budget_change(params.get("budget_change"))
    users, notes = _active_budgets(state)
    floors = {
        bid: state.budget_floor(state.budgets[bid], cs) or state.billable_unit_micros
        for bid, cs in users.items()
    }
    if change.monthly_total_micros is not None:
        current = {bid: state.budgets[bid].amount_micros for bid in users}
        split = split_monthly(
            current, change.monthly_total_micros, unit=state.billable_unit_micros, floor=0
        )
        raised = [bid for bid, amount in split.items() if amount < floors[bid]]
        notes += [f"{state.budgets[b].name!r} raised to the platform floor" for b in raised]
        return {bid: max(amount, floors[bid]) for bid, amount in split.items()}, notes
    by_key = {c.id: c for cs in users.values() for c in cs}
    by_key.update({c.name: c for cs in users.values() for c in cs})
    targets: dict[str, int] = {}
    for key, micros in change.campaigns:
        campaign = by_key.get(key)
        if campaign is None:
            raise InputError(
                f"budget change names {key!r}, which is not an active campaign of "
                f"Google Ads account {state.customer_id}"
            )
        unit = state.billable_unit_micros
        amount = max(micros - micros % unit, floors[campaign.budget_id])
        previous = targets.get(campaign.budget_id)
        if previous is not None and previous != amount:
            raise InputError(
                f"campaigns sharing budget {state.budgets[campaign.budget_id].name!r}"
                " were given different amounts: give the shared budget one amount"
            )
        targets[campaign.budget_id] = amount
    return targets, notes


def plan_set_budgets(state: AccountState, params: Mapping[str, Any], step_id: str) -> StepDraft:
    targets, notes = target_amounts(state, params)
    changes = []
    for bid, after in sorted(targets.items()):
        budget = state.budgets[bid]
        if budget.amount_micros == after:
            continue
        changes.append(
            Change(
                id=f"google_ads:{state.customer_id}:campaign_budget:{bid}:amount_micros",
                step_id=step_id,
                platform="google_ads",
                account=state.customer_id,
                entity_type="campaign_budget",
                entity_id=bid,
                name=budget.name,
                field="amount_micros",
                before=budget.amount_micros,
                after=after,
                shown_before=f"{money(budget.amount_micros, state.currency)}/day",
                shown_after=f"{money(after, state.currency)}/day",
                resource=f"customers/{state.customer_id}/campaignBudgets/{bid}",
            )
        )
    return StepDraft(tuple(changes), (), tuple(notes))


def verify_set_budgets(state: AccountState, params: Mapping[str, Any]) -> Verdict:
    """PASS when every active budget is within one billable unit of the addendum's amount."""
    targets, _ = target_amounts(state, params)
    unit = state.billable_unit_micros
    off = [
        (bid, amount)
        for bid, amount in targets.items()
        if abs(state.budgets[bid].amount_micros - amount) > unit
    ]
    if off:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(off)} budget(s) differ from the addendum",
            tuple(
                f"{state.budgets[b].name}: "
                f"{money(state.budgets[b].amount_micros, state.currency)} "
                f"(addendum: {money(a, state.currency)})"
                for b, a in off[:20]
            ),
        )
    return Verdict(CheckStatus.PASS, f"{len(targets)} budget(s) match the addendum")
