"""`adoffboard schedule` and `adoffboard scheduler` as people and cron use them: real processes
where it matters (SIGTERM, two schedulers on PostgreSQL), the stand-ins on loopback."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Cli, approved_cr, edit_manifest, workspace_today
from store_support import empty_pg_url, pg_url  # noqa: F401  (fixtures)

from adoffboard.cli import EXIT_FAILED_CHANGES, EXIT_INPUT, EXIT_NOT_PERMITTED, EXIT_OK, main
from adoffboard.sandbox import Sandbox

HARBOR, H_CID = "harbor-marine", "2345678901"


def days(cli: Cli, n: int) -> str:
    return str(dt.date.fromisoformat(workspace_today(cli.workspace)) + dt.timedelta(days=n))


def listed(cli: Cli, *args: str) -> list[dict]:
    result = cli("--json", "schedule", "list", *args)
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.output)


def adoffboard(workspace: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    """The installed command in its own process, outside the checkout."""
    exe = shutil.which("adoffboard", path=str(Path(sys.executable).parent)) or "adoffboard"
    return subprocess.Popen(
        [exe, "-w", str(workspace), *args],
        cwd=workspace.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,
    )  # type: ignore[call-overload]


def test_list_show_cancel_and_who_may(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = approved_cr(
        cli, HARBOR, "pause", effective=days(cli, 3), extra=("--pause-end", days(cli, 10))
    )
    rows = listed(cli)
    assert [(r["id"], r["runbook"], r["stage"], r["run_date"], r["status"]) for r in rows] == [
        ("S-0001", "sem-pause", "immediately", days(cli, 0), "scheduled"),  # the planner row
        ("S-0002", "sem-pause", "effective_date", days(cli, 3), "scheduled"),
        ("S-0003", "sem-unpause", "effective_date", days(cli, 10), "scheduled"),
    ]
    assert {r["cr_id"] for r in rows} == {cr_id}
    [approval] = [
        m.get_body(("plain",)).get_content()
        for m in sandbox.smtp.messages
        if m["Subject"].strip().startswith("Approved:")
    ]
    assert "S-0001 sem-pause: the steps due at approval, at the scheduler's next tick" in approval
    assert f"S-0002 sem-pause at {days(cli, 3)} 06:00" in approval
    assert f"S-0003 sem-unpause at {days(cli, 10)} 06:00" in approval

    table = cli("schedule", "list")
    assert table.exit_code == EXIT_OK and "S-0003: runs after S-0002" in table.output
    first = cli("schedule", "show", "1")
    assert "Steps:          those due at approval" in first.output, first.output
    shown = cli("schedule", "show", "3")
    assert shown.exit_code == EXIT_OK
    assert "Runs after:     S-0002" in shown.output and "06:00" in shown.output
    assert "scheduled" in shown.output

    refused = cli("schedule", "cancel", "S-0002", "--as", "dana", "--reason", "client stays")
    assert refused.exit_code == EXIT_NOT_PERMITTED
    assert (
        len(refused.output.strip().splitlines()) == 1
        and "may not change the schedule" in refused.output
    )
    assert {r["status"] for r in listed(cli)} == {"scheduled"}

    done = cli("schedule", "cancel", "S-0002", "--as", "sam", "--reason", "client stays")
    assert done.exit_code == EXIT_OK, done.output
    # the un-pause, and the steps due at approval, go with their pause
    assert "S-0002, S-0001, S-0003" in done.output
    assert listed(cli) == []
    everything = listed(cli, "--all")
    assert {r["status"] for r in everything} == {"cancelled"}
    assert "cancelled by sam: client stays" in everything[1]["note"]
    again = cli("schedule", "cancel", "S-0002", "--as", "sam", "--reason", "twice")
    assert again.exit_code == EXIT_NOT_PERMITTED and "is cancelled" in again.output
    unknown = cli("schedule", "show", "S-9999")
    assert unknown.exit_code == EXIT_INPUT and "unknown scheduled run" in unknown.output
    assert sandbox.log.mutating("google_ads") == []


def test_tick_catches_up_a_missed_run_then_has_nothing_to_do(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(cli, HARBOR, "pause", effective=days(cli, -2), extra=("--pause-end", days(cli, 20)))
    first = cli.runner.invoke(main, ["-w", str(cli.workspace), "scheduler", "tick"])
    assert first.exit_code == EXIT_OK, first.output
    assert "S-0001 sem-pause for harbor-marine: done" in first.output
    assert "Next: S-0002 sem-unpause for harbor-marine" in first.output
    assert sandbox.google_ads.state.campaign(H_CID, "9101").status == "PAUSED"
    writes = len(sandbox.log.mutating("google_ads"))
    second = cli("--json", "scheduler", "tick")
    assert second.exit_code == EXIT_OK
    assert json.loads(second.output)["results"] == []
    assert len(sandbox.log.mutating("google_ads")) == writes
    quiet = cli("scheduler", "tick")  # -q, as from cron: nothing to report, nothing printed
    assert (quiet.exit_code, quiet.output) == (EXIT_OK, "")


def test_a_refusal_gives_up_at_once_exits_11_and_is_retried_on_request(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    approved_cr(cli, HARBOR, "pause", effective=days(cli, -1), extra=("--pause-end", days(cli, 20)))
    edit_manifest(workspace, HARBOR, google_ads__expected_name="Harbour Marine Centre")
    result = cli("scheduler", "tick")
    assert result.exit_code == EXIT_FAILED_CHANGES, result.output
    assert "S-0001 sem-pause for harbor-marine: failed" in result.output
    assert sandbox.log.mutating("google_ads") == []  # the tenant guard refused before any write
    [row] = [r for r in listed(cli) if r["id"] == "S-0001"]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "Harbor Marine Center" in row["last_error"]
    assert any("FAILED: sem-pause" in m["Subject"] for m in sandbox.smtp.messages)

    edit_manifest(workspace, HARBOR, google_ads__expected_name="Harbor Marine Center")
    assert cli("schedule", "retry", "S-0001", "--as", "sam").exit_code == EXIT_OK
    again = cli("scheduler", "tick")
    assert again.exit_code == EXIT_OK, again.output
    assert "S-0001 sem-pause for harbor-marine: done" in again.output
    history = cli("schedule", "show", "S-0001").output
    assert "retry" in history and "re-armed by sam after 1 attempt(s)" in history


def _read_until(proc: subprocess.Popen[str], needle: str, timeout: float) -> str:
    """stderr lines until one contains `needle` (or the time is up)."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
            if needle in line:
                return seen
    raise AssertionError(f"no {needle!r} within {timeout}s; stderr so far:\n{seen}")


