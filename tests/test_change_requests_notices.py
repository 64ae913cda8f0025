"""Reminders before effective and pause end dates, the planner, and the notice outbox, over the
sandbox's real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK
from adoffboard.clock import FakeClock
from adoffboard.config import load_workspace
from adoffboard.cr.service import ChangeRequests
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.store import Store

LAKESIDE = "lakeside-powersports"
SEM_TEAM = {"sam.ortiz@agency.example", "sem-lead@agency.example"}
MA_TEAM = {"mia.chen@agency.example", "ma-lead@agency.example"}


def send(cli: Cli, today: str) -> dict[str, Any]:
    result = cli("--json", "reminders", "send", "--today", today)
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.output)


def sent_to(report: dict[str, Any]) -> list[set[str]]:
    return [set(d["recipients"]) for d in report["sent"]]


def test_reminders_go_once_to_each_departments_team(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = approved_cr(cli, LAKESIDE, effective="2026-12-10", departments=("SEM", "MA"))
    assert send(cli, "2026-12-02")["sent"] == []  # 8 days before: nothing yet
    seven = send(cli, "2026-12-03")
    assert sorted(map(sorted, sent_to(seven))) == sorted([sorted(SEM_TEAM), sorted(MA_TEAM)])
    subjects = [d["subject"] for d in seven["sent"]]
    assert (
        f"Reminder: cancellation {cr_id} for Lakeside Powersports takes effect in 7 days, "
        "on 2026-12-10 (SEM)" in subjects
    )
    assert send(cli, "2026-12-03")["sent"] == []  # idempotent: each reminder once
    assert send(cli, "2026-12-05")["sent"] == []  # the 7-day one is done; the 1-day one not due
    one = send(cli, "2026-12-09")
    assert len(one["sent"]) == 2 and all("tomorrow" in d["subject"] for d in one["sent"])
    assert send(cli, "2026-12-11")["sent"] == []  # after the date: nothing
    [message] = [
        m for m in sandbox.smtp.to("mia.chen@agency.example") if "tomorrow" in m["Subject"]
    ]
    body = message.get_body(("plain",)).get_content()
    assert "Effective date:         2026-12-10" in body
    assert "Runbook: adoffboard run lakeside-powersports -r ma-cancellation" in body
    shown = json.loads(cli("--json", "cr", "show", cr_id).output)
    reminders = [n for n in shown["notices"] if n["kind"] == "reminder-effective"]
    assert len(reminders) == 4 and {n["status"] for n in reminders} == {"sent"}


def test_a_missed_window_sends_only_the_most_imminent(cli: Cli) -> None:
    approved_cr(cli, LAKESIDE, effective="2026-12-10")
    report = send(cli, "2026-12-09")  # the scheduler did not run for a week
    assert [d["subject"].split(" takes effect ")[1] for d in report["sent"]] == [
        "tomorrow, on 2026-12-10 (SEM)"
    ]
    assert send(cli, "2026-12-09")["sent"] == []


def test_pause_without_end_date_is_flagged_and_asks_for_one(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = approved_cr(cli, LAKESIDE, "pause", effective="2026-12-10")
    shown = cli("cr", "show", cr_id).output
    assert (
        "Pause ends:             NOT SET" in shown
        and "WARNING: this pause has no end date" in shown
    )
    [row] = json.loads(cli("--json", "planner").output)
    assert row["pause_end_missing"] is True
    assert "Pauses without an end date: " + cr_id in cli("planner").output
    report = send(cli, "2026-11-01")
    [ask] = report["sent"]
    assert ask["subject"].startswith(f"Set an end date: contract pause {cr_id}")
    assert set(ask["recipients"]) == {"sam.ortiz@agency.example", "dana.whitfield@agency.example"}
    assert send(cli, "2026-11-02")["sent"] == []


def test_pause_end_date_gets_its_own_reminders(cli: Cli) -> None:
    cr_id = approved_cr(
        cli, LAKESIDE, "pause", effective="2026-12-10", extra=("--pause-end", "2027-01-15")
    )
    [row] = json.loads(cli("--json", "planner", "--from", "2027-01-01").output)
    assert (row["cr_id"], row["pause_end_date"]) == (cr_id, "2027-01-15")
    assert json.loads(cli("--json", "planner", "--to", "2026-11-30").output) == []
    report = send(cli, "2027-01-14")
    [d] = report["sent"]
    assert d["subject"] == (
        f"Reminder: contract pause {cr_id} for Lakeside Powersports ends "
        "(un-pause) tomorrow, on 2027-01-15 (SEM)"
    )
    assert set(d["recipients"]) == SEM_TEAM


def test_approval_notice_without_a_plan_says_how_to_make_one(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = approved_cr(cli, LAKESIDE, scope="platform")
    message = sandbox.smtp.messages[-1]
    assert message["Subject"].startswith(f"Approved: cancellation {cr_id}")
    body = message.get_body(("plain",)).get_content()
    assert f"No plan yet: make one from http://127.0.0.1:8765/cr/{cr_id}" in body
    assert (
        f"  or: adoffboard plan {LAKESIDE} -r sem-cancellation --scope platform --cr {cr_id}"
    ) in body


def test_undelivered_notice_stays_queued_and_is_sent_later(
    cli: Cli, workspace: Path, sandbox: Sandbox
) -> None:
    ws = load_workspace(workspace)
    clock = FakeClock()
    with Store.open(ws.store_url, clock=clock) as store:
        service = ChangeRequests(store, ws, clock=clock)
        cr = service.create(
            "dana", {"client": LAKESIDE, "type": "cancellation", "effective_date": "2026-12-10"}
        )
        service.submit(cr.id, "dana")
        for person in ("jeremy", "dustin"):
            cr = service.approve(cr.id, person)
        assert [d.kind for d in service.deliver(cr.id)] == ["turn"] * 3
        cr = service.approve(cr.id, "accounting")
        sandbox.faults.add(FaultRule(kind="unavailable", platform="smtp", times=4))
        [failed] = service.deliver(cr.id)
        assert "421" in failed.error and clock.sleeps == [5.0, 10.0, 20.0]
        assert len(sandbox.smtp.messages) == 3
        assert [n["status"] for n in service.notices(cr.id)] == ["sent"] * 3 + ["pending"]
        [sent] = service.deliver()
        assert sent.error == "" and len(sandbox.smtp.messages) == 4
        assert [n["status"] for n in service.notices(cr.id)] == ["sent"] * 4
        assert service.deliver() == []  # never twice
