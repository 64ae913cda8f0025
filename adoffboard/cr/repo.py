"""Change requests in the state store: rows, transitions, the planner, the notice outbox.

Functions take an open connection so that `adoffboard.cr.service` can read, decide and write in
one transaction. A request's standing approvals are not stored twice: they are read back from its
transitions (every approval since the last submission or voiding).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from adoffboard.cr.model import Approval, ChangeRequest, Content, Transition
from adoffboard.cr.rules import Event
from adoffboard.cr.tables import change_requests_t, cr_transitions_t, notices_t, planner_t
from adoffboard.errors import StoreError

_PG_ID_LOCK = 0x0ADF_0C12  # serialises id allocation between processes on PostgreSQL
_RESTART = ("submitted", "approvals-voided")
_APPROVALS = ("approved", "processed")


# --- requests ---------------------------------------------------------------------------------


def allocate_id(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_ID_LOCK})
    last = conn.execute(select(func.max(change_requests_t.c.seq))).scalar()
    return f"CR-{(last or 0) + 1:04d}"


def insert_request(conn: Connection, cr: ChangeRequest, events: Sequence[Event], at: str) -> None:
    conn.execute(
        insert(change_requests_t).values(
            id=cr.id,
            client=cr.client,
            type=cr.type,
            status=cr.status,
            content_json=_dump(cr.content.to_dict()),
            content_hash=cr.content_hash,
            created_by=cr.created_by,
            created_at=cr.created_at,
            submitted_by=cr.submitted_by or None,
            version=1,
            updated_at=at,
        )
    )
    _add_transitions(conn, cr, events, at)


def save_request(
    conn: Connection, before: ChangeRequest, after: ChangeRequest, events: Sequence[Event], at: str
) -> None:
    """Write `after` only if the row is still at `before`'s version (else someone acted first)."""
    done = conn.execute(
        update(change_requests_t)
        .where(change_requests_t.c.id == before.id, change_requests_t.c.version == before.version)
        .values(
            type=after.type,
            status=after.status,
            content_json=_dump(after.content.to_dict()),
            content_hash=after.content_hash,
            submitted_by=after.submitted_by or None,
            version=before.version + 1,
            updated_at=at,
        )
    )
    if done.rowcount != 1:
        raise StoreError(
            f"{before.id} was changed by someone else meanwhile: look at it again "
            "(`adoffboard cr show`) and retry"
        )
    _add_transitions(conn, after, events, at)


