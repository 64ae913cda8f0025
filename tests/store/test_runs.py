"""The state store, on SQLite and (when a server is reachable) PostgreSQL.

Every behavioural test runs on both backends through the `store` fixture. The PostgreSQL database
is created fresh for the session and dropped afterwards; tests share it, so each one starts from
empty tables. Point ADOFFBOARD_TEST_POSTGRES at another server's maintenance database to use it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from store_support import START

from adoffboard.clock import FakeClock
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
