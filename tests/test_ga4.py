"""Google Analytics 4 access removal, through the official SDK against the GA4 stand-in."""

from __future__ import annotations

import pytest
from google_rest_support import AGENCY, Journal, connect, manifest, sandbox_for

from adoffboard.clock import FakeClock
from adoffboard.errors import AuthError, DryRunViolation, TenantMismatch
from adoffboard.models import CheckStatus, OutcomeStatus, Phase
from adoffboard.sandbox.core import FaultRule

ACCOUNT, P1, P2 = "accounts/100200300", "properties/310000001", "properties/310000002"


@pytest.fixture
def box(monkeypatch):
    yield from sandbox_for("ga4", monkeypatch)


def plan(connector, state):
    return list(connector.plan("remove_access", {}, state, "juniper-google-analytics").changes)


def test_plans_only_the_agencys_bindings_properties_first(box, tmp_path):
    reader = connect(box, "ga4", tmp_path, read_only=True)
    state = reader.read_state(manifest())
    changes = plan(reader, state)
    assert {c.before["user"] for c in changes} == set(AGENCY)
    assert {c.entity_id for c in changes} == {
        f"{P1}/accessBindings/p1-analytics",
        f"{P2}/accessBindings/p2-sem-team",
        f"{ACCOUNT}/accessBindings/acct-sem-team",
        f"{ACCOUNT}/accessBindings/acct-analytics",
    }
    assert all(c.phase == Phase.ACCESS and c.after is None for c in changes)
    p2 = next(c for c in changes if c.entity_id.startswith(P2))
    assert p2.before == {
        "user": "sem-team@agency.example",
        "roles": ["predefinedRoles/editor", "predefinedRoles/no-cost-data"],
    }
    assert p2.shown_before == "sem-team@agency.example: editor, no-cost-data"
    assert reader.verify("remove_access", {}, state).status == CheckStatus.FAIL
    assert box.log.mutating() == []


