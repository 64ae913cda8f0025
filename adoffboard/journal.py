"""A run's write-ahead journal and snapshots: their tables, and what is read and written there.

Every write to a live account is journaled *before* it is sent (an intent) and *after* (an
outcome); `unfinished` names the changes whose result is unknown after a crash. The snapshot of an
applied change is what an exact restore puts back. `adoffboard.store.Store` calls these inside
its own transactions, after checking the run exists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    column,
    insert,
    select,
    table,
)

from adoffboard.database import metadata
from adoffboard.errors import StoreError
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.records import Snapshot

INTENT, OUTCOME = "intent", "outcome"

journal_t = Table(
    "journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("phase", String(10), nullable=False),
    Column("change_id", String(200), nullable=False),
    Column("platform", String(60), nullable=True),
    Column("account", String(200), nullable=True),
    Column("entity_type", String(100), nullable=True),
    Column("entity_id", String(200), nullable=True),
    Column("field", String(200), nullable=True),
    Column("before_json", Text, nullable=True),
    Column("after_json", Text, nullable=True),
    Column("status", String(20), nullable=True),
    Column("live_json", Text, nullable=True),
    Column("message", Text, nullable=True),
    Column("request_id", String(200), nullable=True),
    Column("at", String(40), nullable=False),
    Index("ix_journal_run_seq", "run_id", "seq"),
    Index("ix_journal_run_change", "run_id", "change_id"),
)

snapshots_t = Table(
    "snapshots",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("change_id", String(200), nullable=False),
    Column("platform", String(60), nullable=False),
    Column("account", String(200), nullable=False),
    Column("entity_type", String(100), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("field", String(200), nullable=False),
    Column("before_json", Text, nullable=False),
    Column("after_json", Text, nullable=False),
    Column("at", String(40), nullable=False),
    UniqueConstraint("run_id", "change_id", name="uq_snapshots_run_change"),
)


# The runs table (adoffboard.store) as far as the journal reads it: a stored plan's changes.
_runs = table("runs", column("id"), column("plan_json"))


def _dump(value: Any) -> str:
    """JSON as the journal and the store keep values (sorted keys, anything else as text)."""
    return json.dumps(value, default=str, sort_keys=True)


def _load(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def add_intents(conn: Connection, run_id: str, changes: Sequence[Change], at: str) -> None:
    """Journal that these changes are about to be sent."""
    rows = [
        {
            "run_id": run_id,
            "phase": INTENT,
            "change_id": c.id,
            "platform": c.platform,
            "account": c.account,
            "entity_type": c.entity_type,
            "entity_id": c.entity_id,
            "field": c.field,
            "before_json": _dump(c.before),
            "after_json": _dump(c.after),
            "at": at,
        }
        for c in changes
    ]
    conn.execute(insert(journal_t), rows)


def add_outcomes(conn: Connection, run_id: str, outcomes: Sequence[Outcome], at: str) -> None:
    """Journal what happened to each change; snapshot the before-value of applied ones.

    The snapshot comes from the change's latest intent row, or from the run's stored plan when
    the change was never journaled as an intent; an applied change found in neither is a bug
    in the caller, refused before anything is written.
    """
    applied = [o.change_id for o in outcomes if o.status == OutcomeStatus.APPLIED]
    snapshots = _snapshot_rows(conn, run_id, applied, at) if applied else []
    conn.execute(
        insert(journal_t),
        [
            {
                "run_id": run_id,
                "phase": OUTCOME,
                "change_id": o.change_id,
                "status": str(o.status),
                "live_json": _dump(o.live),
                "message": o.message,
                "request_id": o.request_id,
                "at": at,
            }
            for o in outcomes
        ],
    )
    if snapshots:
        conn.execute(insert(snapshots_t), snapshots)


def outcomes(conn: Connection, run_id: str) -> dict[str, Outcome]:
    """The latest outcome of every change that has one."""
    query = (
        select(journal_t)
        .where(journal_t.c.run_id == run_id, journal_t.c.phase == OUTCOME)
        .order_by(journal_t.c.seq)
    )
    rows = conn.execute(query).mappings().all()
    return {
        r["change_id"]: Outcome(
            change_id=r["change_id"],
            status=OutcomeStatus(r["status"]),
            live=_load(r["live_json"]),
            message=r["message"] or "",
            request_id=r["request_id"] or "",
        )
        for r in rows
    }


def unfinished(conn: Connection, run_id: str) -> list[str]:
    """Changes whose latest journal row is an intent: maybe sent, result unknown (a crash).

    Resume must re-read these rather than re-send blindly. Journal order, no duplicates.
    """
    query = (
        select(journal_t.c.change_id, journal_t.c.phase)
        .where(journal_t.c.run_id == run_id)
        .order_by(journal_t.c.seq)
    )
    rows = conn.execute(query).all()
    last_phase: dict[str, str] = {}
    for change_id, phase in rows:
        last_phase.pop(change_id, None)  # re-insert so order follows the latest intent
        last_phase[change_id] = phase
    return [cid for cid, phase in last_phase.items() if phase == INTENT]


def snapshots(conn: Connection, run_id: str) -> list[Snapshot]:
    """The before/after of every field the run changed, in the order they were applied."""
    query = select(snapshots_t).where(snapshots_t.c.run_id == run_id).order_by(snapshots_t.c.seq)
    rows = conn.execute(query).mappings().all()
    return [
        Snapshot(
            run_id=r["run_id"],
            change_id=r["change_id"],
            platform=r["platform"],
            account=r["account"],
            entity_type=r["entity_type"],
            entity_id=r["entity_id"],
            field=r["field"],
            before=_load(r["before_json"]),
            after=_load(r["after_json"]),
            at=r["at"],
        )
        for r in rows
    ]


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """`values` in slices small enough for one IN (...) on every database."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _snapshot_rows(
    conn: Connection, run_id: str, change_ids: Sequence[str], at: str
) -> list[dict[str, Any]]:
    """Snapshot rows for newly applied changes, from their intents or else the stored plan.

    A change already snapshotted in this run keeps its first snapshot: the before-value is the
    plan's either way, and a second APPLIED (a resume re-sending) must not fail the journal.
    """
    # Only this batch's rows are read (indexed by run and change): the cost of journaling a
    # batch stays proportional to the batch, not to everything the run journaled before it.
    wanted = set(change_ids)
    for chunk in _chunks(sorted(wanted)):
        wanted -= set(
            conn.execute(
                select(snapshots_t.c.change_id).where(
                    snapshots_t.c.run_id == run_id, snapshots_t.c.change_id.in_(chunk)
                )
            ).scalars()
        )
    if not wanted:
        return []
    found: dict[str, dict[str, Any]] = {}
    intents = [
        r
        for chunk in _chunks(sorted(wanted))
        for r in conn.execute(
            select(journal_t).where(
                journal_t.c.run_id == run_id,
                journal_t.c.phase == INTENT,
                journal_t.c.change_id.in_(chunk),
            )
        ).mappings()
    ]
    for r in sorted(intents, key=lambda row: row["seq"]):
        if r["change_id"] in wanted:  # later intents overwrite earlier ones
            found[r["change_id"]] = {
                k: r[k] for k in ("platform", "account", "entity_type", "entity_id", "field")
            } | {"before_json": r["before_json"], "after_json": r["after_json"]}
    missing = wanted - found.keys()
    if missing:
        plan_json = conn.execute(select(_runs.c.plan_json).where(_runs.c.id == run_id)).scalar_one()
        body = json.loads(plan_json)
        for step in body.get("steps", ()):
            for c in step.get("changes", ()):
                if c["id"] in missing:
                    found[c["id"]] = {
                        "platform": c["platform"],
                        "account": c["account"],
                        "entity_type": c["entity_type"],
                        "entity_id": c["entity_id"],
                        "field": c["field"],
                        "before_json": _dump(c["before"]),
                        "after_json": _dump(c["after"]),
                    }
        if missing - found.keys():
            raise StoreError(
                f"run {run_id} has no change {sorted(missing - found.keys())[0]!r} "
                "to snapshot: an applied outcome must belong to the run's plan"
            )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for cid in change_ids:  # keep the order the outcomes came in
        if cid in found and cid not in seen:
            seen.add(cid)
            rows.append({"run_id": run_id, "change_id": cid, "at": at, **found[cid]})
    return rows
