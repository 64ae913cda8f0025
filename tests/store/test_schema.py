"""The store's schema: created, migrated, mirrored by the tables, refused when newer, on SQLite and
(when a server is reachable) PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from store_support import HEAD, metadata

from adoffboard.database import MIGRATIONS, head_revision
from adoffboard.errors import StoreError
from adoffboard.store import Store

# --- schema -----------------------------------------------------------------------------------


def test_open_creates_schema_and_reopens(store_url: str) -> None:
    Store.open(store_url).close()
    Store.open(store_url).close()  # already at head: a no-op
    engine = sa.create_engine(store_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    assert {t.name for t in metadata.sorted_tables} | {"alembic_version"} <= names
    assert current == HEAD


def test_head_revision_from_the_file_names_is_alembics() -> None:
    assert head_revision() == HEAD


def test_a_store_at_head_opens_without_loading_alembic(store_url: str) -> None:
    Store.open(store_url).close()
    code = textwrap.dedent(
        f"""
        import sys
        from adoffboard.store import Store
        Store.open({store_url!r}).close()
        print(sorted(m for m in sys.modules if m.split(".")[0] == "alembic"))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_older_store_is_still_upgraded_to_head(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path}/state.db"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
        Store.open(url).close()
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == HEAD
            columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
    finally:
        engine.dispose()
    assert {"started_by", "stage"} <= columns  # migration 0005's


def test_tables_mirror_the_migration(store_url: str) -> None:
    Store.open(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    Store.open(f"sqlite:///{path}").close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(store_url: str) -> None:
    Store.open(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
        with pytest.raises(StoreError, match=r"9999_future\) is newer than this adoffboard"):
            Store.open(store_url)
    finally:
        with engine.begin() as conn:  # the PostgreSQL database is shared with later tests
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{HEAD}'")
        engine.dispose()


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://postgres@127.0.0.1:1/nowhere", "cannot open state store"),
        ("mysql://u@localhost/db", "unsupported state store URL"),
        ("not a url", "is not a database URL"),
    ],
)
def test_bad_or_unreachable_store_is_one_line(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(url)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
