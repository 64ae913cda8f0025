"""The Meta stand-in's data: entities, scenario loading, Graph rows, and generated accounts.

Kept apart from the server (`adoffboard.sandbox.meta`) so that each reads in one sitting.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.http import Request

# --- entities ---------------------------------------------------------------------------------


@dataclass
class Campaign:
    id: str
    name: str
    status: str
    objective: str = "OUTCOME_TRAFFIC"
    daily_budget: int | None = None
    lifetime_budget: int | None = None


@dataclass
class AdSet:
    id: str
    name: str
    campaign_id: str
    status: str
    daily_budget: int | None = None


@dataclass
class Rule:
    id: str
    name: str
    status: str
    execution_spec: dict[str, Any]
    evaluation_spec: dict[str, Any]


@dataclass
class AgencyLink:
    business_id: str
    name: str
    permitted_tasks: list[str]
    access_status: str = "CONFIRMED"


@dataclass
class AdAccount:
    id: str
    name: str
    currency: str
    timezone_name: str
    owner_business: str
    account_status: int = 1
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    adsets: dict[str, AdSet] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    agencies: dict[str, AgencyLink] = field(default_factory=dict)
    usage_pct: int = 0  # the baseline of the usage headers (tests raise it to provoke pacing)
    token_blocked: bool = False  # the agency's token lost its permissions on the account
    calls: CallWindow = field(default_factory=lambda: CallWindow())


class CallWindow:
    """Calls in the last hour: Meta's usage percentages are over a rolling one-hour window.
    Counted from the server's threads at once (batches in flight together)."""

    def __init__(self, span_s: float = 3600.0) -> None:
        self.span = span_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._times.append(time.monotonic())

    def count(self) -> int:
        horizon = time.monotonic() - self.span
        with self._lock:
            while self._times and self._times[0] < horizon:
                self._times.popleft()
            return len(self._times)


def load_account(raw: Mapping[str, Any], agency: Mapping[str, str]) -> AdAccount:
    acct = AdAccount(
        id=str(raw["id"]),
        name=raw["name"],
        currency=raw.get("currency", "USD"),
        timezone_name=raw.get("timezone_name", "America/Chicago"),
        owner_business=str(raw.get("owner_business", "")),
        account_status=int(raw.get("account_status", 1)),
        usage_pct=int(raw.get("usage_pct", 0)),
        token_blocked=bool(raw.get("token_blocked")),
    )
    for c in raw.get("campaigns") or []:
        acct.campaigns[str(c["id"])] = Campaign(
            str(c["id"]),
            c["name"],
            c.get("status", "ACTIVE"),
            c.get("objective", "OUTCOME_TRAFFIC"),
            c.get("daily_budget"),
            c.get("lifetime_budget"),
        )
    for s in raw.get("adsets") or []:
        acct.adsets[str(s["id"])] = AdSet(
            str(s["id"]),
            s["name"],
            str(s["campaign_id"]),
            s.get("status", "ACTIVE"),
            s.get("daily_budget"),
        )
    for r in raw.get("rules") or []:
        acct.rules[str(r["id"])] = Rule(
            str(r["id"]),
            r["name"],
            r.get("status", "ENABLED"),
            dict(r.get("execution_spec") or {}),
            dict(r.get("evaluation_spec") or {}),
        )
    for link in raw.get("agencies") or []:
        bid = str(link.get("business_id", agency.get("id", "")))
        acct.agencies[bid] = AgencyLink(
            bid,
            link.get("name", agency.get("name", "") if bid == agency.get("id") else ""),
            list(link.get("permitted_tasks") or ["MANAGE", "ADVERTISE", "ANALYZE"]),
            link.get("access_status", "CONFIRMED"),
        )
    return acct


# --- rows -------------------------------------------------------------------------------------


