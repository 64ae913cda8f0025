"""`adoffboard demo`: the whole loop against the in-process sandbox, with no credentials.

A demo dealer leaving the platform goes through the SEM cancellation: plan (the sandbox's request
log proves it sent no write), apply, verify. The workspace is a temporary folder unless kept.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adoffboard.models import CheckStatus, Report, ReportKind

DEMO_CLIENT: dict[str, Any] = {
    "slug": "lakeside-powersports",
    "name": "Lakeside Powersports",
    "departments": ["SEM", "MA"],
    "account_manager": {"name": "Dana Whitfield", "email": "dana.whitfield@agency.example"},
    "google_ads": {
        "customer_id": "123-456-7890",
        "manager_id": "111-222-3333",
        "expected_name": "Lakeside Powersports",
    },
    "trello": {"card_id": "64b7f0c2a1d3e4f5a6b7c801"},
    "sharpspring": {"account_id": "7A3F9C21D0"},
    "fluency": {"account_id": "FL-20417", "expected_name": "Lakeside Powersports"},
    "ninjacat": {"account_id": "NC-88123", "expected_name": "Lakeside Powersports"},
}


@dataclass(frozen=True)
class DemoOutcome:
    report: Report
    paths: dict[str, Path]
    workspace: Path
    ok: bool
    plan_writes: int


def run_demo(keep: Path | None = None,
             progress: Callable[[str, str], None] = lambda who, message: None) -> DemoOutcome:
    from adoffboard.config import load_workspace
    from adoffboard.engine import Env, apply_plan, combined_report, make_plan, save_plan, verify
    from adoffboard.reports import write_reports
    from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
    from adoffboard.store import Store
    from adoffboard.workspace_init import init_workspace

    folder = keep or Path(tempfile.mkdtemp(prefix="adoffboard-demo-"))
    progress("sandbox", "starting the platform stand-ins")
    with Sandbox.from_file(DEMO_SCENARIO) as box:
        init_workspace(folder, platforms=box.platform_settings(), clients=[DEMO_CLIENT],
                       notifications=box.notification_settings(), force=True)
        ws = load_workspace(folder)
        env = Env(ws, progress=progress)
        store = Store.open(ws.store_url)
        try:
            progress("engine", "planning (dry run)")
            plan = make_plan(env, DEMO_CLIENT["slug"], "sem-cancellation", scope="platform")
            plan_writes = len(box.log.mutating())
            progress("engine", f"plan {plan.plan_id}: {len(plan.changes)} change(s), "
                               f"{plan_writes} write(s) sent while planning")
            path = save_plan(plan, ws.root / "plans" / f"{plan.plan_id}.json")
            write_reports(Report(ReportKind.PLAN, plan), ws.reports_dir)
            result = apply_plan(env, plan, store, plan_path=str(path))
            checked = verify(env, store, plan.client, run_id=result.run_id)
        finally:
            store.close()
    report = combined_report(result, checked)
    paths = write_reports(report, ws.reports_dir)
    ok = (plan_writes == 0 and result.status == "applied"
          and not any(c.status == CheckStatus.FAIL for c in checked.checks))
    return DemoOutcome(report, paths, folder, ok, plan_writes)
