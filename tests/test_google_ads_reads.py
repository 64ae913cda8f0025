"""Google Ads reads at the wire: one pass is two queries sent together, and apply settles its
changes against the read made right before it (or reads itself when there was none)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from harness_google_ads import HARNESS
from test_contract import SECRETS, MemoryJournal, connect, plan_all

from adoffboard.clock import FakeClock
from adoffboard.connectors.base import StepContext
from adoffboard.models import CheckStatus, OutcomeStatus
from adoffboard.sandbox import Sandbox

CID = "1234567890"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


def test_a_pass_is_the_campaign_query_and_the_link_query(sandbox: Sandbox, tmp_path: Path) -> None:
    reader = connect(HARNESS, sandbox, tmp_path, read_only=True)
    reader.read_state(HARNESS.manifest())  # the first also reads the currency constants, once
    seen = len(sandbox.log)
    state = reader.read_state(HARNESS.manifest())
    calls = sandbox.log.entries("google_ads")[seen:]
    assert [c.method for c in calls] == ["SearchStream", "SearchStream"]
    assert sorted(c.detail.split(":")[0] for c in calls) == ["campaign", "customer_client_link"]
    assert state.name == "Lakeside Powersports" and state.currency == "USD"
    assert state.billable_unit_micros == 10_000 and state.link is not None
    assert {c.id for c in state.campaigns} >= {"9001", "9002"}


def test_apply_right_after_read_state_sends_only_writes(sandbox: Sandbox, tmp_path: Path) -> None:
    writer = connect(HARNESS, sandbox, tmp_path, read_only=False)
    changes = plan_all(writer, HARNESS, writer.read_state(HARNESS.manifest()))
    seen = len(sandbox.log)
    outcomes = writer.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    calls = sandbox.log.entries("google_ads")[seen:]
    assert [c.method for c in calls] == ["Mutate", "MutateCustomerClientLink"]


def test_apply_without_a_fresh_read_reads_first_and_leaves_drift_alone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    planner = connect(HARNESS, sandbox, tmp_path, read_only=True)
    changes = plan_all(planner, HARNESS, planner.read_state(HARNESS.manifest()))
    sandbox.google_ads.state.set_budget_amount(CID, "5001", 30_000_000)  # someone edits it
    writer = connect(HARNESS, sandbox, tmp_path, read_only=False)
    writer.read_state(HARNESS.manifest())
    writer.apply([c for c in changes if c.entity_type == "manager_link"], MemoryJournal())
    # the read above was taken by the first apply: this one reads again before it decides
    seen = len(sandbox.log)
    outcomes = writer.apply(
        [c for c in changes if c.entity_type != "manager_link"], MemoryJournal()
    )
    by_id = {o.change_id: o.status for o in outcomes}
    assert by_id[f"google_ads:{CID}:campaign_budget:5001:amount_micros"] == OutcomeStatus.DRIFT
    assert sandbox.google_ads.state.budget(CID, "5001").amount_micros == 30_000_000
    methods = [c.method for c in sandbox.log.entries("google_ads")[seen:]]
    assert methods == ["SearchStream", "Mutate"]


def test_an_account_without_campaigns_is_read_from_customer(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.google_ads.state.campaigns[CID].clear()  # no campaign row carries the account's facts
    reader = connect(HARNESS, sandbox, tmp_path, read_only=True)
    seen = len(sandbox.log)
    state = reader.read_state(HARNESS.manifest())
    details = [c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:]]
    assert details[-1] == "customer"
    assert state.campaigns == () and state.name == "Lakeside Powersports"
    assert reader.verify("pause_campaigns", {}, state).detail == "no enabled campaigns (0 checked)"


def test_script_checks_of_one_pass_share_one_change_history_query(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # the change history answers for the last 30 days of the stand-in's own clock
    clock = FakeClock(dt.datetime.now(dt.UTC))
    reader = connect(HARNESS, sandbox, tmp_path, read_only=True, clock=clock)
    state = reader.read_state(HARNESS.manifest())
    seen = len(sandbox.log)
    first = reader.verify("scripts_quiet", {}, state)
    second = reader.verify("scripts_quiet", {}, state)
    assert first == second and first.status == CheckStatus.PASS
    assert len(sandbox.log.entries("google_ads")[seen:]) == 1
    clock.sleep(60)
    fresh = reader.read_state(HARNESS.manifest())  # a new pass asks again
    seen = len(sandbox.log)
    reader.verify("scripts_quiet", {}, fresh)
    assert [c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:]] == [
        "change_event"
    ]


def test_a_read_for_a_scripts_check_sends_its_change_history_query_beside_the_others(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A runbook with a scripts check: once the account's time zone is known (an earlier
    read), a read for a verification pass sends the change-history query of the check made
    from it (here the check before the removals: no run start) together with the others, and
    that check asks nothing more; a check with another start asks its own query."""
    clock = FakeClock(dt.datetime.now(dt.UTC))
    uses = (("scripts_quiet", {}),)
    reader = connect(HARNESS, sandbox, tmp_path, read_only=True, clock=clock, uses=uses)
    reader.read_state(HARNESS.manifest())  # learns the time zone (and the currency constants)
    seen = len(sandbox.log)
    reader.read_state(HARNESS.manifest())  # a read for no verification pass (an apply's)
    sent = sorted(c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:])
    assert sent == ["campaign", "customer_client_link"]
    seen = len(sandbox.log)
    reader.expect_checks(None)  # the check before the removals: no run start
    state = reader.read_state(HARNESS.manifest())
    sent = sorted(c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:])
    assert sent == ["campaign", "change_event", "customer_client_link"]
    seen = len(sandbox.log)
    verdict = reader.verify("scripts_quiet", {}, state)
    assert sandbox.log.entries("google_ads")[seen:] == []
    alone = connect(HARNESS, sandbox, tmp_path, read_only=True, clock=clock)
    alone.read_state(HARNESS.manifest())
    assert alone.verify("scripts_quiet", {}, state) == verdict  # what its own query answers
    since = StepContext(since=clock.now() - dt.timedelta(hours=1))
    seen = len(sandbox.log)
    reader.verify("scripts_quiet", {}, state, since)
    assert [c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:]] == [
        "change_event"
    ]


def test_a_read_for_no_scripts_check_sends_no_change_history_query(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    reader = connect(HARNESS, sandbox, tmp_path, read_only=True)
    reader.read_state(HARNESS.manifest())
    seen = len(sandbox.log)
    reader.expect_checks(None)
    reader.read_state(HARNESS.manifest())
    sent = sorted(c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:])
    assert sent == ["campaign", "customer_client_link"]


def test_a_verify_pass_with_a_run_start_sends_its_own_query_beside_the_read(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The verification pass after a run judges the scripts since the run's start: the read
    made for it sends that query, once, and the check asks nothing more."""
    clock = FakeClock(dt.datetime.now(dt.UTC))
    uses = (("scripts_quiet", {}),)
    reader = connect(HARNESS, sandbox, tmp_path, read_only=True, clock=clock, uses=uses)
    reader.read_state(HARNESS.manifest())
    since = clock.now() - dt.timedelta(hours=1)
    seen = len(sandbox.log)
    reader.expect_checks(since)
    state = reader.read_state(HARNESS.manifest())
    reader.verify("scripts_quiet", {}, state, StepContext(since=since))
    sent = sorted(c.detail.split(":")[0] for c in sandbox.log.entries("google_ads")[seen:])
    assert sent == ["campaign", "change_event", "customer_client_link"]
