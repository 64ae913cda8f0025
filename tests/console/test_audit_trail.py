"""The audit page shows each step once: a change request's approval made through the CLI is the
trail's row (door and basis), not also the request's history row; the scheduler's own steps on a
change request's run are in the trail, through the door "scheduler" on the basis "service"."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

from conftest import Cli, approved_cr, workspace_today
from console_support import Browser

from adoffboard import audit
from adoffboard.config import load_workspace
from adoffboard.store import Store

CLIENT = "lakeside-powersports"
SAM = "sam.ortiz@agency.example"  # SEM Specialist


def rows_of(html: str) -> list[str]:
    """The audit table's rows, as text."""
    table = html.partition('id="audit-table"')[2]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr[^>]*>.*?</tr>", table, re.S)
    ]


def trail(workspace: Path, subject: str) -> list[audit.Event]:
    with Store.open(load_workspace(workspace).store_url) as store:
        return audit.events(store, subject=subject)


def test_an_approval_through_the_cli_shows_once(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    later = dt.date.fromisoformat(workspace_today(console_workspace)) + dt.timedelta(days=20)
    cr_id = approved_cr(cli, CLIENT, effective=later.isoformat())
    recorded = [e for e in trail(console_workspace, cr_id) if e.action == "cr approved"]
    assert len(recorded) == 2 and {e.via for e in recorded} == {"cli"}
    shown = rows_of(browser(SAM).get(f"/audit?client={CLIENT}").text)
    approvals = [r for r in shown if "change request approved" in r]
    assert len(approvals) == 2, approvals  # Jeremy and Dustin: once each
    assert all(f"(cli, {recorded[0].basis})" in r for r in approvals), approvals
    assert sum("change request submitted" in r for r in shown) == 1


def test_the_schedulers_steps_are_in_the_trail_once(
    cli: Cli, browser: Callable[..., Browser], console_workspace: Path
) -> None:
    before = dt.date.fromisoformat(workspace_today(console_workspace)) - dt.timedelta(days=2)
    approved_cr(cli, CLIENT, scope="platform", effective=before.isoformat())
    ticked = cli("--json", "scheduler", "tick")
    results = json.loads(ticked.output)["results"]
    assert results, ticked.output
    row_id = results[0]["id"]
    steps = trail(console_workspace, row_id)
    assert {(e.via, e.basis) for e in steps} == {("scheduler", "service")}
    actions = [e.action for e in reversed(steps)]
    assert actions[0] == "scheduled run started" and len(actions) >= 2, actions
    outcome = actions[-1]
    assert outcome.removeprefix("scheduled run ") in ("done", "failed", "retrying"), actions
    assert all(e.person.startswith("scheduler ") for e in steps)
    shown = rows_of(browser(SAM).get(f"/audit?client={CLIENT}").text)
    started = [r for r in shown if "scheduled run started" in r and row_id in r]
    assert len(started) == 1 and "(scheduler, service)" in started[0], started
    ended = [r for r in shown if outcome in r and row_id in r]
    assert len(ended) == 1 and "(scheduler, service)" in ended[0], ended  # not the row's event too
