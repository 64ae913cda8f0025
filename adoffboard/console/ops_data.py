"""What the operations pages show, assembled from the store and the application layer as plain
values for the templates (no Flask here: each function takes the workspace, the store and the day).

Nothing is computed a second way: the planner is the CLI's (`ChangeRequests.planner`) with the
runs each request calls for (`adoffboard.app.runs_called_for`); tasks are `adoffboard.tasks`' minus
the lines a change request's history settles (`adoffboard.verdicts.unsettled`), as `adoffboard
tasks` lists them; the schedule is `adoffboard.scheduling.repo`'s rows, synced first as `adoffboard
schedule list` does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from adoffboard.config import ROLES, LoadedWorkspace
from adoffboard.models import CheckStatus
from adoffboard.records import RunRecord
from adoffboard.report_store import KeptReport, kept_reports


def verdict_of_counts(counts: dict[str, int]) -> str:
    """A verify pass's verdict from its counts, as `adoffboard verify` judges it."""
    if counts.get(CheckStatus.FAIL.value):
        return "FAIL"
    if counts.get(CheckStatus.MANUAL_PENDING.value):
        return "PENDING"
    return "PASS"


def who_ran(record: RunRecord) -> str:
    """Who made a run: a person's login and host (without the process), or the scheduler."""
    by = record.started_by or "unknown"
    return by if by.startswith("scheduler") else by.rpartition(":")[0] or by


# --- runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsPage:
    runs: list[RunRecord]
    verifications: list[dict[str, Any]]
    plans: list[KeptReport]
    reported: set[str] = field(default_factory=set)  # run ids with a kept report
    kept_verifications: set[int] = field(default_factory=set)


def runs_page(store: Any, limit: int = 100) -> RunsPage:
    """Runs and verify passes, newest first, and the dry-run plans kept in the store."""
    kept = kept_reports(store, limit=1000)
    verifications = store.latest_verifications(limit)
    for v in verifications:
        v["verdict"] = verdict_of_counts(v["counts"])
    return RunsPage(
        runs=store.runs(limit=limit),
        verifications=verifications,
        plans=[k for k in kept if k.kind == "plan"][:limit],
        reported={k.run_id for k in kept if k.run_id and k.kind != "plan"},
        kept_verifications={k.verification_id for k in kept if k.verification_id is not None},
    )


@dataclass(frozen=True)
class RunPage:
    record: RunRecord
    by: str
    events: list[Any]
    reports: list[KeptReport]
    verifications: list[dict[str, Any]]


def run_page(store: Any, run_id: str) -> RunPage:
    """One run: what it was, its events, its kept reports and its verify passes."""
    record = store.run(run_id)
    verifications = [v for v in store.latest_verifications(1000) if v["run_id"] == record.id]
    for v in verifications:
        v["verdict"] = verdict_of_counts(v["counts"])
    return RunPage(
        record=record,
        by=who_ran(record),
        events=store.run_events(record.id),
        reports=kept_reports(store, run_id=record.id),
        verifications=verifications,
    )


# --- planner ----------------------------------------------------------------------------------

DONE, DUE, OVERDUE, UPCOMING = "done", "due", "overdue", "upcoming"
NONE = "no run"  # nothing to run yet (a pause without its end date, a runbook missing)


@dataclass(frozen=True)
class PlannedRun:
    runbook: str
    label: str
    on: str
    state: str  # done | due | overdue | upcoming
    run_id: str  # the run that did it, or one still to finish


@dataclass(frozen=True)
class PlannerLine:
    row: dict[str, Any]  # ChangeRequests.planner's row
    state: str
    runs: list[PlannedRun]


def planner_page(
    service: Any, store: Any, ws: LoadedWorkspace, today: dt.date
) -> list[PlannerLine]:
    """The CLI's planner rows, each with the runs its request calls for and where they stand:
    done (a run did it), due (today), overdue (its date passed, not done) or upcoming."""
    from adoffboard.app import runs_called_for

    rows = service.planner()
    due_by_cr: dict[str, list[PlannedRun]] = {}
    for client in sorted({r["client"] for r in rows}):
        for d in runs_called_for(store, ws, client, today):
            state = (
                DONE
                if d.done_by
                else OVERDUE
                if d.on < today
                else DUE
                if d.on == today
                else UPCOMING
            )
            due_by_cr.setdefault(d.cr_id, []).append(
                PlannedRun(d.runbook, d.label, d.on.isoformat(), state, d.done_by or d.unfinished)
            )
    lines = []
    for row in rows:
        runs = due_by_cr.get(row["cr_id"], [])
        states = {r.state for r in runs}
        state = next((s for s in (OVERDUE, DUE, UPCOMING) if s in states), DONE if runs else NONE)
        lines.append(PlannerLine(row, state, runs))
    return lines


# --- schedule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulePage:
    open: list[Any]  # still to run, running or failed
    history: list[Any]  # done, cancelled, void
    events: list[Any]  # the newest events of every row


def schedule_page(store: Any, ws: LoadedWorkspace, limit: int = 200) -> SchedulePage:
    from sqlalchemy import select

    from adoffboard.scheduling import book, repo
    from adoffboard.scheduling.tables import schedule_events_t

    book.sync(store, ws)  # as `adoffboard schedule list`: new approvals scheduled, voided withdrawn
    with store.transaction() as conn:
        rows = repo.rows(conn, statuses=None)
        query = select(schedule_events_t).order_by(schedule_events_t.c.seq.desc()).limit(limit)
        events = [dict(e) for e in conn.execute(query).mappings()]
    return SchedulePage(
        open=[r for r in rows if r.status in repo.OPEN],
        history=[r for r in rows if r.status not in repo.OPEN][::-1][:limit],
        events=events,
    )


# --- manual tasks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskLine:
    task: Any  # adoffboard.tasks.Task
    owner_title: str
    mine: bool  # the signed-in person holds its owner role


def tasks_page(
    ws: LoadedWorkspace, store: Any, person_key: str, client: str | None = None
) -> tuple[list[TaskLine], list[TaskLine]]:
    """(pending, done) manual tasks, as `adoffboard tasks --all` lists them."""
    from adoffboard.tasks import all_tasks
    from adoffboard.verdicts import unsettled

    found = unsettled(ws, store, all_tasks(ws, store, client, include_done=True))
    person = ws.config.people.get(person_key)
    name = person.name if person else ""
    lines = [
        TaskLine(t, ROLES.get(t.owner, t.owner), bool(name) and name in t.owners) for t in found
    ]
    return [t for t in lines if not t.task.done], [t for t in lines if t.task.done]
