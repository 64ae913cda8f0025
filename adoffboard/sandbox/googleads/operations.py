"""Google Ads stand-in: the rules of campaign and campaign budget operations (the same for
GoogleAdsService.Mutate, CampaignService and CampaignBudgetService)."""

from __future__ import annotations

import dataclasses
from typing import Any

from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.googleads.errors import Location, _OpError
from adoffboard.sandbox.googleads.model import CURRENCIES, ERROR_DETAILS, NETWORK_SETTINGS, Budget
from adoffboard.sandbox.googleads.txn import _names, _not_found, _parse_name, _target, _Txn

_CAMPAIGN_STATUS = _names("campaign.status")
_BUDGET_PERIOD = _names("campaign_budget.period")
_CAMPAIGN_MASK = (
    {"status", "name", "campaign_budget", *(f"network_settings.{a}" for a in NETWORK_SETTINGS)},
    {
        "id",
        "advertising_channel_type",
        "advertising_channel_sub_type",
        "experiment_type",
        "base_campaign",
        "serving_status",
        "primary_status",
        "primary_status_reasons",
        "bidding_strategy_type",
    },
)
_BUDGET_MASK = (
    {"name", "amount_micros", "total_amount_micros", "period", "explicitly_shared"},
    {
        "id",
        "type",
        "reference_count",
        "status",
        "has_recommended_budget",
        "recommended_budget_amount_micros",
        "aligned_bidding_strategy_id",
    },
)


def _campaign_op(txn: _Txn, op: Any, rules: list[FaultRule]) -> tuple[str, str]:
    which, name, loc, camp_id, camp, paths = _target(
        txn, op, rules, "campaign", "campaigns", txn.campaign, _CAMPAIGN_MASK
    )
    if camp.status == "REMOVED":
        raise _OpError(
            "operation_access_denied_error",
            "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
            "This operation is not allowed because the resource is removed.",
            location=loc,
            trigger=name,
        )
    if camp.channel == "VIDEO":
        raise _OpError(
            "operation_access_denied_error",
            "MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT",
            "A mutate action is not allowed on this resource, from this client.",
            location=loc,
            trigger="VIDEO",
        )
    new = dataclasses.replace(camp)
    if which == "remove":
        new.status = "REMOVED"
        txn.stage("CAMPAIGN", camp, new, "REMOVE")
        return "campaign", name
    if camp.experiment_type == "EXPERIMENT" and {"status", "campaign_budget"} & set(paths):
        raise _OpError(
            "campaign_error",
            "CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN",
            "Cannot modify dates, budget or status of a trial campaign.",
            location=loc,
            trigger=name,
        )
    upd = op.update
    for path in paths:
        at: Location = (("update", None), (path, None))
        if path == "status":
            status = _CAMPAIGN_STATUS.get(upd.status, "UNKNOWN")
            if status == "REMOVED":
                raise _OpError(
                    "campaign_error",
                    "INVALID_STATUS_CHANGE",
                    "The requested change in status is not supported; use a remove operation.",
                    location=at,
                )
            if status not in ("ENABLED", "PAUSED"):
                raise _OpError(
                    "request_error",
                    "INVALID_ENUM_VALUE",
                    "The value of the enum field is invalid.",
                    location=at,
                )
            new.status = status
        elif path == "name":
            if not upd.name.strip():
                raise _OpError(
                    "field_error", "REQUIRED", "The required field was not present.", location=at
                )
            new.name = upd.name
        elif path == "campaign_budget":
            budget_id = _parse_name(upd.campaign_budget, txn.cid, "campaignBudgets", at).group(2)
            budget = txn.budget(budget_id)
            if budget is None:
                raise _not_found(upd.campaign_budget, at)
            if budget.status == "REMOVED":
                raise _OpError(
                    "campaign_budget_error",
                    "CAMPAIGN_BUDGET_REMOVED",
                    "The requested campaign budget no longer exists.",
                    location=at,
                )
            new.budget_id = budget_id
        elif path.startswith("network_settings."):
            attr = path.split(".", 1)[1]
            setattr(new, attr, getattr(upd.network_settings, attr))
    txn.stage("CAMPAIGN", camp, new, "UPDATE")
    return "campaign", name


def _budget_error(enum_name: str, message: str, at: Location, **kw: Any) -> _OpError:
    return _OpError("campaign_budget_error", enum_name, message, location=at, **kw)


