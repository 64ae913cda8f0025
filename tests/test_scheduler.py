"""The scheduler against the stand-ins, on a controlled clock: approved requests run on their
dates, re-planned against live state, applied, verified and emailed; retries back off; a held
client waits and names its holder; a pause is undone exactly on its end date."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Cli, approved_cr, workspace_today

from adoffboard.clock import FakeClock
from adoffboard.config import LoadedWorkspace, load_workspace
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.scheduling import repo
from adoffboard.scheduling.runner import Scheduler
from adoffboard.store import Store

LAKESIDE, HARBOR = "lakeside-powersports", "harbor-marine"
L_CID, H_CID, MCC = "1234567890", "2345678901", "1112223333"
META_LAKESIDE, META_AGENCY = "act_1029384756", "100200300400500"
TRELLO_LAKESIDE = "64b7f0c2a1d3e4f5a6b7c801"
FLOOR = 10_000  # $.01 in micros


def google_ads_values(sandbox: Sandbox, cid: str) -> dict[str, object]:
    state = sandbox.google_ads.state
    values: dict[str, object] = {
        f"campaign:{c}": state.campaign(cid, c).status for c in state.campaigns[cid]
    }
    for bid in state.budgets[cid]:
        b = state.budget(cid, bid)
        values[f"budget:{bid}"] = (b.amount_micros, b.total_amount_micros)
    values["hidden"] = state.client_link(MCC, cid).hidden
    values["link"] = state.manager_link(cid, MCC).status
    return values


class Desk:
    """A scheduler on a fake clock, and the workspace's own store opened on that clock."""

    def __init__(self, ws: LoadedWorkspace, store: Store, clock: FakeClock) -> None:
        self.ws, self.store, self.clock = ws, store, clock
        self.scheduler = Scheduler(ws, store, clock=clock)
        self.tz = ZoneInfo(ws.config.workspace.timezone)

    def at(self, day: dt.date, hour: int, minute: int = 0) -> None:
        """Move the clock forward to `day` `hour:minute` in the workspace's zone."""
        target = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
        seconds = (target - self.clock.now()).total_seconds()
        assert seconds >= 0, "the clock only moves forward"
        self.clock.advance(seconds)

    def tick(self) -> dict[str, str]:
        report = self.scheduler.tick()
        return {label(r.row): r.outcome for r in report.results}

    def approval_steps(self, sandbox: Sandbox) -> None:
        """Tick right after approval: only the rows of the steps due at approval run (planner
        rows, tracker dates), writing to Sheets only; then forget that traffic."""
        self.clock.advance(60)  # approval happened on the real clock, a moment ago
        done = self.tick()
        assert done and all(k.endswith(":now") and v == "done" for k, v in done.items()), done
        assert {e.platform for e in sandbox.log.mutating()} <= {"sheets", "smtp"}
        sandbox.log.clear()
        sandbox.smtp.clear()

    def rows(self) -> dict[str, repo.ScheduledRun]:
        with self.store.transaction() as conn:
            return {label(r): r for r in repo.rows(conn)}


def label(row: repo.ScheduledRun) -> str:
    """runbook:client, with ":now" for the row of the steps due at approval."""
    return f"{row.runbook}:{row.client}" + (":now" if row.stage == repo.AT_APPROVAL else "")


@pytest.fixture
def desk(workspace: Path) -> Iterator[Desk]:
    ws = load_workspace(workspace)
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    with Store.open(ws.store_url, clock=clock) as store:
        yield Desk(ws, store, clock)


def today(cli: Cli) -> dt.date:
    return dt.date.fromisoformat(workspace_today(cli.workspace))


def subjects(sandbox: Sandbox) -> list[str]:
    return [m["Subject"].strip() for m in sandbox.smtp.messages]  # long subjects are folded


