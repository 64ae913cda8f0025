"""Google Ads planning and judging, pure: from the state `connector` reads to the changes a step
needs (pausing, budgets to the floor, hiding and ending the manager link), no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adoffboard.connectors.addendum import BudgetLine, BudgetLines
from adoffboard.connectors.base import StepDraft, Verdict
from adoffboard.connectors.google_ads.declaration import show_google_ads_id
from adoffboard.models import Change, CheckStatus, Phase

PLATFORM = "google_ads"
USD_CENT_MICROS = 10_000
# Demand Gen campaigns refuse daily budgets under the equivalent of USD 5.
DEMAND_GEN_MIN_MICROS = {
    "USD": 5_000_000,
    "CAD": 7_000_000,
    "AUD": 8_000_000,
    "EUR": 5_000_000,
    "GBP": 4_000_000,
}
SCRIPT_CLIENTS = ("GOOGLE_ADS_SCRIPTS", "GOOGLE_ADS_AUTOMATED_RULE")


# --- state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    id: str
    name: str
    period: str
    amount_micros: int
    total_amount_micros: int
    explicitly_shared: bool
    reference_count: int

    @property
    def field(self) -> str:
        return "total_amount_micros" if self.period == "CUSTOM_PERIOD" else "amount_micros"

    @property
    def value(self) -> int:
        return self.total_amount_micros if self.period == "CUSTOM_PERIOD" else self.amount_micros


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    status: str
    channel: str
    experiment_type: str
    budget_id: str

    @property
    def automatable(self) -> bool:
        return self.experiment_type in ("BASE", "UNSPECIFIED", "") and self.channel != "VIDEO"


@dataclass(frozen=True)
class ClientLink:
    manager_link_id: str
    status: str
    hidden: bool


@dataclass(frozen=True)
class AccountState:
    customer_id: str
    manager_id: str
    name: str
    currency: str
    billable_unit_micros: int
    campaigns: tuple[Campaign, ...]
    budgets: Mapping[str, Budget]
    link: ClientLink | None
    read_at: dt.datetime
    time_zone: str = "UTC"  # change history speaks the account's local time
    reachable: bool = True  # False once the agency's own access was removed (link ended)

    def budget_lines(self) -> BudgetLines:
        """The budgets a budget addendum sets (`connectors.google_ads.addendum`)."""
        return budget_lines(self)

    def budget_floor(self, budget: Budget, campaigns: Iterable[Campaign]) -> int | None:
        """The lowest amount the platform accepts at or above 0.01 of the account's currency."""
        unit = self.billable_unit_micros
        floor = -(-max(unit, USD_CENT_MICROS) // unit) * unit
        if any(c.channel == "DEMAND_GEN" for c in campaigns):
            minimum = DEMAND_GEN_MIN_MICROS.get(self.currency)
            if minimum is None:
                return None
            floor = max(floor, -(-minimum // unit) * unit)
        return floor


def money(micros: int, currency: str) -> str:
    return f"{micros / 1_000_000:,.2f} {currency}"


# --- pure planning and judging -----------------------------------------------------------------


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


def budget_lines(state: AccountState) -> BudgetLines:
    users, notes = _active_budgets(state)
    where = f"Google Ads account {state.customer_id}"
    lines = tuple(
        BudgetLine(
            platform=PLATFORM,
            where=where,
            key=bid,
            name=state.budgets[bid].name,
            campaigns=tuple((c.id, c.name) for c in campaigns),
            micros=state.budgets[bid].amount_micros,
            floor=state.budget_floor(state.budgets[bid], campaigns) or state.billable_unit_micros,
            unit=state.billable_unit_micros,
            currency=state.currency,
        )
        for bid, campaigns in users.items()
    )
    return BudgetLines(PLATFORM, where, lines, tuple(notes))


def _campaign_change(state: AccountState, c: Campaign, step_id: str) -> Change:
    return Change(
        id=f"google_ads:{state.customer_id}:campaign:{c.id}:status",
        step_id=step_id,
        platform="google_ads",
        account=state.customer_id,
        entity_type="campaign",
        entity_id=c.id,
        name=c.name,
        field="status",
        before=c.status,
        after="PAUSED",
        shown_before=c.status,
        shown_after="PAUSED",
        resource=f"customers/{state.customer_id}/campaigns/{c.id}",
    )


def plan_pause(state: AccountState, step_id: str) -> StepDraft:
    enabled = [c for c in state.campaigns if c.status == "ENABLED"]
    changes = tuple(_campaign_change(state, c, step_id) for c in enabled if c.automatable)
    manual = tuple(
        f"Pause VIDEO campaign {c.name!r} ({c.id}) and lower its budget in the Google Ads UI: "
        "the API cannot modify VIDEO campaigns"
        for c in enabled
        if c.channel == "VIDEO"
    )
    notes = tuple(
        f"{c.name!r} ({c.id}) is a {c.experiment_type.lower()} campaign: left to its base campaign"
        for c in enabled
        if c.experiment_type not in ("BASE", "UNSPECIFIED", "")
    )
    return StepDraft(changes, manual, notes)


def plan_budgets(state: AccountState, step_id: str) -> StepDraft:
    users: dict[str, list[Campaign]] = {}
    for c in state.campaigns:
        if c.budget_id:
            users.setdefault(c.budget_id, []).append(c)
    changes, manual, notes = [], [], []
    for bid, campaigns in sorted(users.items()):
        budget = state.budgets[bid]
        if not any(c.automatable for c in campaigns):
            continue  # VIDEO-only budgets are part of the VIDEO campaign's manual task
        floor = state.budget_floor(budget, campaigns)
        if floor is None:
            manual.append(
                f"Set Demand Gen budget {budget.name!r} ({bid}) to its minimum in "
                f"{state.currency} by hand: the minimum for that currency is not known"
            )
            continue
        if budget.value <= floor:
            continue
        if any(c.channel == "DEMAND_GEN" for c in campaigns):
            notes.append(f"{budget.name!r}: Demand Gen minimum {money(floor, state.currency)}/day")
        if budget.explicitly_shared:
            notes.append(f"{budget.name!r} is shared by {len(campaigns)} campaigns: changed once")
        per = "total" if budget.period == "CUSTOM_PERIOD" else "day"
        changes.append(
            Change(
                id=f"google_ads:{state.customer_id}:campaign_budget:{bid}:{budget.field}",
                step_id=step_id,
                platform="google_ads",
                account=state.customer_id,
                entity_type="campaign_budget",
                entity_id=bid,
                name=budget.name,
                field=budget.field,
                before=budget.value,
                after=floor,
                shown_before=f"{money(budget.value, state.currency)}/{per}",
                shown_after=f"{money(floor, state.currency)}/{per}",
                resource=f"customers/{state.customer_id}/campaignBudgets/{bid}",
            )
        )
    return StepDraft(tuple(changes), tuple(manual), tuple(notes))


def _link_draft(state: AccountState, step_id: str, field: str, after: Any) -> StepDraft:
    link = state.link
    if link is None:
        return StepDraft(notes=("no link to the manager account: nothing to change",))
    before = link.hidden if field == "hidden" else link.status
    if before == after or (field == "status" and link.status != "ACTIVE"):
        return StepDraft()
    mcc, cid, lid = state.manager_id, state.customer_id, link.manager_link_id
    if field == "hidden":
        resource = f"customers/{mcc}/customerClientLinks/{cid}~{lid}"
        phase, shown = Phase.VISIBILITY, ("visible", "hidden")
    else:
        resource = f"customers/{cid}/customerManagerLinks/{mcc}~{lid}"
        phase, shown = Phase.ACCESS, (link.status, "INACTIVE (link ended)")
    return StepDraft(
        (
            Change(
                id=f"google_ads:{cid}:link:{mcc}:{field}",
                step_id=step_id,
                platform="google_ads",
                account=cid,
                entity_type="manager_link",
                entity_id=f"{mcc}~{lid}",
                name=f"link to manager {show_google_ads_id(mcc)}",
                field=field,
                before=before,
                after=after,
                shown_before=shown[0],
                shown_after=shown[1],
                phase=phase,
                resource=resource,
            ),
        )
    )


def plan_hide(state: AccountState, step_id: str) -> StepDraft:
    return _link_draft(state, step_id, "hidden", True)


def plan_unlink(state: AccountState, step_id: str) -> StepDraft:
    return _link_draft(state, step_id, "status", "INACTIVE")


def verify_pause(state: AccountState) -> Verdict:
    enabled = [c for c in state.campaigns if c.status == "ENABLED"]
    auto = [c for c in enabled if c.automatable]
    video = [c for c in enabled if c.channel == "VIDEO"]
    if auto:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(auto)} campaign(s) still ENABLED",
            tuple(f"{c.name} ({c.id})" for c in auto[:20]),
        )
    if video:
        return Verdict(
            CheckStatus.MANUAL_PENDING,
            f"{len(video)} VIDEO campaign(s) still ENABLED: pause them in the UI",
            tuple(f"{c.name} ({c.id})" for c in video),
        )
    return Verdict(CheckStatus.PASS, f"no enabled campaigns ({len(state.campaigns)} checked)")


def verify_budgets(state: AccountState) -> Verdict:
    draft = plan_budgets(state, "verify")
    if draft.changes:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(draft.changes)} budget(s) above the floor",
            tuple(f"{c.name}: {c.shown_before}" for c in draft.changes[:20]),
        )
    if draft.manual_items:
        return Verdict(CheckStatus.MANUAL_PENDING, "; ".join(draft.manual_items))
    return Verdict(CheckStatus.PASS, f"all budgets at the floor ({len(state.budgets)} checked)")
