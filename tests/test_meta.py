"""The Meta connector against the Graph stand-in, through the unmodified facebook-business SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meta_support import (
    AGENCY,
    LAKESIDE,
    PROSPECTING,
    RETARGETING,
    batches,
    campaign_fault,
    connect,
    items,
    manifest,
    many_campaigns,
    pause_all,
    plan,
)
from test_contract import MemoryJournal

from adoffboard.clock import FakeClock
from adoffboard.connectors.meta.batch import graph_batches
from adoffboard.connectors.meta.planning import BUDGET_NOTE, MetaRule, rule_risk
from adoffboard.errors import (
    AuthError,
    DryRunViolation,
    TenantMismatch,
    TransientError,
)
from adoffboard.models import Change, CheckStatus, OutcomeStatus
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import FaultRule, load_scenario


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox({"meta": load_scenario(DEMO_SCENARIO)["meta"]}) as sandbox:
        yield sandbox


# --- batching ---------------------------------------------------------------------------------


def test_writes_go_in_batches_of_at_most_50(tmp_path: Path) -> None:
    with Sandbox({"meta": many_campaigns(120)}) as sandbox:
        writer = connect(sandbox, tmp_path, batches_in_flight=1)  # one batch after the other
        state = writer.read_state(manifest())
        changes = plan(writer, state, "pause_campaigns")
        assert len(changes) == 120
        journal = MemoryJournal()
        outcomes = writer.apply(changes, journal)
        assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
        assert len(batches(sandbox)) == 3
        assert len(items(sandbox)) == 120
        assert writer.calls["write"] == 3
        # each batch's intents are journaled before its outcomes
        assert journal.order.index(f"intent:{changes[50].id}") > journal.order.index(
            f"outcome:{changes[0].id}"
        )
        live = sandbox.meta.accounts[LAKESIDE].campaigns
        assert {c.status for c in live.values()} == {"PAUSED"}


def test_unanswered_items_are_sent_again_alone(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(campaign_fault("timeout", RETARGETING, times=1))
    clock, changes, outcomes = pause_all(box, tmp_path)
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    sent = [e for e in items(box)]
    assert len(batches(box)) == 2
    assert len(sent) == len(changes) + 1  # only the unanswered item went again
    assert [e.status for e in sent].count("null") == 1
    assert clock.sleeps == [1.0]  # the retry policy's first back-off, on the injected clock


def test_null_items_from_a_partial_failure(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="meta",
            method="batch",
            match={"resource": "adset", "id": "120210000001103"},
            message="null",
            times=1,
        )
    )
    writer = connect(box, tmp_path)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    outcomes = writer.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert len(batches(box)) == 2
    assert box.meta.accounts[LAKESIDE].adsets["120210000001103"].status == "PAUSED"


def test_items_that_never_answer_fail_after_the_attempts(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(
        FaultRule(
            kind="timeout",
            platform="meta",
            method="update_object",
            match={"resource": "campaign", "id": RETARGETING},
        )
    )
    writer = connect(box, tmp_path)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    outcomes = {o.change_id: o for o in writer.apply(changes, MemoryJournal())}
    failed = [o for o in outcomes.values() if o.status == OutcomeStatus.FAILED]
    assert len(failed) == 1 and RETARGETING in failed[0].change_id
    assert "no answer" in failed[0].message
    assert len(batches(box)) == 4  # RetryPolicy(attempts=4)


def test_item_server_errors_retry_then_fail_with_their_reason(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(
        FaultRule(
            kind="internal",
            platform="meta",
            method="update_object",
            match={"resource": "adset", "id": "120210000001101"},
        )
    )
    clock = FakeClock()
    writer = connect(box, tmp_path, clock=clock)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    failed = [o for o in writer.apply(changes, MemoryJournal()) if o.status == OutcomeStatus.FAILED]
    assert [o.change_id for o in failed] == [f"meta:{LAKESIDE}:adset:120210000001101:status"]
    assert "(1) An unknown error occurred" in failed[0].message
    assert clock.sleeps == [1.0, 2.0, 4.0]  # exponential: no usage header names a time


# --- planning ---------------------------------------------------------------------------------


def test_pause_plan_leaves_budgets_and_inactive_objects_alone(box: Sandbox, tmp_path: Path) -> None:
    reader = connect(box, tmp_path, read_only=True)
    draft = reader.plan("pause_campaigns", {}, reader.read_state(manifest()), "meta-pause")
    assert {c.field for c in draft.changes} == {"status"}
    assert BUDGET_NOTE in draft.notes
    by_type: dict[str, set[str]] = {}
    for c in draft.changes:
        by_type.setdefault(c.entity_type, set()).add(c.entity_id)
        assert (c.before, c.after) == ("ACTIVE", "PAUSED")
    assert by_type["campaign"] == {PROSPECTING, RETARGETING, "120210000000103"}
    # ACTIVE ad sets, also under the already PAUSED campaign; none under the ARCHIVED one
    assert by_type["adset"] == {
        "120210000001101",
        "120210000001103",
        "120210000001104",
        "120210000001105",
    }


def test_only_rules_that_can_restart_spend_are_disabled(box: Sandbox, tmp_path: Path) -> None:
    writer = connect(box, tmp_path)
    state = writer.read_state(manifest())
    draft = writer.plan("disable_rules", {}, state, "meta-disable-rules")
    assert {c.entity_id: c.after for c in draft.changes} == {
        "238400000000001": "DISABLED",
        "238400000000002": "DISABLED",
    }
    assert any("only notifies" in n for n in draft.notes)
    assert any("only pauses" in n for n in draft.notes)
    writer.apply(draft.changes, MemoryJournal())
    rules = box.meta.accounts[LAKESIDE].rules
    assert {r.id: r.status for r in rules.values()} == {
        "238400000000001": "DISABLED",
        "238400000000002": "DISABLED",
        "238400000000003": "ENABLED",
        "238400000000004": "ENABLED",
    }
    fresh = connect(box, tmp_path, read_only=True).read_state(manifest())
    assert writer.verify("disable_rules", {}, fresh).status == CheckStatus.PASS


def _rule(kind: str, amount: float | None = None, target: bool = False) -> MetaRule:
    return MetaRule("1", "r", "ENABLED", kind, amount, target)


@pytest.mark.parametrize(
    "rule,disabled",
    [
        (_rule("UNPAUSE"), True),
        (_rule("CHANGE_BUDGET", 20), True),
        (_rule("CHANGE_CAMPAIGN_BUDGET", 500), True),
        (_rule("CHANGE_BUDGET", -30), False),
        (_rule("CHANGE_BID", 10), True),
        (_rule("CHANGE_BID", -10), False),
        (_rule("CHANGE_BID", None), True),
        (_rule("CHANGE_BUDGET", 0, target=True), True),
        (_rule("REBALANCE_BUDGET"), True),
        (_rule("ROTATE"), True),
        (_rule("NOTIFICATION"), False),
        (_rule("PING_ENDPOINT"), False),
        (_rule("PAUSE"), False),
        (_rule("UPDATE_LAX_BUDGET"), True),
    ],
    ids=lambda v: v if isinstance(v, bool) else f"{v.execution_type}:{v.change_amount}",
)
def test_rule_risk(rule: MetaRule, disabled: bool) -> None:
    assert (rule_risk(rule) is not None) == disabled


def test_independent_batches_go_out_together_each_journaled(tmp_path: Path) -> None:
    with Sandbox({"meta": many_campaigns(260)}) as sandbox:
        writer = connect(sandbox, tmp_path)  # up to ten batches in flight
        state = writer.read_state(manifest())
        reads = len(sandbox.log.entries("meta"))
        changes = plan(writer, state, "pause_campaigns")
        journal = MemoryJournal()
        outcomes = writer.apply(changes, journal)
        assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
        assert [o.change_id for o in outcomes] == [c.id for c in changes]
        # settled on read_state's read: no list read again, only the six batches
        sent = sandbox.log.entries("meta")[reads:]
        assert [e.method for e in sent if e.service == "graph"] == ["batch"] * 6
        assert len(items(sandbox)) == 260 and writer.calls["write"] == 6
        # the stand-in counted every item once, the batch calls themselves not (Graph's rule)
        assert sandbox.meta.accounts[LAKESIDE].calls.count() == reads + 260
        for start in range(0, 260, 50):  # each batch: its intents before any of its outcomes
            batch = changes[start : start + 50]
            assert max(journal.order.index(f"intent:{c.id}") for c in batch) < min(
                journal.order.index(f"outcome:{c.id}") for c in batch
            )
        live = sandbox.meta.accounts[LAKESIDE].campaigns
        assert {c.status for c in live.values()} == {"PAUSED"}


# --- guards -----------------------------------------------------------------------------------


def test_tenant_guard_mismatch_sends_nothing_else(box: Sandbox, tmp_path: Path) -> None:
    reader = connect(box, tmp_path)
    with pytest.raises(TenantMismatch, match="Lakeside Powersports"):
        reader.read_state(manifest(expected_name="Lakeside Marine"))
    assert [e.method for e in box.log.entries("meta")] == ["get_account"]
    assert box.log.mutating() == []


def test_tenant_guard_holds_on_every_read_of_a_connector(box: Sandbox, tmp_path: Path) -> None:
    writer = connect(box, tmp_path)
    writer.read_state(manifest())
    box.meta.accounts[LAKESIDE].name = "Lakeside Marine"  # the account now is someone else's
    with pytest.raises(TenantMismatch, match="Lakeside Marine"):
        writer.read_state(manifest())  # the edges went alongside the node this time
    # and the next read of the account reads its node alone first again
    reads = len(box.log.entries("meta"))
    with pytest.raises(TenantMismatch):
        writer.read_state(manifest())
    assert [e.method for e in box.log.entries("meta")[reads:]] == ["get_account"]
    assert box.log.mutating() == []


def test_read_only_connector_cannot_send_any_write(box: Sandbox, tmp_path: Path) -> None:
    reader = connect(box, tmp_path, read_only=True)
    state = reader.read_state(manifest())
    changes = plan(reader, state, "pause_campaigns", "disable_rules", "remove_agency")
    assert len(changes) == 10
    for subset in (
        [c for c in changes if c.entity_type == "agency"],
        [c for c in changes if c.entity_type != "agency"],
    ):
        with pytest.raises(DryRunViolation, match="nothing was sent"):
            reader.apply(subset, MemoryJournal())
    assert box.log.mutating() == []
    assert {e.method for e in box.log.entries("meta")} <= {
        "get_account",
        "list_campaigns",
        "list_adsets",
        "list_rules",
        "list_agencies",
    }
    assert reader.calls["write"] == 0


def test_wrong_app_secret_is_an_auth_error(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADOFFBOARD_TEST_META_WRONG_SECRET", "not-the-app-secret-7731")
    reader = connect(
        box, tmp_path, read_only=True, app_secret="env:ADOFFBOARD_TEST_META_WRONG_SECRET"
    )
    with pytest.raises(AuthError, match="appsecret_proof") as caught:
        reader.read_state(manifest())
    assert "not-the-app-secret-7731" not in str(caught.value)
    assert [e.detail for e in box.log.entries("meta")] == ["authentication"] * 2


def test_unreachable_endpoint_error_carries_no_secret(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADOFFBOARD_TEST_META_TOKEN2", "EAAG-token-never-printed-81f")
    reader = connect(
        box,
        tmp_path,
        read_only=True,
        endpoint="http://127.0.0.1:9",
        access_token="env:ADOFFBOARD_TEST_META_TOKEN2",
    )
    with pytest.raises(TransientError) as caught:
        reader.read_state(manifest())
    assert "EAAG-token-never-printed-81f" not in str(caught.value)
    assert "appsecret_proof" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# --- re-reads before writing -------------------------------------------------------------------


@pytest.mark.parametrize("reread", [True, False], ids=["phase-read", "apply-reads"])
def test_drift_and_already_are_not_written(box: Sandbox, tmp_path: Path, reread: bool) -> None:
    writer = connect(box, tmp_path)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    live = box.meta.accounts[LAKESIDE]
    live.campaigns[PROSPECTING].status = "PAUSED"  # someone paused it: already done
    live.campaigns[RETARGETING].status = "ARCHIVED"  # someone archived it: drift
    if reread:  # the engine reads the phase's state right before it applies
        writer.read_state(manifest())
    else:  # applied by a connector that has read nothing: apply reads for itself
        writer = connect(box, tmp_path)
    outcomes = {o.change_id: o for o in writer.apply(changes, MemoryJournal())}
    by_entity = {c.entity_id: outcomes[c.id] for c in changes}
    assert by_entity[PROSPECTING].status == OutcomeStatus.ALREADY
    assert by_entity[RETARGETING].status == OutcomeStatus.DRIFT
    assert "ARCHIVED" in by_entity[RETARGETING].message
    assert live.campaigns[RETARGETING].status == "ARCHIVED"
    assert sum(1 for e in items(box)) == len(changes) - 2


def test_item_error_is_mapped_to_its_ad_set(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="meta",
            match={"resource": "adset", "id": "120210000001104"},
            message="(#100) Cannot pause an ad set in review",
        )
    )
    writer = connect(box, tmp_path)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    outcomes = writer.apply(changes, MemoryJournal())
    failed = [o for o in outcomes if o.status == OutcomeStatus.FAILED]
    assert [o.change_id for o in failed] == [f"meta:{LAKESIDE}:adset:120210000001104:status"]
    assert "adset 120210000001104" in failed[0].message and "in review" in failed[0].message
    assert failed[0].request_id


def test_pages_follow_the_cursor(box: Sandbox, tmp_path: Path) -> None:
    reader = connect(box, tmp_path, read_only=True, page_size=2)
    state = reader.read_state(manifest())
    assert len(state.campaigns) == 5 and len(state.adsets) == 6 and len(state.rules) == 4
    pages = [e.method for e in box.log.entries("meta")].count("list_campaigns")
    assert pages == 3


# --- removing the agency ----------------------------------------------------------------------


def test_remove_agency_then_the_account_is_unreachable(box: Sandbox, tmp_path: Path) -> None:
    writer = connect(box, tmp_path)
    state = writer.read_state(manifest())
    changes = plan(writer, state, "remove_agency")
    assert [(c.entity_id, c.after, c.phase.value) for c in changes] == [(AGENCY, None, "access")]
    assert changes[0].before == {
        "access_status": "CONFIRMED",
        "permitted_tasks": ["MANAGE", "ADVERTISE", "ANALYZE"],
    }
    journal = MemoryJournal()
    outcomes = writer.apply(changes, journal)
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED]
    assert journal.order == [f"intent:{changes[0].id}", f"outcome:{changes[0].id}"]
    assert box.log.mutating()[-1].method == "remove_agency"
    assert AGENCY not in box.meta.accounts[LAKESIDE].agencies

    reader = connect(box, tmp_path, read_only=True)
    fresh = reader.read_state(manifest())
    assert fresh.reachable is False
    assert reader.verify("remove_agency", {}, fresh).status == CheckStatus.PASS
    assert reader.plan("pause_campaigns", {}, fresh, "p").manual_items  # cannot check: said so

    writes = len(box.log.mutating())
    again = connect(box, tmp_path).apply(changes, MemoryJournal())
    assert [o.status for o in again] == [OutcomeStatus.ALREADY]
    assert len(box.log.mutating()) == writes


def test_lost_access_without_removal_is_an_auth_error(box: Sandbox, tmp_path: Path) -> None:
    # The agency still lists the account among its clients, yet cannot read it: a real access
    # problem, not a finished removal.
    box.meta.accounts[LAKESIDE].token_blocked = True
    with pytest.raises(AuthError, match="100/33"):
        connect(box, tmp_path, read_only=True).read_state(manifest())
    assert [e.method for e in box.log.entries("meta")] == ["get_account", "list_client_accounts"]


def test_account_the_agency_never_had_plans_a_manual_check(box: Sandbox, tmp_path: Path) -> None:
    reader = connect(box, tmp_path, read_only=True)
    state = reader.read_state(manifest(ad_account_id="act_5550001"))
    assert state.reachable is False
    draft = reader.plan("pause_campaigns", {}, state, "meta-pause")
    assert draft.changes == () and "act_5550001" in draft.manual_items[0]


def test_usage_rising_with_calls_slows_the_reads(tmp_path: Path) -> None:
    section = {**load_scenario(DEMO_SCENARIO)["meta"], "call_capacity": 8}
    with Sandbox({"meta": section}) as sandbox:
        clock = FakeClock()
        reader = connect(sandbox, tmp_path, read_only=True, clock=clock, page_size=2)
        reader.read_state(manifest())
        # a read's edges go out at once while usage is low, so how far the first read's pauses
        # grow depends on the order its answers arrive in; a second read, made with usage at
        # the limit, goes one request at a time, each after the longest pause
        reader.read_state(manifest())
        assert clock.sleeps and clock.sleeps == sorted(clock.sleeps)  # growing with the usage
        assert max(clock.sleeps) == 60.0


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override,problem",
    [
        ({"app_secret": "shh-literal"}, "must be a reference"),
        ({"access_token": "EAAG-literal"}, "must be a reference"),
        ({"agency_business_id": "agency"}, "should match pattern"),
        ({"page_size": 10_000}, "less than or equal to 5000"),
    ],
    ids=["literal-secret", "literal-token", "business-id", "page-size"],
)
def test_settings_are_validated(override: dict[str, Any], problem: str) -> None:
    from pydantic import ValidationError

    from adoffboard.connectors.meta.declaration import MetaSettings

    good = {
        "app_id": "880000000000001",
        "app_secret": "env:META_APP_SECRET",
        "access_token": "keyring:adoffboard/meta",
        "agency_business_id": AGENCY,
    }
    MetaSettings.model_validate(good)
    with pytest.raises(ValidationError, match=problem):
        MetaSettings.model_validate({**good, **override})


def test_sandbox_credentials_only_on_loopback(box: Sandbox, tmp_path: Path) -> None:
    reader = connect(box, tmp_path, read_only=True, endpoint="https://graph.facebook.com")
    with pytest.raises(AuthError, match="loopback"):
        reader.read_state(manifest())
    assert len(box.log) == 0


def test_no_secret_reaches_a_debug_log_or_a_global(
    box: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    monkeypatch.setenv("ADOFFBOARD_TEST_META_SECRET3", "app-secret-for-logs-2291")
    monkeypatch.setenv("ADOFFBOARD_TEST_META_TOKEN3", "EAAG-token-for-logs-5512")
    box.meta.app_secret = "app-secret-for-logs-2291"
    caplog.set_level(logging.DEBUG)
    writer = connect(
        box,
        tmp_path,
        app_secret="env:ADOFFBOARD_TEST_META_SECRET3",
        access_token="env:ADOFFBOARD_TEST_META_TOKEN3",
    )
    writer.apply(plan(writer, writer.read_state(manifest()), "pause_campaigns"), MemoryJournal())
    assert "GET /v26.0/act_1029384756" in caplog.text  # urllib3 did log the request lines
    assert "EAAG-token-for-logs-5512" not in caplog.text
    assert "app-secret-for-logs-2291" not in caplog.text
    assert "appsecret_proof=[secure]" in caplog.text
    # no process-global default API, and the SDK's class-level endpoint is untouched
    assert FacebookAdsApi.get_default_api() is None
    assert FacebookSession.GRAPH == "https://graph.facebook.com"


# --- no two ad sets of one campaign in a batch -----------------------------------------------------


def _adset(n: int, campaign: str, kind: str = "adset") -> Change:
    return Change(
        f"c{n}", "s", "meta", LAKESIDE, kind, f"{n}", f"{kind} {n}", "status", "ACTIVE", "PAUSED",
        "ACTIVE", "PAUSED", resource=f"{n} (campaign {campaign})" if kind == "adset" else f"{n}",
    )  # fmt: skip


def test_graph_batches_keep_the_order_and_one_adset_per_campaign() -> None:
    campaigns = [_adset(n, "", "campaign") for n in range(3)]
    adsets = [_adset(100 + n, campaign) for n, campaign in enumerate("AAAABBBC" * 3)]
    batches = graph_batches([*campaigns, *adsets], 5)
    assert sorted(c.id for b in batches for c in b) == sorted(c.id for c in campaigns + adsets)
    for batch in batches:
        assert len(batch) <= 5
        of = [c.resource.split("campaign ")[1] for c in batch if c.entity_type == "adset"]
        assert len(of) == len(set(of)), [c.resource for c in batch]
    place = {c.id: n for n, batch in enumerate(batches) for c in batch}
    # no ad set goes before a campaign that came before it; each campaign's ad sets stay in order
    assert max(place[c.id] for c in campaigns) <= min(place[c.id] for c in adsets)
    for campaign in "ABC":
        mine = [place[c.id] for c in adsets if c.resource.endswith(f"campaign {campaign})")]
        assert mine == sorted(mine)
    # plain slices when nothing restricts them
    assert [len(b) for b in graph_batches(campaigns * 4, 5)] == [5, 5, 2]


def test_a_campaigns_ad_sets_are_paused_in_separate_batches(tmp_path: Path) -> None:
    section = many_campaigns(3)
    account = section["ad_accounts"][0]
    first, second, third = (c["id"] for c in account["campaigns"])
    account["adsets"] = [
        {"id": str(120_600_000_000_000 + n), "name": f"Ad set {n}", "campaign_id": cid}
        | {"status": "ACTIVE"}
        for n, cid in enumerate([first] * 4 + [second] * 2 + [third])
    ]
    with Sandbox({"meta": section}) as sandbox:
        writer = connect(sandbox, tmp_path)
        changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
        assert sum(1 for c in changes if c.entity_type == "adset") == 7
        outcomes = writer.apply(changes, MemoryJournal())
        assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}, outcomes
        live = sandbox.meta.accounts[LAKESIDE]
        assert {s.status for s in live.adsets.values()} == {"PAUSED"}
        assert writer.calls["write"] == 4  # the first campaign's four ad sets need four batches
