"""A leaving-the-platform cancellation as one case: applied by hand (`run CLIENT`, SEM and MA),
then the scheduler's tick for the same request sends nothing and fails nothing, and the client's
case is judged as a whole."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from conftest import Cli, workspace_today

from adoffboard.cli import EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.sandbox import Sandbox

LAKESIDE, LAKESIDE_NAME = "lakeside-powersports", "Lakeside Powersports"


def platform_writes(sandbox: Sandbox) -> list[str]:
    return [f"{e.platform}:{e.method}" for e in sandbox.log.mutating() if e.platform != "smtp"]


def test_cancellation_by_hand_then_the_scheduler_does_nothing(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = cli(
        "--json", "cr", "new", LAKESIDE, "--type", "cancellation", "--scope", "platform",
        "--effective", workspace_today(cli.workspace), "--department", "SEM",
        "--department", "MA", "--as", "dana",
    )  # fmt: skip
    assert created.exit_code == EXIT_OK, created.output
    cr_id = json.loads(created.stdout)["id"]
    for args in (
        ("submit", cr_id, "--as", "dana"),
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        assert cli("cr", *args).exit_code == EXIT_OK

    ran = cli("run", LAKESIDE, "--yes")
    assert ran.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING), ran.output
    assert f"sem-cancellation (all steps) for {cr_id}: due today" in ran.stdout
    assert f"ma-cancellation (all steps) for {cr_id}: due today" in ran.stdout
    assert sandbox.google_ads.state.manager_link("1234567890", "1112223333").status == "INACTIVE"
    writes = platform_writes(sandbox)
    sandbox.smtp.clear()

    # Later that day, once the scheduled rows are due (06:00 in the workspace's zone):
    today = dt.date.fromisoformat(workspace_today(cli.workspace))
    noon = dt.datetime.combine(today, dt.time(12), ZoneInfo("America/Chicago"))
    monkeypatch.setenv("ADOFFBOARD_NOW", noon.isoformat())
    tick = cli("--json", "scheduler", "tick")
    assert tick.exit_code == EXIT_OK, tick.output
    results = json.loads(tick.stdout)["results"]
    assert {(r["runbook"], r["outcome"]) for r in results} == {
        ("sem-cancellation", "done"),
        ("ma-cancellation", "done"),
    }
    assert all("done by a person" in r["detail"] for r in results)
    assert platform_writes(sandbox) == writes  # nothing read-modified, nothing sent again
    assert not [m for m in sandbox.smtp.messages if "FAILED" in m["Subject"]]

    # The removals team's verify judges the case (SEM and MA), never FAIL for the end state.
    verified = cli("--json", "verify", LAKESIDE)
    assert verified.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING), verified.output
    checks = json.loads(verified.stdout)["checks"]
    assert {c["runbook"] for c in checks} == {"sem-cancellation", "ma-cancellation"}
    assert not [c for c in checks if c["status"] == "FAIL"]

    again = cli("--json", "run", LAKESIDE, "--yes")
    assert again.exit_code == EXIT_OK, again.output
    document = json.loads(again.stdout)
    assert document["runs"] == []
    assert {(r["runbook"], bool(r["done_by"])) for r in document["called_for"]} == {
        ("sem-cancellation", True),
        ("ma-cancellation", True),
    }
    shown = json.loads(cli("--json", "schedule", "list", "--all").stdout)
    assert {r["status"] for r in shown if r["cr_id"] == cr_id} == {"done"}
    assert all("done by a person" in r["note"] for r in shown if r["cr_id"] == cr_id)


def test_steps_due_at_approval_run_at_approval_and_the_rest_on_the_date(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner row (with the request's id) and the MA tracker's cancellation date are written
    when the request is approved; the MA tracker's row is removed only on the effective date."""
    today = dt.date.fromisoformat(workspace_today(cli.workspace))
    effective = today + dt.timedelta(days=10)
    created = cli(
        "--json", "cr", "new", LAKESIDE, "--type", "cancellation", "--effective",
        effective.isoformat(), "--department", "SEM", "--department", "MA", "--as", "dana",
    )  # fmt: skip
    cr_id = json.loads(created.stdout)["id"]
    for args in (
        ("submit", cr_id, "--as", "dana"),
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        assert cli("cr", *args).exit_code == EXIT_OK
    sandbox.log.clear()
    tracker_before = [r for r in sandbox.sheets.rows("ma_client_tracker") if LAKESIDE_NAME in r]

    tick = cli("--json", "scheduler", "tick")
    assert tick.exit_code == EXIT_OK, tick.output
    results = json.loads(tick.stdout)["results"]
    assert {(r["runbook"], r["outcome"]) for r in results} == {
        ("sem-cancellation", "done"),
        ("ma-cancellation", "done"),
    }
    assert {e.platform for e in sandbox.log.mutating()} <= {"sheets", "smtp"}
    planner = [r for r in sandbox.sheets.rows("planner") if LAKESIDE_NAME in r]
    assert len(planner) == 2 and all(cr_id in row for row in planner), planner  # SEM and MA
    [tracker] = [r for r in sandbox.sheets.rows("ma_client_tracker") if LAKESIDE_NAME in r]
    assert tracker != tracker_before[0] and effective.isoformat() in " ".join(map(str, tracker))
    assert sandbox.google_ads.state.campaign("1234567890", "9001").status == "ENABLED"

    # Nothing more before the date; on the date the rest runs and the tracker row goes.
    assert json.loads(cli("--json", "scheduler", "tick").stdout)["results"] == []
    on_the_date = dt.datetime.combine(effective, dt.time(9), ZoneInfo("America/Chicago"))
    monkeypatch.setenv("ADOFFBOARD_NOW", on_the_date.isoformat())
    later = json.loads(cli("--json", "scheduler", "tick").stdout)["results"]
    assert {(r["runbook"], r["outcome"]) for r in later} == {
        ("sem-cancellation", "done"),
        ("ma-cancellation", "done"),
    }, later
    assert not [r for r in sandbox.sheets.rows("ma_client_tracker") if LAKESIDE_NAME in r]
    assert len([r for r in sandbox.sheets.rows("planner") if LAKESIDE_NAME in r]) == 2
    assert sandbox.google_ads.state.campaign("1234567890", "9001").status == "PAUSED"
