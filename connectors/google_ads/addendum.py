"""Google Ads budget addendums (`set_budgets`): plan and verify the signed addendum's budgets.

The allocation over every platform is `connectors.addendum.allocate`; this module describes the
account's budgets to it (`planning.budget_lines`: each enabled campaign's budget, a shared one once;
custom-period budgets are left out) and turns Google Ads' part into changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adoffboard.connectors.addendum import Allocation, allocate
from adoffboard.connectors.base import NO_CONTEXT, StepContext, StepDraft, Verdict
from adoffboard.connectors.google_ads.planning import PLATFORM, AccountState, money
from adoffboard.models import Change, CheckStatus


def _allocation(state: AccountState, params: Mapping[str, Any], ctx: StepContext) -> Allocation:
    return allocate(params.get("budget_change"), {**ctx.states, PLATFORM: state}, PLATFORM)


def target_amounts(
    state: AccountState, params: Mapping[str, Any], ctx: StepContext = NO_CONTEXT
) -> tuple[dict[str, int], list[str]]:
    allocation = _allocation(state, params, ctx)
    return allocation.of(PLATFORM), list(allocation.notes)


def plan_set_budgets(
    state: AccountState, params: Mapping[str, Any], step_id: str, ctx: StepContext = NO_CONTEXT
) -> StepDraft:
    targets, notes = target_amounts(state, params, ctx)
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


def verify_set_budgets(
    state: AccountState, params: Mapping[str, Any], ctx: StepContext = NO_CONTEXT
) -> Verdict:
    """PASS when every active budget is the addendum's amount (within the rounding of the
    billable unit)."""
    allocation = _allocation(state, params, ctx)
    lines = {line.key: line for line in allocation.lines if line.platform == PLATFORM}
    targets = allocation.of(PLATFORM)
    off = [
        (bid, amount)
        for bid, amount in targets.items()
        if abs(state.budgets[bid].amount_micros - amount) > allocation.tolerance(lines[bid])
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
