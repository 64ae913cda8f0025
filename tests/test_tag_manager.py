"""Tag Manager access removal through `google-api-python-client` against the GTM stand-in."""

from __future__ import annotations

import pytest
from google_rest_support import AGENCY, Journal, connect, manifest, sandbox_for

from adoffboard.clock import FakeClock, SystemClock
from adoffboard.errors import DryRunViolation, TenantMismatch
from adoffboard.models import CheckStatus, OutcomeStatus
from adoffboard.sandbox.core import FaultRule

ACCOUNT = "6001234567"
CLIENT_USERS = ["owner@lakesidepowersports.example", "webmaster@lakesidepowersports.example"]


@pytest.fixture
def box(monkeypatch):
    yield from sandbox_for("tag_manager", monkeypatch)


def plan(connector, state):
    return list(connector.plan("remove_access", {}, state, "juniper-tag-manager").changes)


def test_removal_is_throttled_to_one_request_every_4s_on_the_clock(box, tmp_path):
    clock = FakeClock()
    writer = connect(box, "tag_manager", tmp_path, read_only=False, clock=clock, min_interval_s=4.0)
    state = writer.read_state(manifest())  # accounts.get, user_permissions.list
    assert clock.sleeps == [4.0]
    changes = plan(writer, state)
    journal = Journal()
    outcomes = writer.apply(changes, journal)  # list, then two deletes
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert clock.sleeps == [4.0] * 4
    assert clock.monotonic() == 16.0  # five requests, 4 s apart
    assert box.tag_manager.emails(ACCOUNT) == CLIENT_USERS
    # the caller's own admin permission last: it is what allows deleting the others
    assert [c.entity_id.rsplit("/", 1)[-1] for c in changes] == ["101", "102"]
    assert [c.entity_id.rsplit("/", 1)[-1] for c in journal.intents] == ["102", "101"]
    assert len(box.log.mutating("tag_manager")) == 2
    assert writer.calls == {"read": 3, "write": 2}
    assert box.tag_manager.emails("6009876543") == [
        "owner@harbormarine.example",
        "sem-team@agency.example",
    ]


def test_waiting_after_a_rate_limit_counts_toward_the_interval(box, tmp_path):
    box.faults.add(
        FaultRule(
            kind="resource_exhausted",
            platform="tag_manager",
            method="user_permissions.list",
            retry_delay_s=2,
            times=1,
            match={"as": "403"},
        )
    )
    clock = FakeClock()
    state = connect(
        box, "tag_manager", tmp_path, read_only=True, clock=clock, min_interval_s=4.0
    ).read_state(manifest())
    assert state.reachable
    # list waits its 4 s turn, is refused (403 rateLimitExceeded), waits 2 s, then 2 s more
    assert clock.sleeps == [4.0, 2.0, 2.0]


def test_the_servers_rate_limit_is_honoured_for_real(box, tmp_path):
    box.tag_manager.enforce_rate_limit = True
    box.tag_manager.min_interval_s = 0.2
    throttled = connect(
        box, "tag_manager", tmp_path, read_only=True, clock=SystemClock(), min_interval_s=0.2
    )
    throttled.read_state(manifest())
    throttled.read_state(manifest())
    assert [e.status for e in box.log.entries("tag_manager")] == ["200"] * 4

    box.log.clear()
    eager = connect(
        box, "tag_manager", tmp_path, read_only=True, clock=SystemClock(), min_interval_s=0.0
    )
    state = eager.read_state(manifest())
    statuses = [e.status for e in box.log.entries("tag_manager")]
    assert "429" in statuses and statuses[-1] == "200"  # refused, waited its delay, retried
    assert len(state.permissions) == 4


def test_permission_already_gone_counts_as_done(box, tmp_path):
    writer = connect(box, "tag_manager", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    del box.tag_manager.accounts[ACCOUNT].permissions["102"]
    outcomes = {o.change_id.split(":")[3]: o.status for o in writer.apply(changes, Journal())}
    assert outcomes == {"101": OutcomeStatus.APPLIED, "102": OutcomeStatus.ALREADY}
    assert len(box.log.mutating()) == 1


def test_a_real_permission_error_is_not_retried(box, tmp_path):
    box.tag_manager.caller = "analytics@agency.example"  # a user, not an admin
    clock = FakeClock()
    reader = connect(box, "tag_manager", tmp_path, read_only=True, clock=clock, min_interval_s=0.0)
    state = reader.read_state(manifest())
    assert state.reachable and not state.listed
    assert clock.sleeps == [] and len(box.log.entries("tag_manager")) == 2
    draft = reader.plan("remove_access", {}, state, "juniper-tag-manager")
    assert draft.changes == () and "User Management" in draft.manual_items[0]
    assert reader.verify("remove_access", {}, state).status == CheckStatus.MANUAL_PENDING


def test_unreachable_after_removal(box, tmp_path):
    writer = connect(box, "tag_manager", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    reader = connect(box, "tag_manager", tmp_path, read_only=True)
    before = reader.verify("remove_access", {}, reader.read_state(manifest()))
    assert before.status == CheckStatus.FAIL and len(before.evidence) == 2
    writer.apply(changes, Journal())
    fresh = reader.read_state(manifest())
    assert fresh.reachable is False
    verdict = reader.verify("remove_access", {}, fresh)
    assert verdict.status == CheckStatus.PASS and "access is gone" in verdict.detail
    writes = len(box.log.mutating())
    assert {o.status for o in writer.apply(changes, Journal())} == {OutcomeStatus.ALREADY}
    assert len(box.log.mutating()) == writes


def test_dry_run_guard_refuses_before_sending(box, tmp_path):
    reader = connect(box, "tag_manager", tmp_path, read_only=True)
    changes = plan(reader, reader.read_state(manifest()))
    with pytest.raises(DryRunViolation, match="refused DELETE /tagmanager/v2/accounts/"):
        reader.apply(changes, Journal())
    assert box.log.mutating() == []
    assert len(box.tag_manager.emails(ACCOUNT)) == 4


def test_tenant_guard(box, tmp_path):
    reader = connect(box, "tag_manager", tmp_path, read_only=True)
    with pytest.raises(TenantMismatch, match="named 'Lakeside Powersports'"):
        reader.read_state(
            manifest(tag_manager={"account_id": ACCOUNT, "expected_name": "Harbor Marine Center"})
        )
    assert len(box.log.entries("tag_manager")) == 1  # nothing read after the name


def test_permissions_are_read_across_pages(box, tmp_path):
    for n in range(230):
        box.tag_manager.add_permission(ACCOUNT, f"viewer{n}@lakesidepowersports.example")
    state = connect(box, "tag_manager", tmp_path, read_only=True).read_state(manifest())
    assert len(state.permissions) == 234
    assert {p.email for p in state.agency_permissions()} == set(AGENCY)
    lists = [e for e in box.log.entries("tag_manager") if e.method == "user_permissions.list"]
    assert len(lists) == 3  # pages of 100


def test_connectors_on_one_clock_share_the_project_quota(box, tmp_path):
    clock = FakeClock()
    connect(
        box, "tag_manager", tmp_path, read_only=True, clock=clock, min_interval_s=4.0
    ).read_state(manifest())
    connect(
        box, "tag_manager", tmp_path, read_only=True, clock=clock, min_interval_s=4.0
    ).read_state(manifest())
    assert clock.sleeps == [4.0, 4.0, 4.0]  # the second connector's first request waits too
