"""The state store's database: one `metadata` for every table, the engine, transactions, the schema.

Each package keeps its own tables on this `metadata` (runs in `adoffboard.store`, verify passes,
attestations, the plan key and run events in `adoffboard.evidence`, the journal in
`adoffboard.journal`, the lock in `adoffboard.locks`, change requests in `adoffboard.cr.tables`,
the schedule in `adoffboard.scheduling.tables`, console sessions and personal tokens in
`adoffboard.identity`, the audit trail in `adoffboard.audit`); they all mirror the Alembic
migrations in `adoffboard/migrations` (a test keeps them in step), which `migrate` applies up to
head.
`ALL_TABLE_MODULES` names the modules to import before `metadata` holds every table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from adoffboard.errors import StoreConflict, StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant will do: it only has to be the same for every adoffboard process sharing a database.
_PG_MIGRATION_LOCK = 0x0ADF_0FFB
ALL_TABLE_MODULES = (
    "adoffboard.store",
    "adoffboard.evidence",
    "adoffboard.journal",
    "adoffboard.locks",
    "adoffboard.cr.tables",
    "adoffboard.scheduling.tables",
    "adoffboard.identity",
    "adoffboard.audit",
    "adoffboard.report_store",
)

metadata = MetaData()


def all_tables() -> MetaData:
    """`metadata` with every package's tables on it (for the migrations and their test)."""
    for name in ALL_TABLE_MODULES:
        importlib.import_module(name)
    return metadata


def one_line(exc: BaseException) -> str:
    """Driver errors span lines (psycopg adds hints); the CLI promises one-line errors."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def prepare_url(raw: str) -> URL:
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


def make_engine(url: URL) -> Engine:
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


@contextmanager
def transaction(
    engine: Engine, *, write: bool = False, durable: bool = False
) -> Iterator[Connection]:
    """One transaction; database errors surface as one-line StoreErrors.

    `durable` insists on a synchronous commit on PostgreSQL even if the server or role was
    configured with synchronous_commit=off: a journal entry lost after `intend` returned could
    let a resume send a write twice.
    """
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(adoffboard_write=True)
            with conn.begin():
                if durable and conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
                yield conn
    except IntegrityError as exc:
        raise StoreConflict(f"state store conflict: {one_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"state store error: {one_line(exc)}") from exc


def head_revision() -> str:
    """The newest migration's revision, from the files' names (`versions/NNNN_what.py`, whose
    revision id is NNNN: a test holds it to Alembic's head) without loading Alembic."""
    return max(p.name.partition("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _at_head(transaction: Callable[..., AbstractContextManager[Connection]]) -> bool:
    """Whether the schema is already at head: one read, and Alembic never imported."""
    with transaction() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return stored == [head_revision()]


def migrate(transaction: Callable[..., AbstractContextManager[Connection]]) -> None:
    """Upgrade to head, once, even when several processes open a fresh store together."""
    if _at_head(transaction):
        return
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    known = {rev.revision for rev in scripts.walk_revisions()}
    head = scripts.get_current_head()
    with transaction(write=True) as conn:
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
