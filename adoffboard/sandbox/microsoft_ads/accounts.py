"""The Microsoft Advertising stand-in's state: accounts, campaigns, shared budgets and experiments
as a scenario's `microsoft_ads:` section declares them, validated with precise messages.

A campaign's `bidding` is its bid strategy as the SDK names the `BiddingScheme` type (ManualCpv
and ManualCpm campaigns are the ones `GetCampaignsByAccountId` hides unless asked). An experiment
(`experiments:` of an account) names its base campaign and the experiment campaign made from it;
the experiment campaign's status and budget are its base's (campaign-management-service/
experiment.md), so the scenario gives it neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_ITEMS = 100
# campaign-management-service/campaigntype.md: the documented CampaignType values. The SDK
# defines more (App, ObjectiveBased); the service does not take them.
CAMPAIGN_TYPES = ("Search", "Shopping", "DynamicSearchAds", "Audience", "Hotel", "PerformanceMax")
STATUSES = ("Active", "Paused", "BudgetPaused", "BudgetAndManualPaused", "Deleted", "Suspended")
BUDGET_TYPES = ("DailyBudgetStandard", "DailyBudgetAccelerated", "LifetimeBudgetStandard")
BIDDING = ("EnhancedCpc", "ManualCpc", "ManualCpv", "ManualCpm", "MaxClicks", "MaxConversions")
CPV_CPM = frozenset({"ManualCpv", "ManualCpm"})
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
SECTION_KEYS = frozenset({"accounts", "expired_tokens", "rejected_campaign_types"})


@dataclass
class Campaign:
    id: str
    name: str
    status: str
    campaign_type: str
    budget_type: str
    daily_budget: float | None
    budget_id: str = ""  # set when the campaign uses a shared budget
    bidding: str = "EnhancedCpc"
    experiment_id: str = ""  # set on an experiment campaign


@dataclass
class Budget:
    id: str
    name: str
    amount: float
    budget_type: str = "DailyBudgetStandard"


@dataclass
class Experiment:
    id: str
    name: str
    base_campaign_id: str
    campaign_id: str  # the experiment campaign
    traffic_split_percent: int = 50
    status: str = "Active"


@dataclass
class Account:
    account_id: str
    customer_id: str
    name: str
    currency: str
    number: str = ""
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    budgets: dict[str, Budget] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)

    @property
    def min_daily_budget(self) -> float:
        return MIN_DAILY_BUDGET.get(self.currency, GENERIC_MIN)

    def users_of(self, budget_id: str) -> list[Campaign]:
        return [
            c for c in self.campaigns.values() if c.budget_id == budget_id and c.status != "Deleted"
        ]

    def base_of(self, campaign: Campaign) -> Campaign:
        """The campaign whose status and budget `campaign` shows: its base if an experiment."""
        experiment = self.experiments.get(campaign.experiment_id)
        return self.campaigns[experiment.base_campaign_id] if experiment else campaign


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


def rejected_types(section: Mapping[str, Any]) -> frozenset[str]:
    """Documented campaign types this service answers as invalid values (campaign.md: campaigns
    that only support dynamic search ads can no longer be retrieved), for rehearsing that."""
    raw = section.get("rejected_campaign_types") or []
    return frozenset(
        _choice(f"microsoft_ads.rejected_campaign_types[{i}]", t, CAMPAIGN_TYPES)
        for i, t in enumerate(raw)
    )


def load_accounts(section: Mapping[str, Any]) -> dict[str, Account]:
    """The `microsoft_ads:` section of a scenario, validated with precise messages."""
    unknown = set(section) - SECTION_KEYS
    if unknown:
        raise ValueError(f"microsoft_ads: unknown key(s) {sorted(unknown)}")
    rejected_types(section)
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
        in_experiments = {str(e.get("campaign_id")) for e in raw.get("experiments") or []}
        for j, c in enumerate(raw.get("campaigns") or []):
            _load_campaign(account, f"{where}.campaigns[{j}]", c, in_experiments)
        for j, e in enumerate(raw.get("experiments") or []):
            _load_experiment(account, f"{where}.experiments[{j}]", e)
        accounts[aid] = account
    return accounts


def _load_campaign(
    account: Account, cw: str, c: Mapping[str, Any], in_experiments: set[str]
) -> None:
    cid = _digits(f"{cw}.id", c.get("id"))
    budget_id = str(c.get("budget_id") or "")
    if budget_id and budget_id not in account.budgets:
        raise ValueError(
            f"{cw}.budget_id: {budget_id!r} is not one of the account's "
            f"budgets {sorted(account.budgets)}"
        )
    experiment = cid in in_experiments
    if experiment and ({"status", "daily_budget", "budget_id", "budget_type"} & set(c)):
        raise ValueError(
            f"{cw}: an experiment campaign's status and budget are its base campaign's; "
            "leave out status, daily_budget, budget_id and budget_type"
        )
    daily = (
        None if budget_id or experiment else _amount(f"{cw}.daily_budget", c.get("daily_budget"))
    )
    account.campaigns[cid] = Campaign(
        cid,
        str(c.get("name") or f"Campaign {cid}"),
        _choice(f"{cw}.status", c.get("status", "Active"), STATUSES),
        _choice(f"{cw}.type", c.get("type", "Search"), CAMPAIGN_TYPES),
        _choice(f"{cw}.budget_type", c.get("budget_type", "DailyBudgetStandard"), BUDGET_TYPES),
        daily,
        budget_id,
        _choice(f"{cw}.bidding", c.get("bidding", "EnhancedCpc"), BIDDING),
    )


def _load_experiment(account: Account, ew: str, e: Mapping[str, Any]) -> None:
    """experiment.md: the base may not use a shared budget, nor be an experiment campaign."""
    eid = _digits(f"{ew}.id", e.get("id"))
    base_id = _digits(f"{ew}.base_campaign_id", e.get("base_campaign_id"))
    campaign_id = _digits(f"{ew}.campaign_id", e.get("campaign_id"))
    base = account.campaigns.get(base_id)
    if base is None or campaign_id not in account.campaigns or base_id == campaign_id:
        raise ValueError(
            f"{ew}: base_campaign_id and campaign_id must be two of the account's campaigns"
        )
    if base.budget_id or base.experiment_id:
        raise ValueError(
            f"{ew}.base_campaign_id: a base campaign may not use a shared budget nor be an "
            "experiment campaign"
        )
    split = e.get("traffic_split_percent", 50)
    if isinstance(split, bool) or not isinstance(split, int) or not 1 <= split <= 99:
        raise ValueError(f"{ew}.traffic_split_percent: must be 1..99, got {split!r}")
    account.experiments[eid] = Experiment(
        eid, str(e.get("name") or account.campaigns[campaign_id].name), base_id, campaign_id, split
    )
    account.campaigns[campaign_id].experiment_id = eid
