"""Search Console access removal through `google-api-python-client` (searchconsole v1 and
siteVerification v1) against the Search Console stand-in."""

from __future__ import annotations

import pytest
from google_rest_support import Journal, connect, manifest, sandbox_for

from adoffboard.clock import FakeClock
from adoffboard.errors import AuthError, DryRunViolation
from adoffboard.models import CheckStatus, OutcomeStatus, Phase
from adoffboard.sandbox.core import FaultRule

SITE = "https://www.lakesidepowersports.example/"
DOMAIN = "sc-domain:harbormarine.example"
AGENT = "sem-team@agency.example"


@pytest.fixture
def box(monkeypatch):
    yield from sandbox_for("search_console", monkeypatch)


def plan(connector, state):
    return list(connector.plan("remove_access", {}, state, "juniper-search-console").changes)


def test_drops_the_site_then_relinquishes_ownership(box, tmp_path):
    writer = connect(box, "search_console", tmp_path, read_only=False)
    state = writer.read_state(manifest())
    assert state.permission == "siteOwner" and state.verification_id
    changes = plan(writer, state)
    assert [(c.entity_type, c.before, c.after) for c in changes] == [
        ("site_verification", True, False),
        ("site", "siteOwner", None),
    ]
    assert all(c.phase == Phase.ACCESS for c in changes)
    journal = Journal()
    outcomes = writer.apply(changes, journal)
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert [c.entity_type for c in journal.intents] == ["site", "site_verification"]
    assert [e.method for e in box.log.mutating()] == ["sites.delete", "webResource.delete"]
    site = box.search_console.site(SITE)
    assert AGENT not in site.users and AGENT not in site.verified_owners
    # other users stay: the API cannot remove them (a manual step of the runbook)
    assert site.users["analytics@agency.example"] == "siteFullUser"
    assert site.verified_owners == ["owner@lakesidepowersports.example"]
    assert box.search_console.site(DOMAIN).users[AGENT] == "siteFullUser"  # another client


def test_unreachable_after_removal(box, tmp_path):
    writer = connect(box, "search_console", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    reader = connect(box, "search_console", tmp_path, read_only=True)
    before = reader.verify("remove_access", {}, reader.read_state(manifest()))
    assert before.status == CheckStatus.FAIL and "verified owner" in before.detail
    writer.apply(changes, Journal())
    fresh = reader.read_state(manifest())
    assert fresh.reachable is False
    verdict = reader.verify("remove_access", {}, fresh)
    assert verdict.status == CheckStatus.PASS and "access is gone" in verdict.detail
    assert plan(reader, fresh) == []
    writes = len(box.log.mutating())
    assert {o.status for o in writer.apply(changes, Journal())} == {OutcomeStatus.ALREADY}
    assert len(box.log.mutating()) == writes


def test_relinquishing_is_refused_while_the_token_is_in_place(box, tmp_path):
    box.search_console.site(SITE).tokens_in_place.add(AGENT)
    writer = connect(box, "search_console", tmp_path, read_only=False)
    state = writer.read_state(manifest())
    draft = writer.plan("remove_access", {}, state, "juniper-search-console")
    assert any("verification token" in n for n in draft.notes)
    outcomes = {o.change_id.split(":")[-2]: o for o in writer.apply(draft.changes, Journal())}
    assert outcomes["site"].status == OutcomeStatus.APPLIED
    failed = outcomes["site_verification"]
    assert failed.status == OutcomeStatus.FAILED and "token is still in place" in failed.message
    fresh = writer.read_state(manifest())
    verdict = writer.verify("remove_access", {}, fresh)
    assert verdict.status == CheckStatus.FAIL and "still a verified owner" in verdict.detail


def test_a_full_user_only_drops_the_domain_property(box, tmp_path):
    writer = connect(box, "search_console", tmp_path, read_only=False)
    client = manifest(search_console={"site_url": DOMAIN})
    state = writer.read_state(client)
    assert state.verification_id is None and state.permission == "siteFullUser"
    changes = plan(writer, state)
    assert [c.entity_type for c in changes] == ["site"]
    assert changes[0].shown_before == "full user"
    writer.apply(changes, Journal())
    assert writer.verify("remove_access", {}, writer.read_state(client)).status == CheckStatus.PASS


def test_site_already_dropped_counts_as_done(box, tmp_path):
    writer = connect(box, "search_console", tmp_path, read_only=False)
    changes = plan(writer, writer.read_state(manifest()))
    del box.search_console.site(SITE).users[AGENT]  # dropped by hand meanwhile
    outcomes = {o.change_id.split(":")[-2]: o.status for o in writer.apply(changes, Journal())}
    assert outcomes == {"site": OutcomeStatus.ALREADY, "site_verification": OutcomeStatus.APPLIED}
    assert [e.method for e in box.log.mutating()] == ["webResource.delete"]


@pytest.mark.parametrize(
    "fault,match,status",
    [
        ("resource_exhausted", {}, "429"),
        ("resource_exhausted", {"as": "403"}, "403"),
        ("internal", {}, "500"),
    ],
    ids=["429", "403-rateLimitExceeded", "500"],
)
def test_transient_errors_are_retried_on_the_clock(box, tmp_path, fault, match, status):
    box.faults.add(
        FaultRule(
            kind=fault,
            platform="search_console",
            method="webResource.list",
            retry_delay_s=5,
            times=1,
            match=match,
        )
    )
    clock = FakeClock()
    state = connect(box, "search_console", tmp_path, read_only=True, clock=clock).read_state(
        manifest()
    )
    assert state.verification_id
    assert clock.sleeps == ([5.0] if fault == "resource_exhausted" else [1.0])
    # the property and its ownership are read at once: only the faulted one is sent again
    sent = box.log.entries()
    assert [e.status for e in sent if e.method == "webResource.list"] == [status, "200"]
    assert [e.status for e in sent if e.method != "webResource.list"] == ["200"]


def test_refused_credentials_raise_instead_of_looking_unreachable(box, tmp_path):
    box.search_console.tokens = {"some-other-token"}
    clock = FakeClock()
    with pytest.raises(AuthError, match="refused the credentials and they cannot be refreshed"):
        connect(box, "search_console", tmp_path, read_only=True, clock=clock).read_state(manifest())
    # the two reads go at once; neither is retried
    sent = [e.method for e in box.log.entries()]
    assert clock.sleeps == [] and 1 <= len(sent) <= 2 and len(set(sent)) == len(sent)


def test_dry_run_guard_refuses_before_sending(box, tmp_path):
    reader = connect(box, "search_console", tmp_path, read_only=True)
    changes = plan(reader, reader.read_state(manifest()))
    with pytest.raises(DryRunViolation, match="refused DELETE /webmasters/v3/sites/"):
        reader.apply(changes, Journal())
    with pytest.raises(DryRunViolation, match="refused DELETE /siteVerification/v1/"):
        reader.apply([c for c in changes if c.entity_type == "site_verification"], Journal())
    assert box.log.mutating() == []
    assert AGENT in box.search_console.site(SITE).verified_owners
