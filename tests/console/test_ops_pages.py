"""The console's operations pages at the wire: runs and their reports served from the store, the
planner, the schedule (retry, cancel), manual tasks (attest) and the audit trail, against a run
made on the sandbox stand-ins, people signed in through the identity provider stand-in."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, approved_cr, workspace_today
from console_support import Browser, csrf_of, store_rows
from sqlalchemy import update

from adoffboard.config import load_workspace
from adoffboard.report_store import reports_t
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

CLIENT = "lakeside-powersports"
TASK = f"{CLIENT}/google-ads-remove-scripts"
SAM = "sam.ortiz@agency.example"  # SEM Specialist: owns the Google Ads script line
DANA = "dana.whitfield@agency.example"  # Account Manager
SCHEDULE = ("schedule", "schedule_events", "audit_events")
EVIDENCE = ("attestations", "audit_events")


def ran(cli: Cli) -> dict[str, Any]:
    """An approved cancellation, run (and verified) through the CLI against the stand-ins."""
    approved_cr(cli, CLIENT, scope="platform")
    result = cli("--json", "run", CLIENT, "-r", "sem-cancellation", "--scope", "platform", "--yes")
    assert result.exit_code in (0, 13), result.output
    return json.loads(result.output)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_runs_and_their_reports_from_the_store(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    run = ran(cli)
    run_id, files = run["run_id"], run["report_files"]
    b = browser(SAM)
    runs = b.get("/runs")
    assert runs.status_code == 200
    assert f'id="run-{run_id}"' in runs.text and f'id="run-report-{run_id}"' in runs.text
    detail = b.get(f"/runs/{run_id}")
    assert detail.status_code == 200 and 'id="plan-report-link"' in detail.text
    assert "sem-cancellation" in detail.text and 'id="run-report-link"' in detail.text
    report = b.get(f"/runs/{run_id}/report")
    assert report.status_code == 200
    assert report.text == Path(files["html"]).read_text()  # the file's content, from the store
    policy = report.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    plan = b.get(f"/runs/{run_id}/plan")
    assert plan.status_code == 200 and "plan" in plan.text.lower()
    vid = re.search(r'id="verification-report-(\d+)"', runs.text)
    assert vid is not None
    assert b.get(f"/verifications/{vid.group(1)}/report").status_code == 200
    missing = b.get("/runs/r-20200101-000000/report")
    assert missing.status_code == 404 and "Traceback" not in missing.text
    assert b.get("/verifications/abc/report").status_code == 400


def test_a_report_tampered_in_the_store_is_refused(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    run_id = ran(cli)["run_id"]
    ws = load_workspace(console_workspace)
    with Store.open(ws.store_url) as store, store.transaction(write=True) as conn:
        conn.execute(
            update(reports_t)
            .where(reports_t.c.run_id == run_id)
            .values(document=reports_t.c.document + " ")
        )
    answer = browser(SAM).get(f"/runs/{run_id}/report")
    assert answer.status_code == 503 and "fails its check" in answer.text


def test_planner_schedule_tasks_and_audit_pages(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    run = ran(cli)
    b = browser(SAM)
    planner = b.get("/planner")
    assert planner.status_code == 200
    row = re.search(r'<tr id="planner-CR-0001">.*?</tr>', planner.text, re.S)
    assert row is not None and "st-done" in row.group(0) and run["run_id"] in row.group(0)
    schedule = b.get("/schedule")
    assert schedule.status_code == 200 and 'id="schedule-S-0001"' in schedule.text
    tasks = b.get("/tasks")
    assert tasks.status_code == 200 and TASK in tasks.text
    assert 'id="attest-lakeside-powersports-google-ads-remove-scripts"' in tasks.text
    audit = b.get("/audit")
    assert audit.status_code == 200
    shown = text_of(audit.text)
    assert "change request approved" in shown and "Jeremy Bliesner" in shown
    assert "run started" in shown
    by_dana = text_of(b.get("/audit?person=dana").text.partition('id="audit-table"')[2])
    assert "change request created" in by_dana and "Jeremy Bliesner" not in by_dana
    assert b.get("/audit?client=nobody").status_code == 400
    assert b.get("/audit?person=nobody").status_code == 400


def test_attest_a_task_by_post(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    ran(cli)
    url = load_workspace(console_workspace).store_url
    dana, sam, forger = browser(DANA), browser(SAM), browser(SAM)  # signed in (audited) first
    before = store_rows(url, EVIDENCE)
    refused = dana.form_post("/tasks", f"/tasks/{TASK}/attest", {"note": "not mine"})
    assert refused.status_code == 403 and "owned by the SEM Specialist" in refused.text
    assert store_rows(url, EVIDENCE) == before  # nothing changed
    forged = forger.post(f"/tasks/{TASK}/attest", {"note": "no token"})
    assert forged.status_code == 400 and store_rows(url, EVIDENCE) == before
    done = sam.form_post("/tasks", f"/tasks/{TASK}/attest", {"note": "no scripts <b>there</b>"})
    assert done.status_code == 200 and f"Attested {TASK} by Sam Ortiz" in done.text
    assert "no scripts &lt;b&gt;there&lt;/b&gt;" in done.text  # shown as text, not markup
    listed = json.loads(cli("--json", "tasks", CLIENT, "--all").output)
    task = next(t for t in listed if t["id"] == TASK)
    assert task["attested_by"] == "Sam Ortiz" and task["note"] == "no scripts <b>there</b>"
    verified = json.loads(cli("--json", "verify", CLIENT).output)
    check = next(c for c in verified["checks"] if c["step_id"] == "google-ads-remove-scripts")
    assert check["status"] == "ATTESTED"
    trail = text_of(sam.get(f"/audit?person=sam&client={CLIENT}").text)
    assert "task attest" in trail and "(console, oidc)" in trail


def test_schedule_cancel_and_retry_follow_the_clis_role_rule(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    later = dt.date.fromisoformat(workspace_today(console_workspace)) + dt.timedelta(days=20)
    approved_cr(cli, CLIENT, effective=later.isoformat())
    url = load_workspace(console_workspace).store_url
    sam, dana = browser(SAM), browser(DANA)
    planner = sam.get("/planner").text
    row = re.search(r'<tr id="planner-CR-0001">.*?</tr>', planner, re.S)
    assert row is not None and "st-upcoming" in row.group(0) and later.isoformat() in row.group(0)
    page = sam.get("/schedule")
    assert 'id="cancel-S-0001"' in page.text and 'id="retry-S-0001"' not in page.text
    before = store_rows(url, SCHEDULE)
    refused = dana.form_post("/schedule", "/schedule/S-0001/cancel", {"reason": "client stays"})
    assert refused.status_code == 403 and "may not change the schedule" in refused.text
    no_reason = sam.form_post("/schedule", "/schedule/S-0001/cancel", {"reason": " "})
    assert no_reason.status_code == 400 and "reason is required" in no_reason.text
    not_failed = sam.form_post("/schedule", "/schedule/S-0001/retry", {})
    assert not_failed.status_code == 403 and "only a failed or retrying run" in not_failed.text
    assert store_rows(url, SCHEDULE) == before  # refusals changed nothing
    done = sam.form_post("/schedule", "/schedule/S-0001/cancel", {"reason": "client stays"})
    assert done.status_code == 200 and "Cancelled S-0001" in done.text
    listed = json.loads(cli("--json", "schedule", "list", "--all").output)
    row = next(r for r in listed if r["id"] == "S-0001")
    assert row["status"] == "cancelled" and "client stays" in row["note"]
    trail = text_of(sam.get(f"/audit?client={CLIENT}").text)
    assert "schedule cancel" in trail and "Sam Ortiz" in trail


@pytest.mark.parametrize("who", [SAM, DANA], ids=["specialist", "account-manager"])
def test_plan_a_change_request_writes_nothing(
    cli: Cli,
    browser: Callable[..., Browser],
    console_workspace: Path,
    sandbox: Sandbox,
    who: str,
) -> None:
    cr_id = approved_cr(cli, CLIENT, scope="platform", sandbox=sandbox)
    b = browser(who)
    page = b.get(f"/cr/{cr_id}")
    assert page.status_code == 200 and 'id="plan-cr"' in page.text
    answer = b.post(f"/cr/{cr_id}/plan", {"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200, answer.text
    assert re.search(r"/plans/p-[\w-]+/report$", answer.url)
    assert "sem-cancellation" in answer.text and CLIENT in answer.text
    writes = [e for e in sandbox.log.mutating() if e.platform not in ("oidc", "smtp")]
    assert writes == []  # a plan reads only
    runs = b.get("/runs")
    assert answer.url.rpartition("/plans/")[2].split("/")[0] in runs.text
    wrong = b.post(f"/cr/{cr_id}/plan", {"csrf_token": csrf_of(page.text), "runbook": "x"})
    assert wrong.status_code == 400 and "is not carried out by runbook" in wrong.text
