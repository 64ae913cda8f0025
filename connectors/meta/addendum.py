"""Meta budget addendums (`set_budgets`): the signed addendum's daily budgets.

Meta holds a campaign's daily budget in one of two places: on the campaign itself (campaign budget
optimization, `daily_budget` on the campaign), or, when the campaign has none, on each of its ad
sets. `planning.budget_lines` describes every ACTIVE campaign's daily budget to
`connectors.addendum.allocate` as one line; an amount for a campaign whose ad sets hold its budget
is split over its ACTIVE ad sets in proportion to their current budgets. Lifetime budgets (no
`daily_budget` anywhere) are left out, with a note.

Amounts travel in the account currency's minor units, as the Graph API takes `daily_budget`
(cents for USD: offset 100; currencies without minor units, such as JPY, offset 1), and never
below the currency's minimum daily budget for an ad set (`MIN_DAILY_BUDGET`): a campaign's floor
is that minimum for each of its ad sets that holds a budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adoffboard.connectors.addendum import Allocation, allocate
from adoffboard.connectors.base import NO_CONTEXT, StepContext, StepDraft, Verdict
from adoffboard.connectors.meta.planning import (
    MIN_DAILY_BUDGET,
    PLATFORM,
    MetaAdSet,
    MetaState,
    _budget_adsets,
    _change,
    _money,
    unit_micros,
)
from adoffboard.models import Change, CheckStatus


def _allocation(state: MetaState, params: Mapping[str, Any], ctx: StepContext) -> Allocation:
    return allocate(params.get("budget_change"), {**ctx.states, PLATFORM: state}, PLATFORM)


def _split(state: MetaState, adsets: list[MetaAdSet], total: int) -> dict[str, int]:
    """A campaign's amount (minor units) over its ad sets, in proportion to their budgets, each
    rounded down and at least the minimum."""
    minimum = MIN_DAILY_BUDGET.get(state.currency, 1)
    current = sum(s.daily_budget or 0 for s in adsets)
    return {
        s.id: max(minimum, int(Decimal(total) * (s.daily_budget or 0) / current)) for s in adsets
    }


def targets(state: MetaState, allocation: Allocation) -> dict[tuple[str, str], int]:
    """(entity type, id) -> daily budget in minor units, for Meta's part of the allocation."""
    unit = unit_micros(state.currency)
    out: dict[tuple[str, str], int] = {}
    for key, micros in allocation.of(PLATFORM).items():
        kind, _, cid = key.partition(":")
        if kind == "campaign":
            out[("campaign", cid)] = micros // unit
        else:
            split = _split(state, _budget_adsets(state, cid), micros // unit)
            out.update((("adset", sid), amount) for sid, amount in split.items())
    return out


def _current(state: MetaState, kind: str, oid: str) -> tuple[str, int, str]:
    """(name, daily budget, resource) of a campaign or ad set."""
    if kind == "campaign":
        c = next(c for c in state.campaigns if c.id == oid)
        return c.name, c.daily_budget or 0, oid
    s = next(s for s in state.adsets if s.id == oid)
    return s.name, s.daily_budget or 0, f"{oid} (campaign {s.campaign_id})"


def plan_set_budgets(
    state: MetaState, params: Mapping[str, Any], step_id: str, ctx: StepContext = NO_CONTEXT
) -> StepDraft:
    allocation = _allocation(state, params, ctx)
    changes: list[Change] = []
    cur = state.currency
    for (kind, oid), after in sorted(targets(state, allocation).items()):
        name, before, resource = _current(state, kind, oid)
        if before == after:
            continue
        changes.append(
            _change(
                state,
                step_id,
                kind,
                oid,
                name,
                "daily_budget",
                before,
                after,
                (_money(before, cur), _money(after, cur)),
                resource=resource,
            )
        )
    return StepDraft(tuple(changes), (), allocation.notes)


def verify_set_budgets(
    state: MetaState, params: Mapping[str, Any], ctx: StepContext = NO_CONTEXT
) -> Verdict:
    if not state.reachable:
        return Verdict(CheckStatus.FAIL, f"the agency cannot read {state.ad_account_id}")
    allocation = _allocation(state, params, ctx)
    unit = unit_micros(state.currency)
    tolerance = max(
        (allocation.tolerance(line) for line in allocation.lines if line.platform == PLATFORM),
        default=unit,
    )
    wanted = targets(state, allocation)
    off = []
    for (kind, oid), amount in sorted(wanted.items()):
        name, live, _ = _current(state, kind, oid)
        if abs(live - amount) * unit > tolerance:
            off.append(
                f"{kind} {name}: {_money(live, state.currency)} "
                f"(addendum: {_money(amount, state.currency)})"
            )
    if off:
        return Verdict(
            CheckStatus.FAIL, f"{len(off)} budget(s) differ from the addendum", tuple(off[:20])
        )
    return Verdict(CheckStatus.PASS, f"{len(wanted)} budget(s) match the addendum")