def test_scheduler_service_runs_due_work_then_stops_cleanly_on_sigterm(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    approved_cr(cli, HARBOR, "pause", effective=days(cli, -1), extra=("--pause-end", days(cli, 20)))
    proc = adoffboard(workspace, "scheduler", "run")
    try:
        _read_until(proc, "scheduler started as scheduler ", 60)
        _read_until(proc, "Next: S-0002 sem-unpause", 120)  # ran the pause, now sleeping
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_OK, err
    assert "scheduler stopped (SIGTERM)" in err and "Traceback" not in err
    assert "S-0001 sem-pause for harbor-marine: done" in out
    assert sandbox.google_ads.state.campaign(H_CID, "9101").status == "PAUSED"


def test_two_schedulers_on_postgresql_run_each_due_run_once(
    cli: Cli,
    sandbox: Sandbox,
    workspace: Path,
    empty_pg_url: str,  # noqa: F811
) -> None:
    toml = workspace / "adoffboard.toml"
    toml.write_text(
        toml.read_text().replace(
            'store = "sqlite:///.adoffboard/state.db"', f'store = "{empty_pg_url}"'
        )
    )
    approved_cr(cli, HARBOR, "pause", effective=days(cli, -1), extra=("--pause-end", days(cli, 20)))
    procs = [adoffboard(workspace, "--json", "scheduler", "tick") for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [EXIT_OK, EXIT_OK], outputs
    results = [r for out, _ in outputs for r in json.loads(out)["results"]]
    done = [r for r in results if r["outcome"] == "done"]
    assert len(done) == 1, results
    assert {r["outcome"] for r in results} <= {"done", "taken", "locked"}
    from adoffboard.config import load_workspace
    from adoffboard.store import Store

    with Store.open(load_workspace(workspace).store_url) as store:
        runs = store.runs(HARBOR)
    assert [r.runbook for r in runs] == ["sem-pause"]
    assert sandbox.google_ads.state.campaign(H_CID, "9101").status == "PAUSED"


@pytest.mark.parametrize("value", ["25:00", "6am", ""])
def test_a_bad_run_at_is_one_line(cli: Cli, workspace: Path, value: str) -> None:
    toml = workspace / "adoffboard.toml"
    toml.write_text(toml.read_text().replace('run_at = "06:00"', f'run_at = "{value}"'))
    result = cli("schedule", "list")
    assert result.exit_code == EXIT_INPUT
    assert len(result.output.strip().splitlines()) == 1 and "run_at" in result.output
