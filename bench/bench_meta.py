"""Benchmark: plan and apply the Meta part of the SEM cancellation for one large ad account.

An ad account of 500 campaigns (two ad sets each, a realistic mix of statuses, three automated
rules) sits behind the Graph stand-in with 50 ms of latency injected on every call. Prints wall
time per phase, calls made (reads / writes, batch items) and the minimum number of calls the work
needs, so that the figures can be compared between versions.

    .venv/bin/python bench/bench_meta.py [--campaigns 500] [--latency-ms 50] [--scope dm]
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
from adoffboard.sandbox.meta import MetaStandIn
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

CLIENT = "bench-client"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--scope", choices=("dm", "platform"), default="dm")
    args = parser.parse_args()

    section = MetaStandIn.generate_account(args.campaigns)
    scenario = {
        "meta": section,
        "faults": [{"kind": "latency", "platform": "meta", "latency_ms": args.latency_ms}],
    }
    account = section["ad_accounts"][0]
    manifest = {
        "slug": CLIENT,
        "name": account["name"],
        "departments": ["SEM"],
        "account_manager": {"name": "Bench", "email": "bench@agency.example"},
        "meta": {"ad_account_id": account["id"], "expected_name": account["name"]},
    }
    with Sandbox(with_trackers(scenario)) as box, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root, platforms=box.platform_settings(), clients=[manifest])
        env = Env(load_workspace(root))
        store = Store.open(load_workspace(root).store_url)
        approve_cancellation(env, store)

        t0 = time.perf_counter()
        plan = make_plan(env, CLIENT, "sem-cancellation", args.scope)
        t1 = time.perf_counter()
        plan_calls = len(box.log)
        result = apply_approved(env, plan, store, now_ok=True)
        t2 = time.perf_counter()
        store.close()

        apply_entries = box.log.entries()[plan_calls:]
        top = [e for e in apply_entries if e.service != "graph-batch"]
        reads = sum(1 for e in top if not e.mutating)
        writes = sum(1 for e in top if e.mutating)
        items = sum(1 for e in apply_entries if e.service == "graph-batch")
        updates = sum(1 for c in plan.changes if c.phase == "ads")
        removals = len(plan.changes) - updates
        pages = -(-len(account["adsets"]) // 500)  # the largest edge, at 500 a page
        state_reads = 4 + pages
        rereads = len({c.entity_type for c in plan.changes if c.phase == "ads"}) - 1 + pages
        batches_needed = -(-updates // 50)
        apply_min = state_reads + rereads + batches_needed + removals
        print(
            f"campaigns in account      {args.campaigns} "
            f"({len(account['adsets'])} ad sets, {len(account['rules'])} rules)"
        )
        print(f"injected latency per call {args.latency_ms} ms")
        print(
            f"changes planned           {len(plan.changes)} "
            f"({updates} status updates, {removals} agency removal)"
        )
        print(
            f"plan   wall {t1 - t0:7.2f} s   calls {plan_calls} reads   "
            f"(minimum {state_reads}: account, campaigns, ad sets, rules, agencies at 500 "
            "a page)"
        )
        print(
            f"apply  wall {t2 - t1:7.2f} s   calls {reads} reads + {writes} writes "
            f"({items} batch items)   (minimum {apply_min}: the state again, "
            f"{rereads} drift re-reads, {batches_needed} batches"
            f"{', 1 removal' if removals else ''})"
        )
        print(f"total  wall {t2 - t0:7.2f} s   calls {len(box.log.entries('meta')) - items}")
        print(
            f"one-call-per-object script would make >= {updates + removals} writes "
            f"(~{(updates + removals) * args.latency_ms / 1000:.0f} s of latency alone)"
        )
        print(f"run status {result.status}")


if __name__ == "__main__":
    main()
