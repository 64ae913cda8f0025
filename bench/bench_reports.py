"""Benchmark: rendering one big run report as Markdown, HTML and JSON.

A run over N campaign pauses across 5 steps, every outcome status represented, is rendered by
each renderer several times; the best and median wall times are printed, plus `write_reports`
(all three files from one shared view). Rendering is meant to stay linear in the number of
changes: compare 5,000 with 50,000 to see it.

    python bench/bench_reports.py [--changes 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from adoffboard.models import (
    Change,
    Outcome,
    OutcomeStatus,
    Plan,
    Report,
    ReportKind,
    StepKind,
    StepPlan,
)
from adoffboard.reports import render_html, render_json, render_markdown, write_reports


def big_report(n: int) -> Report:
    """A run over `n` campaign pauses across 5 steps, every outcome status represented."""
    statuses = list(OutcomeStatus)
    steps, outcomes = [], []
    for s in range(5):
        step_id = f"pause-{s}"
        changes = tuple(
            Change(
                id=f"google_ads:111:campaign:{s}-{i}:status",
                step_id=step_id,
                platform="google_ads",
                account="111-222-3333",
                entity_type="campaign",
                entity_id=f"{s}-{i}",
                name=f"Campaign {s}-{i}",
                field="status",
                before="ENABLED",
                after="PAUSED",
                shown_before="ENABLED",
                shown_after="PAUSED",
            )
            for i in range(n // 5)
        )
        outcomes += [Outcome(c.id, statuses[i % len(statuses)]) for i, c in enumerate(changes)]
        steps.append(
            StepPlan(
                step_id=step_id,
                title=f"Pause part {s}",
                part="Cancellation",
                section="On the effective date",
                department="SEM",
                owner="SEM Specialist",
                timing="effective_date",
                kind=StepKind.AUTOMATED,
                platform="google_ads",
                action="pause_campaigns",
                changes=changes,
            )
        )
    plan = Plan(
        plan_id="plan-bench",
        client="bench-client",
        client_name="Bench Client",
        runbook="sem-cancellation",
        runbook_version=1,
        scope="services-only",
        effective_date="2026-01-05",
        created_at="2026-01-04T09:00:00Z",
        manifest_hash="m" * 64,
        runbook_hash="r" * 64,
        steps=tuple(steps),
    )
    return Report(kind=ReportKind.RUN, plan=plan, run_id="run-bench", outcomes=tuple(outcomes))


def timed(label: str, render: Callable[[], object], repeat: int) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        render()
        times.append(time.perf_counter() - started)
    print(
        f"{label:<14} best {min(times) * 1000:8.1f} ms   median "
        f"{statistics.median(times) * 1000:8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    report = big_report(args.changes)
    print(f"run report, {args.changes} changes, {args.repeat} rounds each")
    timed("markdown", lambda: render_markdown(report), args.repeat)
    timed("html", lambda: render_html(report), args.repeat)
    timed("json", lambda: render_json(report), args.repeat)
    with tempfile.TemporaryDirectory() as folder:
        timed("write_reports", lambda: write_reports(report, Path(folder)), args.repeat)


if __name__ == "__main__":
    main()
