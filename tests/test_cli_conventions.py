"""How the command line behaves in a shell: closed pipes, piped tables, the live display."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import Cli, approved_cr, edit_manifest, workspace_today

from adoffboard.cli import EXIT_INTERRUPTED, EXIT_OK, main
from adoffboard.config import load_workspace
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.store import Store

CLIENT = "lakeside-powersports"


def adoffboard(workspace: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "adoffboard.cli", "-w", str(workspace), "-q", *args]
    return subprocess.run(command, text=True, capture_output=False, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "args",
    [("cr", "show", "{cr}"), ("--json", "cr", "list"), ("cr", "list"), ("runbooks", "list")],
    ids=["cr-show", "cr-list-json", "cr-list-table", "runbooks-list"],
)
def test_a_closed_pipe_ends_quietly(
    cli: Cli, sandbox: Sandbox, workspace: Path, args: tuple[str, ...]
) -> None:
    """`adoffboard cr show X | head -1`: the reader is gone before the first line is written."""
    cr_id = approved_cr(cli, CLIENT)
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before anything is written: the first write fails (EPIPE)
    try:
        done = adoffboard(
            workspace,
            *(a.format(cr=cr_id) for a in args),
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stderr == ""


def test_piped_tables_show_full_values(cli: Cli, sandbox: Sandbox) -> None:
    """Not a terminal: every cell whole (no `…`, no value cut over two lines)."""
    cr_id = approved_cr(cli, CLIENT)
    standing = json.loads(cli("--json", "cr", "show", cr_id).stdout)["standing"]
    table = cli("cr", "list").stdout
    assert "…" not in table
    assert standing in table, table


SPINNER_FRAMES = set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
# a terminal that is not interactive: the live display prints only its final frame
FINAL_FRAME_ONLY = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "0", "COLUMNS": "120"}


def progress_of(workspace: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-w", str(workspace), *args], env=FINAL_FRAME_ONLY)


def test_the_live_display_ends_with_a_mark_per_platform(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(cli, CLIENT)
    done = progress_of(cli.workspace, "plan", CLIENT, "-r", "sem-cancellation")
    assert done.exit_code == EXIT_OK, done.output
    lines = [line for line in done.stderr.splitlines() if "google_ads" in line]
    assert lines and all("done" in line for line in lines), done.stderr
    assert not SPINNER_FRAMES & set(done.stderr), done.stderr


def test_the_live_display_of_a_failed_plan_says_stopped(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(cli, CLIENT)
    edit_manifest(cli.workspace, CLIENT, meta__expected_name="Someone Else")  # tenant guard
    failed = progress_of(cli.workspace, "plan", CLIENT, "-r", "sem-cancellation")
    assert failed.exit_code != EXIT_OK
    assert "stopped" in failed.stderr, failed.stderr
    assert not SPINNER_FRAMES & set(failed.stderr), failed.stderr


def test_ctrl_c_during_a_run_names_the_run_and_its_resume_command(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    approved_cr(cli, CLIENT, sandbox=sandbox)
    made = cli("--json", "plan", CLIENT, "-r", "sem-cancellation")
    plan_file = workspace / "plans" / f"{json.loads(made.stdout)['plan_id']}.json"
    held = sandbox.faults.add(
        FaultRule(kind="latency", platform="google_ads", mutating_only=True, latency_ms=8000)
    )
    command = [sys.executable, "-m", "adoffboard.cli", "-w", str(workspace), "-q"]
    proc = subprocess.Popen([*command, "apply", str(plan_file)], stderr=subprocess.PIPE, text=True)
    try:
        while not held.fired and proc.poll() is None:  # until its first write is held
            threading.Event().wait(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Store.open(load_workspace(workspace).store_url) as store:
        [record] = store.runs(CLIENT)
    assert record.status == "interrupted"
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert f"`adoffboard resume {record.id}`" in err, err
    sandbox.faults.clear()
    assert cli("resume", record.id).exit_code in (EXIT_OK, 10, 13)


def test_messages_say_a_thing_once(cli: Cli, sandbox: Sandbox, workspace: Path) -> None:
    cr_id = approved_cr(cli, CLIENT)
    assert cli("cr", "show", cr_id).stdout.startswith(
        f"{cr_id}: cancellation for {CLIENT}, approved\n"
    )
    other = json.loads(
        cli(
            "--json",
            "cr",
            "new",
            "harbor-marine",
            "--type",
            "cancellation",
            "--effective",
            workspace_today(workspace),
            "--as",
            "dana",
        ).stdout
    )["id"]
    submitted = cli("cr", "submit", other, "--as", "dana").stdout
    assert "submitted by dana; it is waiting for" in submitted
    rejected = cli("cr", "reject", other, "--reason", "no", "--as", "jeremy").stdout
    assert rejected == (
        f"{other} (cancellation for harbor-marine): rejected by jeremy.\n"
        f"Notice sent to dana.whitfield@agency.example: Rejected: cancellation {other} "
        "for Harbor Marine Center\n"
    )
    summary = cli("plan", CLIENT, "-r", "sem-cancellation").stdout
    assert "Skipped steps:" in summary and "listed below" not in summary
    full = next((workspace / "reports").glob("*plan*.md")).read_text()
    skipped = full.count("skipped")
    assert ("Skipped steps: none" in " ".join(full.split()).replace("*", "")) == (skipped == 0)


def test_times_are_shown_in_the_workspace_zone_with_its_name(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    from adoffboard.clock import local_time

    zone = load_workspace(workspace).config.workspace.timezone
    cr_id = approved_cr(cli, CLIENT)
    ran = json.loads(cli("--json", "run", CLIENT, "--yes").stdout)["runs"][0]
    [record] = json.loads(cli("--json", "history", CLIENT).stdout)
    assert record["id"] == ran["run_id"] and record["started_at"].endswith("+00:00")
    shown = local_time(record["started_at"], zone)
    assert shown[-3:].isalpha()  # the zone named, e.g. CST
    history = cli("history", CLIENT).stdout
    assert f"times in {zone}" in history and shown in history, history
    assert record["started_at"][:16].replace("T", " ") not in history or zone == "UTC"
    request = cli("cr", "show", cr_id).stdout
    assert f"History (times in {zone})" in request
    [created] = [line for line in request.splitlines() if " created " in line]
    assert created.split()[2].isalpha(), created  # "  2026-12-07 08:30 CST  created ..."


def test_without_an_smtp_server_the_approval_says_at_once_that_the_notice_is_queued(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    """A server that takes the connection but never greets: one try, bounded by
    smtp_connect_timeout, then the notice stays queued (and the person is told)."""
    import socket
    import tomllib

    import tomli_w

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes connections; nobody ever answers them
    try:
        config = workspace / "adoffboard.toml"
        document = tomllib.loads(config.read_text())
        document["notifications"]["smtp_port"] = silent.getsockname()[1]
        document["notifications"]["smtp_connect_timeout"] = 0.5
        config.write_text(tomli_w.dumps(document))
        cr_id = json.loads(
            cli(
                *("--json", "cr", "new", CLIENT, "--type", "cancellation"),
                *("--effective", workspace_today(workspace), "--as", "dana"),
            ).stdout
        )["id"]
        cli("cr", "submit", cr_id, "--as", "dana")
        for who in ("jeremy", "dustin"):
            cli("cr", "approve", cr_id, "--as", who)
        last = cli("cr", "approve", cr_id, "--as", "accounting")
        assert last.exit_code == EXIT_OK, last.output
        assert "no answer within 0.5s" in last.stderr and "stays queued" in last.stderr
        silent.setblocking(False)
        tries = 0
        while True:
            try:
                silent.accept()[0].close()
            except BlockingIOError:
                break
            tries += 1
        # each action tried once, not again after a back-off, nor once more per queued notice
        assert tries == 4
        assert last.stderr.count("stays queued") == 4  # the three turns before, the approval
        shown = json.loads(cli("--json", "cr", "show", cr_id).stdout)
        assert [n["status"] for n in shown["notices"]] == ["pending"] * 4
    finally:
        silent.close()
