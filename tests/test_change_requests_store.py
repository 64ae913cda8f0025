"""Change requests in the state store, on SQLite and PostgreSQL: ids, history, and two people
acting on one request at once."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from store_support import empty_pg_url, pg_url, store_url  # noqa: F401  (fixtures)

from adoffboard.clock import FakeClock
from adoffboard.config import LoadedWorkspace, load_workspace
from adoffboard.cr import repo, rules
from adoffboard.cr.service import ChangeRequests
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import StoreError
from adoffboard.store import Store
from adoffboard.workspace_init import PEOPLE, init_workspace

CLIENT = DEMO_CLIENT["slug"]


@pytest.fixture
def ws(tmp_path: Path) -> LoadedWorkspace:
    people = {**PEOPLE, "jo": {"name": "Jo", "email": "jo@agency.example", "roles": ["approver_1"]}}
    root = tmp_path / "ws"
    init_workspace(root, platforms={}, clients=[DEMO_CLIENT], single_user=True)
    data = tomllib.loads((root / "adoffboard.toml").read_text())
    data["people"] = people
    (root / "adoffboard.toml").write_text(tomli_w.dumps(data))
    return load_workspace(root)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:  # noqa: F811
    with Store.open(store_url, clock=FakeClock()) as s:
        yield s


def submitted(service: ChangeRequests) -> str:
    cr = service.create(
        "dana",
        {
            "client": CLIENT,
            "type": "cancellation",
            "effective_date": "2026-12-01",
            "departments": ["SEM"],
        },
    )
    service.submit(cr.id, "dana")
    return cr.id


def test_history_and_approvals_round_trip(store: Store, ws: LoadedWorkspace) -> None:
    service = ChangeRequests(store, ws)
    cr_id = submitted(service)
    service.approve(cr_id, "jeremy", note="fine")
    cr = service.get("cr-1")  # ids are typed loosely
    assert cr.id == "CR-0001" and [a.by for a in cr.approvals] == ["jeremy"]
    assert [(t.action, t.status) for t in service.history(cr_id)] == [
        ("created", "draft"),
        ("submitted", "submitted"),
        ("approved", "submitted"),
    ]
    assert service.history(cr_id)[-1].detail == "fine"


def test_a_stale_read_cannot_overwrite(store: Store, ws: LoadedWorkspace) -> None:
    service = ChangeRequests(store, ws)
    cr_id = submitted(service)
    with store.transaction() as conn:
        stale = repo.load_request(conn, cr_id)
    assert stale is not None
    service.approve(cr_id, "jeremy")  # someone else acts first
    decision = rules.approve(stale, service.actor("jo"), ws.config.approval, at="t")
    with (
        pytest.raises(StoreError, match="changed by someone else meanwhile"),
        store.transaction(write=True) as conn,
    ):
        repo.save_request(conn, stale, decision.cr, decision.events, "t")
    assert [a.by for a in service.get(cr_id).approvals] == ["jeremy"]


def test_two_first_approvers_at_once_make_one_approval(
    store_url: str,  # noqa: F811
    ws: LoadedWorkspace,
) -> None:
    with Store.open(store_url) as store:
        cr_id = submitted(ChangeRequests(store, ws))
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def approve(person: str) -> None:
        with Store.open(store_url) as own:
            barrier.wait()
            try:
                ChangeRequests(own, ws).approve(cr_id, person)
                outcomes[person] = "approved"
            except (StoreError, rules.NotPermitted) as exc:
                outcomes[person] = str(exc)

    threads = [threading.Thread(target=approve, args=(p,)) for p in ("jeremy", "jo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()).count("approved") == 1, outcomes
    with Store.open(store_url) as store:
        cr = ChangeRequests(store, ws).get(cr_id)
    assert len(cr.approvals) == 1 and cr.approvals[0].role == "approver_1"


def test_ids_are_unique_when_created_at_once(
    store_url: str,  # noqa: F811
    ws: LoadedWorkspace,
) -> None:
    Store.open(store_url).close()
    ids: list[str] = []
    lock = threading.Lock()

    def create() -> None:
        with Store.open(store_url) as own:
            service = ChangeRequests(own, ws)
            for _ in range(3):
                cr = service.create("dana", {"client": CLIENT, "type": "save-attempt"})
                with lock:
                    ids.append(cr.id)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(ids) == [f"CR-{n:04d}" for n in range(1, 13)]
