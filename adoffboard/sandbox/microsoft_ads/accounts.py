"""The Microsoft Advertising stand-in's state: accounts, campaigns and shared budgets as a
scenario's `microsoft_ads:` section declares them, and their JSON as the API returns it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.microsoft_ads.faults import INTERNAL, _error, _operation_fault

MAX_ITEMS = 100
CAMPAIGN_TYPES = (
    "Search",
    "Shopping",
    "DynamicSearchAds",
    "Audience",
    "Hotel",
    "PerformanceMax",
    "App",
    "ObjectiveBased",
)
STATUSES = ("Active", "Paused", "BudgetPaused", "BudgetAndManualPaused", "Deleted", "Suspended")
BUDGET_TYPES = ("DailyBudgetStandard", "DailyBudgetAccelerated", "LifetimeBudgetStandard")
# Minimum daily budget per currency (the platform's rule; the connector keeps its own table).
MIN_DAILY_BUDGET = {
    "USD": 0.05,
    "EUR": 0.05,
    "GBP": 0.05,
    "CAD": 0.05,
    "AUD": 0.05,
    "INR": 0.82,
    "CNY": 30.0,
}
GENERIC_MIN = 0.01  # currencies outside the table: the stand-in only refuses less than 0.01


@dataclass
class Campaign:
    id: str
    name: str
    status: str
    campaign_type: str
    budget_type: str
    daily_budget: float | None
    budget_id: str = ""  # set when the campaign uses a shared budget


@dataclass
class Budget:
    id: str
    name: str
    amount: float
    budget_type: str = "DailyBudgetStandard"


@dataclass
class Account:
    account_id: str
    customer_id: str
    name: str
    currency: str
    number: str = ""
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    budgets: dict[str, Budget] = field(default_factory=dict)

    @property
    def min_daily_budget(self) -> float:
        return MIN_DAILY_BUDGET.get(self.currency, GENERIC_MIN)

    def users_of(self, budget_id: str) -> list[Campaign]:
        return [
            c for c in self.campaigns.values() if c.budget_id == budget_id and c.status != "Deleted"
        ]


def _choice(where: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {list(allowed)}")
    return str(value)


def _digits(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,19}", value):
        raise ValueError(f"{where}: must be a quoted string of digits, got {value!r}")
    return value


def _amount(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{where}: must be a positive amount, got {value!r}")
    return float(value)


def load_accounts(section: Mapping[str, Any]) -> dict[str, Account]:
    """The `microsoft_ads:` section of a scenario, validated with precise messages."""
    unknown = set(section) - {"accounts", "expired_tokens"}
    if unknown:
        raise ValueError(f"microsoft_ads: unknown key(s) {sorted(unknown)}")
    accounts: dict[str, Account] = {}
    for i, raw in enumerate(section.get("accounts") or []):
        where = f"microsoft_ads.accounts[{i}]"
        aid = _digits(f"{where}.account_id", raw.get("account_id"))
        account = Account(
            aid,
            _digits(f"{where}.customer_id", raw.get("customer_id")),
            str(raw.get("name") or ""),
            str(raw.get("currency") or "USD"),
            str(raw.get("number") or f"F{aid[-7:]}"),
        )
        for j, b in enumerate(raw.get("budgets") or []):
            bw = f"{where}.budgets[{j}]"
            bid = _digits(f"{bw}.id", b.get("id"))
            account.budgets[bid] = Budget(
                bid,
                str(b.get("name") or f"Shared budget {bid}"),
                _amount(f"{bw}.amount", b.get("amount")),
                _choice(
                    f"{bw}.budget_type", b.get("budget_type", "DailyBudgetStandard"), BUDGET_TYPES
                ),
            )
        for j, c in enumerate(raw.get("campaigns") or []):
            cw = f"{where}.campaigns[{j}]"
            cid = _digits(f"{cw}.id", c.get("id"))
            budget_id = str(c.get("budget_id") or "")
            if budget_id and budget_id not in account.budgets:
                raise ValueError(
                    f"{cw}.budget_id: {budget_id!r} is not one of the account's "
                    f"budgets {sorted(account.budgets)}"
                )
            daily = None if budget_id else _amount(f"{cw}.daily_budget", c.get("daily_budget"))
            account.campaigns[cid] = Campaign(
                cid,
                str(c.get("name") or f"Campaign {cid}"),
                _choice(f"{cw}.status", c.get("status", "Active"), STATUSES),
                _choice(f"{cw}.type", c.get("type", "Search"), CAMPAIGN_TYPES),
                _choice(
                    f"{cw}.budget_type", c.get("budget_type", "DailyBudgetStandard"), BUDGET_TYPES
                ),
                daily,
                budget_id,
            )
        accounts[aid] = account
    return accounts


def _campaign_json(c: Campaign, budgets: Mapping[str, Budget]) -> dict[str, Any]:
    shared = budgets.get(c.budget_id) if c.budget_id else None
    return {
        "Id": c.id,
        "Name": c.name,
        "Status": c.status,
        "CampaignType": c.campaign_type,
        "BudgetType": shared.budget_type if shared else c.budget_type,
        "DailyBudget": shared.amount if shared else c.daily_budget,
        "BudgetId": c.budget_id or None,
        "TimeZone": "CentralTimeUSCanada",
    }


def _requested_types(raw: Any) -> set[str]:
    """`CampaignType` as the SDK sends it ("Search, Shopping, ..."); absent means Search."""
    if raw is None:
        return {"Search"}
    names = {n for n in re.split(r"[,\s]+", str(raw)) if n}
    unknown = names - set(CAMPAIGN_TYPES)
    if unknown:
        raise _operation_fault(
            "CampaignManagementService",
            _error(INTERNAL, message=f"Invalid CampaignType {sorted(unknown)}"),
        )
    return names
