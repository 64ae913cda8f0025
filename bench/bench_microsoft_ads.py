"""Benchmark: plan and apply the Microsoft Advertising part of the SEM cancellation.

One account of 1,000 campaigns (`generate_account`) sits behind the Microsoft Advertising
stand-in with 50 ms of latency injected on every call. Prints wall time per phase (the SDK's
import included in the plan, as a user meets it), calls made and the minimum the work needs
(100 entities per write, pauses and budgets in separate calls), and what a
one-call-per-campaign script would send.

    .venv/bin/python bench/bench_microsoft_ads.py [--campaigns 1000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_common import approve_cancellation, with_trackers

from adoffboard.app import apply_approved
from adoffboard.config import load_workspace
from adoffboard.engine import Env, make_plan
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.microsoft_ads import generate_account
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

CLIENT = "bench-client"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    section = generate_account(args.campaigns)
    account = section["accounts"][0]
    scenario = {
        "microsoft_ads": section,
        "faults": [{"kind": "latency", "platform": "microsoft_ads", "latency_ms": args.latency_ms}],
    }
    manifest = {
        "slug": CLIENT,
        "name": account["name"],
        "departments": ["SEM"],
        "account_manager": {"name": "Bench", "email": "bench@agency.example"},
        "microsoft_ads": {
            "account_id": account["account_id"],
            "customer_id": account["customer_id"],
            "expected_name": account["name"],
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

        entries = box.log.entries()[plan_calls:]
        reads = sum(1 for e in entries if not e.mutating)
        writes = sum(1 for e in entries if e.mutating)
        by_field: dict[str, int] = {}
        for c in plan.changes:
            by_field[c.field] = by_field.get(c.field, 0) + 1
        needed = sum(-(-n // 100) for n in by_field.values())
        shared = -(-len(account["budgets"]) // 100)
        print(f"campaigns in account      {args.campaigns}")
        print(f"injected latency per call {args.latency_ms} ms")
        print(
            f"changes planned           {len(plan.changes)} "
            + ", ".join(f"{n} {f}" for f, n in sorted(by_field.items()))
        )
        print(
            f"plan   wall {t1 - t0:7.2f} s   calls {plan_calls} reads   "
            f"(minimum {2 + shared}: account, campaigns, shared budgets)"
        )
        print(
            f"apply  wall {t2 - t1:7.2f} s   calls {reads} reads + {writes} writes   "
            f"(minimum {(2 + shared) + (1 + shared)} reads: tenant guard and drift re-read; "
            f"{needed} writes)"
        )
        print(f"total  wall {t2 - t0:7.2f} s   calls {len(box.log)}")
        print(
            f"one-call-per-campaign script would make >= {len(plan.changes)} writes "
            f"(~{len(plan.changes) * args.latency_ms / 1000:.0f} s of latency alone)"
        )
        print(f"run status {result.status}")


if __name__ == "__main__":
    main()
