"""Odd input (huge, negative, not a number, empty, binary, the wrong type) is refused in one line
with exit 3 and changes nothing in the store; every number has bounds."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from conftest import Cli

from adoffboard.cli import EXIT_INPUT
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"


def store_rows(workspace: Path) -> list[str]:
    """Every row of every table of the workspace's store, as SQL."""
    with sqlite3.connect(workspace / ".adoffboard" / "state.db") as conn:
        return list(conn.iterdump())


def refused_in_one_line(result: Any, fragment: str) -> None:
    assert result.exit_code == EXIT_INPUT, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("adoffboard: error: "), result.output
    assert fragment in lines[0], result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


@pytest.fixture
def seeded(cli: Cli, workspace: Path) -> Path:
    """A workspace whose store holds one change request."""
    created = cli(
        "cr", "new", CLIENT, "--type", "cancellation", "--effective", "2030-01-01", "--as", "dana"
    )
    assert created.exit_code == 0, created.output
    return workspace


NEW = ("cr", "new", CLIENT, "--as", "dana", "--effective", "2030-01-01")
ADDENDUM = (*NEW, "--type", "addendum", "--addendum-ref", "DS-1")
PLAN_ADDENDUM = ("plan", CLIENT, "-r", "sem-addendum", "--budget-change")


@pytest.mark.parametrize(
    "args,fragment",
    [
        (
            (*NEW, "--type", "cancellation", "--credit", "1e26"),
            "credit_amount: '1e26' is too large",
        ),
        ((*NEW, "--type", "cancellation", "--credit", "10000000.01"), "at most 10,000,000"),
        ((*NEW, "--type", "cancellation", "--credit", "NaN"), "'NaN' is not an amount"),
        ((*NEW, "--type", "cancellation", "--credit", "-inf"), "is not an amount"),
        ((*NEW, "--type", "cancellation", "--credit", "12.345"), "more than 2 decimal places"),
        ((*ADDENDUM, "--monthly-total", "0"), "monthly_total: '0' is zero"),
        ((*ADDENDUM, "--campaign-budget", "Brand=1e30"), "campaign_budgets[Brand]"),
        (
            (
                "cr",
                "new",
                CLIENT,
                "--as",
                "dana",
                "--type",
                "cancellation",
                "--effective",
                "9999-12-31",
            ),
            "out of range",
        ),
        ((*PLAN_ADDENDUM, "monthly=1e400"), "monthly_total: '1e400' is too large"),
        ((*PLAN_ADDENDUM, "monthly=nan"), "'nan' is not an amount"),
        ((*PLAN_ADDENDUM, "monthly=inf"), "'inf' is not an amount"),
        ((*PLAN_ADDENDUM, "monthly=-5"), "negative"),
        ((*PLAN_ADDENDUM, "9001=0.001"), "more than 2 decimal places"),
        (("history", CLIENT, "--limit", "1" + "0" * 23), "from 1 to 10000"),
        (("history", CLIENT, "--limit", "0"), "from 1 to 10000"),
        (("history", CLIENT, "--limit", "-5"), "from 1 to 10000"),
        (("history", CLIENT, "--limit", "ten"), "from 1 to 10000"),
        (("plan", CLIENT, "-r", "sem-cancellation", "-o", ""), "needs a file name"),
        (("plan", CLIENT, "-r", "sem-cancellation", "-o", "."), "is a folder"),
        (("reminders", "send", "--today", "9999-12-31"), "--today: '9999-12-31' is out of range"),
        (("planner", "--from", "0001-01-01"), "out of range"),
        (("cr", "show", "CR-\udcff"), "is not valid UTF-8"),
        (("verify", CLIENT, "--run", "r-\udcff"), "is not valid UTF-8"),
        (("sandbox", "up", "--google-ads-port", "70000"), "from 0 to 65535"),
    ],
    ids=[
        "credit-1e26",
        "credit-over-max",
        "credit-nan",
        "credit-inf",
        "credit-3-decimals",
        "monthly-total-zero",
        "campaign-budget-huge",
        "effective-year-9999",
        "budget-change-1e400",
        "budget-change-nan",
        "budget-change-inf",
        "budget-change-negative",
        "budget-change-3-decimals",
        "history-limit-1e23",
        "history-limit-0",
        "history-limit-negative",
        "history-limit-text",
        "plan-output-empty",
        "plan-output-folder",
        "reminders-year-9999",
        "planner-year-1",
        "cr-show-not-utf8",
        "verify-run-not-utf8",
        "sandbox-port-70000",
    ],
)
def test_odd_arguments_are_refused(cli: Cli, seeded: Path, sandbox: Sandbox, args, fragment):
    before = store_rows(seeded)
    refused_in_one_line(cli(*args), fragment)
    assert store_rows(seeded) == before
    assert sandbox.log.mutating() == []


