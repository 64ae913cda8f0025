"""The state store: runs, their write-ahead journal, snapshots, verifications, attestations, locks.

Why it exists: applying a plan writes to live ad accounts, so every write is journaled *before*
it is sent (an "intent") and *after* (an "outcome"). After a crash, `unfinished()` names exactly
the changes whose result is unknown, so `resume` re-reads those instead of sending anything twice
(guarantee 4); the snapshots of applied changes let an un-pause restore exactly what was there
(guarantee 5); the per-client lock keeps two people or two schedulers off the same client.

One embedded SQLite file by default, or a shared PostgreSQL database for a team. Plain SQLAlchemy
Core over the runs table below, the journal's (`adoffboard.journal`) and the verify passes',
attestations', plan key's and run events' (`adoffboard.evidence`, mixed into `Store`), all on
the one `metadata` of `adoffboard.database` with the change requests' (`adoffboard.cr.tables`)
and the schedule's (`adoffboard.scheduling.tables`); they mirror the Alembic migrations in
`adoffboard/migrations` (a test keeps them in step); `Store.open` upgrades the schema to head.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

from adoffboard import journal, locks
from adoffboard.clock import Clock, SystemClock
from adoffboard.database import (
    make_engine,
    metadata,
    migrate,
    one_line,
    prepare_url,
    transaction,
)
from adoffboard.errors import StoreConflict, StoreError
from adoffboard.evidence import EvidenceStore, require_run, unknown_run
from adoffboard.models import Change, Outcome, Plan
from adoffboard.records import RunRecord, Snapshot

DEFAULT_LOCK_TTL = dt.timedelta(hours=6)
# Crash tests only: "PLATFORM:N" makes this process SIGKILL itself right after the Nth batch of
# outcomes for PLATFORM is durably journaled, the one journal point no stand-in can reach (after
# the last write). Unset in production: the check is one environment lookup per batch.
TEST_KILL_AFTER_OUTCOMES_ENV = "ADOFFBOARD_TEST_KILL_AFTER_OUTCOMES"
_outcome_batches: Counter[str] = Counter()
RUN_STATUSES = frozenset(
    {"running", "applied", "applied-with-drift", "failed", "interrupted", "refused"}
)

# --- Tables (mirror migrations/versions/*.py) ------------------------------------------------

runs_t = Table(
    "runs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("client", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("runbook_version", Integer, nullable=False),
    Column("plan_hash", String(64), nullable=False),
    Column("plan_json", Text, nullable=False),
    Column("plan_path", Text, nullable=False),
    Column("change_request", String(200), nullable=False),
    Column("status", String(40), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40), nullable=True),
    Column("plan_mac", String(128), nullable=True),  # migration 0004
    Column("started_by", String(200), nullable=True),  # migration 0005
    Column("stage", String(20), nullable=True),  # migration 0005: all | immediately
    Index("ix_runs_client_started", "client", "started_at"),
    Index("ix_runs_change_request", "change_request", "started_at"),
)

# --- The store --------------------------------------------------------------------------------


class Store(EvidenceStore):
    """The state store. Open with `Store.open(url)`; every method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Clock, lock_ttl: dt.timedelta) -> None:
        self._engine = engine
        self._clock = clock
        self.lock_ttl = lock_ttl

    # -- lifecycle

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Clock | None = None,
        lock_ttl: dt.timedelta = DEFAULT_LOCK_TTL,
    ) -> Store:
        """Connect and upgrade the schema to head.

        Raises StoreError (one line) if the database is unreachable, the driver is missing, or
        the schema was written by a newer adoffboard: running old code on it could misread runs.
        """
        prepared = prepare_url(url)
        shown = prepared.render_as_string(hide_password=True)
        try:
            engine = make_engine(prepared)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot open state store {shown}: {one_line(exc)}") from exc
        store = cls(engine, clock=clock or SystemClock(), lock_ttl=lock_ttl)
        try:
            engine.connect().close()  # unreachable? say so, rather than "error in a transaction"
            store._migrate()
        except StoreError:
            engine.dispose()
            raise
        except (SQLAlchemyError, ImportError) as exc:
            engine.dispose()
            raise StoreError(f"cannot open state store {shown}: {one_line(exc)}") from exc
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        """Upgrade to head, once, even when several processes open a fresh store together."""
        migrate(self._transaction)

    def _transaction(
        self, *, write: bool = False, durable: bool = False
    ) -> AbstractContextManager[Connection]:
        """One transaction; database errors surface as one-line StoreErrors (`durable`: see
        `adoffboard.database.transaction`)."""
        return transaction(self._engine, write=write, durable=durable)

    def _now(self) -> str:
        return self._clock.now().astimezone(dt.UTC).isoformat(timespec="seconds")

    # -- for modules that keep tables of their own here (adoffboard.cr.repo)

    def transaction(self, *, write: bool = False) -> Any:
        """One transaction (a context manager yielding the connection); see `_transaction`."""
        return self._transaction(write=write)

    def now(self) -> str:
        """The store clock's current time, as stored (UTC ISO-8601, seconds)."""
        return self._now()

    # -- runs

    def create_run(
        self,
        plan: Plan,
        *,
        plan_path: str = "",
        change_request: str = "",
        plan_mac: str = "",
        started_by: str = "",
        stage: str = "all",
    ) -> str:
        """Record the start of applying `plan`; returns the new run id (status "running").
        `plan_mac` is the plan's signature, checked again when the run is resumed; `started_by`
        who made the run; `stage` which of the runbook's steps it carries out."""
        now = self._clock.now().astimezone(dt.UTC)
        row = {
            "client": plan.client,
            "runbook": plan.runbook,
            "runbook_version": plan.runbook_version,
            "plan_hash": plan.content_hash,
            "plan_json": plan.to_json(),
            "plan_path": plan_path,
            "change_request": change_request,
            "status": "running",
            "started_at": now.isoformat(timespec="seconds"),
            "plan_mac": plan_mac,
            "started_by": started_by,
            "stage": stage,
        }
        for _ in range(5):  # 16M ids a day: a collision is rare, and just means draw again
            run_id = f"r-{now:%Y%m%d}-{secrets.token_hex(3)}"
            try:
                with self._transaction(write=True) as conn:
                    conn.execute(insert(runs_t).values(id=run_id, **row))
                return run_id
            except StoreConflict:
                continue
        raise StoreError("could not allocate a unique run id; try again")

    def finish_run(self, run_id: str, status: str, finished_at: str | None = None) -> None:
        """Set the run's final status (or "interrupted"/"running" again for resume)."""
        if status not in RUN_STATUSES:
            raise StoreError(
                f"unknown run status {status!r} (one of {', '.join(sorted(RUN_STATUSES))})"
            )
        with self._transaction(write=True) as conn:
            done = conn.execute(
                update(runs_t)
                .where(runs_t.c.id == run_id)
                .values(status=status, finished_at=finished_at or self._now())
            )
            if done.rowcount == 0:
                raise unknown_run(run_id)

    def run(self, run_id: str) -> RunRecord:
        with self._transaction() as conn:
            row = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).mappings().first()
        if row is None:
            raise unknown_run(run_id)
        return _run_record(row)

    def runs(self, client: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Runs, newest first; all clients unless one is named."""
        query = select(runs_t).order_by(runs_t.c.started_at.desc(), runs_t.c.seq.desc())
        if client is not None:
            query = query.where(runs_t.c.client == client)
        with self._transaction() as conn:
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [_run_record(r) for r in rows]

    def request_runs(self, change_request: str) -> list[RunRecord]:
        """The runs made for one change request (its case), oldest first."""
        query = (
            select(runs_t)
            .where(runs_t.c.change_request == change_request)
            .order_by(runs_t.c.started_at, runs_t.c.seq)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [_run_record(r) for r in rows]

    def latest_run(self, client: str) -> RunRecord | None:
        found = self.runs(client, limit=1)
        return found[0] if found else None

    # -- the journal (adoffboard.journal)

    def intend(self, run_id: str, changes: Sequence[Change]) -> None:
        """Journal that these changes are about to be sent. Durable when this returns."""
        if not changes:
            return
        at = self._now()
        with self._transaction(write=True, durable=True) as conn:
            require_run(conn, run_id)
            journal.add_intents(conn, run_id, changes, at)

    def record(self, run_id: str, outcomes: Sequence[Outcome]) -> None:
        """Journal what happened to each change; snapshot the before-value of applied ones
        (`adoffboard.journal.add_outcomes`)."""
        if not outcomes:
            return
        at = self._now()
        with self._transaction(write=True, durable=True) as conn:
            require_run(conn, run_id)
            journal.add_outcomes(conn, run_id, outcomes, at)
        _test_kill_point(outcomes)

    def outcomes(self, run_id: str) -> dict[str, Outcome]:
        """The latest outcome of every change that has one."""
        with self._transaction() as conn:
            return journal.outcomes(conn, run_id)

    def unfinished(self, run_id: str) -> list[str]:
        """Changes whose latest journal row is an intent: maybe sent, result unknown (a crash).

        Resume must re-read these rather than re-send blindly. Journal order, no duplicates.
        """
        with self._transaction() as conn:
            return journal.unfinished(conn, run_id)

    def snapshots(self, run_id: str) -> list[Snapshot]:
        """The before/after of every field the run changed, in the order they were applied."""
        with self._transaction() as conn:
            return journal.snapshots(conn, run_id)

    # -- the per-client lock

    @contextmanager
    def client_lock(
        self, client: str, holder: str, *, ttl: dt.timedelta | None = None
    ) -> Iterator[None]:
        """Hold `client` for the duration of the block, across processes and machines.

        The lock is a row keyed by client: the primary key makes the insert of a second holder
        fail on both SQLite and PostgreSQL, committed before the block runs so others see it. A
        lock older than `ttl` (default: the store's, 6 hours) was left by a crashed process and
        is taken over with a compare-and-swap update, so two takers cannot both win.
        """
        lock = locks.Lock(client, holder)
        locks.acquire(
            self._transaction,
            self._clock,
            lock,
            ttl if ttl is not None else self.lock_ttl,
            self._now(),
        )
        try:
            yield
        finally:
            locks.release(self._transaction, lock)


# --- Internals --------------------------------------------------------------------------------


def _test_kill_point(outcomes: Sequence[Outcome]) -> None:
    """The crash tests' kill point after a journaled outcome (TEST_KILL_AFTER_OUTCOMES_ENV)."""
    spec = os.environ.get(TEST_KILL_AFTER_OUTCOMES_ENV)
    if not spec:
        return
    platform, _, nth = spec.rpartition(":")
    if any(o.change_id.startswith(f"{platform}:") for o in outcomes):
        _outcome_batches[platform] += 1
        if str(_outcome_batches[platform]) == nth:
            os.kill(os.getpid(), signal.SIGKILL)


def _run_record(row: Any) -> RunRecord:
    return RunRecord(
        id=row["id"],
        client=row["client"],
        runbook=row["runbook"],
        runbook_version=row["runbook_version"],
        plan_hash=row["plan_hash"],
        plan_json=row["plan_json"],
        plan_path=row["plan_path"],
        change_request=row["change_request"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        plan_mac=row.get("plan_mac") or "",
        started_by=row.get("started_by") or "",
        stage=row.get("stage") or "all",
    )
