"""`--json` on every command, before or after the subcommand, and stdout holding only the result.

The command tree is walked here, so that a command added later without an entry in `SCRIPT` (or
`NOT_ONE_DOCUMENT`) fails `test_every_command_is_covered`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from conftest import Cli, workspace_today

from adoffboard.cli import EXIT_OK, main
from adoffboard.clock import SystemClock
from adoffboard.config import load_workspace
from adoffboard.identity import issue_token
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

CLIENT = "lakeside-powersports"
OTHER = "harbor-marine"

# Commands whose --json output is not one document: servers that run until stopped (their
# JSON, one line per event, is tested where they are).
NOT_ONE_DOCUMENT = {"sandbox up", "scheduler run", "serve"}


def command_paths(group: click.Group = main, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        yield path
        if isinstance(command, click.Group):
            yield from command_paths(command, path + " ")


class Script:
    """Runs commands with --json after the subcommand and keeps what each printed."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.covered: dict[str, Any] = {}

    def __call__(self, path: str, *args: str, codes: tuple[int, ...] = (EXIT_OK,)) -> Any:
        words = path.split()
        result = self.cli(*words, *args, "--json")
        assert result.exit_code in codes, (path, result.output)
        data = json.loads(result.stdout)  # stdout holds the result alone: no prompt, no progress
        self.covered[path] = data
        return data

    def same_both_ways(self, path: str, *args: str) -> Any:
        """A read-only command: `adoffboard --json X` and `adoffboard X --json` print the same."""
        local = self(path, *args)
        before = self.cli("--json", *path.split(), *args)
        assert before.exit_code == EXIT_OK, before.output
        assert json.loads(before.stdout) == local
        return local


@pytest.fixture
def script(cli: Cli) -> Script:
    return Script(cli)


