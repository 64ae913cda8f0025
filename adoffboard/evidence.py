"""What the store keeps beside runs and their journal: verify passes, manual-task attestations,
the plan-signing key and run events (migrations 0001 and 0004).

`EvidenceStore` is mixed into `adoffboard.store.Store`, which provides the transactions and the
clock; the tables below are on the one `metadata` of `adoffboard.database` and mirror the Alembic
migrations like the store's own.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    column,
    func,
    insert,
    select,
    table,
)

from adoffboard.database import metadata
from adoffboard.errors import NotFound, StoreConflict, StoreError
from adoffboard.journal import _dump, _load
from adoffboard.models import Check, CheckStatus
from adoffboard.records import Attestation, RunEvent, VerificationSummary

# --- Tables (mirror migrations/versions/*.py) ------------------------------------------------

verifications_t = Table(
    "verifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=True),
    Column("client", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    Column("counts_json", Text, nullable=False),
    Column("checks_json", Text, nullable=False),
    Column("kind", String(20), nullable=True),  # migration 0004: "pre-removal" | "verify"
    Index("ix_verifications_client", "client", "id"),
)

attestations_t = Table(
    "attestations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("step_id", String(200), nullable=False),
    Column("by", String(200), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_attestations_client_runbook", "client", "runbook"),
)


# --- Plan keys and run events (migration 0004) -----------------------------------------------

plan_keys_t = Table(
    "plan_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("secret_hex", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)

run_events_t = Table(
    "run_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("by", String(200), nullable=False),
    Column("platform", String(60), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_run_events_run", "run_id", "seq"),
)


# The runs table (adoffboard.store) as far as these records need it: that a run exists.
_runs = table("runs", column("id"))


def unknown_run(run_id: str) -> NotFound:
    return NotFound(f"unknown run {run_id!r} (see `adoffboard history CLIENT`)")


def require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(select(func.count()).where(_runs.c.id == run_id)).scalar_one() == 0:
        raise unknown_run(run_id)


# --- The store's methods over them ------------------------------------------------------------


class EvidenceStore:
    """Verify passes, attestations, the plan key and run events, over the store's transactions."""

    def _transaction(
        self, *, write: bool = False, durable: bool = False
    ) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _now(self) -> str:
        raise NotImplementedError

    # -- verify and manual tasks

    def save_verification(
        self,
        run_id: str | None,
        client: str,
        runbook: str,
        checks: Sequence[Check],
        *,
        kind: str = "verify",
    ) -> int:
        """Keep a verify pass (with or without a run; `kind` "pre-removal" for the check a run
        makes before removing the agency's access); returns its id."""
        counts = Counter(str(c.status) for c in checks)
        with self._transaction(write=True) as conn:
            if run_id is not None:
                require_run(conn, run_id)
            result = conn.execute(
                insert(verifications_t).values(
                    run_id=run_id,
                    client=client,
                    runbook=runbook,
                    at=self._now(),
                    counts_json=_dump(dict(counts)),
                    checks_json=_dump([c.to_dict() for c in checks]),
                    kind=kind,
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT of one row always reports its key
            return int(key[0])

    def verifications(self, client: str) -> list[VerificationSummary]:
        """The client's verify passes, newest first."""
        query = (
            select(verifications_t)
            .where(verifications_t.c.client == client)
            .order_by(verifications_t.c.id.desc())
        )
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            VerificationSummary(r["id"], r["run_id"], r["at"], _load(r["counts_json"]))
            for r in rows
        ]

    def latest_verifications(self, limit: int = 100) -> list[dict[str, object]]:
        """Every client's verify passes (not the checks a run makes before its removals),
        newest first: id, run_id, client, runbook, at and counts by check status."""
        query = (
            select(verifications_t)
            .where(verifications_t.c.kind.is_distinct_from("pre-removal"))
            .order_by(verifications_t.c.id.desc())
            .limit(limit)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "id": r["id"],
                "run_id": r["run_id"] or "",
                "client": r["client"],
                "runbook": r["runbook"],
                "at": r["at"],
                "counts": _load(r["counts_json"]),
            }
            for r in rows
        ]

    def pre_removal_checks(self, run_id: str) -> list[Check]:
        """The run's latest check before the agency's access was removed (a resume that finished
        held removals made a newer one); for runs recorded before passes had a kind, their
        first pass."""
        mine = verifications_t.c.run_id == run_id
        latest = (
            select(verifications_t.c.checks_json)
            .where(mine, verifications_t.c.kind == "pre-removal")
            .order_by(verifications_t.c.id.desc())
            .limit(1)
        )
        legacy = (
            select(verifications_t.c.checks_json)
            .where(mine, verifications_t.c.kind.is_(None))
            .order_by(verifications_t.c.id)
            .limit(1)
        )
        with self._transaction() as conn:
            raw = conn.execute(latest).scalar() or conn.execute(legacy).scalar()
        return [
            Check(**{**c, "status": CheckStatus(c["status"]), "evidence": tuple(c["evidence"])})
            for c in (_load(raw) or [])
        ]

    def attest(self, client: str, runbook: str, step_id: str, by: str, note: str = "") -> None:
        """Record that `by` did a manual task; attesting again supersedes, never erases."""
        with self._transaction(write=True) as conn:
            conn.execute(
                insert(attestations_t).values(
                    client=client,
                    runbook=runbook,
                    step_id=step_id,
                    by=by,
                    note=note,
                    at=self._now(),
                )
            )

    def attestations(self, client: str, runbook: str) -> dict[str, Attestation]:
        """The latest attestation of each step of this client's runbook."""
        query = (
            select(attestations_t)
            .where(attestations_t.c.client == client, attestations_t.c.runbook == runbook)
            .order_by(attestations_t.c.id)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return {r["step_id"]: Attestation(r["by"], r["note"], r["at"]) for r in rows}

    # -- plan signing key and run events

    def plan_key(self) -> bytes:
        """The workspace's plan-signing secret, created on first use (adoffboard.signing).

        It never leaves the store: plans carry only signatures made with it. Two processes
        creating it at once both end up with the one row that won the insert.
        """
        for _ in range(2):
            with self._transaction() as conn:
                found = conn.execute(
                    select(plan_keys_t.c.secret_hex).where(plan_keys_t.c.name == "plans")
                ).scalar_one_or_none()
            if found:
                return bytes.fromhex(found)
            try:
                with self._transaction(write=True) as conn:
                    conn.execute(
                        insert(plan_keys_t).values(
                            name="plans", secret_hex=secrets.token_hex(32), created_at=self._now()
                        )
                    )
            except StoreConflict:
                continue
        raise StoreError("could not create the plan-signing key; try again")

    def add_run_event(
        self, run_id: str, kind: str, detail: str, *, by: str = "", platform: str = ""
    ) -> None:
        with self._transaction(write=True, durable=True) as conn:
            require_run(conn, run_id)
            conn.execute(
                insert(run_events_t).values(
                    run_id=run_id,
                    at=self._now(),
                    kind=kind,
                    by=by,
                    platform=platform,
                    detail=detail,
                )
            )

    def run_events(self, run_id: str) -> list[RunEvent]:
        query = (
            select(run_events_t).where(run_events_t.c.run_id == run_id).order_by(run_events_t.c.seq)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            RunEvent(r["run_id"], r["at"], r["kind"], r["by"], r["platform"], r["detail"])
            for r in rows
        ]