def _check_amount(txn: _Txn, budget: Budget, value: int, at: Location, *, daily: bool) -> None:
    cur = CURRENCIES[txn.customer.currency_code]
    if value < 0:
        raise _budget_error("NEGATIVE_MONEY_AMOUNT", "A money amount was negative.", at)
    if value < cur.billable_unit_micros:
        raise _budget_error(
            "MONEY_AMOUNT_LESS_THAN_CURRENCY_MINIMUM_CPC",
            "A money amount was less than the minimum CPC for currency.",
            at,
        )
    if value % cur.billable_unit_micros:
        raise _budget_error(
            "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
            "A money amount was not a multiple of a minimum unit.",
            at,
            trigger=value,
        )
    demand_gen = any(c.channel == "DEMAND_GEN" for c in txn.users(budget.budget_id))
    if daily and demand_gen and value < cur.demand_gen_min:
        details = ERROR_DETAILS()
        d = details.budget_per_day_minimum_error_details
        d.currency_code = cur.code
        d.budget_per_day_minimum_micros = cur.demand_gen_min
        d.minimum_budget_amount_micros = cur.demand_gen_min
        d.failed_budget_amount_micros = value
        raise _budget_error(
            "BUDGET_BELOW_PER_DAY_MINIMUM",
            "Budget amount or total amount must be above this campaign's per-day minimum.",
            at,
            details=details,
        )


def _budget_op(txn: _Txn, op: Any, rules: list[FaultRule]) -> tuple[str, str]:
    which, name, loc, budget_id, budget, paths = _target(
        txn, op, rules, "campaign_budget", "campaignBudgets", txn.budget, _BUDGET_MASK
    )
    if budget.status == "REMOVED":
        raise _budget_error(
            "CAMPAIGN_BUDGET_REMOVED", "The requested campaign budget no longer exists.", loc
        )
    new = dataclasses.replace(budget)
    if which == "remove":
        if txn.users(budget_id):
            raise _budget_error(
                "CAMPAIGN_BUDGET_IN_USE",
                "The campaign budget is associated with at least one campaign, "
                "and so the campaign budget cannot be removed.",
                loc,
            )
        new.status = "REMOVED"
        txn.stage("CAMPAIGN_BUDGET", budget, new, "REMOVE")
        return "campaign_budget", name
    upd = op.update
    for path in paths:
        at: Location = (("update", None), (path, None))
        present = upd.HasField(path) if path != "period" else True
        if path == "name":
            if not upd.name.strip():
                raise _OpError(
                    "field_error", "REQUIRED", "The required field was not present.", location=at
                )
            new.name = upd.name
        elif path == "period":
            if _BUDGET_PERIOD.get(upd.period) != budget.period:
                raise _OpError(
                    "campaign_error",
                    "CANNOT_CHANGE_BUDGET_PERIOD",
                    "The budget period of a budget cannot be changed.",
                    location=at,
                )
        elif path == "explicitly_shared":
            if budget.explicitly_shared and not upd.explicitly_shared:
                raise _budget_error(
                    "CANNOT_UPDATE_CAMPAIGN_BUDGET_TO_IMPLICITLY_SHARED",
                    "An explicitly shared budget cannot become implicitly shared.",
                    at,
                )
            new.explicitly_shared = upd.explicitly_shared
        elif path == "amount_micros":
            if budget.period == "CUSTOM_PERIOD":
                if present:
                    raise _budget_error(
                        "BUDGET_AMOUNT_MUST_BE_UNSET_FOR_CUSTOM_BUDGET_PERIOD",
                        "Budget amount must be unset when a custom budget period is specified.",
                        at,
                    )
                continue
            if not present:
                raise _OpError(
                    "field_error", "REQUIRED", "A DAILY budget needs amount_micros.", location=at
                )
            _check_amount(txn, budget, upd.amount_micros, at, daily=True)
            new.amount_micros = upd.amount_micros
        elif path == "total_amount_micros":
            if budget.period == "DAILY":
                if present:
                    raise _budget_error(
                        "TOTAL_BUDGET_AMOUNT_MUST_BE_UNSET_FOR_BUDGET_PERIOD_DAILY",
                        "Total budget amount must be unset when BudgetPeriod is DAILY.",
                        at,
                    )
                continue
            if not present:
                raise _OpError(
                    "field_error",
                    "REQUIRED",
                    "A CUSTOM_PERIOD budget needs total_amount_micros.",
                    location=at,
                )
            _check_amount(txn, budget, upd.total_amount_micros, at, daily=False)
            new.total_amount_micros = upd.total_amount_micros
    txn.stage("CAMPAIGN_BUDGET", budget, new, "UPDATE")
    return "campaign_budget", name