def test_every_command_prints_one_json_document(
    script: Script, cli: Cli, sandbox: Sandbox, tmp_path: Path, workspace: Path
) -> None:
    today = workspace_today(workspace)
    created = script("init", str(tmp_path / "another"))
    assert Path(created["config"]).is_file()
    assert [c["slug"] for c in script.same_both_ways("clients list")] == [OTHER, CLIENT]
    assert script.same_both_ways("clients show", CLIENT)["slug"] == CLIENT
    assert script.same_both_ways("clients validate")["problems"] == []
    assert script.same_both_ways("doctor", CLIENT)["problems"] == []
    assert "sem-cancellation" in {b["name"] for b in script.same_both_ways("runbooks list")}
    assert script.same_both_ways("runbooks show", "sem-cancellation")["name"] == "sem-cancellation"

    # a change request through its chain, then another escalated to Retention and rejected
    as_dana = ("--as", "dana")
    cr = script("cr new", CLIENT, "--type", "cancellation", "--effective", today, *as_dana)["id"]
    assert script("cr edit", cr, "--notes", "leaving", *as_dana)["id"] == cr
    script("cr submit", cr, *as_dana)
    for who in ("jeremy", "dustin", "accounting"):
        script("cr approve", cr, "--as", who)
    assert script.same_both_ways("cr show", cr)["status"] == "approved"
    escalated = script(
        "cr new",
        OTHER,
        "--type",
        "cancellation",
        "--effective",
        today,
        "--escalate-to",
        "retention",
        *as_dana,
    )["id"]
    script("cr save-attempt", escalated, "--outcome", "not-saved", "--notes", "n", "--as", "amy")
    script("cr submit", escalated, "--as", "amy")
    assert script("cr reject", escalated, "--reason", "r", "--as", "jeremy")["status"] == (
        "rejected"
    )
    rows = tmp_path / "crm.csv"
    rows.write_text(f"client,type,effective_date\n{OTHER},cancellation,{today}\n")
    assert len(script("cr import", str(rows), *as_dana)) == 1
    assert len(script.same_both_ways("cr list")) == 3
    script.same_both_ways("planner")
    script("reminders send", "--today", today)
    assert {c["id"] for c in script.same_both_ways("case list")} == {cr, escalated} | {
        c["id"] for c in script.covered["cr import"]
    }
    assert script.same_both_ways("case show", CLIENT)["id"] == cr

    # plan, apply, verify, run, restore, resume, history
    planned = script("plan", CLIENT, "-r", "sem-cancellation")
    plan_file = workspace / "plans" / f"{planned['plan_id']}.json"
    done = script("apply", str(plan_file), codes=(EXIT_OK, 10, 13))
    run_id = done["run_id"]
    script("verify", CLIENT, codes=(EXIT_OK, 12, 13))
    assert "runs" in script("run", CLIENT, "--yes", codes=(EXIT_OK, 10, 13))
    assert run_id in [r["id"] for r in script.same_both_ways("history", CLIENT)]
    script("resume", run_id, codes=(EXIT_OK, 10, 13))
    script("restore", run_id, "--as", "sam", "--yes", codes=(EXIT_OK, 10, 13))
    refused = cli("resend", CLIENT, "--as", "dana", "--json")  # nothing in doubt to resend
    assert refused.exit_code != EXIT_OK and refused.stdout == ""
    script.covered["resend"] = None

    # manual tasks, the schedule, the scheduler, the demo
    tasks = script.same_both_ways("tasks")
    assert tasks and script("tasks", CLIENT) == [t for t in tasks if t["client"] == CLIENT]
    task = next(t for t in tasks if t["client"] == CLIENT and t["owner"] == "sem_specialist")
    assert script("tasks done", task["id"], "--by", "sam")["done"] is True
    rows_now = script.same_both_ways("schedule list", "--all")
    first = rows_now[0]["id"]
    assert script.same_both_ways("schedule show", first)["id"] == first
    cancelled = script("schedule cancel", first, "--as", "dmo-lead", "--reason", "r")["cancelled"]
    assert first in cancelled
    refused = cli("schedule", "retry", first, "--as", "dmo-lead", "--json")  # not failed
    assert refused.exit_code != EXIT_OK and refused.stdout == ""
    script.covered["schedule retry"] = None
    assert "at" in script("scheduler tick")
    assert script.same_both_ways("whoami", "--as", "dana")["basis"] == "single-user"
    with Store.open(load_workspace(workspace).store_url) as store:
        _, secret = issue_token(store, "dana", SystemClock(), "console")
    signed = cli("login", "--token-stdin", "--json", input=secret)
    assert signed.exit_code == EXIT_OK and json.loads(signed.stdout)["person"] == "dana"
    script.covered["login"] = None
    assert script("logout", "--revoke")["signed_out"] is True
    reports = script("demo")
    assert reports and all("runbook" in r for r in reports)

    groups = {p for p in command_paths() if isinstance(_command(p), click.Group)}
    missing = set(command_paths()) - set(script.covered) - groups - NOT_ONE_DOCUMENT
    assert not missing, f"--json not exercised for: {sorted(missing)}"


def _command(path: str) -> click.Command:
    command: click.Command = main
    for word in path.split():
        assert isinstance(command, click.Group)
        command = command.commands[word]
    return command


def test_every_command_and_group_takes_json_after_its_name() -> None:
    for path in command_paths():
        help_text = CliRunner().invoke(main, [*path.split(), "--help"]).output
        assert "--json" in help_text, path


def test_the_restore_prompt_goes_to_stderr(cli: Cli, sandbox: Sandbox) -> None:
    from conftest import approved_cr

    approved_cr(cli, CLIENT, sandbox=sandbox)
    run = cli("--json", "run", CLIENT, "--yes")
    run_id = json.loads(run.stdout)["runs"][0]["run_id"]
    result = cli("restore", run_id, "--as", "sam", "--json", input="Lakeside Powersports\n")
    assert result.exit_code in (EXIT_OK, 10, 13), result.output
    assert json.loads(result.stdout)["run_id"] != run_id  # stdout: the restore's report alone
    assert "Type the client's name" in result.stderr


def test_options_are_named_alike_in_every_command() -> None:
    """A runbook is -r/--runbook, a run --run, a change request --cr, the acting person --as
    (`tasks done --by` survives hidden, as a deprecated spelling)."""
    expected = {"runbook": ["-r", "--runbook"], "run_id": ["--run"], "cr_id": ["--cr"]}
    for path in command_paths():
        for param in _command(path).params:
            if not isinstance(param, click.Option):
                continue
            if param.name in expected:
                assert param.opts == expected[param.name], (path, param.opts)
            if "--by" in param.opts:
                assert param.hidden and path == "tasks done", path
            if param.metavar == "PERSON" and not param.hidden:
                assert param.opts == ["--as"], (path, param.opts)