def test_cancellation_and_pause_run_on_their_dates_and_the_pause_is_undone_exactly(
    cli: Cli, sandbox: Sandbox, desk: Desk
) -> None:
    d0 = today(cli)
    cancel_on, pause_on, pause_ends = (d0 + dt.timedelta(days=n) for n in (2, 4, 9))
    approved_cr(
        cli, LAKESIDE, scope="platform", effective=str(cancel_on), departments=("SEM", "MA")
    )
    approved_cr(
        cli, HARBOR, "pause", effective=str(pause_on), extra=("--pause-end", str(pause_ends))
    )
    harbor_before = google_ads_values(sandbox, H_CID)
    sandbox.log.clear()
    sandbox.smtp.clear()

    # Approval scheduled every run at 06:00 Chicago on its date; the un-pause after its pause.
    rows = desk.rows()
    assert set(rows) == {
        "sem-cancellation:" + LAKESIDE,
        "ma-cancellation:" + LAKESIDE,
        "sem-pause:" + HARBOR,
        "sem-unpause:" + HARBOR,
        # the steps due at approval: the planner rows, the MA tracker's cancellation date
        "sem-cancellation:" + LAKESIDE + ":now",
        "ma-cancellation:" + LAKESIDE + ":now",
        "sem-pause:" + HARBOR + ":now",
    }
    assert {r.status for r in rows.values()} == {"scheduled"}
    unpause = rows["sem-unpause:" + HARBOR]
    assert unpause.after_id == rows["sem-pause:" + HARBOR].id
    assert dt.datetime.fromisoformat(unpause.due_at).astimezone(desk.tz).replace(
        tzinfo=None
    ) == dt.datetime.combine(pause_ends, dt.time(6, 0))

    # At approval: the steps due then, and only those: Sheets rows, no ad platform touched.
    desk.clock.advance(60)
    assert desk.tick() == {
        "sem-cancellation:" + LAKESIDE + ":now": "done",
        "ma-cancellation:" + LAKESIDE + ":now": "done",
        "sem-pause:" + HARBOR + ":now": "done",
    }
    assert {e.platform for e in sandbox.log.mutating()} == {"sheets", "smtp"}
    assert any(
        s.startswith("Done: sem-pause (steps due at approval) for Harbor Marine Center")
        for s in subjects(sandbox)
    ), subjects(sandbox)
    assert google_ads_values(sandbox, H_CID) == harbor_before
    sandbox.log.clear()
    sandbox.smtp.clear()

    # Before any date: nothing runs, nothing is read or written.
    desk.at(cancel_on, 5, 59)
    assert desk.tick() == {}
    assert sandbox.log.entries() == []

    # The cancellation's date: SEM and MA cancellations, leaving the platform.
    desk.at(cancel_on, 6, 0)
    assert desk.tick() == {
        "ma-cancellation:" + LAKESIDE: "done",
        "sem-cancellation:" + LAKESIDE: "done",
    }
    lakeside = google_ads_values(sandbox, L_CID)
    # every campaign the API can pause is paused (VIDEO and experiments stay manual tasks)
    assert {
        c: lakeside[f"campaign:{c}"] for c in ("9001", "9002", "9003", "9004", "9005")
    } == dict.fromkeys(("9001", "9002", "9003", "9004", "9005"), "PAUSED")
    assert lakeside["budget:5001"] == (FLOOR, None)
    assert lakeside["hidden"] is True
    assert lakeside["link"] == "INACTIVE"  # leaving the platform: the agency's link removed
    assert "Active" not in {
        c.status for c in sandbox.microsoft_ads.accounts["149876543"].campaigns.values()
    }
    assert META_AGENCY not in sandbox.meta.accounts[META_LAKESIDE].agencies
    assert sandbox.trello.card(TRELLO_LAKESIDE).closed is True
    assert google_ads_values(sandbox, H_CID) == harbor_before  # not Harbor's day
    rows = desk.rows()
    done = rows["sem-cancellation:" + LAKESIDE]
    assert (done.status, done.attempts, done.verdict) == ("done", 1, "PENDING")  # manual tasks
    assert any(
        s.startswith("Done: sem-cancellation for Lakeside Powersports") for s in subjects(sandbox)
    )

    # The pause's date: Harbor paused, budgets at the floor, nothing hidden or removed.
    desk.at(pause_on, 7, 30)
    assert desk.tick() == {"sem-pause:" + HARBOR: "done"}
    harbor = google_ads_values(sandbox, H_CID)
    assert [harbor[f"campaign:{c}"] for c in ("9101", "9102", "9103", "9104")] == ["PAUSED"] * 4
    assert harbor["budget:6001"] == (FLOOR, None) and harbor["budget:6002"] == (FLOOR, None)
    assert (harbor["hidden"], harbor["link"]) == (False, "ACTIVE")

    # In between, someone raises one of Harbor's budgets by hand.
    sandbox.google_ads.state.set_budget_amount(H_CID, "6002", 33_000_000)
    desk.at(pause_on + dt.timedelta(days=1), 6, 0)
    assert desk.tick() == {}  # the un-pause is not due yet

    # The end date: everything put back exactly, except the budget someone else changed.
    sandbox.smtp.clear()
    desk.at(pause_ends, 6, 5)
    assert desk.tick() == {"sem-unpause:" + HARBOR: "done"}
    assert google_ads_values(sandbox, H_CID) == {**harbor_before, "budget:6002": (33_000_000, None)}
    unpaused = desk.rows()["sem-unpause:" + HARBOR]
    assert unpaused.verdict == "PENDING"
    [notice] = [
        m for m in sandbox.smtp.messages if m["Subject"].strip().startswith("Done: sem-unpause")
    ]
    body = notice.get_body(("plain",)).get_content()
    assert "left alone" in body and "Service dept daily" in body

    # Nothing left to do: later ticks change nothing.
    writes = len(sandbox.log.mutating())
    desk.at(pause_ends + dt.timedelta(days=3), 6, 0)
    assert desk.tick() == {}
    assert len(sandbox.log.mutating()) == writes
    assert {r.status for r in desk.rows().values()} == {"done"}


