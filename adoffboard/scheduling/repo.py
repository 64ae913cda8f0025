"""Scheduled runs in the state store: one row per runbook a request runs, plus its events.

Functions take an open connection so callers can read, decide and write in one transaction.
Every change of a row goes through `update_row`, a compare-and-swap on `version`: two schedulers
(or a scheduler and a person cancelling) can never both act on the same row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from adoffboard import audit
from adoffboard.scheduling.tables import schedule_events_t, schedule_t

_PG_ID_LOCK = 0x0ADF_5C4E  # serialises id allocation between processes on PostgreSQL

SCHEDULED, RUNNING, RETRYING, DONE, FAILED, CANCELLED, VOID = (
    "scheduled",
    "running",
    "retrying",
    "done",
    "failed",
    "cancelled",
    "void",
)
# A row's stage: the whole runbook on its date, or its `immediately` steps at approval.
EFFECTIVE, AT_APPROVAL = "effective_date", "immediately"  # as adoffboard.timing names them
STATUSES = (SCHEDULED, RUNNING, RETRYING, DONE, FAILED, CANCELLED, VOID)
WAITING = (SCHEDULED, RETRYING)  # picked up when due
OPEN = (SCHEDULED, RUNNING, RETRYING, FAILED)  # what `schedule list` shows by default


@dataclass(frozen=True)
class ScheduledRun:
    id: str
    key: str
    cr_id: str
    cr_hash: str
    client: str
    runbook: str
    process: str
    department: str
    run_date: str
    due_at: str
    after_id: str | None
    status: str
    attempts: int
    next_attempt_at: str
    claimed_by: str | None
    claimed_at: str | None
    run_id: str | None
    verdict: str | None
    last_error: str | None
    note: str
    version: int
    created_at: str
    updated_at: str
    # "effective_date": the whole runbook on its date; "immediately": the steps due when the
    # request is approved (adoffboard.models.STAGE_IMMEDIATELY), run at approval.
    stage: str = "effective_date"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ScheduleEvent:
    at: str
    event: str
    by: str
    attempt: int
    run_id: str | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def allocate_id(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_ID_LOCK})
    last = conn.execute(select(func.max(schedule_t.c.seq))).scalar()
    return f"S-{(last or 0) + 1:04d}"


def insert_row(conn: Connection, values: dict[str, Any], at: str) -> ScheduledRun:
    row_id = allocate_id(conn)
    conn.execute(
        insert(schedule_t).values(
            id=row_id,
            status=SCHEDULED,
            attempts=0,
            next_attempt_at=values["due_at"],
            note="",
            version=1,
            created_at=at,
            updated_at=at,
            **values,
        )
    )
    add_event(
        conn,
        row_id,
        at=at,
        event="scheduled",
        by="adoffboard",
        attempt=0,
        detail=f"{values['runbook']}{_stage_label(values.get('stage'))} for {values['client']} "
        f"on {values['run_date']} (change request {values['cr_id']})",
    )
    found = get(conn, row_id)
    assert found is not None
    return found


def _stage_label(stage: str | None) -> str:
    return " (steps due at approval)" if stage == AT_APPROVAL else ""


def get(conn: Connection, row_id: str) -> ScheduledRun | None:
    row = conn.execute(select(schedule_t).where(schedule_t.c.id == row_id)).mappings().first()
    return _row(row) if row else None


def by_key(conn: Connection, key: str) -> ScheduledRun | None:
    row = conn.execute(select(schedule_t).where(schedule_t.c.key == key)).mappings().first()
    return _row(row) if row else None


def rows(
    conn: Connection,
    *,
    statuses: tuple[str, ...] | None = None,
    client: str | None = None,
    cr_id: str | None = None,
) -> list[ScheduledRun]:
    query = select(schedule_t).order_by(schedule_t.c.due_at, schedule_t.c.seq)
    if statuses is not None:
        query = query.where(schedule_t.c.status.in_(statuses))
    if client is not None:
        query = query.where(schedule_t.c.client == client)
    if cr_id is not None:
        query = query.where(schedule_t.c.cr_id == cr_id)
    return [_row(r) for r in conn.execute(query).mappings()]


def keys(conn: Connection) -> dict[str, list[str]]:
    """Every row's key, by change request (one query, for `sync`)."""
    found: dict[str, list[str]] = {}
    for cr_id, key in conn.execute(select(schedule_t.c.cr_id, schedule_t.c.key)):
        found.setdefault(cr_id, []).append(key)
    return found


def update_row(conn: Connection, current: ScheduledRun, at: str, **values: Any) -> bool:
    """Write `values` only if the row is still at `current.version`; False if someone acted."""
    done = conn.execute(
        update(schedule_t)
        .where(schedule_t.c.id == current.id, schedule_t.c.version == current.version)
        .values(version=current.version + 1, updated_at=at, **values)
    )
    return done.rowcount == 1


def add_event(
    conn: Connection,
    row_id: str,
    *,
    at: str,
    event: str,
    by: str,
    attempt: int,
    detail: str,
    run_id: str | None = None,
) -> None:
    conn.execute(
        insert(schedule_events_t).values(
            schedule_id=row_id,
            at=at,
            event=event,
            by=by,
            attempt=attempt,
            run_id=run_id,
            detail=detail,
        )
    )


def audit_step(
    conn: Connection,
    row: ScheduledRun,
    *,
    at: str,
    by: str,
    event: str,
    attempt: int,
    detail: str = "",
) -> None:
    """The scheduler's own step on a row (started, done, retrying, failed...) in the audit trail,
    in the transaction that writes the row's event: via "scheduler", on the basis "service"."""
    audit.record(
        conn,
        at=at,
        person=by,
        via="scheduler",
        basis="service",
        action=f"scheduled run {event}",
        subject=row.id,
        detail=f"change request {row.cr_id}, {row.runbook} for {row.client}, attempt {attempt}"
        + (f": {detail}" if detail else ""),
    )


def events(conn: Connection, row_id: str) -> list[ScheduleEvent]:
    query = (
        select(schedule_events_t)
        .where(schedule_events_t.c.schedule_id == row_id)
        .order_by(schedule_events_t.c.seq)
    )
    return [
        ScheduleEvent(r["at"], r["event"], r["by"], r["attempt"], r["run_id"], r["detail"])
        for r in conn.execute(query).mappings()
    ]


def _row(row: Any) -> ScheduledRun:
    values = {f.name: row[f.name] for f in fields(ScheduledRun)}
    values["stage"] = values["stage"] or EFFECTIVE  # rows from before stages existed
    return ScheduledRun(**values)