def test_removal_keeps_client_users_and_batches_per_parent(box, tmp_path):
    writer = connect(box, "ga4", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    since = len(box.log.entries())
    outcomes = writer.apply(changes, Journal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    # each parent's bindings are read again (at once, before the first delete)
    sent = [e.method for e in box.log.entries()[since:]]
    assert sent[:3] == ["ListAccessBindings"] * 3 and sent.count("ListAccessBindings") == 3
    state = box.ga4.state
    assert state.users(ACCOUNT) == ["owner@lakesidepowersports.example"]
    assert state.users(P1) == ["marketing@lakesidepowersports.example"]
    assert state.users(P2) == ["service@lakesidepowersports.example"]
    assert "sem-team@agency.example" in state.users("accounts/100200400")  # another client
    writes = [e.method for e in box.log.mutating()]
    # one binding on each property, then the account's two in one batch, last
    assert writes == ["DeleteAccessBinding", "DeleteAccessBinding", "BatchDeleteAccessBindings"]
    assert writer.calls["write"] == 3


def test_unreachable_after_removal_verifies_and_plans_nothing(box, tmp_path):
    writer = connect(box, "ga4", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    writer.apply(changes, Journal())
    reader = connect(box, "ga4", tmp_path, read_only=True)
    fresh = reader.read_state(manifest())
    assert fresh.reachable is False
    verdict = reader.verify("remove_access", {}, fresh)
    assert verdict.status == CheckStatus.PASS and "access is gone" in verdict.detail
    assert plan(reader, fresh) == []
    again = writer.apply(changes, Journal())
    assert {o.status for o in again} == {OutcomeStatus.ALREADY}
    assert all("access is gone" in o.message for o in again)


def test_binding_already_gone_counts_as_done(box, tmp_path):
    writer = connect(box, "ga4", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    del box.ga4.state.nodes[P1].bindings["p1-analytics"]  # someone removed it meanwhile
    outcomes = {o.change_id: o.status for o in writer.apply(changes, Journal())}
    assert (
        outcomes[f"ga4:100200300:{P1}/accessBindings/p1-analytics:access"] == OutcomeStatus.ALREADY
    )
    assert list(outcomes.values()).count(OutcomeStatus.APPLIED) == 3


def test_a_404_inside_a_batch_falls_back_to_single_deletes(box, tmp_path):
    writer = connect(box, "ga4", tmp_path, read_only=False)
    changes = [
        c for c in plan(writer, writer.read_state(manifest())) if c.entity_id.startswith(ACCOUNT)
    ]
    del box.ga4.state.nodes[ACCOUNT].bindings["acct-analytics"]  # gone after the re-read
    outcomes = writer._delete(ACCOUNT, changes)  # the write path after triage
    status = {o.change_id.split("/")[-1]: o.status for o in outcomes}
    assert status == {
        "acct-sem-team:access": OutcomeStatus.APPLIED,
        "acct-analytics:access": OutcomeStatus.ALREADY,
    }
    methods = [(e.method, e.status) for e in box.log.mutating()]
    # the caller's own admin binding goes last: deleting it first would end its right to delete
    assert methods == [
        ("BatchDeleteAccessBindings", "404"),
        ("DeleteAccessBinding", "404"),
        ("DeleteAccessBinding", "200"),
    ]


def test_drifted_binding_is_left_alone(box, tmp_path):
    writer = connect(box, "ga4", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    box.ga4.state.nodes[P1].bindings["p1-analytics"].roles = ["predefinedRoles/admin"]
    outcomes = {o.change_id: o for o in writer.apply(changes, Journal())}
    drift = outcomes[f"ga4:100200300:{P1}/accessBindings/p1-analytics:access"]
    assert drift.status == OutcomeStatus.DRIFT
    assert "analytics@agency.example" in box.ga4.state.users(P1)


@pytest.mark.parametrize("as_403", [False, True], ids=["429", "403-rateLimitExceeded"])
def test_rate_limits_are_retried_on_the_injected_clock(box, tmp_path, as_403):
    box.faults.add(
        FaultRule(
            kind="resource_exhausted",
            platform="ga4",
            method="GetAccount",
            retry_delay_s=3,
            times=2,
            match={"as": "403"} if as_403 else {},
        )
    )
    clock = FakeClock()
    state = connect(box, "ga4", tmp_path, read_only=True, clock=clock).read_state(manifest())
    assert state.reachable and clock.sleeps == [3.0, 3.0]
    assert [e.status for e in box.log.entries("ga4")][:3] == ["403" if as_403 else "429"] * 2 + [
        "200"
    ]


def test_server_errors_are_retried_with_backoff(box, tmp_path):
    box.faults.add(
        FaultRule(kind="unavailable", platform="ga4", method="ListAccessBindings", times=1)
    )
    clock = FakeClock()
    connect(box, "ga4", tmp_path, read_only=True, clock=clock).read_state(manifest())
    assert clock.sleeps == [1.0]


def test_a_real_permission_error_is_not_retried(box, tmp_path):
    box.ga4.caller = "analytics@agency.example"  # an editor on the account: cannot delete
    clock = FakeClock()
    writer = connect(box, "ga4", tmp_path, read_only=False, clock=clock)
    changes = [
        c for c in plan(writer, writer.read_state(manifest())) if c.entity_id.startswith(ACCOUNT)
    ]
    outcomes = writer.apply(changes, Journal())
    assert {o.status for o in outcomes} == {OutcomeStatus.FAILED}
    assert "Administrator" in outcomes[0].message
    assert clock.sleeps == []
    assert [e.status for e in box.log.mutating()] == ["403"]  # sent once, not retried


def test_a_caller_without_access_reads_as_unreachable(box, tmp_path):
    box.ga4.caller = "stranger@agency.example"
    clock = FakeClock()
    state = connect(box, "ga4", tmp_path, read_only=True, clock=clock).read_state(manifest())
    assert state.reachable is False and clock.sleeps == []
    assert len(box.log.entries("ga4")) == 1


def test_dry_run_guard_refuses_before_sending(box, tmp_path):
    reader = connect(box, "ga4", tmp_path, read_only=True)
    changes = plan(reader, reader.read_state(manifest()))
    reads = len(box.log)
    with pytest.raises(DryRunViolation, match="refused DELETE /v1alpha/properties/"):
        reader.apply(changes, Journal())
    account = [{"name": c.resource} for c in changes if c.resource.startswith(ACCOUNT)]
    with pytest.raises(DryRunViolation, match="refused POST"):
        reader._admin().batch_delete_access_bindings(
            request={"parent": ACCOUNT, "requests": account}, retry=None, timeout=5
        )
    assert box.log.mutating() == []
    assert all(e.method == "ListAccessBindings" for e in box.log.entries()[reads:])
    assert len(box.ga4.state.users(ACCOUNT)) == 3


def test_tenant_guard(box, tmp_path):
    reader = connect(box, "ga4", tmp_path, read_only=True)
    with pytest.raises(TenantMismatch, match="named 'Lakeside Powersports'"):
        reader.read_state(
            manifest(ga4={"account_id": "100200300", "expected_name": "Lakeside Marine"})
        )
    with pytest.raises(TenantMismatch, match="belongs to accounts/100200400"):
        reader.read_state(manifest(ga4={"account_id": "100200300", "property_ids": ["320000001"]}))
    assert box.log.mutating() == []


def test_a_property_of_another_account_outranks_the_errors_of_the_reads_beside_it(box, tmp_path):
    """The account is read first, alone; its properties and its own bindings then at once, and
    a property of another account is refused whatever happened to the other reads."""
    box.faults.add(FaultRule(kind="unavailable", platform="ga4", method="ListAccessBindings"))
    reader = connect(box, "ga4", tmp_path, read_only=True, clock=FakeClock())
    with pytest.raises(TenantMismatch, match="belongs to accounts/100200400"):
        reader.read_state(
            manifest(ga4={"account_id": "100200300", "property_ids": ["310000001", "320000001"]})
        )
    assert box.log.entries("ga4")[0].method == "GetAccount"
    assert box.log.mutating() == []


def test_bindings_are_read_across_pages(box, tmp_path):
    for n in range(620):
        box.ga4.state.add_binding(
            ACCOUNT, f"viewer{n}@lakesidepowersports.example", ["predefinedRoles/viewer"]
        )
    state = connect(box, "ga4", tmp_path, read_only=True).read_state(manifest())
    account = next(h for h in state.holders if h.name == ACCOUNT)
    assert len(account.bindings) == 623
    pages = [
        e
        for e in box.log.entries("ga4")
        if e.method == "ListAccessBindings" and e.account == "100200300"
    ]
    assert len(pages) == 2 + 2  # two properties, then the account in two pages of 500


def test_manifest_identities_add_to_the_workspaces(box, tmp_path):
    box.ga4.state.add_binding(P1, "contractor@agency.example", ["predefinedRoles/viewer"])
    reader = connect(box, "ga4", tmp_path, read_only=True)
    state = reader.read_state(manifest(remove_identities=["Contractor@Agency.example"]))
    users = {c.before["user"] for c in plan(reader, state)}
    assert users == {*AGENCY, "contractor@agency.example"}


def test_refused_credentials_raise_instead_of_looking_unreachable(box, tmp_path):
    box.ga4.tokens = {"some-other-token"}
    clock = FakeClock()
    with pytest.raises(AuthError, match="refused the credentials"):
        connect(box, "ga4", tmp_path, read_only=True, clock=clock).read_state(manifest())
    assert clock.sleeps == [] and [e.status for e in box.log] == ["401"]


def test_a_property_level_user_cannot_list_the_account_and_says_so(box, tmp_path):
    box.ga4.state.add_binding(P1, "reader@agency.example", ["predefinedRoles/admin"])
    box.ga4.caller = "reader@agency.example"
    reader = connect(box, "ga4", tmp_path, read_only=True)
    state = reader.read_state(manifest(remove_identities=["reader@agency.example"]))
    assert state.reachable
    readable = {h.name: h.readable for h in state.holders}
    assert readable == {P1: True, P2: False, ACCOUNT: False}
    draft = reader.plan("remove_access", {}, state, "s")
    assert {c.before["user"] for c in draft.changes} == {
        "analytics@agency.example",
        "reader@agency.example",
    }
    assert len(draft.manual_items) == 2 and "GA4 Admin" in draft.manual_items[0]
    assert reader.verify("remove_access", {}, state).status == CheckStatus.FAIL
