"""Pure planning for Google Ads, as tables: state in, changes out, no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from adoffboard.connectors.base import triage
from adoffboard.connectors.google_ads.planning import (
    AccountState,
    Budget,
    Campaign,
    ClientLink,
    plan_budgets,
    plan_hide,
    plan_pause,
    plan_unlink,
    verify_budgets,
    verify_pause,
)
from adoffboard.models import CheckStatus, OutcomeStatus, Phase

VISIBLE = ClientLink("7", "ACTIVE", False)


def state(campaigns, budgets, currency="USD", unit=10_000, link=VISIBLE):
    return AccountState(
        customer_id="1234567890",
        manager_id="1112223333",
        name="Dealer",
        currency=currency,
        billable_unit_micros=unit,
        campaigns=tuple(campaigns),
        budgets={b.id: b for b in budgets},
        link=link,
        read_at=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    )


def camp(cid, status="ENABLED", channel="SEARCH", exp="BASE", budget="b1"):
    return Campaign(cid, f"c{cid}", status, channel, exp, budget)


def daily(bid, micros, shared=False, refs=1):
    return Budget(bid, f"budget {bid}", "DAILY", micros, 0, shared, refs)


def custom(bid, total):
    return Budget(bid, f"budget {bid}", "CUSTOM_PERIOD", 0, total, False, 1)


@pytest.mark.parametrize(
    "campaigns,paused,manual,notes",
    [
        ([camp("1")], ["1"], 0, 0),
        ([camp("1", status="PAUSED")], [], 0, 0),
        ([camp("1", channel="VIDEO")], [], 1, 0),
        ([camp("1", exp="EXPERIMENT")], [], 0, 1),
        ([camp("1", exp="DRAFT")], [], 0, 1),
        (
            [camp("1"), camp("2", channel="PERFORMANCE_MAX"), camp("3", channel="DEMAND_GEN")],
            ["1", "2", "3"],
            0,
            0,
        ),
    ],
    ids=[
        "enabled",
        "already-paused",
        "video-is-manual",
        "experiment-skipped",
        "draft-skipped",
        "every-base-type",
    ],
)
def test_plan_pause(campaigns, paused, manual, notes):
    draft = plan_pause(state(campaigns, [daily("b1", 25_000_000)]), "s")
    assert [c.entity_id for c in draft.changes] == paused
    assert all(c.before == "ENABLED" and c.after == "PAUSED" for c in draft.changes)
    assert len(draft.manual_items) == manual
    assert len(draft.notes) == notes


@pytest.mark.parametrize(
    "currency,unit,budget,channel,expected",
    [
        ("USD", 10_000, daily("b1", 25_000_000), "SEARCH", ("amount_micros", 10_000)),
        ("JPY", 1_000_000, daily("b1", 5_000_000_000), "SEARCH", ("amount_micros", 1_000_000)),
        ("INR", 10_000, daily("b1", 900_000_000), "SEARCH", ("amount_micros", 10_000)),
        ("USD", 10_000, daily("b1", 40_000_000), "DEMAND_GEN", ("amount_micros", 5_000_000)),
        ("USD", 10_000, custom("b1", 900_000_000), "SEARCH", ("total_amount_micros", 10_000)),
        ("USD", 10_000, daily("b1", 10_000), "SEARCH", None),
        ("USD", 10_000, daily("b1", 4_000_000), "DEMAND_GEN", None),
    ],
    ids=[
        "usd-cent",
        "jpy-yen",
        "inr",
        "demand-gen-5usd",
        "custom-period-total",
        "at-floor",
        "below-demand-gen-floor",
    ],
)
def test_plan_budgets_floor(currency, unit, budget, channel, expected):
    draft = plan_budgets(state([camp("1", channel=channel)], [budget], currency, unit), "s")
    if expected is None:
        assert draft.changes == ()
    else:
        (change,) = draft.changes
        assert (change.field, change.after) == expected
        assert change.before == budget.value


def test_shared_budget_changes_once():
    campaigns = [camp("1"), camp("2"), camp("3", channel="PERFORMANCE_MAX")]
    draft = plan_budgets(state(campaigns, [daily("b1", 80_000_000, shared=True, refs=3)]), "s")
    assert len(draft.changes) == 1
    assert any("shared" in n for n in draft.notes)


def test_video_only_budget_is_left_to_the_video_task_and_unknown_currency_is_manual():
    draft = plan_budgets(state([camp("1", channel="VIDEO")], [daily("b1", 10_000_000)]), "s")
    assert draft.changes == () and draft.manual_items == ()
    assert "budget" in plan_pause(state([camp("1", channel="VIDEO")], []), "s").manual_items[0]
    draft = plan_budgets(
        state([camp("1", channel="DEMAND_GEN")], [daily("b1", 10_000_000)], currency="SEK"), "s"
    )
    assert draft.changes == () and "Demand Gen" in draft.manual_items[0]


@pytest.mark.parametrize(
    "link,planner,expected",
    [
        (ClientLink("7", "ACTIVE", False), plan_hide, (False, True, Phase.VISIBILITY)),
        (ClientLink("7", "ACTIVE", True), plan_hide, None),
        (ClientLink("7", "ACTIVE", True), plan_unlink, ("ACTIVE", "INACTIVE", Phase.ACCESS)),
        (ClientLink("7", "INACTIVE", True), plan_unlink, None),
        (None, plan_hide, None),
    ],
    ids=["hide", "already-hidden", "unlink", "already-unlinked", "no-link"],
)
def test_plan_links(link, planner, expected):
    draft = planner(state([], [], link=link), "s")
    if expected is None:
        assert draft.changes == ()
    else:
        (change,) = draft.changes
        assert (change.before, change.after, change.phase) == expected
        assert change.resource.startswith("customers/")


def test_converged_state_plans_nothing_and_verifies():
    converged = state(
        [camp("1", status="PAUSED")], [daily("b1", 10_000)], link=ClientLink("7", "ACTIVE", True)
    )
    assert plan_pause(converged, "s").changes == ()
    assert plan_budgets(converged, "s").changes == ()
    assert plan_hide(converged, "s").changes == ()
    assert verify_pause(converged).status == CheckStatus.PASS
    assert verify_budgets(converged).status == CheckStatus.PASS


def test_verify_reports_leftovers():
    live = state([camp("1"), camp("2", channel="VIDEO")], [daily("b1", 20_000_000)])
    assert verify_pause(live).status == CheckStatus.FAIL
    only_video = state(
        [camp("2", channel="VIDEO"), camp("1", status="PAUSED")], [daily("b1", 10_000)]
    )
    assert verify_pause(only_video).status == CheckStatus.MANUAL_PENDING
    assert verify_budgets(live).status == CheckStatus.FAIL


@pytest.mark.parametrize(
    "live,expected",
    [("ENABLED", None), ("PAUSED", OutcomeStatus.ALREADY), ("REMOVED", OutcomeStatus.DRIFT)],
    ids=["send", "already", "drift"],
)
def test_triage(live, expected):
    (change,) = plan_pause(state([camp("1")], [daily("b1", 25_000_000)]), "s").changes
    to_send, settled = triage([change], {change.id: live})
    if expected is None:
        assert to_send == [change] and settled == []
    else:
        assert to_send == [] and settled[0].status == expected