def test_unwritable_plan_path_is_refused(cli: Cli, seeded: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    refused_in_one_line(
        cli("plan", CLIENT, "-r", "sem-cancellation", "-o", str(a_file / "plan.json")),
        "cannot write the plan file",
    )


def _edit_toml(workspace: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    change(data)
    path.write_text(tomli_w.dumps(data))


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    "change,fragment",
    [
        (
            _set("platforms", "google_ads", "timeout_s", value=1e300),
            "platforms.google_ads.timeout_s",
        ),
        (
            _set("platforms", "google_ads", "timeout_s", value=float("nan")),
            "platforms.google_ads.timeout_s",
        ),
        (_set("platforms", "meta", "attempts", value=0), "platforms.meta.attempts"),
        (_set("platforms", "meta", "attempts", value=True), "platforms.meta.attempts"),
        (_set("platforms", "trello", "attempts", value=10**20), "platforms.trello.attempts"),
        (
            _set("platforms", "meta", "max_throttle_wait_s", value=float("inf")),
            "platforms.meta.max_throttle_wait_s",
        ),
        (_set("notifications", "smtp_port", value=70000), "notifications.smtp_port"),
        (_set("notifications", "reminder_days", value=[400]), "notifications.reminder_days"),
        (_set("schedule", "poll_seconds", value=0), "schedule.poll_seconds"),
        (_set("schedule", "max_attempts", value=10**30), "schedule.max_attempts"),
    ],
    ids=[
        "timeout-1e300",
        "timeout-nan",
        "attempts-zero",
        "attempts-true",
        "attempts-huge",
        "throttle-wait-inf",
        "smtp-port-70000",
        "reminder-day-400",
        "poll-seconds-zero",
        "schedule-attempts-huge",
    ],
)
def test_config_numbers_are_bounded(cli: Cli, seeded: Path, change, fragment) -> None:
    before = store_rows(seeded)
    _edit_toml(seeded, change)
    for args in (("clients", "validate"), ("cr", "list")):
        refused_in_one_line(cli(*args), fragment)
    assert store_rows(seeded) == before


BINARY = b"\xff\xfe\x00\x01binary\x80"


@pytest.mark.parametrize(
    "relative,args,fragment",
    [
        ("adoffboard.toml", ("cr", "list"), "adoffboard.toml: not UTF-8 text"),
        (
            "clients/lakeside-powersports.yaml",
            ("plan", CLIENT, "-r", "sem-cancellation"),
            "lakeside-powersports.yaml: not UTF-8 text",
        ),
        (
            "runbooks/sem-cancellation.yaml",
            ("plan", CLIENT, "-r", "sem-cancellation"),
            "sem-cancellation.yaml: not UTF-8 text",
        ),
        ("clients/lakeside-powersports.yaml", ("clients", "show", CLIENT), "not UTF-8 text"),
    ],
    ids=["workspace-file", "manifest", "runbook", "manifest-show"],
)
def test_binary_files_are_refused(
    cli: Cli, seeded: Path, sandbox: Sandbox, relative, args, fragment
) -> None:
    before = store_rows(seeded)
    target = seeded / relative
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(BINARY)
    refused_in_one_line(cli(*args), fragment)
    assert store_rows(seeded) == before
    assert len(sandbox.log) == 0


def test_import_reports_wrong_value_types_by_row_and_field(
    cli: Cli, seeded: Path, tmp_path: Path
) -> None:
    rows = [
        {"client": 5, "type": "cancellation", "effective_date": "2030-01-01"},
        {
            "client": CLIENT,
            "type": ["cancellation"],
            "effective_date": 20300101,
            "notes": {"a": 1},
            "departments": ["SEM", 1],
            "escalated": 3,
            "created_by": 7,
        },
        {
            "client": CLIENT,
            "type": "addendum",
            "effective_date": "2030-01-01",
            "addendum_ref": 4711,
            "campaign_budgets": {"Brand": None},
            "monthly_total": 1e30,
        },
        {
            "client": CLIENT,
            "type": "cancellation",
            "effective_date": "2030-01-01",
            "credit_amount": True,
        },
    ]
    export = tmp_path / "crm.json"
    export.write_text(json.dumps(rows))
    before = store_rows(seeded)
    result = cli("cr", "import", str(export), "--as", "dana")
    assert result.exit_code == EXIT_INPUT, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    expected = [
        "row 1: client: expected text, got a number (5)",
        "row 2: type: expected text, got a list",
        "row 2: effective_date: expected a date as text (YYYY-MM-DD), got a number (20300101)",
        "row 2: notes: expected text, got an object",
        "row 2: departments: expected SEM and/or MA (text or a list of text), got a list "
        "holding a number (1)",
        "row 2: escalated: expected true or false, got a number (3)",
        "row 2: created_by: expected a person key (text), got a number (7)",
        "row 3: campaign_budgets[Brand]: expected an amount like 250.00, got null",
        "row 3: monthly_total: 1e+30 is too large: at most 10,000,000",
        "row 4: credit_amount: expected an amount like 250.00, got true/false (true)",
    ]
    for line in expected:
        assert f"{export}:{line}" in result.output.splitlines(), (line, result.output)
    assert "crm.json: 4 bad row(s)" in result.output
    assert store_rows(seeded) == before