def test_missed_runs_are_caught_up_in_order(cli: Cli, sandbox: Sandbox, desk: Desk) -> None:
    d0 = today(cli)
    approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d0 + dt.timedelta(days=1)),
        extra=("--pause-end", str(d0 + dt.timedelta(days=3))),
    )
    before = google_ads_values(sandbox, H_CID)
    # No scheduler ran for a week: the next tick does the pause, then its un-pause.
    desk.at(d0 + dt.timedelta(days=8), 9, 0)
    report = desk.scheduler.tick()
    assert [(label(r.row), r.outcome) for r in report.results] == [
        ("sem-pause:" + HARBOR + ":now", "done"),  # the planner row, due since approval
        ("sem-pause:" + HARBOR, "done"),
        ("sem-unpause:" + HARBOR, "done"),
    ]
    assert google_ads_values(sandbox, H_CID) == before


def test_failures_are_retried_with_backoff_and_emailed(
    cli: Cli, sandbox: Sandbox, desk: Desk
) -> None:
    d0 = today(cli)
    approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d0 + dt.timedelta(days=1)),
        extra=("--pause-end", str(d0 + dt.timedelta(days=5))),
    )
    desk.approval_steps(sandbox)
    sandbox.smtp.clear()
    # Google Ads refuses every mutate for a while: more than the connector's own retries.
    sandbox.faults.add(
        FaultRule(kind="unavailable", platform="google_ads", method="Mutate", times=5)
    )
    desk.at(d0 + dt.timedelta(days=1), 6, 0)
    report = desk.scheduler.tick()
    [first] = report.results
    assert first.outcome == "retrying" and first.attempt == 1
    assert dt.datetime.fromisoformat(first.next_at) - desk.clock.now() == dt.timedelta(minutes=15)
    [mail] = [m for m in sandbox.smtp.messages if m["Subject"].strip().startswith("Retrying at")]
    assert "attempt 1 of 5 failed" in mail["Subject"]
    assert "dmo-lead@agency.example" in mail["To"]

    desk.clock.advance(14 * 60)
    assert desk.tick() == {}  # not yet: backing off
    desk.clock.advance(60)
    assert desk.tick() == {"sem-pause:" + HARBOR: "done"}
    row = desk.rows()["sem-pause:" + HARBOR]
    assert (row.status, row.attempts) == ("done", 2)
    assert sandbox.google_ads.state.campaign(H_CID, "9101").status == "PAUSED"


def test_attempts_run_out_then_a_person_is_told(cli: Cli, sandbox: Sandbox, desk: Desk) -> None:
    d0 = today(cli)
    approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d0 + dt.timedelta(days=1)),
        extra=("--pause-end", str(d0 + dt.timedelta(days=5))),
    )
    desk.approval_steps(sandbox)
    sandbox.faults.add(FaultRule(kind="unavailable", platform="google_ads", method="Mutate"))
    desk.at(d0 + dt.timedelta(days=1), 6, 0)
    waits = []
    for _ in range(5):
        report = desk.scheduler.tick()
        [result] = report.results
        if result.next_at:
            waits.append(dt.datetime.fromisoformat(result.next_at) - desk.clock.now())
            desk.clock.advance(waits[-1].total_seconds())
    assert [w.total_seconds() / 60 for w in waits] == [15, 30, 60, 120]
    assert result.outcome == "failed" and result.attempt == 5
    assert report.gave_up == [result]
    assert any(
        s.startswith("FAILED: sem-pause for Harbor Marine Center") for s in subjects(sandbox)
    )
    assert desk.rows()["sem-pause:" + HARBOR].status == "failed"
    desk.clock.advance(24 * 3600)
    assert desk.tick() == {}  # a run that gave up waits for a person


