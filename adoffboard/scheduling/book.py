"""Which runs an approved change request needs, and keeping the schedule in step with requests.

An approved request is carried out by every runbook of its type's processes in its departments
(`adoffboard.cr.notify.runbooks_for`): a cancellation on its effective date, an addendum on its
effective date, a pause on its effective date and its un-pause on the pause's end date (no end
date: no un-pause yet; the reminders ask for one). Each run is due at `[schedule] run_at` on its
date, in the workspace's time zone. A runbook whose `immediately` steps write somewhere (the
planner row with the request's id, the MA tracker's cancellation date) has those steps run at
approval too, as their own row (stage "immediately", due at once), when its date is still ahead.

Rows are keyed by (request, runbook, content hash): approving schedules them in the approval's
own transaction, `sync` repeats it idempotently (requests approved before the schedule existed),
and a request whose approvals are voided has its waiting rows withdrawn (`void`) in that
transaction; once re-approved, its new content gets new rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from adoffboard.clock import Clock
from adoffboard.config import LoadedWorkspace
from adoffboard.cr import repo as cr_repo
from adoffboard.cr.model import EXECUTABLE_TYPES, ChangeRequest
from adoffboard.cr.service import ChangeRequests
from adoffboard.scheduling import repo
from adoffboard.timing import runs_for

SYSTEM = "adoffboard"


class Schedule:
    """Keeps the schedule in step with the change requests, in each action's own transaction
    (`adoffboard.cr.service.Follower`): an approval schedules its runs, a voiding withdraws them."""

    def approved(
        self, conn: Connection, cr: ChangeRequest, ws: LoadedWorkspace, at: str
    ) -> list[repo.ScheduledRun]:
        return schedule_request(conn, cr, ws, at)

    def voided(self, conn: Connection, cr: ChangeRequest, at: str) -> None:
        void_request(conn, cr, at)


def change_requests(store: Any, ws: LoadedWorkspace, clock: Clock | None = None) -> ChangeRequests:
    """The change requests of `ws`, their approvals scheduling their runs (`Schedule`): what
    every caller that acts on requests uses (the `cr` commands, the demo, the scheduler)."""
    return ChangeRequests(store, ws, clock, follower=Schedule())


def due_at(day: dt.date, ws: LoadedWorkspace) -> str:
    """When a run dated `day` is due: `run_at` that day in the workspace's zone, as stored (UTC)."""
    tz = ZoneInfo(ws.config.workspace.timezone)
    local = dt.datetime.combine(day, ws.config.schedule.time_of_day, tzinfo=tz)
    return local.astimezone(dt.UTC).isoformat(timespec="seconds")


def _key(cr: ChangeRequest, run: dict[str, Any]) -> str:
    stage = f":{run['stage']}" if run["stage"] != repo.EFFECTIVE else ""
    return f"{cr.id}:{run['runbook']}{stage}:{cr.content_hash[:16]}"


def schedule_request(
    conn: Connection, cr: ChangeRequest, ws: LoadedWorkspace, at: str
) -> list[repo.ScheduledRun]:
    """Schedule the runs of an approved request that are not scheduled yet; returns new rows."""
    added: list[repo.ScheduledRun] = []
    firsts: dict[str, str] = {}  # department -> the pause's row, which its un-pause waits for
    # What already ran for an earlier content of the request is not run again: a pause approved
    # again only to set its end date keeps its pause run, which the un-pause then restores.
    ran = {
        (r.runbook, r.stage): r
        for r in repo.rows(conn, cr_id=cr.id, statuses=(repo.DONE, repo.RUNNING))
    }
    zone = ZoneInfo(ws.config.workspace.timezone)
    today = dt.datetime.fromisoformat(at).astimezone(zone).date()
    for run in runs_for(cr, ws, today):
        first = run["stage"] == repo.EFFECTIVE
        done = ran.get((run["runbook"], run["stage"])) or ran.get((run["runbook"], repo.EFFECTIVE))
        if done is not None:
            if first:
                firsts.setdefault(run["department"], done.id)
            continue
        key = _key(cr, run)
        existing = repo.by_key(conn, key)
        if existing is not None:
            if existing.status == repo.VOID:  # re-approved with the very same content
                repo.update_row(
                    conn,
                    existing,
                    at,
                    status=repo.SCHEDULED,
                    attempts=0,
                    next_attempt_at=existing.due_at,
                    note="",
                    last_error=None,
                )
                repo.add_event(
                    conn,
                    existing.id,
                    at=at,
                    event="rescheduled",
                    by=SYSTEM,
                    attempt=0,
                    detail=f"{cr.id} approved again",
                )
            if first:
                firsts.setdefault(run["department"], existing.id)
            continue
        row = repo.insert_row(
            conn,
            {
                "key": key,
                "cr_id": cr.id,
                "cr_hash": cr.content_hash,
                "client": cr.client,
                "runbook": run["runbook"],
                "process": run["process"],
                "department": run["department"],
                "run_date": run["run_date"].isoformat(),
                "due_at": at if not first else due_at(run["run_date"], ws),
                "after_id": firsts.get(run["department"]) if run["process"] == "unpause" else None,
                "stage": run["stage"],
            },
            at,
        )
        if first:
            firsts.setdefault(run["department"], row.id)
        added.append(row)
    return added


def void_request(conn: Connection, cr: ChangeRequest, at: str) -> list[str]:
    """Withdraw the runs of `cr` that have not run and no longer match an approved content."""
    reason = void_reason(cr)
    voided = []
    for row in repo.rows(conn, cr_id=cr.id, statuses=(repo.SCHEDULED, repo.RETRYING, repo.FAILED)):
        if cr.status == "approved" and row.cr_hash == cr.content_hash:
            continue
        if repo.update_row(conn, row, at, status=repo.VOID, note=reason):
            repo.add_event(
                conn, row.id, at=at, event="void", by=SYSTEM, attempt=row.attempts, detail=reason
            )
            voided.append(row.id)
    return voided


def sync(store: Any, ws: LoadedWorkspace) -> list[repo.ScheduledRun]:
    """Schedule the runs of every approved request that has none for its approved content yet
    (approval schedules them itself; this catches requests approved before the schedule existed).
    Returns the new rows. One query per table unless something is missing, so a tick's cost stays
    flat as the history of carried-out requests grows.

    Withdrawing runs of a request that changed happens where it changes (the approvals being
    voided, in the same transaction), and the runner checks the request again before each run."""

    added: list[repo.ScheduledRun] = []
    with store.transaction(write=True) as conn:
        at = store.now()
        keys = repo.keys(conn)
        for cr_id, content_hash in cr_repo.approved_hashes(conn, EXECUTABLE_TYPES):
            if any(k.endswith(f":{content_hash[:16]}") for k in keys.get(cr_id, ())):
                continue  # scheduled when it was approved (the usual case)
            cr = cr_repo.load_request(conn, cr_id)
            if cr is not None:
                added += schedule_request(conn, cr, ws, at)
    return added


def void_reason(cr: ChangeRequest) -> str:
    if cr.status == "approved":
        return f"{cr.id} was changed and approved again: its new content has its own runs"
    if cr.status == "rejected":
        return f"{cr.id} was rejected"
    return (
        f"{cr.id} changed since it was approved: its approvals are void until it is approved again"
    )
