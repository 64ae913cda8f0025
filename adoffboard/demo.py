"""`adoffboard demo`: the whole loop against the in-process sandbox, with no credentials.

A demo dealer leaving the platform goes through the agency's change request chain, then the SEM
and MA cancellations: plan (the sandbox's request log proves it sent no write), apply, verify.
Every report judges the change request's own lines from its history (who approved it, when its
notice went out). The workspace is a temporary folder unless kept.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adoffboard.models import CheckStatus, Report, ReportKind

if TYPE_CHECKING:
    from adoffboard.sandbox import Sandbox

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
    "microsoft_ads": {
        "account_id": "149876543",
        "customer_id": "251234567",
        "expected_name": "Lakeside Powersports",
    },
    "meta": {"ad_account_id": "act_1029384756", "expected_name": "Lakeside Powersports"},
    "ga4": {
        "account_id": "100200300",
        "property_ids": ["310000001", "310000002"],
        "expected_name": "Lakeside Powersports",
    },
    "search_console": {"site_url": "https://www.lakesidepowersports.example/"},
    "tag_manager": {"account_id": "6001234567", "expected_name": "Lakeside Powersports"},
    # how trackers that don't use the client's name write it (default: `name`)
    "trackers": {"belize_tracker": "Lakeside Powersports LLC"},
    "trello": {"card_id": "64b7f0c2a1d3e4f5a6b7c801"},
    "sharpspring": {"account_id": "7A3F9C21D0"},
    "fluency": {"account_id": "FL-20417", "expected_name": "Lakeside Powersports"},
    "ninjacat": {"account_id": "NC-88123", "expected_name": "Lakeside Powersports"},
}


DEMO_RUNBOOKS = ("sem-cancellation", "ma-cancellation")
# The approval notice's distribution list: the operations lead, the leads and managers, and the
# SEM and MA Specialists, whom the notice then reaches without a forward.
DEMO_LIST = [
    "dmo-lead@agency.example",
    "dm-leads@agency.example",
    "dm-managers@agency.example",
    "sam.ortiz@agency.example",
    "mia.chen@agency.example",
]


@dataclass(frozen=True)
class DemoOutcome:
    reports: tuple[Report, ...]  # one combined run + verify report per runbook
    paths: tuple[dict[str, Path], ...]
    workspace: Path
    ok: bool
    plan_writes: int

    @property
    def report(self) -> Report:
        return self.reports[0]


def run_demo(
    keep: Path | None = None,
    progress: Callable[[str, str], None] = lambda who, message: None,
    *,
    box: Sandbox | None = None,
    prepare: Callable[[Path], None] | None = None,
) -> DemoOutcome:
    """The demo dealer leaves the platform: its SEM and MA cancellations, each planned (no write
    sent), applied and verified against the sandbox: `box` when given (it stays up), else stand-ins
    started and stopped here. `prepare` may complete the new workspace before it is loaded."""
    if box is None:
        from adoffboard.sandbox import DEMO_SCENARIO, Sandbox

        progress("sandbox", "starting the platform stand-ins")
        with Sandbox.from_file(DEMO_SCENARIO) as started:
            return run_demo(keep, progress, box=started, prepare=prepare)
    from adoffboard.app import apply_approved, environment, judged, plan_for_request
    from adoffboard.config import load_workspace
    from adoffboard.engine import save_plan
    from adoffboard.report_store import save_reports
    from adoffboard.store import Store
    from adoffboard.workspace_init import init_workspace

    folder = keep or Path(tempfile.mkdtemp(prefix="adoffboard-demo-"))
    reports: list[Report] = []
    paths: list[dict[str, Path]] = []
    ok, plan_writes = True, 0
    init_workspace(
        folder,
        platforms=box.platform_settings(),
        clients=[DEMO_CLIENT],
        notifications={**box.notification_settings(), "distribution_list": DEMO_LIST},
        force=True,
        single_user=True,  # one person rehearses every role
    )
    if prepare is not None:
        prepare(folder)
    ws = load_workspace(folder)
    env = environment(ws, progress=progress)
    store = Store.open(ws.store_url)
    try:
        cr = approve_demo_request(ws, store, env.today(), progress)
        for runbook in DEMO_RUNBOOKS:
            progress("engine", f"planning {runbook} (dry run)")
            writes_before = len(box.log.mutating())
            plan = plan_for_request(
                env, lambda: store, DEMO_CLIENT["slug"], runbook, scope="platform", cr_id=cr.id
            )
            writes = len(box.log.mutating()) - writes_before
            plan_writes += writes
            progress(
                "engine",
                f"plan {plan.plan_id}: {len(plan.changes)} change(s), "
                f"{writes} write(s) sent while planning",
            )
            path = save_plan(plan, ws.root / "plans" / f"{plan.plan_id}.json", store.plan_key())
            save_reports(Report(ReportKind.PLAN, plan), ws.reports_dir, store, made_by="demo")
            result = apply_approved(env, plan, store, plan_path=str(path))
            report, checked = judged(env, store, result, always=True)
            assert checked is not None
            reports.append(report)
            paths.append(save_reports(report, ws.reports_dir, store, made_by="demo"))
            ok = (
                ok
                and writes == 0
                and result.status == "applied"
                and not any(c.status == CheckStatus.FAIL for c in checked.checks)
            )
    finally:
        store.close()
    return DemoOutcome(tuple(reports), tuple(paths), folder, ok, plan_writes)


def approve_demo_request(
    ws: Any, store: Any, today: dt.date, progress: Callable[[str, str], None]
) -> Any:
    """The demo dealer's cancellation goes through the agency's chain, as `adoffboard cr` does
    it: the Account Manager creates it, the Retention team records its save attempt and submits,
    both approvers approve and accounting processes it; the notice goes to the sandbox's SMTP."""
    from adoffboard.scheduling.book import change_requests

    service = change_requests(store, ws)
    cr = service.create(
        "dana",
        {
            "client": DEMO_CLIENT["slug"],
            "type": "cancellation",
            "departments": ["SEM", "MA"],
            "scope": "platform",
            "effective_date": today.isoformat(),
            "escalated_to": "retention",
            "notes": "The dealer is leaving the platform at the end of the month.",
        },
    )
    service.save_attempt(
        cr.id, "amy", "not-saved", "Offered a quarter at a reduced management fee; declined."
    )
    service.submit(cr.id, "amy")
    for person in ("jeremy", "dustin", "accounting"):
        cr = service.approve(cr.id, person)
    sent = service.deliver(cr.id)
    progress(
        "engine",
        f"change request {cr.id} {service.standing(cr)}; "
        f"{sum(1 for d in sent if not d.error)} notice(s) sent",
    )
    return cr