def test_a_held_client_waits_and_the_holder_is_named(
    cli: Cli, sandbox: Sandbox, desk: Desk
) -> None:
    d0 = today(cli)
    approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d0 + dt.timedelta(days=1)),
        extra=("--pause-end", str(d0 + dt.timedelta(days=5))),
    )
    desk.approval_steps(sandbox)
    desk.at(d0 + dt.timedelta(days=1), 6, 0)
    with desk.store.client_lock(HARBOR, "alice@ops-laptop:4242"):
        report = desk.scheduler.tick()
    [held] = report.results
    assert held.outcome == "locked"
    assert "locked by alice@ops-laptop:4242" in held.detail
    row = desk.rows()["sem-pause:" + HARBOR]
    assert (row.status, row.attempts) == ("scheduled", 0)  # not an attempt
    assert sandbox.log.mutating("google_ads") == []
    desk.clock.advance(5 * 60)
    assert desk.tick() == {"sem-pause:" + HARBOR: "done"}


def test_an_edited_request_withdraws_its_runs_until_approved_again(
    cli: Cli, sandbox: Sandbox, desk: Desk
) -> None:
    d0 = today(cli)
    cr_id = approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d0 + dt.timedelta(days=1)),
        extra=("--pause-end", str(d0 + dt.timedelta(days=5))),
    )
    edited = cli("cr", "edit", cr_id, "--pause-end", str(d0 + dt.timedelta(days=6)), "--as", "dana")
    assert edited.exit_code == 0, edited.output
    assert {r.status for r in desk.rows().values()} == {"void"}
    desk.at(d0 + dt.timedelta(days=1), 6, 0)
    assert desk.tick() == {}
    assert sandbox.log.mutating("google_ads") == []
    for step in (
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        assert cli("cr", *step).exit_code == 0
    assert desk.tick() == {"sem-pause:" + HARBOR + ":now": "done", "sem-pause:" + HARBOR: "done"}
    unpause = [r for r in desk.rows().values() if r.status == "scheduled"]
    assert [r.run_date for r in unpause] == [str(d0 + dt.timedelta(days=6))]


def test_the_service_sleeps_until_the_next_due_run_and_survives_a_failed_tick(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    toml = workspace / "adoffboard.toml"
    toml.write_text(toml.read_text().replace("poll_seconds = 60", "poll_seconds = 3600"))
    d1 = today(cli) + dt.timedelta(days=1)
    approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d1),
        extra=("--pause-end", str(d1 + dt.timedelta(days=5))),
    )
    ws = load_workspace(workspace)
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    stop = threading.Event()
    waits: list[float] = []
    errors: list[str] = []
    with Store.open(ws.store_url, clock=clock) as store:
        desk = Desk(ws, store, clock)
        desk.at(d1, 5, 30)  # half an hour before the pause is due

        def wait(seconds: float) -> None:
            waits.append(seconds)
            clock.advance(seconds)
            if len(waits) == 2:  # the store breaks under the service
                db = ws.store_url.removeprefix("sqlite:///")
                with contextlib.closing(sqlite3.connect(db)) as conn:
                    conn.execute("ALTER TABLE schedule RENAME TO schedule_gone")
            if len(waits) == 3:
                stop.set()

        desk.scheduler.serve(stop, wait=wait, on_error=lambda exc: errors.append(str(exc)))
    assert waits == [1800, 3600, 3600]  # until due; then at most poll_seconds; then retry later
    assert sandbox.google_ads.state.campaign(H_CID, "9101").status == "PAUSED"
    assert len(errors) == 1 and errors[0].startswith("state store error")


def test_a_pause_given_its_end_date_later_is_not_paused_twice(
    cli: Cli, sandbox: Sandbox, desk: Desk
) -> None:
    d0 = today(cli)
    cr_id = approved_cr(cli, HARBOR, "pause", effective=str(d0 + dt.timedelta(days=1)))
    before = google_ads_values(sandbox, H_CID)
    # no end date: no un-pause yet
    assert set(desk.rows()) == {"sem-pause:" + HARBOR, "sem-pause:" + HARBOR + ":now"}
    desk.approval_steps(sandbox)
    desk.at(d0 + dt.timedelta(days=1), 6, 0)
    assert desk.tick() == {"sem-pause:" + HARBOR: "done"}
    # The end date is agreed afterwards: the request is edited and approved again.
    end = d0 + dt.timedelta(days=6)
    assert cli("cr", "edit", cr_id, "--pause-end", str(end), "--as", "dana").exit_code == 0
    for step in (
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        assert cli("cr", *step).exit_code == 0
    rows = desk.rows()
    assert {k: r.status for k, r in rows.items()} == {
        "sem-pause:" + HARBOR + ":now": "done",
        "sem-pause:" + HARBOR: "done",
        "sem-unpause:" + HARBOR: "scheduled",
    }
    assert rows["sem-unpause:" + HARBOR].after_id == rows["sem-pause:" + HARBOR].id
    desk.at(end, 6, 0)
    assert desk.tick() == {"sem-unpause:" + HARBOR: "done"}
    assert google_ads_values(sandbox, H_CID) == before
