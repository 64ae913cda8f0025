"""The gate by runbook process: pause, un-pause (covered by the pause's request), addendum; and
`resume` checks again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import EXIT_INPUT, EXIT_OK, EXIT_SAFETY

LAKESIDE = "lakeside-powersports"
RUNBOOK = """\
name: {name}
version: 1
title: {title}
department: SEM
process: {process}
source: "5. Offboarding (DS SEM)"
steps:
  - id: fluency-hold
    title: "Place a HOLD on the Fluency account"
    department: SEM
    owner: sem_specialist
    timing: effective_date
    manual: {{instructions: "In Fluency, Budget Settings > Account Hold."}}
    verify: "Attested by the SEM Specialist."
"""


@pytest.fixture
def runbooks(workspace: Path) -> None:
    folder = workspace / "runbooks"
    folder.mkdir()
    for name, process in (
        ("t-sem-pause", "pause"),
        ("t-sem-unpause", "unpause"),
        ("t-sem-addendum", "addendum"),
    ):
        (folder / f"{name}.yaml").write_text(RUNBOOK.format(name=name, title=name, process=process))


def plan(cli: Cli, tmp_path: Path, runbook: str, *extra: str) -> tuple[Path, dict]:
    out = tmp_path / f"{runbook}.json"
    result = cli("plan", LAKESIDE, "-r", runbook, "-o", str(out), *extra)
    assert result.exit_code == EXIT_OK, result.output
    return out, json.loads(out.read_text())


def refused(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    assert fragment in result.output and "Traceback" not in result.output, result.output


@pytest.mark.usefixtures("runbooks")
def test_unpause_is_covered_by_the_pause_request(cli: Cli, tmp_path: Path) -> None:
    today = workspace_today(cli.workspace)
    cr_id = approved_cr(
        cli, LAKESIDE, "pause", effective=today, extra=("--pause-end", "2099-01-15")
    )
    out, body = plan(cli, tmp_path, "t-sem-pause")
    assert body["change_request"]["id"] == cr_id and body["effective_date"] == today
    assert cli("apply", str(out)).exit_code == EXIT_OK
    out, body = plan(cli, tmp_path, "t-sem-unpause")
    assert body["change_request"]["id"] == cr_id
    assert body["effective_date"] == "2099-01-15"  # un-pausing happens at the pause's end
    refused(cli("apply", str(out)), EXIT_SAFETY, "takes effect on 2099-01-15")
    assert cli("apply", str(out), "--now").exit_code == EXIT_OK
    refused(
        cli("plan", LAKESIDE, "-r", "t-sem-unpause", "--effective", "2099-01-01"),
        EXIT_INPUT,
        f"--effective 2099-01-01 is before {cr_id}'s date (2099-01-15)",
    )


@pytest.mark.usefixtures("runbooks")
def test_each_process_needs_its_own_type(cli: Cli, tmp_path: Path) -> None:
    approved_cr(cli, LAKESIDE, "cancellation")
    out, body = plan(cli, tmp_path, "t-sem-pause")
    assert "change_request" not in body
    refused(
        cli("apply", str(out)),
        EXIT_SAFETY,
        f"no approved contract pause change request for {LAKESIDE} (SEM)",
    )
    out, _ = plan(cli, tmp_path, "t-sem-addendum")
    refused(
        cli("apply", str(out)),
        EXIT_SAFETY,
        f"no approved addendum (budget change) change request for {LAKESIDE}",
    )
    cr_id = approved_cr(
        cli, LAKESIDE, "addendum", extra=("--addendum-ref", "DS-2026-7", "--monthly-total", "900")
    )
    result = cli("--json", "apply", str(out))  # the earlier review plan takes the approved one
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.output)["change_request"] == cr_id


@pytest.mark.usefixtures("runbooks")
def test_resume_checks_the_request_again(cli: Cli, tmp_path: Path) -> None:
    cr_id = approved_cr(cli, LAKESIDE, "pause", extra=("--pause-end", "2099-01-15"))
    out, _ = plan(cli, tmp_path, "t-sem-pause")
    assert cli("apply", str(out)).exit_code == EXIT_OK
    [run] = json.loads(cli("--json", "history", LAKESIDE).output)
    assert run["change_request"] == cr_id
    assert cli("cr", "edit", cr_id, "--as", "dana", "--pause-end", "2099-02-01").exit_code == 0
    refused(
        cli("resume", run["id"]),
        EXIT_SAFETY,
        f"pause {cr_id} for {LAKESIDE} is waiting for the first approver",
    )


def test_a_plan_cannot_be_pointed_at_another_request(cli: Cli, tmp_path: Path) -> None:
    first = approved_cr(cli, LAKESIDE)
    out = tmp_path / "plan.json"
    assert (
        cli("plan", LAKESIDE, "-r", "sem-cancellation", "--cr", first, "-o", str(out)).exit_code
        == EXIT_OK
    )
    second = approved_cr(cli, LAKESIDE, extra=("--notes", "another"))
    data = json.loads(out.read_text())
    data["change_request"]["id"] = second
    out.write_text(json.dumps(data))
    refused(cli("apply", str(out)), EXIT_SAFETY, "modified after it was made")