def load_request(conn: Connection, cr_id: str) -> ChangeRequest | None:
    row = (
        conn.execute(select(change_requests_t).where(change_requests_t.c.id == cr_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return _request(row, transitions(conn, cr_id))


def find_requests(
    conn: Connection,
    *,
    client: str | None = None,
    status: str | None = None,
    type_: str | None = None,
) -> list[ChangeRequest]:
    """Matching requests, oldest first."""
    t = change_requests_t
    query = select(t).order_by(t.c.seq)
    for column, value in ((t.c.client, client), (t.c.status, status), (t.c.type, type_)):
        if value is not None:
            query = query.where(column == value)
    rows = conn.execute(query).mappings().all()
    history = _transitions_of(conn, [r["id"] for r in rows])
    return [_request(r, history.get(r["id"], [])) for r in rows]


def approved_hashes(conn: Connection, types: Sequence[str]) -> list[tuple[str, str]]:
    """(id, content hash) of every approved request of these types, oldest first."""
    t = change_requests_t
    query = (
        select(t.c.id, t.c.content_hash)
        .where(t.c.status == "approved", t.c.type.in_(list(types)))
        .order_by(t.c.seq)
    )
    return [(row[0], row[1]) for row in conn.execute(query)]


def stored_hash(conn: Connection, cr_id: str) -> str | None:
    return conn.execute(
        select(change_requests_t.c.content_hash).where(change_requests_t.c.id == cr_id)
    ).scalar()


def transitions(conn: Connection, cr_id: str) -> list[Transition]:
    return _transitions_of(conn, [cr_id]).get(cr_id, [])


def crm_refs(conn: Connection) -> dict[str, str]:
    """CRM reference -> request id, for every request imported with one."""
    rows = conn.execute(select(change_requests_t.c.id, change_requests_t.c.content_json)).all()
    found = {}
    for cr_id, raw in rows:
        ref = json.loads(raw).get("crm_ref")
        if ref:
            found[ref] = cr_id
    return found


# --- planner ----------------------------------------------------------------------------------


def planner_add(conn: Connection, cr: ChangeRequest, at: str) -> None:
    c = cr.content
    conn.execute(delete(planner_t).where(planner_t.c.cr_id == cr.id))
    conn.execute(
        insert(planner_t).values(
            cr_id=cr.id,
            client=c.client,
            type=c.type,
            departments=",".join(c.departments),
            scope=c.scope,
            effective_date=_iso(c.effective_date),
            pause_end_date=_iso(c.pause_end_date),
            added_at=at,
        )
    )


def planner_remove(conn: Connection, cr_id: str) -> None:
    conn.execute(delete(planner_t).where(planner_t.c.cr_id == cr_id))


def planner_rows(conn: Connection) -> list[dict[str, Any]]:
    query = select(planner_t).order_by(planner_t.c.effective_date, planner_t.c.seq)
    return [dict(r) for r in conn.execute(query).mappings()]


def planner_between(
    conn: Connection, start: dt.date | None, end: dt.date | None
) -> list[dict[str, Any]]:
    """The planner's rows whose effective or end date falls in the range (either end open),
    each marked `pause_end_missing` when it is a pause without an end date."""
    out = []
    for row in planner_rows(conn):
        dates = [
            dt.date.fromisoformat(d) for d in (row["effective_date"], row["pause_end_date"]) if d
        ]
        if (start or end) and not any(
            (start is None or d >= start) and (end is None or d <= end) for d in dates
        ):
            continue
        row["pause_end_missing"] = row["type"] == "pause" and not row["pause_end_date"]
        out.append(row)
    return out


# --- notices (the outbox) ---------------------------------------------------------------------


def queue_notice(
    conn: Connection,
    *,
    key: str,
    cr_id: str | None,
    kind: str,
    recipients: Iterable[str],
    subject: str,
    body: str,
    at: str,
) -> bool:
    """Queue a notice unless one with this key exists; True if queued now."""
    if conn.execute(select(notices_t.c.seq).where(notices_t.c.key == key)).first():
        return False
    conn.execute(
        insert(notices_t).values(
            key=key,
            cr_id=cr_id,
            kind=kind,
            recipients_json=_dump(list(recipients)),
            subject=subject,
            body=body,
            status="pending",
            created_at=at,
        )
    )
    return True


def drop_pending(
    conn: Connection, cr_id: str, at: str, kind: str | None = None, why: str = "approvals voided"
) -> None:
    """Unsent notices of a request (of one kind) that no longer hold: its approvals were voided,
    or it was escalated to someone else."""
    query = update(notices_t).where(notices_t.c.cr_id == cr_id, notices_t.c.status == "pending")
    if kind is not None:
        query = query.where(notices_t.c.kind == kind)
    conn.execute(query.values(status="cancelled", sent_at=at, error=why))


def pending_notices(conn: Connection, cr_id: str | None = None) -> list[dict[str, Any]]:
    query = select(notices_t).where(notices_t.c.status == "pending").order_by(notices_t.c.seq)
    if cr_id is not None:
        query = query.where(notices_t.c.cr_id == cr_id)
    return [_notice(r) for r in conn.execute(query).mappings()]


def claim_notice(conn: Connection, seq: int, claimed_before: str | None, at: str) -> bool:
    """Take a pending notice for sending; False if another process holds a fresh claim."""
    t = notices_t
    query = update(t).where(t.c.seq == seq, t.c.status == "pending")
    if claimed_before is None:
        query = query.where(t.c.claimed_at.is_(None))
    else:
        query = query.where((t.c.claimed_at.is_(None)) | (t.c.claimed_at < claimed_before))
    return conn.execute(query.values(claimed_at=at)).rowcount == 1


def mark_notice(
    conn: Connection, seq: int, *, sent_at: str | None, message_id: str = "", error: str = ""
) -> None:
    values: dict[str, Any] = {"error": error or None}
    if sent_at is not None:
        values |= {"status": "sent", "sent_at": sent_at, "message_id": message_id}
    else:
        values |= {"claimed_at": None}
    conn.execute(update(notices_t).where(notices_t.c.seq == seq).values(**values))


def notices_of(conn: Connection, cr_id: str) -> list[dict[str, Any]]:
    query = select(notices_t).where(notices_t.c.cr_id == cr_id).order_by(notices_t.c.seq)
    return [_notice(r) for r in conn.execute(query).mappings()]


# --- internals --------------------------------------------------------------------------------


def _add_transitions(conn: Connection, cr: ChangeRequest, events: Sequence[Event], at: str) -> None:
    if not events:
        return
    conn.execute(
        insert(cr_transitions_t),
        [
            {
                "cr_id": cr.id,
                "action": e.action,
                "by": e.by,
                "role": e.role,
                "at": at,
                "status": cr.status,
                "content_hash": cr.content_hash,
                "detail": e.detail,
                "data_json": _dump(e.data),
            }
            for e in events
        ],
    )


def _transitions_of(conn: Connection, ids: list[str]) -> dict[str, list[Transition]]:
    if not ids:
        return {}
    t = cr_transitions_t
    rows = conn.execute(select(t).where(t.c.cr_id.in_(ids)).order_by(t.c.seq)).mappings()
    found: dict[str, list[Transition]] = {}
    for r in rows:
        data = json.loads(r["data_json"])
        found.setdefault(r["cr_id"], []).append(
            Transition(
                seq=r["seq"],
                cr_id=r["cr_id"],
                action=r["action"],
                by=r["by"],
                role=r["role"],
                at=r["at"],
                status=r["status"],
                content_hash=r["content_hash"],
                detail=r["detail"],
                data=data,
            )
        )
    return found


def _request(row: Any, history: list[Transition]) -> ChangeRequest:
    approvals: list[Approval] = []
    rejected_by = ""
    for tr in history:
        if tr.action in _RESTART:
            approvals = []
        elif tr.action in _APPROVALS:
            approvals.append(Approval(tr.role, tr.by, tr.at, tr.content_hash, tr.action))
        elif tr.action == "rejected":
            rejected_by = tr.by
    return ChangeRequest(
        id=row["id"],
        content=Content.from_dict(json.loads(row["content_json"])),
        status=row["status"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        submitted_by=row["submitted_by"] or "",
        version=row["version"],
        approvals=tuple(approvals),
        rejected_by=rejected_by,
    )


def _notice(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["recipients"] = json.loads(d.pop("recipients_json"))
    return d


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
