"""Reports and change summaries from the Google Ads stand-in, through the official SDK.

The queries have the shapes of Google's examples for google-ads-python
(misc/campaign_report_to_csv.py, basic_operations/get_campaigns.py,
account_management/get_change_summary.py); no code of theirs is copied. The stand-in's accounts
have no traffic, so metrics are zero: a report that does not select a segment has one row per
entity with zero metrics, a segmented one has no rows
(https://developers.google.com/google-ads/api/docs/reporting/zero-metrics).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.ads.googleads.errors import GoogleAdsException
from googleads_sdk import LAKESIDE, MANAGER, Sandbox, T, codes, demo_sandbox, stream

from adoffboard.sandbox.gaql.evaluate import _during_days

ALL_CAMPAIGNS = [9001, 9002, 9003, 9004, 9005, 9006, 9007, 9008, 9009]


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with demo_sandbox(tmp_path) as sandbox:
        yield sandbox


def search(sb: Sandbox, query: str, customer: str = LAKESIDE) -> list[Any]:
    request = sb.client.get_type("SearchGoogleAdsRequest")
    request.customer_id, request.query = customer, query
    return list(sb.ga.search(request=request, timeout=T))


def refused(sb: Sandbox, query: str, customer: str = LAKESIDE) -> list[str]:
    with pytest.raises(GoogleAdsException) as info:
        stream(sb, query, customer)
    return codes(info.value)


# ---- metrics and segments ----------------------------------------------------------------------


def test_campaign_report_segmented_by_date_has_no_rows_without_traffic(sb: Sandbox) -> None:
    query = """
      SELECT customer.descriptive_name, segments.date, campaign.name,
             campaign.contains_eu_political_advertising,
             metrics.impressions, metrics.clicks, metrics.cost_micros
      FROM campaign
      WHERE segments.date DURING LAST_7_DAYS
      ORDER BY metrics.impressions DESC
      LIMIT 25"""
    assert stream(sb, query) == []
    between = (
        "SELECT campaign.id, segments.date, metrics.clicks FROM campaign "
        "WHERE segments.date BETWEEN '2026-01-01' AND '20260131'"
    )
    assert stream(sb, between) == []
    assert search(sb, between) == []


def test_unsegmented_report_has_a_row_per_campaign_with_zero_metrics(sb: Sandbox) -> None:
    query = """
      SELECT campaign.id, campaign.contains_eu_political_advertising, metrics.impressions,
             metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.ctr,
             metrics.average_cpc
      FROM campaign
      WHERE segments.date DURING LAST_30_DAYS
      ORDER BY campaign.id"""
    rows = stream(sb, query)
    assert [r.campaign.id for r in rows] == ALL_CAMPAIGNS
    for row in rows:
        m = row.metrics
        assert (m.impressions, m.clicks, m.cost_micros) == (0, 0, 0)
        assert (m.conversions, m.ctr, m.average_cpc) == (0.0, 0.0, 0.0)
        assert "impressions" in m and "average_cpc" in m  # present, not merely unset
        assert "date" not in row.segments
        assert row.campaign.contains_eu_political_advertising.name == (
            "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING"
        )
    # A predicate on a metric filters rows: with no traffic, nothing is left.
    assert stream(sb, "SELECT campaign.id FROM campaign WHERE metrics.impressions > 0") == []
    customer = stream(sb, "SELECT customer.id, metrics.cost_micros FROM customer")
    assert [(r.customer.id, r.metrics.cost_micros) for r in customer] == [(int(LAKESIDE), 0)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "SELECT campaign.id, segments.date, metrics.clicks FROM campaign",
            "query_error.EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        (
            "SELECT campaign.id, segments.date FROM campaign WHERE segments.date > '2026-01-01'",
            "query_error.EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_99_DAYS",
            "query_error.INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date = '2026/01/01'",
            "query_error.INVALID_DATE_FORMAT",
        ),
        (
            "SELECT customer_client_link.status, metrics.clicks FROM customer_client_link",
            "query_error.PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
        ),
        (
            "SELECT customer_manager_link.status FROM customer_manager_link "
            "WHERE segments.date DURING TODAY",
            "query_error.PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
        ),
        ("SELECT metrics.no_such_metric FROM campaign", "query_error.UNRECOGNIZED_FIELD"),
    ],
)
def test_bad_report_queries(sb: Sandbox, query: str, expected: str) -> None:
    assert refused(sb, query) == [expected]


def test_metrics_are_refused_for_a_manager(sb: Sandbox) -> None:
    query = "SELECT customer.id, metrics.clicks FROM customer"
    assert refused(sb, query, MANAGER) == ["query_error.REQUESTED_METRICS_FOR_MANAGER"]
    assert [r.customer.id for r in stream(sb, "SELECT customer.id FROM customer", MANAGER)] == [
        int(MANAGER)
    ]


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("TODAY", "2026-12-09", "2026-12-09"),
        ("YESTERDAY", "2026-12-08", "2026-12-08"),
        ("LAST_7_DAYS", "2026-12-02", "2026-12-08"),
        ("LAST_14_DAYS", "2026-11-25", "2026-12-08"),
        ("LAST_30_DAYS", "2026-11-09", "2026-12-08"),
        ("LAST_BUSINESS_WEEK", "2026-11-30", "2026-12-04"),
        ("THIS_MONTH", "2026-12-01", "2026-12-31"),
        ("LAST_MONTH", "2026-11-01", "2026-11-30"),
        ("THIS_WEEK_SUN_TODAY", "2026-12-06", "2026-12-09"),
        ("THIS_WEEK_MON_TODAY", "2026-12-07", "2026-12-09"),
        ("LAST_WEEK_SUN_SAT", "2026-11-29", "2026-12-05"),
        ("LAST_WEEK_MON_SUN", "2026-11-30", "2026-12-06"),
    ],
)
def test_predefined_date_ranges(name: str, first: str, last: str) -> None:
    """The documented ranges on Wednesday 2026-12-09
    (https://developers.google.com/google-ads/api/docs/query/date-ranges)."""
    today = dt.date(2026, 12, 9)
    assert _during_days(name, today) == (dt.date.fromisoformat(first), dt.date.fromisoformat(last))


def test_last_month_across_a_year() -> None:
    assert _during_days("LAST_MONTH", dt.date(2027, 1, 15)) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 31),
    )


