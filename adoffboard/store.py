"""The state store: runs, their write-ahead journal, snapshots, verifications, attestations, locks.

Why it exists: applying a plan writes to live ad accounts, so every write is journaled *before*
it is sent (an "intent") and *after* (an "outcome"). After a crash, `unfinished()` names exactly
the changes whose result is unknown, so `resume` re-reads those instead of sending anything twice
(guarantee 4); the snapshots of applied changes let an un-pause restore exactly what was there
(guarantee 5); the per-client lock keeps two people or two schedulers off the same client.

One embedded SQLite file by default, or a shared PostgreSQL database for a team. Plain SQLAlchemy
Core over the tables below, which mirror the Alembic migrations in `adoffboard/migrations`
(a test keeps them in step); `Store.open` upgrades the schema to head every time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from adoffboard.clock import Clock, SystemClock
from adoffboard.errors import ClientLocked, NotFound, StoreError
from adoffboard.holder import holder_is_gone
from adoffboard.models import Change, Check, CheckStatus, Outcome, OutcomeStatus, Plan

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_LOCK_TTL = dt.timedelta(hours=6)
# Crash tests only: "PLATFORM:N" makes this process SIGKILL itself right after the Nth batch of
# outcomes for PLATFORM is durably journaled, the one journal point no stand-in can reach (after
# the last write). Unset in production: the check is one environment lookup per batch.
TEST_KILL_AFTER_OUTCOMES_ENV = "ADOFFBOARD_TEST_KILL_AFTER_OUTCOMES"
_outcome_batches: Counter[str] = Counter()
RUN_STATUSES = frozenset({"running", "applied", "applied-with-drift", "failed", "interrupted",
                          "refused"})
INTENT, OUTCOME = "intent", "outcome"

# Any constant will do: it only has to be the same for every adoffboard process sharing a database.
_PG_MIGRATION_LOCK = 0x0ADF_0FFB

# --- Tables (mirror migrations/versions/*.py) ------------------------------------------------

metadata = MetaData()

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
    Index("ix_runs_client_started", "client", "started_at"),
)

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

locks_t = Table(
    "locks",
    metadata,
    Column("client", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", String(40), nullable=False),
    Column("acquired_at", String(40), nullable=False),
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


# --- Change requests (migration 0002; read and written by adoffboard.cr.repo) ---------------

change_requests_t = Table(
    "change_requests",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(20), nullable=False, unique=True),
    Column("client", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("content_json", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("submitted_by", String(100), nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_change_requests_client_type", "client", "type", "status"),
)

cr_transitions_t = Table(
    "cr_transitions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=False),
    Column("action", String(40), nullable=False),
    Column("by", String(100), nullable=False),
    Column("role", String(60), nullable=False),
    Column("at", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("data_json", Text, nullable=False),
    Index("ix_cr_transitions_cr_seq", "cr_id", "seq"),
)

planner_t = Table(
    "planner",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=False, unique=True),
    Column("client", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("departments", String(20), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("effective_date", String(10), nullable=True),
    Column("pause_end_date", String(10), nullable=True),
    Column("added_at", String(40), nullable=False),
    Index("ix_planner_effective", "effective_date"),
)

notices_t = Table(
    "notices",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("recipients_json", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("claimed_at", String(40), nullable=True),
    Column("sent_at", String(40), nullable=True),
    Column("message_id", String(300), nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_notices_status", "status", "seq"),
)


# --- Scheduled runs (migration 0003; read and written by adoffboard.scheduling.repo) ---------

schedule_t = Table(
    "schedule",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(20), nullable=False, unique=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=False),
    Column("cr_hash", String(64), nullable=False),
    Column("client", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("process", String(40), nullable=False),
    Column("department", String(10), nullable=False),
    Column("run_date", String(10), nullable=False),
    Column("due_at", String(40), nullable=False),
    Column("after_id", String(20), nullable=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40), nullable=False),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", String(40), nullable=True),
    Column("run_id", String(40), nullable=True),
    Column("verdict", String(20), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("note", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_schedule_status_next", "status", "next_attempt_at"),
)

schedule_events_t = Table(
    "schedule_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("schedule_id", String(20), ForeignKey("schedule.id"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("event", String(40), nullable=False),
    Column("by", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("run_id", String(40), nullable=True),
    Column("detail", Text, nullable=False),
    Index("ix_schedule_events_schedule", "schedule_id", "seq"),
)


# --- Records handed back to callers -----------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One run as stored; `plan_json` is the exact document that was applied."""

    id: str
    client: str
    runbook: str
    runbook_version: int
    plan_hash: str
    plan_json: str
    plan_path: str
    change_request: str
    status: str
    started_at: str
    finished_at: str | None
    plan_mac: str = ""  # the plan's signature (adoffboard.signing), checked before a resume

    def plan(self) -> Plan:
        """The applied plan, rebuilt from its saved JSON (without the file envelope keys)."""
        body = json.loads(self.plan_json)
        body.pop("sha256", None)
        body.pop("format", None)
        return Plan.from_body(body)


