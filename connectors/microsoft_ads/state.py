"""Microsoft Advertising's state as the connector reads it, and what planning shares: the
currency minimums, campaign statuses, the shape of a change, and the account's budgets as a
budget addendum sets them (`budget_lines`: the daily budget of each running campaign that has its
own, each shared budget once; lifetime budgets and experiment campaigns, whose budget is their
base campaign's, are left out, with a note)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adoffboard.connectors.addendum import BudgetLine, BudgetLines
from adoffboard.models import Change

PLATFORM = "microsoft_ads"
# The lowest daily budget Microsoft Advertising accepts, per account currency (Microsoft
# Advertising help, "Currencies and minimum budgets"; USD 0.05 confirmed in the API's
# Campaign.DailyBudget reference). Every value is at or above the equivalent of $0.01, so it
# is the "$.01" of the checklist. A currency not listed becomes a manual item, never a guess.
MIN_DAILY_BUDGET: Mapping[str, float] = {
    "USD": 0.05,
    "EUR": 0.05,
    "GBP": 0.05,
    "CAD": 0.05,
    "AUD": 0.05,
    "INR": 0.82,
    "CNY": 30.0,
}
RUNNING = frozenset({"Active", "BudgetPaused"})  # the platform moves between these by itself
PAUSED = frozenset({"Paused", "BudgetAndManualPaused"})
DAILY_TYPES = frozenset({"DailyBudgetStandard", "DailyBudgetAccelerated"})
MICROS = 1_000_000
CENT = 10_000  # the API takes amounts with two decimals


# --- state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    status: str
    campaign_type: str
    budget_type: str
    daily_budget: float | None
    budget_id: str  # "" unless the campaign uses a shared budget
    experiment_id: str = ""  # set on an experiment campaign: its status and budget are its base's
    base_id: str = ""  # an experiment's base campaign (GetExperimentsByIds), when it was read
    bidding: str = ""  # the BiddingScheme type (ManualCpv, ManualCpm, EnhancedCpc, ...)


@dataclass(frozen=True)
class SharedBudget:
    id: str
    name: str
    amount: float
    budget_type: str
    association_count: int


@dataclass(frozen=True)
class AccountState:
    account_id: str
    customer_id: str
    name: str
    currency: str
    campaigns: tuple[Campaign, ...]
    budgets: Mapping[str, SharedBudget]
    read_at: dt.datetime
    # what the read could not do as asked and said so (a campaign type the service refused)
    warnings: tuple[str, ...] = ()

    @property
    def floor(self) -> float | None:
        return MIN_DAILY_BUDGET.get(self.currency)

    def budget_lines(self) -> BudgetLines:
        """The budgets a budget addendum sets."""
        return budget_lines(self)


def money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}/day"


def same_amount(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 0.005
    return bool(a == b)


def _change(
    state: AccountState,
    kind: str,
    entity_id: str,
    name: str,
    fld: str,
    before: Any,
    after: Any,
    shown: tuple[str, str],
    step_id: str,
) -> Change:
    return Change(
        id=f"{PLATFORM}:{state.account_id}:{kind}:{entity_id}:{fld}",
        step_id=step_id,
        platform=PLATFORM,
        account=state.account_id,
        entity_type=kind,
        entity_id=entity_id,
        name=name,
        field=fld,
        before=before,
        after=after,
        shown_before=shown[0],
        shown_after=shown[1],
        resource=f"accounts/{state.account_id}/{kind}s/{entity_id}",
    )


def _micros(amount: float) -> int:
    return round(amount * MICROS)


def budget_lines(state: AccountState) -> BudgetLines:
    where = f"Microsoft Advertising account {state.account_id}"
    floor = _micros(state.floor) if state.floor is not None else CENT
    notes: list[str] = []
    if state.floor is None:
        notes.append(
            f"no documented minimum daily budget for {state.currency or 'the account currency'}: "
            "Microsoft Advertising may refuse the lowest amounts"
        )
    lines: list[BudgetLine] = []
    shared: dict[str, list[Campaign]] = {}
    for c in state.campaigns:
        if c.status not in RUNNING:
            continue
        if c.experiment_id:
            notes.append(
                f"{c.name!r} is an experiment campaign: its budget is its base campaign's "
                f"{c.base_id or ''}".rstrip()
            )
            continue
        if c.budget_id:
            shared.setdefault(c.budget_id, []).append(c)
        elif c.budget_type not in DAILY_TYPES or c.daily_budget is None:
            notes.append(
                f"{c.name!r} has a {c.budget_type or 'unknown'} budget: not part of the addendum"
            )
        else:
            lines.append(
                BudgetLine(
                    PLATFORM,
                    where,
                    f"campaign:{c.id}",
                    c.name,
                    ((c.id, c.name),),
                    _micros(c.daily_budget),
                    floor,
                    CENT,
                    state.currency,
                )
            )
    for bid, users in sorted(shared.items()):
        budget = state.budgets.get(bid)
        if budget is None or budget.budget_type not in DAILY_TYPES:
            what = "could not be read" if budget is None else f"is {budget.budget_type}"
            notes.append(f"shared budget {bid} {what}: not part of the addendum")
            continue
        lines.append(
            BudgetLine(
                PLATFORM,
                where,
                f"budget:{bid}",
                budget.name,
                tuple((c.id, c.name) for c in users),
                _micros(budget.amount),
                floor,
                CENT,
                state.currency,
            )
        )
    return BudgetLines(PLATFORM, where, tuple(lines), tuple(notes))
