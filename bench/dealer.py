"""The large dealer the benchmark offboards, on a fresh sandbox with latency on every call.

The demo dealer's world (its trackers, Trello card, analytics, Search Console and Tag Manager
access items, SMTP) with its three ad accounts replaced by generated ones: Google Ads, Microsoft
Advertising and Meta campaigns in the stand-ins' realistic mixes. Every stand-in answers each
call after `latency_ms` (the sandbox's `latency` fault on platform "*").
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adoffboard.config import LoadedWorkspace, load_workspace
from adoffboard.demo import DEMO_CLIENT, DEMO_LIST
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario
from adoffboard.sandbox.googleads import GoogleAdsStandIn
from adoffboard.sandbox.meta import MetaStandIn
from adoffboard.sandbox.microsoft_ads import generate_account as microsoft_account
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

CLIENT = str(DEMO_CLIENT["slug"])
AD_PLATFORMS = ("google_ads", "microsoft_ads", "meta")
LARGE = {"google_ads": 1000, "microsoft_ads": 1000, "meta": 500}


@dataclass(frozen=True)
class Dealer:
    """How many campaigns each ad platform holds (0: the platform is left out)."""

    google_ads: int = LARGE["google_ads"]
    microsoft_ads: int = LARGE["microsoft_ads"]
    meta: int = LARGE["meta"]
    trackers: bool = True  # the demo's trackers and access items

    def scaled(self, factor: float) -> Dealer:
        return Dealer(
            round(self.google_ads * factor),
            round(self.microsoft_ads * factor),
            round(self.meta * factor),
            self.trackers,
        )

    def sizes(self) -> dict[str, int]:
        return {p: n for p in AD_PLATFORMS if (n := getattr(self, p))}


def scenario(
    dealer: Dealer, latency_ms: int, *, meta_call_capacity: int | None = None
) -> dict[str, Any]:
    """The sandbox scenario: generated ad accounts, the demo's other platforms, latency.
    `meta_call_capacity`: the Meta stand-in's calls per rolling hour, when not its default."""
    base = load_scenario(DEMO_SCENARIO) if dealer.trackers else {"smtp": {}}
    for platform in AD_PLATFORMS:
        base.pop(platform, None)
    if dealer.google_ads:
        base["google_ads"] = GoogleAdsStandIn.generate_accounts(dealer.google_ads)
    if dealer.microsoft_ads:
        base["microsoft_ads"] = microsoft_account(dealer.microsoft_ads)
    if dealer.meta:
        base["meta"] = MetaStandIn.generate_account(dealer.meta)
        if meta_call_capacity is not None:
            base["meta"]["call_capacity"] = meta_call_capacity
    base["faults"] = [{"kind": "latency", "platform": "*", "latency_ms": latency_ms}]
    return base


def manifest(world: dict[str, Any], dealer: Dealer) -> dict[str, Any]:
    """The demo client, pointed at the generated ad accounts (its trackers' rows stay)."""
    doc = {k: v for k, v in DEMO_CLIENT.items() if k not in AD_PLATFORMS}
    if not dealer.trackers:
        doc = {k: doc[k] for k in ("slug", "name", "account_manager")}
    doc["departments"] = ["SEM"]
    if dealer.google_ads:
        acct = world["google_ads"]["accounts"][0]
        doc["google_ads"] = {
            "customer_id": acct["customer_id"],
            "manager_id": world["google_ads"]["managers"][0]["customer_id"],
            "expected_name": acct["descriptive_name"],
        }
    if dealer.microsoft_ads:
        acct = world["microsoft_ads"]["accounts"][0]
        doc["microsoft_ads"] = {
            "account_id": acct["account_id"],
            "customer_id": acct["customer_id"],
            "expected_name": acct["name"],
        }
    if dealer.meta:
        acct = world["meta"]["ad_accounts"][0]
        doc["meta"] = {"ad_account_id": acct["id"], "expected_name": acct["name"]}
    return doc


@dataclass
class World:
    box: Sandbox
    workspace: LoadedWorkspace
    manifest: dict[str, Any]
    scenario: dict[str, Any]


@contextlib.contextmanager
def world(
    dealer: Dealer,
    latency_ms: int,
    *,
    request: str = "cancellation",
    meta_call_capacity: int | None = None,
) -> Iterator[World]:
    """A fresh sandbox and workspace for one contender's round, where the dealer's SEM
    `request` ("cancellation": leaving the platform; "pause"; effective today) has been
    through the approval chain ("": none)."""
    data = scenario(dealer, latency_ms, meta_call_capacity=meta_call_capacity)
    client = manifest(data, dealer)
    with Sandbox(data) as box, tempfile.TemporaryDirectory(prefix="adoffboard-bench-") as tmp:
        root = Path(tmp)
        init_workspace(
            root,
            platforms=box.platform_settings(),
            clients=[client],
            notifications={**box.notification_settings(), "distribution_list": DEMO_LIST},
        )
        ws = load_workspace(root)
        if request:
            with box_quiet(box):
                approve(ws, request)
        yield World(box, ws, client, data)


@contextlib.contextmanager
def box_quiet(box: Sandbox) -> Iterator[None]:
    """No latency while the approval's notice goes out (it is not part of any figure)."""
    rules = list(box.faults.rules)
    box.faults.clear()
    try:
        yield
    finally:
        for rule in rules:
            box.faults.add(rule)


def approve(ws: LoadedWorkspace, kind: str) -> None:
    """The request through the agency's chain, as `adoffboard cr` does it."""
    import datetime as dt

    from adoffboard.engine import Env
    from adoffboard.scheduling.book import change_requests

    with Store.open(ws.store_url) as store:
        service = change_requests(store, ws)
        today = Env(ws).today()
        content: dict[str, Any] = {
            "client": CLIENT,
            "type": kind,
            "departments": ["SEM"],
            "effective_date": today.isoformat(),
            "escalated_to": "retention",
            "notes": "Benchmark.",
        }
        if kind == "pause":
            content["pause_end_date"] = (today + dt.timedelta(days=30)).isoformat()
        else:
            content["scope"] = "platform"
        cr = service.create("dana", content)
        service.save_attempt(cr.id, "amy", "not-saved", "Declined.")
        service.submit(cr.id, "amy")
        for person in ("jeremy", "dustin", "accounting"):
            cr = service.approve(cr.id, person)
        service.deliver(cr.id)
