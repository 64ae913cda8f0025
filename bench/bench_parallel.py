"""Benchmark: the SEM cancellation of one client on Google Ads, Microsoft Advertising and Meta at
once, against each platform alone.

Google Ads (5,000 campaigns), Microsoft Advertising (1,000) and Meta (500 campaigns with their ad
sets) sit behind their stand-ins with the same latency injected on every call. The same plan and
apply run once with all three platforms and once per platform alone (a fresh sandbox each time).
Prints wall time per phase, calls per platform, and the parallel run against the slowest platform
alone: platforms are applied concurrently, each within its own limits, so the whole should take
about as long as its slowest part.

    .venv/bin/python bench/bench_parallel.py [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_common import approve_cancellation, with_trackers

from adoffboard.app import apply_approved
from adoffboard.config import load_workspace
from adoffboard.engine import Env, make_plan
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.googleads import GoogleAdsStandIn
from adoffboard.sandbox.meta import MetaStandIn
from adoffboard.sandbox.microsoft_ads import generate_account as microsoft_account
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

CLIENT = "bench-client"
PLATFORMS = ("google_ads", "microsoft_ads", "meta")
SIZES = {"google_ads": 5000, "microsoft_ads": 1000, "meta": 500}


def sections() -> dict[str, Any]:
    return {
        "google_ads": GoogleAdsStandIn.generate_accounts(SIZES["google_ads"]),
        "microsoft_ads": microsoft_account(SIZES["microsoft_ads"]),
        "meta": MetaStandIn.generate_account(SIZES["meta"]),
    }


def manifest(data: dict[str, Any], platforms: tuple[str, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "slug": CLIENT,
        "name": "Bench client",
        "departments": ["SEM"],
        "account_manager": {"name": "Dana Whitfield", "email": "dana.whitfield@agency.example"},
    }
    if "google_ads" in platforms:
        acct = data["google_ads"]["accounts"][0]
        doc["google_ads"] = {
            "customer_id": acct["customer_id"],
            "manager_id": "1112223333",
            "expected_name": acct["descriptive_name"],
        }
    if "microsoft_ads" in platforms:
        acct = data["microsoft_ads"]["accounts"][0]
        doc["microsoft_ads"] = {
            "account_id": acct["account_id"],
            "customer_id": acct["customer_id"],
            "expected_name": acct["name"],
        }
    if "meta" in platforms:
        acct = data["meta"]["ad_accounts"][0]
        doc["meta"] = {"ad_account_id": acct["id"], "expected_name": acct["name"]}
    return doc


def measure(platforms: tuple[str, ...], latency_ms: int) -> dict[str, Any]:
    data = sections()
    scenario: dict[str, Any] = {p: data[p] for p in platforms}
    scenario["faults"] = [
        {"kind": "latency", "platform": p, "latency_ms": latency_ms} for p in platforms
    ]
    with Sandbox(with_trackers(scenario)) as box, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root, platforms=box.platform_settings(), clients=[manifest(data, platforms)])
        ws = load_workspace(root)
        env = Env(ws)
        store = Store.open(ws.store_url)
        approve_cancellation(env, store)
        t0 = time.perf_counter()
        plan = make_plan(env, CLIENT, "sem-cancellation", "dm")
        t1 = time.perf_counter()
        result = apply_approved(env, plan, store)
        t2 = time.perf_counter()
        store.close()
        calls = {
            p: Counter("write" if e.mutating else "read" for e in box.log.entries(p))
            for p in platforms
        }
        changes = Counter(c.platform for c in plan.changes)
    return {
        "plan": t1 - t0,
        "apply": t2 - t1,
        "calls": calls,
        "changes": changes,
        "status": result.status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    measure(("microsoft_ads",), 0)  # warm-up: the SDKs' imports are not part of the figures
    print(
        f"latency per call {args.latency_ms} ms; campaigns: "
        + ", ".join(f"{p} {n}" for p, n in SIZES.items())
    )
    alone = {}
    for platform in PLATFORMS:
        alone[platform] = m = measure((platform,), args.latency_ms)
        c = m["calls"][platform]
        print(
            f"{platform:14} alone   plan {m['plan']:6.2f} s  apply {m['apply']:6.2f} s  "
            f"{m['changes'][platform]:5} changes  {c['read']:3} reads {c['write']:3} writes  "
            f"{m['status']}"
        )
    both = measure(PLATFORMS, args.latency_ms)
    print(
        f"{'all three':14} at once plan {both['plan']:6.2f} s  apply {both['apply']:6.2f} s  "
        f"{sum(both['changes'].values()):5} changes  {both['status']}"
    )
    for platform in PLATFORMS:
        c = both["calls"][platform]
        print(f"  {platform:14} {c['read']:3} reads {c['write']:3} writes")
    slowest_plan = max(m["plan"] for m in alone.values())
    slowest_apply = max(m["apply"] for m in alone.values())
    total_apply = sum(m["apply"] for m in alone.values())
    print(f"plan:  all at once {both['plan']:.2f} s vs slowest alone {slowest_plan:.2f} s")
    print(
        f"apply: all at once {both['apply']:.2f} s vs slowest alone {slowest_apply:.2f} s "
        f"(one after the other: {total_apply:.2f} s)"
    )


if __name__ == "__main__":
    main()
