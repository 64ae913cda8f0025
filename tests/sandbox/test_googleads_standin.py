"""The Google Ads stand-in, exercised only through the official SDK (google-ads 34, API v26).

The client is built exactly as the product builds it (TLS with the sandbox certificate trusted
through GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, OAuth credentials with a fixed token, login-customer-id
of the agency MCC), so what passes here is what the connector will meet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.ads.googleads.errors import GoogleAdsException
from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure
from google.api_core import protobuf_helpers
from googleads_sdk import (
    DEMO,
    HARBOR,
    LAKESIDE,
    MANAGER,
    Sandbox,
    T,
    budget_op,
    campaign_op,
    code,
    codes,
    demo_sandbox,
    link_op,
    make_client,
    mutate,
    path,
    statuses,
    stream,
)

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog, load_scenario
from adoffboard.sandbox.googleads import GoogleAdsStandIn


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with demo_sandbox(tmp_path) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def big() -> Any:
    """One account with 10,050 campaigns: more than one Search page / SearchStream batch."""
    standin = GoogleAdsStandIn(
        GoogleAdsStandIn.generate_accounts(10_050), RequestLog(), FaultPlan()
    )
    port = standin.start()
    yield standin, make_client(port)
    standin.stop(grace=None)


# ---- scenario ------------------------------------------------------------------------------


def test_demo_scenario_loads_both_clients() -> None:
    scenario = load_scenario(DEMO)
    assert scenario["faults"] == []
    state = GoogleAdsStandIn(scenario["google_ads"], RequestLog(), FaultPlan()).state
    assert state.customer(HARBOR).currency_code == "CAD"
    assert state.client_link(MANAGER, HARBOR).status == "ACTIVE"
    assert state.budget(LAKESIDE, "5003").total_amount_micros == 900_000_000
    assert state.budget(LAKESIDE, "5003").amount_micros is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda g: g["accounts"][0].update(customer_id="123-456-7890"), "10 digits"),
        (lambda g: g["accounts"][0]["campaigns"][0].update(budget_id="9999"), "not a budget"),
        (lambda g: g["accounts"][0]["budgets"][0].update(total_amount_micros=5), "DAILY budget"),
        (lambda g: g["accounts"][0]["campaigns"][0].update(chanel="SEARCH"), "unknown key"),
        (lambda g: g["accounts"][0].update(currency_code="XYZ"), "currency_code"),
        (lambda g: g["accounts"][0]["campaigns"][0].update(status="LIVE"), "'LIVE' is not one of"),
        (lambda g: g["accounts"][0]["links"][0].update(manager_id="9999999999"), "managers"),
    ],
)
def test_bad_scenarios_are_refused_clearly(mutate: Any, message: str) -> None:
    scenario = load_scenario(DEMO)["google_ads"]
    mutate(scenario)
    with pytest.raises(ValueError, match=message):
        GoogleAdsStandIn(scenario, RequestLog(), FaultPlan())


# ---- GAQL ----------------------------------------------------------------------------------


def test_select_with_joins_sets_only_selected_fields(sb: Sandbox) -> None:
    rows = stream(
        sb,
        """
        SELECT campaign.id, campaign.status, campaign.advertising_channel_type,
               campaign_budget.amount_micros, campaign_budget.period, customer.currency_code
        FROM campaign
        WHERE campaign.status IN (ENABLED, PAUSED) AND campaign.advertising_channel_type != VIDEO
        ORDER BY campaign.id DESC""",
    )
    assert [r.campaign.id for r in rows] == [9009, 9008, 9005, 9004, 9003, 9002, 9001]
    first = rows[0]
    assert first.campaign.status.name == "PAUSED"
    assert first.campaign_budget.amount_micros == 12_000_000
    assert first.customer.currency_code == "USD"
    # Resource names come back like the real API's; unselected fields stay unset.
    assert first.campaign.resource_name == f"customers/{LAKESIDE}/campaigns/9009"
    assert first.campaign_budget.resource_name == f"customers/{LAKESIDE}/campaignBudgets/5007"
    assert "name" not in first.campaign and "id" not in first.campaign_budget
    custom = next(r for r in rows if r.campaign.id == 9004)
    assert custom.campaign_budget.period.name == "CUSTOM_PERIOD"
    assert "amount_micros" not in custom.campaign_budget  # unset, not 0


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("campaign.name LIKE 'Search%'", {9001, 9002, 9008}),
        ("campaign.name NOT LIKE '%Brand%'", {9002, 9003, 9004, 9005, 9007, 9009}),
        ("campaign.id BETWEEN 9002 AND 9004", {9002, 9003, 9004}),
        ("campaign.id >= 9008", {9008, 9009}),
        ("campaign.status = 'REMOVED'", {9007}),
        ("campaign.experiment_type = EXPERIMENT", {9008}),
        ("campaign.advertising_channel_type NOT IN (SEARCH, VIDEO)", {9003, 9005, 9009}),
        ("campaign_budget.total_amount_micros IS NOT NULL", {9004}),
        ("campaign_budget.explicitly_shared = TRUE", {9002, 9003}),
        ("campaign.campaign_budget = 'customers/1234567890/campaignBudgets/5001'", {9001, 9008}),
    ],
)
def test_where_operators(sb: Sandbox, where: str, expected: set[int]) -> None:
    rows = stream(sb, f"SELECT campaign.id FROM campaign WHERE {where}")
    assert {r.campaign.id for r in rows} == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELEC campaign.id FROM campaign", "query_error.EXPECTED_SELECT"),
        ("SELECT campaign.id campaign", "query_error.EXPECTED_FROM"),
        ("SELECT campaign.nope FROM campaign", "query_error.UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.id FROM ad_group", "query_error.BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        (
            "SELECT campaign.id FROM campaign_budget",
            "query_error.PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.id = 1 OR campaign.id = 2",
            "query_error.UNEXPECTED_INPUT",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.status = ENABLD",
            "query_error.BAD_ENUM_CONSTANT",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.name = 'open",
            "query_error.STRING_NOT_TERMINATED",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.id LIKE '9%'",
            "query_error.OPERATOR_FIELD_MISMATCH",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.id IN ()",
            "query_error.PROHIBITED_EMPTY_LIST_IN_CONDITION",
        ),
        ("SELECT campaign.id FROM campaign WHERE campaign.id = 'x'", "query_error.BAD_VALUE"),
        ("SELECT campaign.id FROM campaign ORDER campaign.id", "query_error.EXPECTED_BY"),
        ("SELECT campaign.id FROM campaign LIMIT 0", "query_error.LIMIT_VALUE_TOO_LOW"),
        ("SELECT campaign.id FROM campaign LIMIT 5 extra", "query_error.UNEXPECTED_INPUT"),
        ("SELECT campaign.id FROM campaign WHERE campaign.id # 3", "query_error.BAD_SYMBOL"),
    ],
)
def test_bad_queries_are_invalid_argument(sb: Sandbox, query: str, expected: str) -> None:
    with pytest.raises(GoogleAdsException) as info:
        stream(sb, query)
    assert info.value.error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert codes(info.value) == [expected]
    assert info.value.request_id and info.value.failure.request_id == info.value.request_id


def test_offboarding_reads(sb: Sandbox) -> None:
    budgets = {
        r.campaign_budget.id: r.campaign_budget
        for r in stream(
            sb,
            """
        SELECT campaign_budget.id, campaign_budget.explicitly_shared,
               campaign_budget.reference_count, campaign_budget.period, campaign_budget.status,
               campaign_budget.type
        FROM campaign_budget""",
        )
    }
    assert budgets[5002].explicitly_shared and budgets[5002].reference_count == 2
    assert budgets[5001].reference_count == 2  # the experiment shares its base's budget
    assert budgets[5006].reference_count == 0  # only a REMOVED campaign uses it
    assert budgets[5001].type_.name == "STANDARD"

    currencies = {
        r.currency_constant.code: r.currency_constant
        for r in stream(
            sb,
            """
        SELECT currency_constant.code, currency_constant.billable_unit_micros,
               currency_constant.symbol,
               currency_constant.demand_gen_info.minimum_budget_per_day_micros
        FROM currency_constant
        WHERE currency_constant.code IN ('USD', 'CAD', 'EUR', 'GBP', 'AUD', 'JPY', 'INR', 'MXN')
        """,
        )
    }
    assert len(currencies) == 8
    assert currencies["USD"].billable_unit_micros == 10_000
    assert currencies["JPY"].billable_unit_micros == 1_000_000
    assert currencies["USD"].demand_gen_info.minimum_budget_per_day_micros == 5_000_000

    (customer,) = stream(
        sb,
        "SELECT customer.id, customer.currency_code, customer.time_zone, "
        "customer.manager FROM customer",
        HARBOR,
    )
    assert (customer.customer.id, customer.customer.currency_code) == (2345678901, "CAD")
    assert customer.customer.time_zone == "America/Toronto" and not customer.customer.manager

    links = stream(
        sb,
        "SELECT customer_client_link.client_customer, "
        "customer_client_link.manager_link_id, customer_client_link.status, "
        "customer_client_link.hidden FROM customer_client_link",
        MANAGER,
    )
    assert {
        (r.customer_client_link.client_customer, r.customer_client_link.manager_link_id)
        for r in links
    } == {(f"customers/{LAKESIDE}", 700001), (f"customers/{HARBOR}", 700002)}
    (mlink,) = stream(
        sb,
        "SELECT customer_manager_link.manager_customer, "
        "customer_manager_link.status FROM customer_manager_link",
    )
    assert mlink.customer_manager_link.manager_customer == f"customers/{MANAGER}"
    assert mlink.customer_manager_link.resource_name == (
        f"customers/{LAKESIDE}/customerManagerLinks/{MANAGER}~700001"
    )

    clients = stream(
        sb,
        "SELECT customer_client.client_customer, customer_client.level, "
        "customer_client.descriptive_name, customer_client.hidden "
        "FROM customer_client WHERE customer_client.level <= 1 "
        "ORDER BY customer_client.level",
        MANAGER,
    )
    assert [(c.customer_client.level, c.customer_client.descriptive_name) for c in clients] == [
        (0, "Summit Digital Agency MCC"),
        (1, "Lakeside Powersports"),
        (1, "Harbor Marine Center"),
    ]


# ---- paging over 10,000 rows -----------------------------------------------------------------


def test_search_pages_and_stream_batches_over_10000_rows(big: Any) -> None:
    standin, client = big
    ga = client.get_service("GoogleAdsService")
    cid = "3000000001"
    query = "SELECT campaign.id, campaign.status FROM campaign"

    request = client.get_type("SearchGoogleAdsRequest")
    request.customer_id, request.query = cid, query
    request.search_settings.return_total_results_count = True
    pager = ga.search(request=request, timeout=T)
    pages = list(pager.pages)
    assert [len(p.results) for p in pages] == [10_000, 50]
    assert pages[0].next_page_token and not pages[1].next_page_token
    assert pages[0].total_results_count == 10_050
    assert len({r.campaign.id for p in pages for r in p.results}) == 10_050

    batches = list(ga.search_stream(customer_id=cid, query=query + " LIMIT 10005", timeout=T))
    assert [len(b.results) for b in batches] == [10_000, 5]
    assert all(b.request_id == batches[0].request_id for b in batches)
    assert list(batches[0].field_mask.paths) == ["campaign.id", "campaign.status"]

    request.page_token = "not-a-token"
    with pytest.raises(GoogleAdsException) as info:
        ga.search(request=request, timeout=T)
    assert codes(info.value) == ["request_error.INVALID_PAGE_TOKEN"]


def test_generate_accounts_mix() -> None:
    scenario = GoogleAdsStandIn.generate_accounts(5_000, accounts=2)
    state = GoogleAdsStandIn(scenario, RequestLog(), FaultPlan()).state
    assert len(state.customers) == 3
    for cid in ("3000000001", "3000000002"):
        camps = state.campaigns[cid].values()
        assert len(camps) == 5_000
        channels = {c.channel for c in camps}
        assert {"SEARCH", "PERFORMANCE_MAX", "DEMAND_GEN", "VIDEO"} <= channels
        assert {c.status for c in camps} == {"ENABLED", "PAUSED", "REMOVED"}
        periods = {b.period for b in state.budgets[cid].values()}
        assert periods == {"DAILY", "CUSTOM_PERIOD"}


# ---- mutations -------------------------------------------------------------------------------


def test_pause_and_budget_change_in_one_mutate(sb: Sandbox) -> None:
    c = sb.client
    response = sb.ga.mutate(
        customer_id=LAKESIDE,
        mutate_operations=[
            campaign_op(c, LAKESIDE, "9001"),
            budget_op(c, LAKESIDE, "5001", amount_micros=10_000),
        ],
        timeout=T,
    )
    results = response.mutate_operation_responses
    assert results[0].campaign_result.resource_name == f"customers/{LAKESIDE}/campaigns/9001"
    assert results[1].campaign_budget_result.resource_name == (
        f"customers/{LAKESIDE}/campaignBudgets/5001"
    )
    assert sb.state.campaign(LAKESIDE, "9001").status == "PAUSED"
    assert sb.state.budget(LAKESIDE, "5001").amount_micros == 10_000
    api_events = [e for e in sb.state.change_events(LAKESIDE) if e.client_type == "GOOGLE_ADS_API"]
    assert [(e.resource_type, e.changed_fields) for e in api_events] == [
        ("CAMPAIGN", ("status",)),
        ("CAMPAIGN_BUDGET", ("amount_micros",)),
    ]
    (entry,) = sb.log.mutating("google_ads")
    assert (entry.method, entry.operations, entry.account, entry.status) == (
        "Mutate",
        2,
        LAKESIDE,
        "OK",
    )


def test_update_mask_is_honoured_exactly(sb: Sandbox) -> None:
    c = sb.client
    # Only masked fields change: a status in the update without "status" in the mask is ignored.
    op = campaign_op(c, LAKESIDE, "9002", status="PAUSED", mask=())
    op.campaign_operation.update.name = "Renamed"
    op.campaign_operation.update_mask.paths.append("name")
    sb.ga.mutate(customer_id=LAKESIDE, mutate_operations=[op], timeout=T)
    assert sb.state.campaign(LAKESIDE, "9002").status == "ENABLED"
    assert sb.state.campaign(LAKESIDE, "9002").name == "Renamed"

    links = c.get_service("CustomerClientLinkService")
    links.mutate_customer_client_link(
        customer_id=MANAGER, operation=link_op(c, hidden=True), timeout=T
    )
    assert sb.state.client_link(MANAGER, LAKESIDE).hidden is True
    # protobuf_helpers.field_mask drops default values: "unhide" would be an empty mask.
    unhide = link_op(c, hidden=False, mask=())
    auto = protobuf_helpers.field_mask(None, type(unhide.update).pb(unhide.update))
    assert list(auto.paths) == ["resource_name"]
    unhide.update_mask.paths.extend(auto.paths)
    links.mutate_customer_client_link(customer_id=MANAGER, operation=unhide, timeout=T)
    assert sb.state.client_link(MANAGER, LAKESIDE).hidden is True  # a silent no-op
    # An explicit mask with hidden=False does unhide.
    links.mutate_customer_client_link(
        customer_id=MANAGER, operation=link_op(c, hidden=False), timeout=T
    )
    assert sb.state.client_link(MANAGER, LAKESIDE).hidden is False
    # An empty mask is refused and changes nothing.
    with pytest.raises(GoogleAdsException) as info:
        links.mutate_customer_client_link(
            customer_id=MANAGER, operation=link_op(c, hidden=True, mask=()), timeout=T
        )
    assert codes(info.value) == ["field_mask_error.FIELD_MASK_MISSING"]
    assert sb.state.client_link(MANAGER, LAKESIDE).hidden is False


@pytest.mark.parametrize(
    ("customer", "budget", "values", "expected"),
    [
        (LAKESIDE, "5001", {"amount_micros": 15_000}, "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"),
        (LAKESIDE, "5001", {"amount_micros": 0}, "MONEY_AMOUNT_LESS_THAN_CURRENCY_MINIMUM_CPC"),
        (LAKESIDE, "5001", {"amount_micros": -10_000}, "NEGATIVE_MONEY_AMOUNT"),
        (
            LAKESIDE,
            "5001",
            {"total_amount_micros": 10_000},
            "TOTAL_BUDGET_AMOUNT_MUST_BE_UNSET_FOR_BUDGET_PERIOD_DAILY",
        ),
        (
            LAKESIDE,
            "5003",
            {"amount_micros": 10_000},
            "BUDGET_AMOUNT_MUST_BE_UNSET_FOR_CUSTOM_BUDGET_PERIOD",
        ),
        (LAKESIDE, "5004", {"amount_micros": 10_000}, "BUDGET_BELOW_PER_DAY_MINIMUM"),
        (HARBOR, "6004", {"amount_micros": 5_000_000}, "BUDGET_BELOW_PER_DAY_MINIMUM"),  # CAD 7
        (LAKESIDE, "5003", {"total_amount_micros": 10_000}, None),
        (LAKESIDE, "5004", {"amount_micros": 5_000_000}, None),
        (LAKESIDE, "5002", {"amount_micros": 10_000}, None),
    ],
)
def test_budget_rules(
    sb: Sandbox, customer: str, budget: str, values: dict[str, int], expected: str | None
) -> None:
    before = dataclasses.replace(sb.state.budget(customer, budget))
    op = budget_op(sb.client, customer, budget, **values)
    if expected is None:
        sb.ga.mutate(customer_id=customer, mutate_operations=[op], timeout=T)
        for name, value in values.items():
            assert getattr(sb.state.budget(customer, budget), name) == value
        return
    with pytest.raises(GoogleAdsException) as info:
        sb.ga.mutate(customer_id=customer, mutate_operations=[op], timeout=T)
    assert codes(info.value) == [f"campaign_budget_error.{expected}"]
    assert sb.state.budget(customer, budget) == before
    error = info.value.failure.errors[0]
    assert path(error)[:2] == [("mutate_operations", 0), ("campaign_budget_operation", None)]
    if expected == "BUDGET_BELOW_PER_DAY_MINIMUM":
        details = error.details.budget_per_day_minimum_error_details
        assert details.minimum_budget_amount_micros == (
            7_000_000 if customer == HARBOR else 5_000_000
        )


@pytest.mark.parametrize(
    ("campaign", "expected"),
    [
        ("9006", "operation_access_denied_error.MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT"),
        ("9007", "operation_access_denied_error.OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE"),
        ("9008", "campaign_error.CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN"),
    ],
)
def test_video_removed_and_trial_campaigns_are_refused(
    sb: Sandbox, campaign: str, expected: str
) -> None:
    before = sb.state.campaign(LAKESIDE, campaign).status
    with pytest.raises(GoogleAdsException) as info:
        sb.ga.mutate(
            customer_id=LAKESIDE,
            mutate_operations=[campaign_op(sb.client, LAKESIDE, campaign)],
            timeout=T,
        )
    assert codes(info.value) == [expected]
    assert sb.state.campaign(LAKESIDE, campaign).status == before


def test_atomic_mutate_changes_nothing_when_one_operation_fails(sb: Sandbox) -> None:
    c = sb.client
    ops = [
        campaign_op(c, LAKESIDE, "9001"),
        campaign_op(c, LAKESIDE, "9002"),
        campaign_op(c, LAKESIDE, "9006"),
        budget_op(c, LAKESIDE, "5001", amount_micros=10_000),
    ]
    with pytest.raises(GoogleAdsException) as info:
        sb.ga.mutate(customer_id=LAKESIDE, mutate_operations=ops, timeout=T)
    (error,) = info.value.failure.errors
    assert path(error)[0] == ("mutate_operations", 2)
    assert statuses(sb, "9001", "9002") == ["ENABLED", "ENABLED"]
    assert sb.state.budget(LAKESIDE, "5001").amount_micros == 25_000_000
    assert not [e for e in sb.state.change_events(LAKESIDE) if e.client_type == "GOOGLE_ADS_API"]


def test_partial_failure_applies_the_others(sb: Sandbox) -> None:
    c = sb.client
    ops = [
        campaign_op(c, LAKESIDE, "9001"),
        campaign_op(c, LAKESIDE, "9006"),
        campaign_op(c, LAKESIDE, "9002"),
    ]
    response = mutate(sb, LAKESIDE, ops, partial_failure=True)
    assert statuses(sb, "9001", "9002", "9006") == ["PAUSED", "PAUSED", "ENABLED"]
    results = response.mutate_operation_responses
    assert [r.campaign_result.resource_name.rsplit("/", 1)[-1] for r in results] == [
        "9001",
        "",
        "9002",
    ]
    status = response.partial_failure_error
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    failure = GoogleAdsFailure.deserialize(status.details[0].value)
    (error,) = failure.errors
    assert code(error) == "operation_access_denied_error.MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT"
    assert path(error)[0] == ("mutate_operations", 1)


@pytest.mark.parametrize("partial", [False, True])
def test_partial_failure_fault_rule(sb: Sandbox, partial: bool) -> None:
    sb.faults.add(
        FaultRule(
            kind="partial_failure",
            method="Mutate",
            match={"resource": "campaign_budget", "id": "5001"},
        )
    )
    c = sb.client
    ops = [
        campaign_op(c, LAKESIDE, "9003"),
        budget_op(c, LAKESIDE, "5001", amount_micros=10_000),
        budget_op(c, LAKESIDE, "5002", amount_micros=10_000),
    ]
    if not partial:
        with pytest.raises(GoogleAdsException) as info:
            sb.ga.mutate(customer_id=LAKESIDE, mutate_operations=ops, timeout=T)
        assert codes(info.value) == ["database_error.CONCURRENT_MODIFICATION"]
        assert statuses(sb, "9003") == ["ENABLED"]
        assert sb.state.budget(LAKESIDE, "5002").amount_micros == 80_000_000
        return
    response = mutate(sb, LAKESIDE, ops, partial_failure=True)
    assert response.partial_failure_error.code == 3
    assert statuses(sb, "9003") == ["PAUSED"]
    assert sb.state.budget(LAKESIDE, "5001").amount_micros == 25_000_000
    assert sb.state.budget(LAKESIDE, "5002").amount_micros == 10_000


def test_validate_only_changes_nothing(sb: Sandbox) -> None:
    response = mutate(sb, LAKESIDE, [campaign_op(sb.client, LAKESIDE, "9001")], validate_only=True)
    assert not response.mutate_operation_responses
    assert statuses(sb, "9001") == ["ENABLED"]
    with pytest.raises(GoogleAdsException):
        mutate(sb, LAKESIDE, [campaign_op(sb.client, LAKESIDE, "9006")], validate_only=True)
