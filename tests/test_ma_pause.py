"""MA contract pause and un-pause, end to end through the CLI against the Sheets stand-in: the MA
Client Sheet cell is snapshotted, put back exactly, and left alone when someone changed it since."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from pathlib import Path

from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import EXIT_DRIFT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.clock import FakeClock
from adoffboard.config import Manifest, load_workspace
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext, StepContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.restore import RESTORE_PREFIX
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

CLIENT = "lakeside-powersports"
SHEET = "ma_client_sheet"  # the MA Client Sheet: Dealer, Status, Pause end, Notes


def sheet_row(sandbox: Sandbox, dealer: str = "Lakeside Powersports") -> list[object]:
    (row,) = [r for r in sandbox.sheets.rows(SHEET) if r and r[0] == dealer]
    return row


def approve_pause(cli: Cli, sandbox: Sandbox) -> str:
    today = dt.date.fromisoformat(workspace_today(cli.workspace))
    return approved_cr(
        cli,
        CLIENT,
        "pause",
        effective=str(today - dt.timedelta(days=1)),
        departments=("MA",),
        sandbox=sandbox,
        extra=("--pause-end", str(today)),
    )


def pause(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> dict:
    """Plan ma-pause (a dry run), then apply exactly that plan; returns the run report."""
    approve_pause(cli, sandbox)
    out = tmp_path / "ma-pause.json"
    planned = cli("plan", CLIENT, "-r", "ma-pause", "-o", str(out))
    assert planned.exit_code == EXIT_OK, planned.output
    assert sandbox.log.mutating() == []
    steps = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    (cell,) = steps["ma-client-sheet-paused"]["changes"]
    assert (cell["field"], cell["before"], cell["after"]) == ("Status", "Active", "Paused")
    assert steps["confirm-pause-end-date"]["manual"]["owner"] == "ma_specialist"
    applied = cli("--json", "apply", str(out))
    assert applied.exit_code == EXIT_OK, applied.output
    return json.loads(applied.output)


def unpause(cli: Cli) -> tuple[int, dict]:
    result = cli("--json", "run", CLIENT, "-r", "ma-unpause", "--yes")
    assert result.exit_code in (EXIT_OK, EXIT_DRIFT, EXIT_VERIFY_PENDING), result.output
    return result.exit_code, json.loads(result.output)


def changes(report: dict) -> list[dict]:
    return [c for s in report["steps"] for c in s["changes"]]


def test_pause_writes_the_sheet_and_unpause_puts_it_back_exactly(
    cli: Cli, sandbox: Sandbox, workspace: Path, tmp_path: Path
) -> None:
    original = sandbox.sheets.rows(SHEET)
    paused = pause(cli, sandbox, tmp_path)
    assert sheet_row(sandbox) == ["Lakeside Powersports", "Paused", "", "Spring campaign live"]
    assert sheet_row(sandbox, "Alpine Motorsports")[1] == "Active"
    assert sorted(e.method for e in sandbox.log.mutating("sheets")) == [
        "spreadsheets.values.append",  # the planner row
        "spreadsheets.values.update",
    ]
    assert sandbox.log.mutating() == sandbox.log.mutating("sheets")  # nothing removed anywhere
    with Store.open(load_workspace(workspace).store_url) as store:
        (snap,) = [s for s in store.snapshots(paused["run_id"]) if s.entity_type == "cell"]
    assert (snap.platform, snap.entity_type, snap.field) == ("sheets", "cell", "Status")
    assert (snap.before, snap.after) == ("Active", "Paused")

    code, unpaused = unpause(cli)
    assert code == EXIT_VERIFY_PENDING  # restored; the MA Specialist's check is still to attest
    assert sandbox.sheets.rows(SHEET) == original
    (restored,) = changes(unpaused)
    assert (restored["before"], restored["after"]) == ("Paused", "Active")
    assert restored["outcome"]["status"] == "applied"
    checks = {c["step_id"]: c for c in unpaused["checks"]}
    assert checks["restore-pause"]["status"] == "PASS"
    assert checks["restore-pause"]["detail"] == "1 of 1 value(s) restored"
    assert checks["check-programs-after-unpause"]["status"] == "MANUAL-PENDING"

    writes = len(sandbox.log.mutating())
    verified = cli("--json", "verify", CLIENT)
    assert {c["step_id"]: c["status"] for c in json.loads(verified.output)["checks"]}[
        "restore-pause"
    ] == "PASS"
    assert len(sandbox.log.mutating()) == writes  # verify reads only


def test_unpause_leaves_alone_a_cell_someone_changed_and_verify_reports_it(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    pause(cli, sandbox, tmp_path)
    # during the pause someone marks the client as churned in the MA Client Sheet
    (row,) = sandbox.sheets.rows_holding(SHEET, "Lakeside Powersports")
    sandbox.sheets.set_value(SHEET, row, 1, "Churned")
    writes = len(sandbox.log.mutating())

    code, unpaused = unpause(cli)
    assert code == EXIT_DRIFT  # applied, with a value left alone
    assert sheet_row(sandbox)[1] == "Churned"
    assert len(sandbox.log.mutating()) == writes  # nothing written over it
    (left,) = changes(unpaused)
    assert left["outcome"]["status"] == "drift"
    check = next(c for c in unpaused["checks"] if c["step_id"] == "restore-pause")
    assert check["status"] == "MANUAL-PENDING"
    assert any("left alone" in e and "Churned" in e for e in check["evidence"])

    verified = cli("--json", "verify", CLIENT)
    check = next(
        c for c in json.loads(verified.output)["checks"] if c["step_id"] == "restore-pause"
    )
    assert check["status"] == "MANUAL-PENDING"
    assert "changed by someone else" in check["detail"]


def test_unpause_after_the_row_was_removed_reports_it(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    pause(cli, sandbox, tmp_path)
    (row,) = sandbox.sheets.rows_holding(SHEET, "Lakeside Powersports")
    sandbox.sheets.delete_row(SHEET, row)
    writes = len(sandbox.log.mutating())

    code, unpaused = unpause(cli)
    assert code == EXIT_DRIFT
    assert len(sandbox.log.mutating()) == writes
    (gone,) = changes(unpaused)
    assert gone["outcome"]["status"] == "drift"  # not "already": nothing was put back
    check = next(c for c in unpaused["checks"] if c["step_id"] == "restore-pause")
    assert check["status"] == "MANUAL-PENDING"


def test_restoring_an_ma_cancellation_puts_back_cells_but_never_rows(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    from adoffboard.restore import inverse_changes

    approved_cr(cli, CLIENT, departments=("MA",), sandbox=sandbox)
    result = cli("--json", "run", CLIENT, "-r", "ma-cancellation", "--yes")
    assert result.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING), result.output
    run_id = json.loads(result.output)["run_id"]
    with Store.open(load_workspace(workspace).store_url) as store:
        restore = inverse_changes(store, store.run(run_id), "restore-run")
    assert {c.entity_type for c in restore.changes} == {"cell"}
    assert any(
        "not restored" in n and "row change(s) on Google Sheets" in n for n in restore.notes
    ), restore.notes
    # rows the run appended (the planner's, the offboarding sheet's) are its record: kept
    assert any(n.startswith("kept: 2 tracker row(s) the run appended") for n in restore.notes), (
        restore.notes
    )
    tracker_rows = sandbox.sheets.rows("ma_client_tracker")
    planner_rows = sandbox.sheets.rows("planner")

    restored = cli("--json", "restore", run_id, "--as", "mia", "--yes")
    assert restored.exit_code in (EXIT_OK, EXIT_DRIFT, EXIT_VERIFY_PENDING), restored.output
    # the removed rows stay removed and the appended rows stay: only listed for people
    assert sandbox.sheets.rows("ma_client_tracker") == tracker_rows
    assert sandbox.sheets.rows("planner") == planner_rows
    (cell,) = changes(json.loads(restored.output))
    assert cell["field"] == "Cancellation date"
    assert cell["outcome"]["status"] == "drift"  # its row was removed: nowhere to put it back


class Journal:
    def intend(self, changes: list[Change]) -> None:
        pass

    def record(self, outcomes: list[Outcome]) -> None:
        pass


def test_a_restore_puts_back_a_value_the_sheet_shows_differently(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # with USER_ENTERED, the "42" adoffboard writes reads back as the number 42: still ours
    settings = copy.deepcopy(sandbox.platform_settings()["sheets"])
    settings["trackers"][SHEET]["value_input"] = "USER_ENTERED"
    ctx = ConnectorContext(
        settings=settings,
        workspace_root=tmp_path,
        read_only=False,
        clock=FakeClock(),
        retry=RetryPolicy(attempts=2, timeout=10),
    )
    writer = build("sheets", ctx)
    manifest = Manifest.model_validate(DEMO_CLIENT)
    params = {"tracker": SHEET, "column": "Notes", "value": "42"}
    context = StepContext(
        effective_date="2026-12-01",
        process="pause",
        scope="dm",
        department="MA",
        runbook="ma-pause",
    )
    (change,) = writer.plan(
        "set_cell", params, writer.read_state(manifest), "step", context
    ).changes
    assert [o.status for o in writer.apply([change], Journal())] == [OutcomeStatus.APPLIED]
    assert sheet_row(sandbox)[3] == 42

    back = dataclasses.replace(
        change, id=f"{RESTORE_PREFIX}r-1:{change.id}", before=change.after, after=change.before
    )
    assert writer.live_values([back]) == {back.id: 42}
    assert writer.same_value(back, 42, back.before)  # what adoffboard wrote: restore it
    assert [o.status for o in writer.apply([back], Journal())] == [OutcomeStatus.APPLIED]
    assert sheet_row(sandbox)[3] == "Spring campaign live"
    assert writer.live_values([back]) == {back.id: "Spring campaign live"}
    writer.close()
