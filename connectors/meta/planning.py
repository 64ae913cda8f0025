"""The Meta connector's state and its pure planning and judging (no I/O here).

What each action changes:
- `pause_campaigns`: every campaign whose configured status is ACTIVE, and every ACTIVE ad set
  of a campaign that is ACTIVE or PAUSED (so that un-pausing a campaign by mistake does not
  restart spend). PAUSED, ARCHIVED and DELETED objects are left alone. Budgets are never
  touched: Meta's daily minimums (~$1-$40/day) are far above $0.01; pausing stops spend.
- `disable_rules`: ENABLED automated rules whose action can restart or raise spend (un-pause,
  budget or bid increases, rebalancing, rotation, or an action whose effect is unknown).
  Rules that only notify or only pause, and budget/bid changes that only lower, stay on.
- `set_budgets` (`connectors.meta.addendum`): a signed addendum's daily budgets, on the campaign
  (campaign budget optimization) or on its ACTIVE ad sets, in the currency's minor units.
- `remove_agency`: the agency's Business Manager loses its access to the ad account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adoffboard.connectors.addendum import BudgetLine, BudgetLines
from adoffboard.connectors.base import StepDraft, Verdict
from adoffboard.models import Change, CheckStatus, Phase

PLATFORM = "meta"
BUDGET_NOTE = "Meta budgets are left as they are: minimums are ~$1-$40/day; pausing stops spend"
HARMLESS_ACTIONS = frozenset({"NOTIFICATION", "PING_ENDPOINT", "PAUSE"})
AMOUNT_ACTIONS = frozenset({"CHANGE_BUDGET", "CHANGE_CAMPAIGN_BUDGET", "CHANGE_BID"})
HARMLESS_EFFECT = {"NOTIFICATION": "notifies", "PING_ENDPOINT": "notifies", "PAUSE": "pauses"}
EDITABLE_PARENTS = frozenset({"ACTIVE", "PAUSED"})


@dataclass(frozen=True)
class MetaCampaign:
    id: str
    name: str
    status: str
    effective_status: str
    daily_budget: int | None = None  # in the account currency's cents, shown only


@dataclass(frozen=True)
class MetaAdSet:
    id: str
    name: str
    campaign_id: str
    status: str
    effective_status: str
    daily_budget: int | None = None  # minor units of the account currency; None under CBO


@dataclass(frozen=True)
class MetaRule:
    id: str
    name: str
    status: str
    execution_type: str
    change_amount: float | None = None  # the change_spec amount of budget/bid rules
    targets_value: bool = False  # change_spec with target_field: may move either way


@dataclass(frozen=True)
class AgencyAccess:
    business_id: str
    name: str
    access_status: str
    permitted_tasks: tuple[str, ...]

    @property
    def value(self) -> dict[str, Any]:
        """What an exact restore needs (the business re-requests these tasks)."""
        return {"access_status": self.access_status, "permitted_tasks": list(self.permitted_tasks)}


@dataclass(frozen=True)
class MetaState:
    ad_account_id: str
    name: str
    currency: str
    campaigns: tuple[MetaCampaign, ...]
    adsets: tuple[MetaAdSet, ...]
    rules: tuple[MetaRule, ...]
    agencies: tuple[AgencyAccess, ...]
    agency_business_id: str
    owner_business_id: str
    read_at: dt.datetime
    reachable: bool = True  # False once the agency's access was removed

    def agency(self) -> AgencyAccess | None:
        return next((a for a in self.agencies if a.business_id == self.agency_business_id), None)

    def budget_lines(self) -> BudgetLines:
        """The budgets a budget addendum sets (`connectors.meta.addendum`)."""
        return budget_lines(self)


# --- reading Graph rows into state -------------------------------------------------------------


def rule_from_row(row: Mapping[str, Any]) -> MetaRule:
    spec = row.get("execution_spec") or {}
    amount, targets = None, False
    for option in spec.get("execution_options") or []:
        if option.get("field") == "change_spec" and isinstance(option.get("value"), Mapping):
            value = option["value"]
            targets = "target_field" in value
            try:
                amount = float(value.get("amount"))
            except (TypeError, ValueError):
                amount = None
    return MetaRule(
        str(row["id"]),
        str(row.get("name", "")),
        str(row.get("status", "")),
        str(spec.get("execution_type", "")),
        amount,
        targets,
    )


def rule_risk(rule: MetaRule) -> str | None:
    """Why this rule could restart or raise spend, or None when it cannot."""
    kind = rule.execution_type
    if kind in HARMLESS_ACTIONS:
        return None
    if kind == "UNPAUSE":
        return "it un-pauses objects"
    if kind in AMOUNT_ACTIONS:
        what = "bids" if kind == "CHANGE_BID" else "budgets"
        if rule.targets_value:
            return f"it scales {what} towards a target (up or down)"
        if rule.change_amount is None:
            return f"it changes {what} by an amount it does not state"
        if rule.change_amount > 0:
            return f"it raises {what}"
        return None
    if kind == "REBALANCE_BUDGET":
        return "it moves budget to the objects it leaves running"
    if kind == "ROTATE":
        return "it activates the next ad"
    return f"its action {kind or 'unknown'} may change delivery"


# --- budgets, as a budget addendum sets them (`connectors.meta.addendum`) ----------------------

MICROS = 1_000_000
# Graph amounts are in the currency's smallest unit: offset 100 except for these (Meta's
# "Currencies" reference for the Marketing API).
NO_MINOR_UNITS = frozenset(
    {"CLP", "COP", "CRC", "HUF", "IDR", "ISK", "JPY", "KRW", "PYG", "TWD", "VND"}
)
# The lowest daily budget Meta accepts for an ad set optimised for impressions, per currency,
# in minor units (about USD 1/day; other optimisation goals ask for more, up to ~USD 40/day, and
# Meta refuses the write then). A currency not listed falls back to one minor unit per
# budget and Meta's own refusal.
MIN_DAILY_BUDGET: Mapping[str, int] = {"USD": 100, "CAD": 135, "EUR": 100, "GBP": 100, "AUD": 150}


def unit_micros(currency: str) -> int:
    return MICROS if currency in NO_MINOR_UNITS else MICROS // 100


def _money(minor: int, currency: str) -> str:
    if currency in NO_MINOR_UNITS:
        return f"{minor:,} {currency}/day"
    return f"{minor / 100:,.2f} {currency}/day"


def _budget_adsets(state: MetaState, campaign_id: str) -> list[MetaAdSet]:
    return [
        s
        for s in state.adsets
        if s.campaign_id == campaign_id and s.status == "ACTIVE" and s.daily_budget
    ]


def budget_lines(state: MetaState) -> BudgetLines:
    where = f"Meta ad account {state.ad_account_id}"
    unit = unit_micros(state.currency)
    minimum = MIN_DAILY_BUDGET.get(state.currency, 1) * unit
    lines: list[BudgetLine] = []
    notes: list[str] = []
    for c in state.campaigns:
        if c.status != "ACTIVE":
            continue
        if c.daily_budget:
            key, micros, floor = f"campaign:{c.id}", c.daily_budget * unit, minimum
        else:
            adsets = _budget_adsets(state, c.id)
            if not adsets:
                notes.append(
                    f"{c.name!r} has no daily budget (a lifetime budget, or none on its active "
                    "ad sets): not part of the addendum"
                )
                continue
            key = f"adsets:{c.id}"
            micros = sum((s.daily_budget or 0) for s in adsets) * unit
            floor = minimum * len(adsets)
        lines.append(
            BudgetLine(
                PLATFORM, where, key, c.name, ((c.id, c.name),), micros, floor, unit, state.currency
            )
        )
    return BudgetLines(PLATFORM, where, tuple(lines), tuple(notes))


# --- planning -----------------------------------------------------------------------------------


def _change(
    state: MetaState,
    step_id: str,
    entity_type: str,
    entity_id: str,
    name: str,
    field: str,
    before: Any,
    after: Any,
    shown: tuple[str, str],
    phase: Phase = Phase.ADS,
    resource: str = "",
) -> Change:
    return Change(
        id=f"{PLATFORM}:{state.ad_account_id}:{entity_type}:{entity_id}:{field}",
        step_id=step_id,
        platform=PLATFORM,
        account=state.ad_account_id,
        entity_type=entity_type,
        entity_id=entity_id,
        name=name,
        field=field,
        before=before,
        after=after,
        shown_before=shown[0],
        shown_after=shown[1],
        phase=phase,
        resource=resource or entity_id,
    )


def _unreadable(state: MetaState) -> StepDraft:
    return StepDraft(
        manual_items=(
            f"The agency cannot read ad account {state.ad_account_id}: its access was removed, or "
            "the manifest names an account the agency never had. Check it in Ads Manager",
        )
    )


def plan_pause(state: MetaState, step_id: str) -> StepDraft:
    if not state.reachable:
        return _unreadable(state)
    parents = {c.id: c for c in state.campaigns}
    changes = [
        _change(
            state,
            step_id,
            "campaign",
            c.id,
            c.name,
            "status",
            c.status,
            "PAUSED",
            (c.status, "PAUSED"),
        )
        for c in state.campaigns
        if c.status == "ACTIVE"
    ]
    adsets = [
        s
        for s in state.adsets
        if s.status == "ACTIVE"
        and parents.get(s.campaign_id) is not None
        and parents[s.campaign_id].status in EDITABLE_PARENTS
    ]
    changes += [
        _change(
            state,
            step_id,
            "adset",
            s.id,
            s.name,
            "status",
            s.status,
            "PAUSED",
            (s.status, "PAUSED"),
            resource=f"{s.id} (campaign {s.campaign_id})",
        )
        for s in adsets
    ]
    left = sum(1 for c in state.campaigns if c.status != "ACTIVE")
    notes = [BUDGET_NOTE]
    if left:
        notes.append(f"{left} campaign(s) already PAUSED, ARCHIVED or DELETED: left alone")
    under_paused = sum(1 for s in adsets if parents[s.campaign_id].status == "PAUSED")
    if under_paused:
        notes.append(
            f"{under_paused} ACTIVE ad set(s) under already PAUSED campaigns are paused "
            "too, so that un-pausing their campaign cannot restart spend"
        )
    return StepDraft(tuple(changes), (), tuple(notes))


def plan_rules(state: MetaState, step_id: str) -> StepDraft:
    if not state.reachable:
        return _unreadable(state)
    changes, notes = [], []
    for rule in state.rules:
        if rule.status != "ENABLED":
            continue
        risk = rule_risk(rule)
        if risk is None:
            notes.append(
                f"rule {rule.name!r} ({rule.execution_type}) stays on: it only "
                f"{HARMLESS_EFFECT.get(rule.execution_type, 'lowers amounts')}"
            )
            continue
        changes.append(
            _change(
                state,
                step_id,
                "rule",
                rule.id,
                rule.name,
                "status",
                "ENABLED",
                "DISABLED",
                ("ENABLED", f"DISABLED ({risk})"),
            )
        )
    return StepDraft(tuple(changes), (), tuple(notes))


def plan_remove_agency(state: MetaState, step_id: str) -> StepDraft:
    if not state.reachable:
        return StepDraft(notes=("the agency no longer has access to the ad account",))
    agency = state.agency()
    if agency is None:
        if state.owner_business_id == state.agency_business_id:
            return StepDraft(
                manual_items=(
                    f"The ad account {state.ad_account_id} is owned by the agency's business "
                    f"{state.agency_business_id}: hand it over or close it in Business Settings",
                )
            )
        return StepDraft(
            notes=(
                f"business {state.agency_business_id} is not an agency of "
                f"{state.ad_account_id}: nothing to remove",
            )
        )
    tasks = ", ".join(agency.permitted_tasks) or "no tasks"
    return StepDraft(
        (
            _change(
                state,
                step_id,
                "agency",
                agency.business_id,
                agency.name or f"business {agency.business_id}",
                "access",
                agency.value,
                None,
                (f"{agency.access_status}: {tasks}", "removed (the agency loses access)"),
                phase=Phase.ACCESS,
                resource=f"{state.ad_account_id}/agencies",
            ),
        )
    )


PLANNERS = {
    "pause_campaigns": plan_pause,
    "disable_rules": plan_rules,
    "remove_agency": plan_remove_agency,
}


# --- judging ------------------------------------------------------------------------------------


def verify_action(action: str, state: MetaState) -> Verdict:
    if action == "remove_agency":
        if not state.reachable or state.agency() is None:
            return Verdict(CheckStatus.PASS, "the agency's business no longer has access")
        return Verdict(
            CheckStatus.FAIL,
            f"business {state.agency_business_id} is still an agency of {state.ad_account_id}",
        )
    if not state.reachable:
        return Verdict(CheckStatus.FAIL, f"the agency cannot read {state.ad_account_id}")
    draft = PLANNERS[action](state, "verify")
    if draft.changes:
        what = (
            "object(s) still ACTIVE"
            if action == "pause_campaigns"
            else "rule(s) that can restart spend still ENABLED"
        )
        return Verdict(
            CheckStatus.FAIL,
            f"{len(draft.changes)} {what}",
            tuple(f"{c.entity_type} {c.name} ({c.entity_id})" for c in draft.changes[:20]),
        )
    if action == "pause_campaigns":
        return Verdict(
            CheckStatus.PASS,
            f"no ACTIVE campaign or ad set ({len(state.campaigns)} "
            f"campaigns, {len(state.adsets)} ad sets checked)",
        )
    return Verdict(
        CheckStatus.PASS,
        f"no enabled rule can restart spend ({len(state.rules)} rules checked)",
        draft.notes,
    )