@dataclass(frozen=True)
class Snapshot:
    """A field a run changed: `before` is what an exact restore puts back, `after` what the run
    wrote (restore compares the live value with it to leave alone what someone changed since)."""

    run_id: str
    change_id: str
    platform: str
    account: str
    entity_type: str
    entity_id: str
    field: str
    before: Any
    after: Any
    at: str = ""


@dataclass(frozen=True)
class Attestation:
    """Someone's word that a manual task is done."""

    by: str
    note: str
    at: str


@dataclass(frozen=True)
class RunEvent:
    """Something that happened to a run besides its writes (see migration 0004)."""

    run_id: str
    at: str
    kind: str
    by: str
    platform: str
    detail: str


class VerificationSummary(NamedTuple):
    """One saved verify pass: unpacks as (id, run_id, at, counts); counts by check status."""

    id: int
    run_id: str | None
    at: str
    counts: dict[str, int]


class _Conflict(StoreError):
    """A unique or foreign key constraint refused a write; internal callers retry or explain."""


@dataclass
class _Lock:
    client: str
    holder: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


# --- Helpers ----------------------------------------------------------------------------------


def _dump(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _load(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def _one_line(exc: BaseException) -> str:
    """Driver errors span lines (psycopg adds hints); the CLI promises one-line errors."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def _prepare_url(raw: str) -> URL:
    """Parse the URL, default PostgreSQL to psycopg 3, and create a SQLite file's folder."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"state store URL {raw!r} is not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            _private_sqlite(Path(url.database).expanduser())
        return url
    raise StoreError(
        f"unsupported state store URL {url.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def _private_sqlite(path: Path) -> None:
    """The store holds every client's plans and runs: its file (and the -wal, -shm or -journal
    files SQLite creates next to it, which take the file's mode) is the owner's alone, 0600 in a
    folder created 0700; a file left wider by an older version is tightened here."""
    from adoffboard.files import private_file, tighten

    try:
        private_file(path)
        for suffix in ("-wal", "-shm", "-journal"):
            tighten(path.with_name(path.name + suffix))
    except OSError as exc:
        raise StoreError(f"cannot create the state store {path}: {exc.strerror or exc}") from exc


def _make_engine(url: URL) -> Engine:
    """An engine whose transactions mean what the journal needs on each backend.

    SQLite: WAL (readers never block the writer), synchronous=FULL (a commit is on disk when it
    returns, so an intent survives power loss), a busy timeout instead of instant "database is
    locked", and explicit BEGIN so reads inside a write transaction are part of it: pysqlite's
    default only starts a transaction at the first INSERT. Write transactions use BEGIN IMMEDIATE
    to take the write lock up front, avoiding the deadlock of two readers both upgrading.
    """
    if url.get_backend_name() != "sqlite":
        args: dict[str, Any] = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
        return create_engine(url, pool_pre_ping=True, connect_args=args)

    memory = not url.database or url.database == ":memory:"
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("adoffboard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# --- The store --------------------------------------------------------------------------------


class Store:
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
        prepared = _prepare_url(url)
        shown = prepared.render_as_string(hide_password=True)
        try:
            engine = _make_engine(prepared)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot open state store {shown}: {_one_line(exc)}") from exc
        store = cls(engine, clock=clock or SystemClock(), lock_ttl=lock_ttl)
        try:
            engine.connect().close()  # unreachable? say so, rather than "error in a transaction"
            store._migrate()
        except StoreError:
            engine.dispose()
            raise
        except (SQLAlchemyError, ImportError) as exc:
            engine.dispose()
            raise StoreError(f"cannot open state store {shown}: {_one_line(exc)}") from exc
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        """Upgrade to head, once, even when several processes open a fresh store together."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        scripts = ScriptDirectory.from_config(config)
        known = {rev.revision for rev in scripts.walk_revisions()}
        head = scripts.get_current_head()
        with self._transaction(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            current = MigrationContext.configure(conn).get_current_revision()
            if current == head:
                return
            if current is not None and current not in known:
                raise StoreError(
                    f"the state store schema (revision {current}) is newer than this adoffboard "
                    f"(knows up to {head}): upgrade adoffboard"
                )
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def _transaction(self, *, write: bool = False, durable: bool = False) -> Iterator[Connection]:
        """One transaction; database errors surface as one-line StoreErrors.

        `durable` insists on a synchronous commit on PostgreSQL even if the server or role was
        configured with synchronous_commit=off: a journal entry lost after `intend` returned could
        let a resume send a write twice.
        """
        try:
            with self._engine.connect() as conn:
                if write:
                    conn.execution_options(adoffboard_write=True)
                with conn.begin():
                    if durable and conn.dialect.name == "postgresql":
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
                    yield conn
        except IntegrityError as exc:
            raise _Conflict(f"state store conflict: {_one_line(exc)}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"state store error: {_one_line(exc)}") from exc

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

    def create_run(self, plan: Plan, *, plan_path: str = "", change_request: str = "",
                   plan_mac: str = "") -> str:
        """Record the start of applying `plan`; returns the new run id (status "running").
        `plan_mac` is the plan's signature, checked again when the run is resumed."""
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
        }
        for _ in range(5):  # 16M ids a day: a collision is rare, and just means draw again
            run_id = f"r-{now:%Y%m%d}-{secrets.token_hex(3)}"
            try:
                with self._transaction(write=True) as conn:
                    conn.execute(insert(runs_t).values(id=run_id, **row))
                return run_id
            except _Conflict:
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
                raise _unknown_run(run_id)

    def run(self, run_id: str) -> RunRecord:
        with self._transaction() as conn:
            row = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).mappings().first()
        if row is None:
            raise _unknown_run(run_id)
        return _run_record(row)

    def runs(self, client: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Runs, newest first; all clients unless one is named."""
        query = select(runs_t).order_by(runs_t.c.started_at.desc(), runs_t.c.seq.desc())
        if client is not None:
            query = query.where(runs_t.c.client == client)
        with self._transaction() as conn:
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [_run_record(r) for r in rows]

    def latest_run(self, client: str) -> RunRecord | None:
        found = self.runs(client, limit=1)
        return found[0] if found else None

    # -- the journal

    def intend(self, run_id: str, changes: Sequence[Change]) -> None:
        """Journal that these changes are about to be sent. Durable when this returns."""
        if not changes:
            return
        at = self._now()
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
        with self._transaction(write=True, durable=True) as conn:
            _require_run(conn, run_id)
            conn.execute(insert(journal_t), rows)

    def record(self, run_id: str, outcomes: Sequence[Outcome]) -> None:
        """Journal what happened to each change; snapshot the before-value of applied ones.

        The snapshot comes from the change's latest intent row, or from the run's stored plan when
        the change was never journaled as an intent; an applied change found in neither is a bug
        in the caller, refused before anything is written.
        """
        if not outcomes:
            return
        at = self._now()
        with self._transaction(write=True, durable=True) as conn:
            _require_run(conn, run_id)
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
        _test_kill_point(outcomes)

    def outcomes(self, run_id: str) -> dict[str, Outcome]:
        """The latest outcome of every change that has one."""
        query = (
            select(journal_t)
            .where(journal_t.c.run_id == run_id, journal_t.c.phase == OUTCOME)
            .order_by(journal_t.c.seq)
        )
        with self._transaction() as conn:
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

    def unfinished(self, run_id: str) -> list[str]:
        """Changes whose latest journal row is an intent: maybe sent, result unknown (a crash).

        Resume must re-read these rather than re-send blindly. Journal order, no duplicates.
        """
        query = (
            select(journal_t.c.change_id, journal_t.c.phase)
            .where(journal_t.c.run_id == run_id)
            .order_by(journal_t.c.seq)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        last_phase: dict[str, str] = {}
        for change_id, phase in rows:
            last_phase.pop(change_id, None)  # re-insert so order follows the latest intent
            last_phase[change_id] = phase
        return [cid for cid, phase in last_phase.items() if phase == INTENT]

    def snapshots(self, run_id: str) -> list[Snapshot]:
        """The before/after of every field the run changed, in the order they were applied."""
        query = (
            select(snapshots_t).where(snapshots_t.c.run_id == run_id).order_by(snapshots_t.c.seq)
        )
        with self._transaction() as conn:
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

    # -- verify and manual tasks

    def save_verification(
        self, run_id: str | None, client: str, runbook: str, checks: Sequence[Check],
        *, kind: str = "verify",
    ) -> int:
        """Keep a verify pass (with or without a run; `kind` "pre-removal" for the check a run
        makes before removing the agency's access); returns its id."""
        counts = Counter(str(c.status) for c in checks)
        with self._transaction(write=True) as conn:
            if run_id is not None:
                _require_run(conn, run_id)
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

    def pre_removal_checks(self, run_id: str) -> list[Check]:
        """The run's latest check before the agency's access was removed (a resume that finished
        held removals made a newer one); for runs recorded before passes had a kind, their
        first pass."""
        mine = verifications_t.c.run_id == run_id
        latest = (select(verifications_t.c.checks_json)
                  .where(mine, verifications_t.c.kind == "pre-removal")
                  .order_by(verifications_t.c.id.desc()).limit(1))
        legacy = (select(verifications_t.c.checks_json)
                  .where(mine, verifications_t.c.kind.is_(None))
                  .order_by(verifications_t.c.id).limit(1))
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
                    conn.execute(insert(plan_keys_t).values(
                        name="plans", secret_hex=secrets.token_hex(32), created_at=self._now()))
            except _Conflict:
                continue
        raise StoreError("could not create the plan-signing key; try again")

    def add_run_event(self, run_id: str, kind: str, detail: str, *, by: str = "",
                      platform: str = "") -> None:
        with self._transaction(write=True, durable=True) as conn:
            _require_run(conn, run_id)
            conn.execute(insert(run_events_t).values(
                run_id=run_id, at=self._now(), kind=kind, by=by, platform=platform,
                detail=detail))

    def run_events(self, run_id: str) -> list[RunEvent]:
        query = select(run_events_t).where(run_events_t.c.run_id == run_id).order_by(
            run_events_t.c.seq)
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [RunEvent(r["run_id"], r["at"], r["kind"], r["by"], r["platform"], r["detail"])
                for r in rows]

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
        lock = _Lock(client, holder)
        self._acquire(lock, ttl if ttl is not None else self.lock_ttl)
        try:
            yield
        finally:
            self._release(lock)

    def _acquire(self, lock: _Lock, ttl: dt.timedelta) -> None:
        """Insert our row; if one is there, take it over only if stale, else name its holder.

        Each race lost (the row vanished or changed between our two statements) is retried with
        fresh reads; three rounds cover any realistic interleaving.
        """
        row = {"holder": lock.holder, "token": lock.token, "acquired_at": self._now()}
        current: Any = None
        for _ in range(3):
            try:
                with self._transaction(write=True) as conn:
                    conn.execute(insert(locks_t).values(client=lock.client, **row))
                return
            except _Conflict:
                pass
            with self._transaction(write=True) as conn:
                current = (
                    conn.execute(select(locks_t).where(locks_t.c.client == lock.client))
                    .mappings()
                    .first()
                )
                if current is None:
                    continue  # released meanwhile: insert again
                age = self._clock.now() - dt.datetime.fromisoformat(current["acquired_at"])
                if age < ttl and not holder_is_gone(current["holder"]):
                    break
                swapped = conn.execute(
                    update(locks_t)
                    .where(locks_t.c.client == lock.client, locks_t.c.token == current["token"])
                    .values(**row)
                )
                if swapped.rowcount == 1:
                    return
        if current is None:
            raise ClientLocked(f"client {lock.client} is locked by another holder; try again")
        raise ClientLocked(
            f"client {lock.client} is locked by {current['holder']} since {current['acquired_at']}",
            holder=current["holder"], since=current["acquired_at"],
        )

    def _release(self, lock: _Lock) -> None:
        """Delete our own row only: if a stale-lock takeover replaced it, that lock stays."""
        with self._transaction(write=True) as conn:
            conn.execute(
                delete(locks_t).where(
                    locks_t.c.client == lock.client, locks_t.c.token == lock.token
                )
            )


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


def _unknown_run(run_id: str) -> NotFound:
    return NotFound(f"unknown run {run_id!r} (see `adoffboard history CLIENT`)")


def _require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(select(func.count()).where(runs_t.c.id == run_id)).scalar_one() == 0:
        raise _unknown_run(run_id)


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
    )


def _snapshot_rows(
    conn: Connection, run_id: str, change_ids: Sequence[str], at: str
) -> list[dict[str, Any]]:
    """Snapshot rows for newly applied changes, from their intents or else the stored plan.

    A change already snapshotted in this run keeps its first snapshot: the before-value is the
    plan's either way, and a second APPLIED (a resume re-sending) must not fail the journal.
    """
    wanted = set(change_ids)
    taken = set(
        conn.execute(
            select(snapshots_t.c.change_id).where(snapshots_t.c.run_id == run_id)
        ).scalars()
    )
    wanted -= taken
    if not wanted:
        return []
    found: dict[str, dict[str, Any]] = {}
    intents = conn.execute(
        select(journal_t)
        .where(journal_t.c.run_id == run_id, journal_t.c.phase == INTENT)
        .order_by(journal_t.c.seq)
    ).mappings()
    for r in intents:
        if r["change_id"] in wanted:  # later intents overwrite earlier ones
            found[r["change_id"]] = {
                k: r[k] for k in ("platform", "account", "entity_type", "entity_id", "field")
            } | {"before_json": r["before_json"], "after_json": r["after_json"]}
    missing = wanted - found.keys()
    if missing:
        plan_json = conn.execute(
            select(runs_t.c.plan_json).where(runs_t.c.id == run_id)
        ).scalar_one()
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