def select(row: Mapping[str, Any], request: Request) -> dict[str, Any]:
    """The fields asked for (`fields=a,b`), always with the id, as Graph answers."""
    raw = request.arg("fields")
    if not raw:
        return {"id": row["id"]}
    wanted = [f.strip() for f in raw.split(",") if f.strip()]
    out = {"id": row["id"]}
    out.update({f: row[f] for f in wanted if f in row and row[f] is not None})
    return out


def campaign_row(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "configured_status": c.status,
        "effective_status": c.status,
        "objective": c.objective,
        "daily_budget": None if c.daily_budget is None else str(c.daily_budget),
        "lifetime_budget": None if c.lifetime_budget is None else str(c.lifetime_budget),
    }


def adset_row(s: AdSet, campaign: Campaign | None) -> dict[str, Any]:
    effective = s.status
    if s.status == "ACTIVE" and campaign is not None and campaign.status != "ACTIVE":
        effective = "CAMPAIGN_PAUSED" if campaign.status == "PAUSED" else campaign.status
    return {
        "id": s.id,
        "name": s.name,
        "campaign_id": s.campaign_id,
        "status": s.status,
        "configured_status": s.status,
        "effective_status": effective,
        "daily_budget": None if s.daily_budget is None else str(s.daily_budget),
    }


def rule_row(r: Rule, acct: AdAccount) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "status": r.status,
        "account_id": acct.id.removeprefix("act_"),
        "execution_spec": r.execution_spec,
        "evaluation_spec": r.evaluation_spec,
    }


# --- benchmarks ---------------------------------------------------------------------------------


def generate_account(
    n_campaigns: int = 500,
    *,
    adsets_per_campaign: int = 2,
    account_id: str = "act_3000000001",
    name: str = "Benchmark client 1",
    owner_business: str = "300000000000001",
    seed: int = 7,
    agency_business: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A `meta` scenario section with one ad account of `n_campaigns` campaigns: ~75% ACTIVE,
    15% PAUSED, 7% ARCHIVED, 3% DELETED; `adsets_per_campaign` ad sets each (mostly
    ACTIVE); three automated rules (one that un-pauses, one that notifies, one that
    pauses); the agency linked."""
    rng = random.Random(seed)
    agency = dict(agency_business or {"id": "100200300400500", "name": "Summit Digital Agency"})
    campaigns, adsets = [], []
    for n in range(1, n_campaigns + 1):
        roll = rng.random()
        status = (
            "DELETED"
            if roll < 0.03
            else "ARCHIVED"
            if roll < 0.10
            else "PAUSED"
            if roll < 0.25
            else "ACTIVE"
        )
        cid = str(120_300_000_000_000 + n)
        campaigns.append(
            {
                "id": cid,
                "name": f"Campaign {n}",
                "status": status,
                "daily_budget": rng.randint(5, 300) * 100,
            }
        )
        for k in range(1, adsets_per_campaign + 1):
            adsets.append(
                {
                    "id": str(120_400_000_000_000 + n * 100 + k),
                    "name": f"Campaign {n} - ad set {k}",
                    "campaign_id": cid,
                    "status": "PAUSED" if rng.random() < 0.1 else status,
                }
            )
    return {
        "app_id": "880000000000001",
        "agency_business": agency,
        "ad_accounts": [
            {
                "id": account_id,
                "name": name,
                "currency": "USD",
                "timezone_name": "America/New_York",
                "owner_business": owner_business,
                "agencies": [{"business_id": agency["id"]}],
                "campaigns": campaigns,
                "adsets": adsets,
                "rules": [
                    {
                        "id": "238400000000901",
                        "name": "Restart weekends",
                        "status": "ENABLED",
                        "execution_spec": {"execution_type": "UNPAUSE"},
                    },
                    {
                        "id": "238400000000902",
                        "name": "Email on high CPC",
                        "status": "ENABLED",
                        "execution_spec": {"execution_type": "NOTIFICATION"},
                    },
                    {
                        "id": "238400000000903",
                        "name": "Pause on low CTR",
                        "status": "ENABLED",
                        "execution_spec": {"execution_type": "PAUSE"},
                    },
                ],
            }
        ],
    }