# ---- change_status -----------------------------------------------------------------------------

SUMMARY = """
    SELECT change_status.resource_name, change_status.last_change_date_time,
           change_status.resource_type, change_status.campaign, change_status.ad_group,
           change_status.resource_status, change_status.ad_group_ad,
           change_status.ad_group_criterion, change_status.campaign_criterion,
           change_status.campaign_budget
    FROM change_status
    WHERE change_status.last_change_date_time DURING LAST_14_DAYS
    ORDER BY change_status.last_change_date_time
    LIMIT 10000"""


def test_change_summary_lists_each_changed_resource_once(sb: Sandbox) -> None:
    now = dt.datetime.now(dt.UTC)
    camp = f"customers/{LAKESIDE}/campaigns/9001"
    budget = f"customers/{LAKESIDE}/campaignBudgets/5002"
    removed = f"customers/{LAKESIDE}/campaigns/9007"

    def change(name: str, days_ago: float, **kw: str) -> None:
        kind = "CAMPAIGN_BUDGET" if "Budgets" in name else "CAMPAIGN"
        when = now - dt.timedelta(days=days_ago)
        sb.state.add_change_event(LAKESIDE, resource_type=kind, resource_name=name, when=when, **kw)

    change(camp, 20)
    assert search(sb, SUMMARY) == []  # older than the range
    change(camp, 3)
    change(budget, 2)
    change(camp, 1.5)
    change(removed, 1, operation="REMOVE")
    # LAST_14_DAYS excludes today: a change made now is not in this summary.
    sb.state.set_campaign_status(LAKESIDE, "9002", "PAUSED")
    rows = search(sb, SUMMARY)
    summary = [
        (
            r.change_status.resource_type.name,
            r.change_status.resource_status.name,
            r.change_status.campaign,
            r.change_status.campaign_budget,
        )
        for r in rows
    ]
    assert summary == [
        ("CAMPAIGN_BUDGET", "CHANGED", "", budget),
        ("CAMPAIGN", "CHANGED", camp, ""),
        ("CAMPAIGN", "REMOVED", removed, ""),
    ]
    first = rows[0].change_status
    assert first.resource_name.startswith(f"customers/{LAKESIDE}/changeStatus/")
    assert len({r.change_status.resource_name for r in rows}) == 3
    assert "ad_group" not in first
    today = "WHERE change_status.last_change_date_time DURING TODAY LIMIT 10"
    (paused,) = search(sb, SUMMARY.split("WHERE")[0] + today)
    assert paused.change_status.campaign == f"customers/{LAKESIDE}/campaigns/9002"


@pytest.mark.parametrize(
    ("where", "limit", "expected"),
    [
        ("", "LIMIT 100", "CHANGE_DATE_RANGE_INFINITE"),
        (
            "WHERE change_status.last_change_date_time > '2026-01-01'",
            "LIMIT 1",
            "CHANGE_DATE_RANGE_INFINITE",
        ),
        ("WHERE change_status.last_change_date_time DURING LAST_7_DAYS", "", "LIMIT_NOT_SPECIFIED"),
        (
            "WHERE change_status.last_change_date_time DURING LAST_7_DAYS",
            "LIMIT 10001",
            "INVALID_LIMIT_CLAUSE",
        ),
    ],
)
def test_change_status_requirements(sb: Sandbox, where: str, limit: str, expected: str) -> None:
    """A finite last_change_date_time range and LIMIT <= 10,000
    (https://developers.google.com/google-ads/api/docs/change-status)."""
    query = f"SELECT change_status.resource_name FROM change_status {where} {limit}"
    assert refused(sb, query) == [f"change_status_error.{expected}"]


def test_change_status_starts_at_most_90_days_back(sb: Sandbox) -> None:
    today = dt.date.today()
    query = (
        "SELECT change_status.resource_name FROM change_status "
        "WHERE change_status.last_change_date_time BETWEEN '{}' AND '{}' LIMIT 10"
    )
    old = query.format(today - dt.timedelta(days=120), today)
    assert refused(sb, old) == ["change_status_error.START_DATE_TOO_OLD"]
    # Within 90 days (further back than change_event allows) is accepted.
    assert stream(sb, query.format(today - dt.timedelta(days=60), today)) == []
