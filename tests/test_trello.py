"""The Trello connector against its stand-in: finding the card, the guard, archiving, throttling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK
from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import DryRunViolation, TenantMismatch
from adoffboard.models import CheckStatus, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

LAKESIDE, HARBOR = "64b7f0c2a1d3e4f5a6b7c801", "64b7f0c2a1d3e4f5a6b7c802"


class Journal:
    def __init__(self):
        self.events = []

    def intend(self, changes):
        self.events += [("intent", c.id) for c in changes]

    def record(self, outcomes):
        self.events += [("outcome", o.change_id, o.status) for o in outcomes]


def connect(sandbox: Sandbox, tmp_path: Path, *, read_only=False, clock=None, **settings):
    ctx = ConnectorContext(
        settings={**sandbox.platform_settings()["trello"], **settings},
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=3, timeout=10),
    )
    return build("trello", ctx)


def manifest(**trello) -> Manifest:
    return Manifest.model_validate({**DEMO_CLIENT, "trello": trello})


def test_card_found_by_name_when_the_manifest_has_no_id(sandbox, tmp_path):
    trello = connect(sandbox, tmp_path, read_only=True)
    state = trello.read_state(manifest())
    [change] = trello.plan("archive_card", {}, state, "s").changes
    assert (change.entity_id, change.before, change.after) == (LAKESIDE, False, True)
    assert change.shown_before == "open" and change.shown_after == "archived"
    # the archived 2024 card also carries the name, but only open cards are candidates
    assert [e.method for e in sandbox.log.entries("trello")] == ["boards.cards"]


def test_two_open_matches_are_left_to_people(sandbox, tmp_path):
    sandbox.trello.add_card(
        "5f3c0a9e2b1d4c6e8a7f0b12",
        id="64b7f0c2a1d3e4f5a6b7c8ff",
        name="Lakeside Powersports - Service",
    )
    trello = connect(sandbox, tmp_path, read_only=True)
    draft = trello.plan("archive_card", {}, trello.read_state(manifest()), "s")
    assert draft.changes == ()
    [item] = draft.manual_items
    assert "2 open cards" in item and LAKESIDE in item and "trello.card_id" in item


def test_no_match_is_a_manual_item_and_archived_ones_count_as_done(sandbox, tmp_path):
    trello = connect(sandbox, tmp_path, read_only=True)
    draft = trello.plan("archive_card", {}, trello.read_state(manifest(card_name="Nobody")), "s")
    assert draft.changes == () and "no card named like 'Nobody'" in draft.manual_items[0]
    old = manifest(card_name="Lakeside Powersports (2024")
    state = trello.read_state(old)
    assert trello.plan("archive_card", {}, state, "s").changes == ()
    assert trello.verify("archive_card", {}, state).status == CheckStatus.PASS


@pytest.mark.parametrize(
    "card,expected",
    [
        (HARBOR, "does not name 'Lakeside Powersports'"),
    ],
    ids=["other-client"],
)
def test_tenant_guard_on_the_card_name(sandbox, tmp_path, card, expected):
    trello = connect(sandbox, tmp_path, read_only=True)
    with pytest.raises(TenantMismatch, match=expected):
        trello.read_state(manifest(card_id=card))


def test_tenant_guard_on_the_board(sandbox, tmp_path):
    sandbox.trello.boards["5f3c0a9e2b1d4c6e8a7f0b99"] = "Other board"
    sandbox.trello.add_card(
        "5f3c0a9e2b1d4c6e8a7f0b99", id="64b7f0c2a1d3e4f5a6b7c8aa", name="Lakeside Powersports"
    )
    trello = connect(sandbox, tmp_path, read_only=True)
    with pytest.raises(TenantMismatch, match="not on the SEM QA board"):
        trello.read_state(manifest(card_id="64b7f0c2a1d3e4f5a6b7c8aa"))
    assert sandbox.log.mutating() == []


def test_archive_journals_then_records_the_trello_action_id(sandbox, tmp_path):
    trello = connect(sandbox, tmp_path)
    changes = trello.plan(
        "archive_card", {}, trello.read_state(manifest(card_id=LAKESIDE)), "s"
    ).changes
    journal = Journal()
    [outcome] = trello.apply(changes, journal)
    assert outcome.status == OutcomeStatus.APPLIED
    assert outcome.request_id == sandbox.trello.card(LAKESIDE).actions[0]["id"]
    assert journal.events == [
        ("intent", changes[0].id),
        ("outcome", changes[0].id, OutcomeStatus.APPLIED),
    ]
    assert sandbox.trello.card(LAKESIDE).closed is True
    assert sandbox.trello.card(HARBOR).closed is False
    assert trello.calls["write"] == 1


def test_card_archived_by_hand_meanwhile_is_already(sandbox, tmp_path):
    trello = connect(sandbox, tmp_path)
    changes = trello.plan(
        "archive_card", {}, trello.read_state(manifest(card_id=LAKESIDE)), "s"
    ).changes
    sandbox.trello.card(LAKESIDE).closed = True  # Juniper archived it by hand meanwhile
    [outcome] = trello.apply(changes, Journal())
    assert outcome.status == OutcomeStatus.ALREADY and sandbox.trello.log.mutating() == []


def test_dry_run_refuses_the_put_before_it_leaves(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = reader.plan("archive_card", {}, reader.read_state(manifest()), "s").changes
    with pytest.raises(DryRunViolation, match="PUT /1/cards"):
        reader.apply(changes, Journal())
    assert sandbox.log.mutating() == [] and sandbox.trello.card(LAKESIDE).closed is False


@pytest.mark.parametrize("body", ["json", "text"])
def test_429_waits_for_the_window_on_the_clock(sandbox, tmp_path, body):
    sandbox.trello.section["rate_limit_body"] = body
    sandbox.faults.add(FaultRule(kind="resource_exhausted", platform="trello", times=2))
    clock = FakeClock()
    trello = connect(sandbox, tmp_path, read_only=True, clock=clock)
    trello.read_state(manifest(card_id=LAKESIDE))
    assert clock.sleeps == [10.0, 10.0]


def test_client_side_throttle_keeps_under_100_per_10s(sandbox, tmp_path):
    clock = FakeClock()
    trello = connect(sandbox, tmp_path, read_only=True, clock=clock)
    for _ in range(101):
        trello._read_card(LAKESIDE)
    assert clock.sleeps == [10.0] and trello.calls["read"] == 101


def test_key_and_token_never_in_a_url_with_header_auth(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("T_KEY", "key-aaaa-SECRET")
    monkeypatch.setenv("T_TOKEN", "tok-bbbb-SECRET")
    trello = connect(sandbox, tmp_path, api_key="env:T_KEY", token="env:T_TOKEN")
    trello.apply(
        trello.plan("archive_card", {}, trello.read_state(manifest()), "s").changes, Journal()
    )
    sent = " ".join(trello._session.sent)
    assert "SECRET" not in sent and "PUT /1/cards/" + LAKESIDE in sent


def test_refused_token_is_an_auth_error_without_the_secret(sandbox, tmp_path, monkeypatch):
    from adoffboard.errors import AuthError

    sandbox.trello.section["token"] = "the-right-one"
    monkeypatch.setenv("T_TOKEN", "wrong-token-SECRET")
    trello = connect(sandbox, tmp_path, read_only=True, token="env:T_TOKEN", auth="query")
    with pytest.raises(AuthError) as err:
        trello.read_state(manifest(card_id=LAKESIDE))
    assert "invalid token" in str(err.value) and "SECRET" not in str(err.value)


def test_sem_cancellation_archives_the_card_through_the_cli(cli: Cli, tmp_path, sandbox):
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out = tmp_path / "plan.json"
    assert (
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out)).exit_code
        == EXIT_OK
    )
    plan = json.loads(out.read_text())
    [step] = [s for s in plan["steps"] if s["step_id"] == "juniper-trello"]
    assert step["kind"] == "automated" and step["changes"][0]["entity_id"] == LAKESIDE
    assert sandbox.trello.card(LAKESIDE).closed is False
    assert cli("apply", str(out)).exit_code == EXIT_OK
    assert sandbox.trello.card(LAKESIDE).closed is True
    checks = {
        c["step_id"]: c
        for c in json.loads(cli("--json", "verify", "lakeside-powersports").output)["checks"]
    }
    assert checks["juniper-trello"]["status"] == "PASS"
