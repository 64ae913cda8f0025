"""People changing the schedule: cancelling a run still to run, re-arming a failed one.

The command line (`adoffboard schedule cancel|retry`) and the web console both call these, so
the role rule and the checks of a row's status live in one place. Each action is one
transaction: the row is read, judged and changed with a compare-and-swap (`repo.update_row`), and
its history gets an event naming who did it.
"""

from __future__ import annotations

from typing import Any

from adoffboard import audit
from adoffboard.config import ROLES, LoadedWorkspace
from adoffboard.errors import NotFound, NotPermitted, StoreError
from adoffboard.scheduling import repo

# Who may cancel or re-arm a scheduled run: the people who own carrying requests out.
SCHEDULE_ROLES = (
    "dmo_lead",
    "sem_specialist",
    "sem_team_lead",
    "ma_specialist",
    "ma_team_lead",
    "ma_department_manager",
    "approver_1",
    "approver_2",
)


def require_schedule_role(store: Any, ws: LoadedWorkspace, person: str) -> str:
    """`person` (a key from [people]) when they hold one of `SCHEDULE_ROLES`; NotPermitted (and
    InputError for an unknown key) otherwise."""
    from adoffboard.cr.service import ChangeRequests

    actor = ChangeRequests(store, ws).actor(person)
    if not any(actor.has(role) for role in SCHEDULE_ROLES):
        allowed = ", ".join(ROLES[r] for r in SCHEDULE_ROLES)
        raise NotPermitted(
            f"{actor.name} ({person}) may not change the schedule: it takes one "
            f"of these roles: {allowed}"
        )
    return person


def find_row(conn: Any, row_id: str) -> repo.ScheduledRun:
    """The row `row_id` names (`S-0001`, `s1`, `1`), or NotFound."""
    text = row_id.strip().upper().removeprefix("S-").removeprefix("S")
    wanted = f"S-{int(text):04d}" if text.isdigit() and len(text) < 10 else row_id.strip()
    row = repo.get(conn, wanted)
    if row is None:
        raise NotFound(f"unknown scheduled run {row_id!r} (see `adoffboard schedule list`)")
    return row


def cancel(
    store: Any, ws: LoadedWorkspace, row_id: str, by: str | audit.Who, reason: str
) -> list[str]:
    """Cancel a run that has not run yet, with the runs that wait on it (a pause's un-pause) and
    the steps due at approval of the same runbook; returns the ids cancelled. `by`: a person key,
    or who acts (`audit.Who`), whose audit event is written in the same transaction."""
    who = require_schedule_role(store, ws, audit.person_of(by))
    cancelled = []
    with store.transaction(write=True) as conn:
        at = store.now()
        row = find_row(conn, row_id)
        if row.status == repo.RUNNING:
            raise NotPermitted(
                f"{row.id} is running now under {row.claimed_by}: wait for it to "
                "finish (`adoffboard schedule show`)"
            )
        if row.status not in (repo.SCHEDULED, repo.RETRYING, repo.FAILED):
            raise NotPermitted(
                f"{row.id} is {row.status}: only a run still to run can be cancelled"
            )
        targets = [row] + [
            r
            for r in repo.rows(
                conn, cr_id=row.cr_id, statuses=(repo.SCHEDULED, repo.RETRYING, repo.FAILED)
            )
            if r.after_id == row.id
            # the steps due at approval go with their runbook's run
            or (
                row.stage == repo.EFFECTIVE
                and r.stage == repo.AT_APPROVAL
                and r.runbook == row.runbook
            )
        ]
        for target in targets:
            note = (
                f"cancelled by {who}: {reason}"
                if target is row
                else f"cancelled with {row.id} by {who}: {reason}"
            )
            if not repo.update_row(conn, target, at, status=repo.CANCELLED, note=note):
                raise StoreError(f"{target.id} changed meanwhile: look at it again and retry")
            repo.add_event(
                conn,
                target.id,
                at=at,
                event="cancelled",
                by=who,
                attempt=target.attempts,
                detail=note,
            )
            cancelled.append(target.id)
        audit.note(conn, by, at=at, action="schedule cancel", subject=row.id, detail=reason)
    return cancelled


def retry(store: Any, ws: LoadedWorkspace, row_id: str, by: str | audit.Who) -> str:
    """Re-arm a failed (or retrying) run for the next tick, its attempts reset; returns its id.
    `by`: as for `cancel`."""
    who = require_schedule_role(store, ws, audit.person_of(by))
    with store.transaction(write=True) as conn:
        at = store.now()
        row = find_row(conn, row_id)
        if row.status not in (repo.FAILED, repo.RETRYING):
            raise NotPermitted(
                f"{row.id} is {row.status}: only a failed or retrying run can be retried"
            )
        if not repo.update_row(
            conn, row, at, status=repo.SCHEDULED, attempts=0, next_attempt_at=at, note=""
        ):
            raise StoreError(f"{row.id} changed meanwhile: look at it again and retry")
        repo.add_event(
            conn,
            row.id,
            at=at,
            event="retry",
            by=who,
            attempt=0,
            detail=f"re-armed by {who} after {row.attempts} attempt(s)",
        )
        audit.note(conn, by, at=at, action="schedule retry", subject=row.id)
    return row.id
