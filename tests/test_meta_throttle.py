"""The Meta connector's throttling against the Graph stand-in, through the unmodified
facebook-business SDK: the waits Meta states in its usage headers, the documented holds when it
states none, and the cap on the total wait."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from meta_support import (
    LAKESIDE,
    PROSPECTING,
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
from adoffboard.connectors.meta.client import throttle_wait, usage_pct
from adoffboard.errors import (
    ThrottledTooLong,
    TransientError,
)
from adoffboard.models import OutcomeStatus
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import FaultRule, load_scenario
from adoffboard.sandbox.meta_graph import NO_USAGE


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox({"meta": load_scenario(DEMO_SCENARIO)["meta"]}) as sandbox:
        yield sandbox


# --- throttling -------------------------------------------------------------------------------


def test_top_level_rate_limit_waits_the_minutes_meta_gives(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(
        FaultRule(
            kind="resource_exhausted", platform="meta", method="batch", retry_delay_s=300, times=1
        )
    )
    clock = FakeClock()
    writer = connect(box, tmp_path, clock=clock)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    outcomes = writer.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert clock.sleeps == [300.0]  # estimated_time_to_regain_access: 5 minutes
    assert [e.status for e in batches(box)] == ["400", "200"]


@pytest.mark.parametrize("code", ["80004", "613", "17"])
def test_rate_limit_inside_a_batch_item(box: Sandbox, tmp_path: Path, code: str) -> None:
    box.faults.add(
        campaign_fault("resource_exhausted", PROSPECTING, retry_delay_s=120, times=1, message=code)
    )
    clock, changes, outcomes = pause_all(box, tmp_path)
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert clock.sleeps == [120.0]
    assert len(batches(box)) == 2
    assert len(items(box)) == len(changes) + 1  # only the throttled item went again


def test_a_throttle_in_one_of_the_batches_in_flight_is_waited_once(tmp_path: Path) -> None:
    with Sandbox({"meta": many_campaigns(260)}) as sandbox:
        throttled = str(120_500_000_000_000 + 130)  # in the third of six batches
        sandbox.faults.add(
            campaign_fault("resource_exhausted", throttled, retry_delay_s=120, times=1)
        )
        clock, _, outcomes = pause_all(sandbox, tmp_path)
        assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
        assert clock.sleeps == [120.0]
        assert len(batches(sandbox)) == 7  # six, and the throttled item again alone
        assert len(items(sandbox)) == 261


def test_high_usage_sends_one_request_at_a_time_each_after_a_pause(tmp_path: Path) -> None:
    section = many_campaigns(260)
    section["ad_accounts"][0]["usage_pct"] = 80  # past slow_down_at_pct (75) from the start
    with Sandbox({"meta": section}) as sandbox:
        clock, _, outcomes = pause_all(sandbox, tmp_path)
        assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
        sent = [e for e in sandbox.log.entries("meta") if e.service == "graph"]
        assert len(sent) == 5 + 6  # the node, four edges; six batches
        # every request after the first answer waited for the usage the one before reported:
        # none went out alongside another
        assert len(clock.sleeps) == len(sent) - 1 and min(clock.sleeps) >= 1.0


def test_throttle_longer_than_the_cap_stops_and_says_when_to_resume(
    box: Sandbox, tmp_path: Path
) -> None:
    box.faults.add(
        FaultRule(
            kind="resource_exhausted",
            platform="meta",
            method="get_account",
            retry_delay_s=3600,
            times=1,
        )
    )
    clock = FakeClock(dt.datetime(2026, 11, 21, 15, 0, 30, tzinfo=dt.UTC))
    reader = connect(box, tmp_path, read_only=True, clock=clock, max_throttle_wait_s=600)
    with pytest.raises(ThrottledTooLong) as stopped:
        reader.read_state(manifest())
    assert clock.sleeps == []  # a shorter wait would only be refused again
    assert stopped.value.exit_code == TransientError.exit_code
    # an hour from 15:00:30, to the whole minute, never before
    assert "resume the run after 2026-11-21 16:01 UTC" in str(stopped.value)
    assert "max_throttle_wait_s (10 min in all" in str(stopped.value)


def headerless_throttle(method: str, code: str, times: int | None = None) -> FaultRule:
    """Graph's throttle `code` on `method` (the batch call, or its items' operation), answered
    without any usage header."""
    return FaultRule(
        kind="resource_exhausted",
        platform="meta",
        method=method,
        message=code,
        match=dict(NO_USAGE),
        times=times,
    )


# Meta's rate-limiting pages: without a usage header, the ad account's call limit (17, 613 and
# the Business Use Case codes such as 80004) holds 300 s; an app's limit (4) a rolling hour.
DOCUMENTED_HOLD = {"17": 300.0, "613": 300.0, "80004": 300.0, "80000": 300.0, "4": 3600.0}
LIMIT = {code: "the ad account's call limit" for code in DOCUMENTED_HOLD} | {
    "4": "a call limit counted over a rolling hour"
}
BODY = {
    "17": "(#17) User request limit reached",
    "613": "(#613) Calls to this api have exceeded the rate limit.",
    "4": "(#4) Application request limit reached",
    "80004": "(#80004) There have been too many calls to this ad-account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
BODY["80000"] = BODY["80004"].replace("80004", "80000")


@pytest.mark.parametrize("code", sorted(DOCUMENTED_HOLD))
def test_whole_batch_throttled_without_usage_header_waits_the_documented_hold(
    box: Sandbox, tmp_path: Path, code: str
) -> None:
    box.faults.add(headerless_throttle("batch", code, times=1))
    clock, lines = FakeClock(), []
    writer = connect(box, tmp_path, clock=clock, progress=lines.append)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    outcomes = writer.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}  # converged
    assert [e.status for e in batches(box)] == ["400", "200"]
    assert clock.sleeps == [DOCUMENTED_HOLD[code]]
    minutes = f"{DOCUMENTED_HOLD[code] / 60:.0f} min"
    assert [line for line in lines if "no usage header" in line] == [
        f"Meta: ({code}/2446079) {BODY[code]}; no usage header: Meta documents {minutes} for "
        f"{LIMIT[code]} - retry 1 in {minutes}"
    ]
    assert writer.calls["throttled_s"] == DOCUMENTED_HOLD[code]
    live = box.meta.accounts[LAKESIDE].campaigns
    assert "ACTIVE" not in {c.status for c in live.values()}


def test_every_item_of_a_batch_throttled_without_usage_header(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(headerless_throttle("update_object", "80004", times=7))
    clock, lines = FakeClock(), []
    writer = connect(box, tmp_path, clock=clock, progress=lines.append)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    assert len(changes) == 7
    outcomes = writer.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert clock.sleeps == [300.0]  # not the 1 s back-off of an unanswered item
    assert len(batches(box)) == 2 and len(items(box)) == 14  # every item went again, once
    assert lines == [
        "Meta: 7 batch item(s) throttled (no usage header: Meta documents 5 min for the ad "
        "account's call limit) - again in 5 min"
    ]


def test_throttled_past_the_cap_stops_the_batch_with_the_time_to_resume(
    box: Sandbox, tmp_path: Path
) -> None:
    box.faults.add(headerless_throttle("update_object", "17"))
    clock = FakeClock()  # 2026-11-21 15:00 UTC
    writer = connect(box, tmp_path, clock=clock, max_throttle_wait_s=600)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    with pytest.raises(ThrottledTooLong, match=r"resume the run after 2026-11-21 15:15 UTC"):
        writer.apply(changes, MemoryJournal())
    assert clock.sleeps == [300.0, 300.0]  # then a third hold would pass the 10 min allowed
    assert writer.calls["throttled_s"] == 600


def test_throttled_until_attempts_run_out(box: Sandbox, tmp_path: Path) -> None:
    box.faults.add(FaultRule(kind="resource_exhausted", platform="meta", retry_delay_s=60))
    with pytest.raises(TransientError, match="80004"):
        connect(box, tmp_path, read_only=True).read_state(manifest())


@pytest.mark.parametrize(
    "usage,expected",
    [(90, 36.0), (100, 60.0), (76, 2.4), (50, None)],
    ids=["90pct", "100pct", "76pct", "below"],
)
def test_slows_down_when_usage_nears_the_limit(
    box: Sandbox, tmp_path: Path, usage: int, expected: float | None
) -> None:
    box.meta.accounts[LAKESIDE].usage_pct = usage
    clock = FakeClock()
    reader = connect(box, tmp_path, read_only=True, clock=clock)
    reader.read_state(manifest())
    calls = reader.calls["read"]
    if expected is None:
        assert clock.sleeps == []
    else:  # every request after the first one waits, in proportion to the usage reported
        assert clock.sleeps == pytest.approx([expected] * (calls - 1))


@pytest.mark.parametrize(
    "headers,wait",
    [
        (
            {
                "X-Business-Use-Case-Usage": '{"1": [{"type": "ads_management", "call_count": 100,'
                ' "estimated_time_to_regain_access": 3}]}'
            },
            180.0,
        ),
        (
            {
                "x-business-use-case-usage": '{"1": [{"estimated_time_to_regain_access": 0}]}',
                "X-Ad-Account-Usage": '{"acc_id_util_pct": 100, "reset_time_duration": 45}',
            },
            45.0,
        ),
        ({"X-App-Usage": '{"call_count": 100, "total_time": 20, "total_cputime": 9}'}, None),
        ({}, None),
        ({"X-Business-Use-Case-Usage": "not json"}, None),
    ],
    ids=["buc-minutes", "ad-account-seconds", "app-usage-no-time", "none", "garbage"],
)
def test_throttle_wait_from_headers(headers: dict[str, str], wait: float | None) -> None:
    from requests.structures import CaseInsensitiveDict

    assert throttle_wait(CaseInsensitiveDict(headers)) == wait


def test_usage_pct_takes_the_highest_reading() -> None:
    assert (
        usage_pct(
            {
                "X-App-Usage": '{"call_count": 12, "total_time": 80}',
                "X-Ad-Account-Usage": '{"acc_id_util_pct": 9.5}',
            }
        )
        == 80.0
    )
