"""The state store, on SQLite and (when a server is reachable) PostgreSQL.

Every behavioural test runs on both backends through the `store` fixture. The PostgreSQL database
is created fresh for the session and dropped afterwards; tests share it, so each one starts from
empty tables. Point ADOFFBOARD_TEST_POSTGRES at another server's maintenance database to use it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adoffboard.clock import FakeClock
from adoffboard.database import MIGRATIONS, all_tables, head_revision
from adoffboard.errors import NotFound, StoreError
from adoffboard.models import (
    Change,
    Check,
    CheckStatus,
    ManualTask,
    Outcome,
    OutcomeStatus,
    Phase,
    Plan,
    StepKind,
    StepPlan,
)
from adoffboard.records import Attestation, RunRecord, Snapshot
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


# --- fixtures: plans ------------------------------------------------------------------------


def change(i: int, field: str = "status") -> Change:
    """A Google Ads campaign change; odd fields (budget micros) keep JSON types honest."""
    before, after = ("ENABLED", "PAUSED") if field == "status" else (25_000_000, 10_000)
    return Change(
        id=f"google_ads:1234567890:campaign:{i}:{field}",
        step_id="pause-campaigns" if field == "status" else "budgets-to-a-cent",
        platform="google_ads",
        account="1234567890",
        entity_type="campaign",
        entity_id=str(i),
        name=f"Acme Motors - Search {i}",
        field=field,
        before=before,
        after=after,
        shown_before=str(before),
        shown_after=str(after),
        phase=Phase.ADS,
        resource=f"customers/1234567890/campaigns/{i}",
    )


CHANGES = (change(1), change(2), change(3), change(4, "budget_micros"))


def make_plan(client: str = "acme-motors", plan_id: str = "p-1") -> Plan:
    step = StepPlan(
        step_id="pause-campaigns",
        title="Pause all campaigns",
        part="SEM",
        section="Effective date",
        department="SEM",
        owner="sem-specialist",
        timing="effective-date",
        kind=StepKind.AUTOMATED,
        platform="google_ads",
        action="pause_campaigns",
        changes=CHANGES,
    )
    manual = StepPlan(
        step_id="fluency-hold",
        title="Put Fluency on hold",
        part="SEM",
        section="Effective date",
        department="SEM",
        owner="sem-specialist",
        timing="effective-date",
        kind=StepKind.MANUAL,
        manual=ManualTask("fluency-hold", "Put Fluency on hold", "sem-specialist", "In Fluency…"),
        notes=("no API",),
    )
    return Plan(
        plan_id=plan_id,
        client=client,
        client_name="Acme Motors",
        runbook="sem-cancellation",
        runbook_version=3,
        scope="leaving-platform",
        effective_date="2026-12-01",
        created_at=START,
        manifest_hash="m" * 64,
        runbook_hash="r" * 64,
        steps=(step, manual),
        reads={"google_ads": 2},
    )


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


@pytest.fixture
def empty_pg_url(pg_url: str) -> str:
    """The session database, migrated and with every table emptied."""
    Store.open(pg_url).close()
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
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


# --- runs -------------------------------------------------------------------------------------


def test_plan_round_trip(store: Store) -> None:
    plan = make_plan()
    run_id = store.create_run(plan, plan_path="/w/plans/p-1.json", change_request="cr-7")
    assert re.fullmatch(r"r-20261121-[0-9a-f]{6}", run_id)
    record = store.run(run_id)
    assert record == RunRecord(
        id=run_id,
        client="acme-motors",
        runbook="sem-cancellation",
        runbook_version=3,
        plan_hash=plan.content_hash,
        plan_json=plan.to_json(),
        plan_path="/w/plans/p-1.json",
        change_request="cr-7",
        status="running",
        started_at=START,
        finished_at=None,
    )
    assert record.plan() == plan
    assert record.plan().content_hash == record.plan_hash


def test_finish_run(store: Store, clock: FakeClock) -> None:
    run_id = store.create_run(make_plan())
    clock.advance(90)
    store.finish_run(run_id, "applied-with-drift")
    record = store.run(run_id)
    assert (record.status, record.finished_at) == (
        "applied-with-drift",
        "2026-11-21T15:01:30+00:00",
    )
    store.finish_run(run_id, "interrupted", finished_at="2026-11-21T16:00:00+00:00")
    assert store.run(run_id).finished_at == "2026-11-21T16:00:00+00:00"
    with pytest.raises(StoreError, match="unknown run status 'done'"):
        store.finish_run(run_id, "done")


def test_unknown_run_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        store.run("r-nope")
    assert str(info.value) == "unknown run 'r-nope' (see `adoffboard history CLIENT`)"
    with pytest.raises(NotFound):
        store.intend("r-nope", [CHANGES[0]])
    with pytest.raises(NotFound):
        store.record("r-nope", [Outcome(CHANGES[0].id, OutcomeStatus.APPLIED)])
    with pytest.raises(NotFound):
        store.finish_run("r-nope", "failed")


def test_history_is_newest_first(store: Store, clock: FakeClock) -> None:
    ids = []
    for _ in range(3):
        ids.append(store.create_run(make_plan()))
        clock.advance(60)
    other = store.create_run(make_plan(client="zeta-ford"))
    same_second = store.create_run(make_plan())  # ties on started_at: insertion order decides
    assert [r.id for r in store.runs("acme-motors")] == [same_second, *reversed(ids)]
    assert [r.id for r in store.runs()] == [same_second, other, *reversed(ids)]
    assert [r.id for r in store.runs("acme-motors", limit=2)] == [same_second, ids[2]]
    latest = store.latest_run("acme-motors")
    assert latest is not None and latest.id == same_second
    assert store.latest_run("nobody") is None


# --- journal ----------------------------------------------------------------------------------


def test_intent_without_outcome_is_unfinished(store: Store) -> None:
    run_id = store.create_run(make_plan())
    c1, c2, c3, _ = CHANGES
    store.intend(run_id, [c1, c2, c3])
    assert store.unfinished(run_id) == [c1.id, c2.id, c3.id]
    assert store.outcomes(run_id) == {}

    applied = Outcome(c1.id, OutcomeStatus.APPLIED, live="PAUSED", request_id="req-1")
    drift = Outcome(c2.id, OutcomeStatus.DRIFT, live={"status": "REMOVED"}, message="changed")
    store.record(run_id, [applied, drift])
    assert store.unfinished(run_id) == [c3.id]
    assert store.outcomes(run_id) == {c1.id: applied, c2.id: drift}

    # resume re-intends c1: unknown again until its new outcome, which then wins
    store.intend(run_id, [c1])
    assert store.unfinished(run_id) == [c3.id, c1.id]
    store.record(run_id, [Outcome(c1.id, OutcomeStatus.ALREADY, live="PAUSED")])
    assert store.unfinished(run_id) == [c3.id]
    assert store.outcomes(run_id)[c1.id].status is OutcomeStatus.ALREADY


def test_journal_survives_reopening(store_url: str) -> None:
    with Store.open(store_url) as first:
        run_id = first.create_run(make_plan())
        first.intend(run_id, CHANGES[:2])
    with Store.open(store_url) as second:
        assert second.unfinished(run_id) == [CHANGES[0].id, CHANGES[1].id]


def test_snapshots_only_for_applied(store: Store) -> None:
    run_id = store.create_run(make_plan())
    c1, c2, c3, budget = CHANGES
    store.intend(run_id, [c1, c2, c3])
    store.record(
        run_id,
        [
            Outcome(c1.id, OutcomeStatus.APPLIED, live="PAUSED"),
            Outcome(c2.id, OutcomeStatus.FAILED, message="PERMISSION_DENIED"),
            Outcome(c3.id, OutcomeStatus.DRIFT, live="REMOVED"),
            Outcome(budget.id, OutcomeStatus.APPLIED, live=10_000),  # no intent: from the plan
            Outcome("google_ads:1:campaign:9:status", OutcomeStatus.NOT_SENT),
        ],
    )
    store.record(run_id, [Outcome(c1.id, OutcomeStatus.APPLIED, live="PAUSED")])  # no duplicate

    def snap(c: Change) -> Snapshot:
        fields = ("platform", "account", "entity_type", "entity_id", "field", "before", "after")
        return Snapshot(
            run_id=run_id, change_id=c.id, at=START, **{f: getattr(c, f) for f in fields}
        )

    assert store.snapshots(run_id) == [snap(c1), snap(budget)]


def test_applied_outcome_outside_the_plan_is_refused(store: Store) -> None:
    run_id = store.create_run(make_plan())
    with pytest.raises(StoreError, match="has no change 'elsewhere'"):
        store.record(
            run_id,
            [
                Outcome(CHANGES[0].id, OutcomeStatus.APPLIED),
                Outcome("elsewhere", OutcomeStatus.APPLIED),
            ],
        )
    assert store.outcomes(run_id) == {} and store.snapshots(run_id) == []


# --- verify and manual tasks ------------------------------------------------------------------


def test_verifications(store: Store, clock: FakeClock) -> None:
    run_id = store.create_run(make_plan())
    checks = [
        Check("pause-campaigns", "Pause", "SEM", CheckStatus.PASS),
        Check("budgets", "Budgets", "SEM", CheckStatus.PASS),
        Check("ga-access", "GA access", "SEM", CheckStatus.FAIL, detail="still a user"),
        Check("fluency-hold", "Fluency", "SEM", CheckStatus.MANUAL_PENDING),
    ]
    first = store.save_verification(run_id, "acme-motors", "sem-cancellation", checks)
    clock.advance(60)
    second = store.save_verification(None, "acme-motors", "sem-cancellation", checks[:1])
    store.save_verification(None, "zeta-ford", "sem-cancellation", checks)
    listed = store.verifications("acme-motors")
    assert [v.id for v in listed] == [second, first]
    vid, vrun, at, counts = listed[1]
    assert (vid, vrun, at) == (first, run_id, START)
    assert counts == {"PASS": 2, "FAIL": 1, "MANUAL-PENDING": 1}
    assert listed[0].run_id is None and listed[0].counts == {"PASS": 1}
    with pytest.raises(NotFound):
        store.save_verification("r-nope", "acme-motors", "sem-cancellation", checks)


def test_attestations(store: Store, clock: FakeClock) -> None:
    assert store.attestations("acme-motors", "sem-cancellation") == {}
    store.attest("acme-motors", "sem-cancellation", "fluency-hold", "dana", "called Fluency")
    clock.advance(60)
    store.attest("acme-motors", "sem-cancellation", "fluency-hold", "lee")
    store.attest("acme-motors", "sem-cancellation", "scripts-off", "dana")
    store.attest("acme-motors", "ma-cancellation", "sharpspring-off", "kim")
    assert store.attestations("acme-motors", "sem-cancellation") == {
        "fluency-hold": Attestation("lee", "", "2026-11-21T15:01:00+00:00"),
        "scripts-off": Attestation("dana", "", "2026-11-21T15:01:00+00:00"),
    }


# --- locks ------------------------------------------------------------------------------------


def test_lock_conflict_names_the_holder(store: Store) -> None:
    with store.client_lock("acme-motors", "alice@agency"):
        with pytest.raises(StoreError) as info, store.client_lock("acme-motors", "bob@agency"):
            pass
        assert str(info.value) == f"client acme-motors is locked by alice@agency since {START}"
        with store.client_lock("zeta-ford", "bob@agency"):  # other clients are free
            pass
    with store.client_lock("acme-motors", "bob@agency"):  # released on exit
        pass
    with pytest.raises(RuntimeError), store.client_lock("acme-motors", "carol@agency"):
        raise RuntimeError("boom")
    with store.client_lock("acme-motors", "dave@agency"):  # released on error too
        pass


def test_stale_lock_is_taken_over(store: Store, clock: FakeClock) -> None:
    with contextlib.ExitStack() as crashed:
        crashed.enter_context(store.client_lock("acme-motors", "alice@agency"))
        clock.advance(dt.timedelta(hours=5, minutes=59).total_seconds())
        with (
            pytest.raises(StoreError, match="locked by alice"),
            store.client_lock("acme-motors", "bob@agency"),
        ):
            pass
        clock.advance(120)
        with store.client_lock("acme-motors", "bob@agency"):
            crashed.close()  # alice's late release must not free bob's lock
            with (
                pytest.raises(StoreError, match="locked by bob"),
                store.client_lock("acme-motors", "carol@agency"),
            ):
                pass
    with store.client_lock("acme-motors", "carol@agency", ttl=dt.timedelta(0)):
        pass


CONTENDER = textwrap.dedent(
    """
    import sys
    from adoffboard.errors import StoreError
    from adoffboard.store import Store

    url, holder = sys.argv[1], sys.argv[2]
    store = Store.open(url)
    print("ready", flush=True)
    sys.stdin.readline()  # go
    try:
        with store.client_lock("acme-motors", holder):
            print("won", flush=True)
            sys.stdin.readline()  # release
    except StoreError as exc:
        print("lost", exc, flush=True)
    store.close()
    """
)


def test_two_processes_contend_for_one_lock(empty_pg_url: str, tmp_path: Path) -> None:
    """Separate processes on PostgreSQL: exactly one wins; the other names the winner."""
    procs = {
        holder: subprocess.Popen(
            [sys.executable, "-c", CONTENDER, empty_pg_url, holder],
            cwd=tmp_path,  # import the installed package, not a source tree
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for holder in ("proc-a", "proc-b")
    }
    try:
        for proc in procs.values():
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs.values():  # both as close together as two writes get
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = {h: p.stdout.readline().strip() for h, p in procs.items() if p.stdout}
        winners = [h for h, line in results.items() if line == "won"]
        assert len(winners) == 1, results
        (loser,) = set(procs) - set(winners)
        assert re.fullmatch(
            rf"lost client acme-motors is locked by {winners[0]} since \S+", results[loser]
        ), results
        for proc in procs.values():
            proc.communicate("\n", timeout=30)
            assert proc.returncode == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
