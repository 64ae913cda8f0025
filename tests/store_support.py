"""Database fixtures shared by the store's tests and the tests of the packages over it: a fresh
PostgreSQL database per session (skipped when no server is reachable; point
ADOFFBOARD_TEST_POSTGRES at another server's maintenance database to use it) and a `store`
fixture run on both SQLite and PostgreSQL. Test modules import the fixtures they use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from adoffboard.clock import FakeClock
from adoffboard.database import MIGRATIONS, all_tables
from adoffboard.store import Store

metadata = all_tables()  # every package's tables, as the migrations create them


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


HEAD = _head()  # the newest migration: a fresh store is at it
PG_ADMIN = os.environ.get(
    "ADOFFBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
START = "2026-11-21T15:00:00+00:00"  # FakeClock's default start


# --- fixtures: databases ----------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, dropped afterwards; skip if unreachable."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN}: {_one_line(exc)}")
    name = f"adoffboard_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # a throwaway database: a commit need not wait for the server's disk (what a session
        # sees is the same; only a crash of the server itself could lose the last commits)
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        try:
            url = sa.make_url(PG_ADMIN).set(drivername="postgresql+psycopg", database=name)
            yield url.render_as_string(hide_password=False)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


# the sequences that number the tables' rows (serial and identity columns): what TRUNCATE's
# RESTART IDENTITY restarts
_OWNED_SEQUENCES = """
SELECT s.relname FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
WHERE s.relkind = 'S' AND t.relname = ANY(%(tables)s)
    AND s.relnamespace = current_schema()::regnamespace
"""


def empty_tables(conn: sa.Connection) -> None:
    """Every table empty and its row numbers restarted, as `TRUNCATE ... RESTART IDENTITY` leaves
    them. DELETE, children first: a test leaves a few rows, and TRUNCATE gives each of the
    tables new files on disk, about a second per test where this takes a few milliseconds."""
    names = [t.name for t in metadata.sorted_tables]
    for name in reversed(names):
        conn.exec_driver_sql(f"DELETE FROM {name}")
    for (sequence,) in conn.exec_driver_sql(_OWNED_SEQUENCES, {"tables": names}).all():
        conn.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')


@pytest.fixture
def empty_pg_url(pg_url: str) -> str:
    """The session database, migrated and with every table emptied."""
    Store.open(pg_url).close()
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        empty_tables(conn)
    engine.dispose()
    return pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/not-yet/state.db"
    return request.getfixturevalue("empty_pg_url")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.open(store_url, clock=clock) as s:
        yield s
