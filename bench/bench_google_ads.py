"""Benchmark: plan and apply the Google Ads part of the SEM cancellation for one large account.

An account of 5,000 campaigns sits behind the Google Ads stand-in with 50 ms of latency injected
on every call. Prints wall time per phase, calls made (reads / writes) and the minimum number of
calls the work needs, so that the figures can be compared between versions.

    .venv/bin/python bench/bench_google_ads.py [--campaigns 5000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_common import approve_cancellation, with_trackers

from adoffboard.app import apply_approved
from adoffboard.config import load_workspace
from adoffboard.engine import Env, make_plan
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.googleads import GoogleAdsStandIn
from adoffboard.sandbox.tls import sandbox_cert
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

CLIENT = "bench-client"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(sandbox_cert().ca_file)
    scenario = {
        "google_ads": GoogleAdsStandIn.generate_accounts(args.campaigns),
        "faults": [{"kind": "latency", "platform": "google_ads", "latency_ms": args.latency_ms}],
    }
    account = scenario["google_ads"]["accounts"][0]
    manifest = {
        "slug": CLIENT,
        "name": account["descriptive_name"],
        "departments": ["SEM"],
        "account_manager": {"name": "Bench", "email": "bench@agency.example"},
        "google_ads": {
            "customer_id": account["customer_id"],
            "manager_id": "1112223333",
            "expected_name": account["descriptive_name"],
        },
    }
    with Sandbox(with_trackers(scenario)) as box, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root, platforms=box.platform_settings(), clients=[manifest])
        env = Env(load_workspace(root))
        store = Store.open(load_workspace(root).store_url)
        approve_cancellation(env, store)

        t0 = time.perf_counter()
        plan = make_plan(env, CLIENT, "sem-cancellation", "dm")
        t1 = time.perf_counter()
        plan_calls = len(box.log)
        result = apply_approved(env, plan, store)
        t2 = time.perf_counter()
        store.close()

        apply_entries = box.log.entries()[plan_calls:]
        reads = sum(1 for e in apply_entries if not e.mutating)
        writes = sum(1 for e in apply_entries if e.mutating)
        ops = sum(1 for c in plan.changes if c.phase == "ads")
        links = sum(1 for c in plan.changes if c.phase != "ads")
        mutates_needed = -(-ops // 10_000) + links
        print(f"campaigns in account      {args.campaigns}")
        print(f"injected latency per call {args.latency_ms} ms")
        print(
            f"changes planned           {len(plan.changes)} "
            f"({ops} campaign/budget operations, {links} link)"
        )
        print(
            f"plan   wall {t1 - t0:7.2f} s   calls {plan_calls} reads   "
            f"(minimum 2: campaigns with budgets and customer, manager link)"
        )
        print(
            f"apply  wall {t2 - t1:7.2f} s   calls {reads} reads + {writes} writes   "
            f"(minimum {1 + mutates_needed}: one drift re-read, {mutates_needed} writes)"
        )
        print(f"total  wall {t2 - t0:7.2f} s   calls {len(box.log)}")
        print(
            f"one-call-per-campaign script would make >= {ops + links} writes "
            f"(~{(ops + links) * args.latency_ms / 1000:.0f} s of latency alone)"
        )
        print(f"run status {result.status}")


if __name__ == "__main__":
    main()
