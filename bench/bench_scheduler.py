"""Benchmark: the scheduler's own overhead with a long history of approved change requests.

Every tick re-syncs the schedule with the requests (idempotent), finds what is due and sends the
notices; with nothing due it contacts no platform. This measures, on SQLite and (when reachable)
PostgreSQL, with N approved pauses (2 runs each) on the books:

- approving one request (schedules its runs in the approval's transaction)
- `sync` of the whole history (what a tick does first)
- an idle tick (nothing due), and `next_wake`
- peak memory of the idle tick

    python bench/bench_scheduler.py [--requests 2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from adoffboard.clock import FakeClock
from adoffboard.config import load_workspace
from adoffboard.cr.service import ChangeRequests
from adoffboard.sandbox import Sandbox
from adoffboard.scheduling import book
from adoffboard.scheduling.runner import Scheduler
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace


def clients(n: int) -> list[dict[str, object]]:
    return [
        {
            "slug": f"dealer-{i:05d}",
            "name": f"Dealer {i}",
            "departments": ["SEM"],
            "account_manager": {"name": "Dana Whitfield", "email": "dana.whitfield@agency.example"},
            "google_ads": {
                "customer_id": f"{1000000000 + i}",
                "manager_id": "111-222-3333",
                "expected_name": f"Dealer {i}",
            },
        }
        for i in range(n)
    ]


def run(url: str | None, requests: int) -> None:
    root = Path(tempfile.mkdtemp()) / "ws"
    n_clients = max(1, requests // 10)
    mail = Sandbox({"smtp": {}}).start()  # a real SMTP server on loopback for the notices
    init_workspace(
        root, platforms={}, clients=clients(n_clients), notifications=mail.notification_settings()
    )
    if url:
        toml = root / "adoffboard.toml"
        toml.write_text(
            toml.read_text().replace('store = "sqlite:///.adoffboard/state.db"', f'store = "{url}"')
        )
    ws = load_workspace(root)
    clock = FakeClock(dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.UTC))  # before 06:00: no reminders
    with Store.open(ws.store_url, clock=clock) as store:
        service = ChangeRequests(store, ws, clock=clock)
        approve_times = []
        start = time.perf_counter()
        for i in range(requests):
            effective = dt.date(2027, 1, 1) + dt.timedelta(days=i % 300)
            cr = service.create(
                "dana",
                {
                    "client": f"dealer-{i % n_clients:05d}",
                    "type": "pause",
                    "effective_date": str(effective),
                    "pause_end_date": str(effective + dt.timedelta(days=30)),
                    "departments": "SEM",
                },
            )
            service.submit(cr.id, "dana")
            service.approve(cr.id, "jeremy")
            service.approve(cr.id, "dustin")
            t0 = time.perf_counter()
            service.approve(cr.id, "accounting")  # the final approval schedules the runs
            approve_times.append(time.perf_counter() - t0)
        setup = time.perf_counter() - start
        with store.transaction() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM schedule").scalar()
        scheduler = Scheduler(ws, store, clock=clock)
        scheduler.tick()  # sends the approval notices queued above
        t0 = time.perf_counter()
        added = book.sync(store, ws)
        sync_s = time.perf_counter() - t0
        assert not added
        ticks = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = scheduler.tick()
            ticks.append(time.perf_counter() - t0)
            assert not report.results
        tracemalloc.start()
        scheduler.tick()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t0 = time.perf_counter()
        scheduler.next_wake()
        wake_s = time.perf_counter() - t0
    mail.stop()
    backend = "postgresql" if url else "sqlite"
    print(f"{backend}: {requests} approved pauses, {rows} scheduled runs (setup {setup:.1f}s)")
    approve_ms = statistics.median(approve_times) * 1000
    print(f"  final approval incl. scheduling: median {approve_ms:.1f} ms")
    print(f"  sync of the whole history:       {sync_s:.2f} s")
    print(
        f"  idle tick (nothing due):         median {statistics.median(ticks):.2f} s, "
        f"peak {peak / 2**20:.1f} MiB"
    )
    print(f"  next_wake:                       {wake_s * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres", help="a postgresql+psycopg:// URL of an empty database")
    args = parser.parse_args()
    run(None, args.requests)
    if args.postgres:
        run(args.postgres, args.requests)


if __name__ == "__main__":
    main()
