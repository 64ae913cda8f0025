"""`adoffboard case list` and `case show` through the CLI, against the sandbox and the store: a
pause approved through `cr`, carried out by a person's run, its manual tasks attested, and its
un-pause restoring what it changed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import EXIT_DRIFT, EXIT_INPUT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"
HARBOR = "harbor-marine"


def ok(result: Any) -> Any:
    assert result.exit_code == EXIT_OK, result.output
    return result


def case(cli: Cli, what: str) -> dict[str, Any]:
    return dict(json.loads(ok(cli("case", "show", what, "--json")).output))


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(ok(cli("--json", "case", "list", *args)).output))


def run(cli: Cli, runbook: str) -> dict[str, Any]:
    result = cli("--json", "run", CLIENT, "--yes", "-r", runbook)
    assert result.exit_code in (EXIT_OK, EXIT_DRIFT, EXIT_VERIFY_PENDING), result.output
    return dict(json.loads(result.output))


def test_a_pause_from_approval_to_restore(cli: Cli, sandbox: Sandbox) -> None:
    today = dt.date.fromisoformat(workspace_today(cli.workspace))
    yesterday = str(today - dt.timedelta(days=1))
    cr_id = approved_cr(
        cli, CLIENT, "pause", effective=yesterday, extra=("--pause-end", str(today))
    )
    before = case(cli, CLIENT)
    assert (before["id"], before["status"], before["runs"]) == (cr_id, "approved", [])
    assert [(t["action"], t["by"]) for t in before["transitions"]] == [
        ("created", "dana"),
        ("submitted", "dana"),
        ("approved", "jeremy"),
        ("approved", "dustin"),
        ("processed", "accounting"),
    ]
    assert [(s["runbook"], s["run_date"]) for s in before["scheduled"]] == [
        ("sem-pause", yesterday),
        ("sem-unpause", str(today)),
    ]
    assert before["open"] is True and before["restores"] == []

    paused = run(cli, "sem-pause")
    pause_id = paused["run_id"]
    shown = case(cli, CLIENT)
    [pause_run] = shown["runs"]
    assert pause_run["id"] == pause_id and pause_run["runbook"] == "sem-pause"
    assert pause_run["process"] == "pause" and pause_run["stage"] == "all"
    assert pause_run["status"] == "applied" and pause_run["verdict"] == "PENDING"
    who = pause_run["started_by"]
    assert who and not who.startswith("scheduler")  # a person's run: login and host
    [state] = shown["restores"]
    assert state["run_id"] == pause_id and state["changed"] > 0
    assert state["restored"] is False and state["restored_by"] == []
    assert f"pause run {pause_id} not restored yet" in shown["outstanding"]
    pending = [t for t in shown["tasks"] if not t["done"]]
    assert f"{CLIENT}/sem-pause/confirm-pause-end-date" in [t["id"] for t in pending]
    assert all(t["run_id"] == pause_id for t in shown["tasks"])

    text = ok(cli("case", "show", CLIENT)).output
    assert text.startswith(f"{cr_id}: pause for {CLIENT}, approved.")
    assert f"run {pause_id} sem-pause (all) by {who}: applied, verify PENDING" in text
    assert f"changed {state['changed']} value(s): not restored yet" in text
    assert any(
        line.split()[:3] == ["(pending)", "task", f"{CLIENT}/sem-pause/confirm-pause-end-date"]
        for line in text.splitlines()
    )
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("Timeline (oldest first")) + 1
    stamps = [line.split()[0] for line in lines[start:] if line.startswith("  20")]
    assert stamps == sorted(stamps) and len(stamps) >= 6  # oldest first
    created = next(line for line in lines if "created by dana" in line)
    ran = next(line for line in lines if f"run {pause_id}" in line and "  run  " in line)
    assert created.index("created") == ran.index("run " + pause_id)  # aligned columns

    ok(cli("tasks", "done", f"{CLIENT}/sem-pause/confirm-pause-end-date", "--by", "sam"))
    [task] = [t for t in case(cli, cr_id)["tasks"] if t["step_id"] == "confirm-pause-end-date"]
    assert task["done"] is True and task["attested_by"] == "Sam Ortiz"
    assert any(
        e["kind"] == "task" and e["text"].startswith(f"{CLIENT}/sem-pause/confirm-pause-end-date")
        and "done by Sam Ortiz" in e["text"]
        for e in case(cli, cr_id)["timeline"]
    )  # fmt: skip

    unpaused = run(cli, "sem-unpause")
    after = case(cli, cr_id)  # by id, the same case
    assert [r["id"] for r in after["runs"]] == [pause_id, unpaused["run_id"]]
    [state] = after["restores"]
    assert state["restored"] is True
    assert [r["id"] for r in state["restored_by"]] == [unpaused["run_id"]]
    assert not any("not restored" in o for o in after["outstanding"])
    text = ok(cli("case", "show", cr_id)).output
    assert f"restored by {unpaused['run_id']} sem-unpause" in text

    [line] = listed(cli)
    assert (line["id"], line["client"], line["type"], line["runs"]) == (cr_id, CLIENT, "pause", 2)
    assert line["last_run"] == unpaused["run_id"]
    assert line["last_verdict"] == after["runs"][-1]["verdict"]
    assert line["effective_date"] == yesterday and line["pause_end_date"] == str(today)


@pytest.mark.standins("smtp")
def test_list_open_and_by_client(cli: Cli) -> None:
    def new(client: str, type_: str = "cancellation") -> str:
        args = ["--json", "cr", "new", client, "--type", type_, "--as", "dana"]
        args += ["--effective", "2026-12-01", "--department", "SEM"]
        return str(json.loads(ok(cli(*args)).output)["id"])

    draft = new(CLIENT)
    rejected = new(HARBOR)
    ok(cli("cr", "submit", rejected, "--as", "dana"))
    ok(cli("cr", "reject", rejected, "--as", "jeremy", "--reason", "wrong client"))
    approved = approved_cr(cli, HARBOR, effective="2026-12-01")

    assert [c["id"] for c in listed(cli)] == [draft, rejected, approved]
    assert [c["id"] for c in listed(cli, "--open")] == [draft, approved]
    assert [c["id"] for c in listed(cli, "--client", HARBOR)] == [rejected, approved]
    by_id = {c["id"]: c for c in listed(cli)}
    assert by_id[rejected]["open"] is False and by_id[rejected]["outstanding"] == []
    assert by_id[draft]["outstanding"] == [
        "the request is a draft: it must be submitted by the Account Manager"
    ]
    assert any(
        o.endswith("sem-cancellation scheduled (2026-12-01)")
        for o in by_id[approved]["outstanding"]
    )
    assert by_id[approved]["runs"] == 0 and by_id[approved]["last_verdict"] is None

    text = ok(cli("case", "list")).output.splitlines()
    assert text[0].split() == [
        "CR", "CLIENT", "TYPE", "STATUS", "EFFECTIVE", "PAUSE", "END", "RUNS", "LAST", "OPEN",
    ]  # fmt: skip
    assert len(text) == 4
    assert text[2].split()[:8] == [
        rejected, HARBOR, "cancellation", "rejected", "2026-12-01", "-", "0", "-",
    ]  # fmt: skip
    assert text[2].endswith("closed")
    assert len({line.index("cancellation") for line in text[1:]}) == 1  # aligned
    # A client's case: its approved cancellation, not the later draft or the rejected one.
    new(HARBOR)
    assert case(cli, HARBOR)["id"] == approved
    assert case(cli, CLIENT)["id"] == draft  # nothing approved: its latest request
    assert ok(cli("case", "list", "--open", "--client", "harbor-marine")).output.count("\n") == 3


@pytest.mark.standins("smtp")
@pytest.mark.parametrize(
    "args,fragment",
    [
        (["case", "show", "nobody"], "no client or change request 'nobody'"),
        (["case", "show", "CR-0042"], "no client or change request 'CR-0042'"),
        (["case", "show", CLIENT], f"{CLIENT} has no change requests"),
        (["case", "list", "--client", "nobody"], "unknown client 'nobody'"),
        (["case", "list", "--client", "Bad Slug"], "is not a valid slug"),
    ],
)
def test_unknown_client_or_request(cli: Cli, args: list[str], fragment: str) -> None:
    result = cli(*args)
    assert result.exit_code == EXIT_INPUT, result.output  # NotFound's documented code
    errors = [line for line in result.output.splitlines() if line.startswith("adoffboard: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    assert result.output.strip() == errors[0] and "Traceback" not in result.output
