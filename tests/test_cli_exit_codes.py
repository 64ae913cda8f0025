"""One exit code per meaning, whichever command refuses: each refusal below exits with the code
whose row in the README's table names it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import EXIT_INPUT, EXIT_NOT_PERMITTED, EXIT_SAFETY
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"
README = Path(__file__).resolve().parents[1] / "README.md"

# (id, command with {run}, {cr}, {draft}, {task}, {plan} to fill, exit code, words of its row)
REFUSALS = [
    ("cr-wrong-role", "cr approve {draft} --as sam", EXIT_NOT_PERMITTED, "wrong role"),
    ("tasks-wrong-role", "tasks done {task} --by dana", EXIT_NOT_PERMITTED, "wrong role"),
    ("tasks-wrong-role-as", "tasks done {task} --as dana", EXIT_NOT_PERMITTED, "wrong role"),
    ("resend-wrong-role", f"resend {CLIENT} --as sam", EXIT_NOT_PERMITTED, "wrong role"),
    ("restore-wrong-role", "restore {run} --as dana --yes", EXIT_NOT_PERMITTED, "wrong role"),
    (
        "schedule-wrong-role",
        "schedule cancel S-0001 --as dana --reason r",
        EXIT_NOT_PERMITTED,
        "wrong role",
    ),
    (
        "restore-after-access-removed",
        "restore {run} --as sam --yes",
        EXIT_NOT_PERMITTED,
        "access was removed",
    ),
    ("apply-unapproved", "apply {plan}", EXIT_SAFETY, "no approved change request"),
    ("cr-unknown-person", "cr approve {draft} --as nobody", EXIT_INPUT, "unknown client, person"),
    ("tasks-unknown-person", "tasks done {task} --by nobody", EXIT_INPUT, "unknown client, person"),
    ("unknown-task", f"tasks done {CLIENT}/nope --by sam", EXIT_INPUT, "person or task"),
]


def readme_rows() -> dict[int, str]:
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {
        int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.+) \|$", section, re.M)
    }


@pytest.mark.parametrize(
    "code,words", [(code, words) for _, _, code, words in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_the_readme_row_of_each_refusal_names_it(code: int, words: str) -> None:
    assert words in readme_rows()[code]


def test_each_refusal_exits_with_its_documented_code(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    today = workspace_today(workspace)
    approved_cr(cli, CLIENT, scope="platform", sandbox=sandbox)
    ran = json.loads(cli("--json", "run", CLIENT, "--yes").stdout)
    run_id = ran["runs"][0]["run_id"]
    tasks = json.loads(cli("--json", "tasks", CLIENT).stdout)
    task = next(t["id"] for t in tasks if t["owner"] == "sem_specialist")
    other = "harbor-marine"
    draft = json.loads(
        cli(
            *("--json", "cr", "new", other, "--type", "cancellation", "--effective", today),
            *("--as", "dana"),
        ).stdout
    )["id"]
    assert cli("cr", "submit", draft, "--as", "dana").exit_code == 0
    made = json.loads(cli("--json", "plan", other, "-r", "sem-cancellation").stdout)
    plan = workspace / "plans" / f"{made['plan_id']}.json"
    fill = {"run": run_id, "draft": draft, "task": task, "plan": str(plan)}
    writes = len(sandbox.log.mutating())
    for name, command, code, _ in REFUSALS:
        result = cli(*command.format(**fill).split())
        assert result.exit_code == code, (name, result.output)
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert result.stdout == "" and len(errors) == 1, (name, result.output)
    assert len(sandbox.log.mutating()) == writes
