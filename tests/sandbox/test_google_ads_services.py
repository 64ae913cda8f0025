"""The Google Ads stand-in's per-resource services, met through the official SDK as Google's own
examples and other tools call them.

Request shapes follow Google's examples for google-ads-python (basic_operations/update_campaign.py,
remove_campaign.py, account_management/list_accessible_customers.py) and the pause of
getyourguide/sem-emergency-stop (one campaign search per account, then
CampaignService.MutateCampaigns, dry run with validate_only first); no code of theirs is copied.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.ads.googleads.errors import GoogleAdsException
from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure
from google.api_core import exceptions as core_exc
from google.api_core import protobuf_helpers
from googleads_sdk import (
    LAKESIDE,
    MANAGER,
    Sandbox,
    T,
    budget_op,
    campaign_op,
    code,
    codes,
    demo_sandbox,
    make_client,
    path,
    statuses,
    stream,
)

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.googleads import VERSION, GoogleAdsStandIn


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with demo_sandbox(tmp_path) as sandbox:
        yield sandbox


def campaign_operation(sb: Sandbox, campaign_id: str, status: str = "PAUSED") -> Any:
    """A CampaignOperation as Google's update_campaign example builds it: the resource name from
    the service's path helper, the mask from the SDK's field_mask helper."""
    service = sb.client.get_service("CampaignService")
    operation = sb.client.get_type("CampaignOperation")
    campaign = operation.update
    campaign.resource_name = service.campaign_path(LAKESIDE, campaign_id)
    campaign.status = sb.client.enums.CampaignStatusEnum[status]
    sb.client.copy_from(operation.update_mask, protobuf_helpers.field_mask(None, campaign._pb))
    return operation


def mutate_campaigns(sb: Sandbox, operations: list[Any], **flags: Any) -> Any:
    return sb.client.get_service("CampaignService").mutate_campaigns(
        request={"customer_id": LAKESIDE, "operations": operations, **flags}, timeout=T
    )


def mutate_budgets(sb: Sandbox, operations: list[Any], **flags: Any) -> Any:
    return sb.client.get_service("CampaignBudgetService").mutate_campaign_budgets(
        request={"customer_id": LAKESIDE, "operations": operations, **flags}, timeout=T
    )


def budget_operation(sb: Sandbox, budget_id: str, **values: int) -> Any:
    return budget_op(sb.client, LAKESIDE, budget_id, **values).campaign_budget_operation


def api_changes(sb: Sandbox) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [
        (e.resource_type, e.resource_name.rsplit("/", 1)[-1], e.operation, e.changed_fields)
        for e in sb.state.change_events(LAKESIDE)
        if e.client_type == "GOOGLE_ADS_API"
    ]


# ---- CampaignService.MutateCampaigns ---------------------------------------------------------


def test_update_campaign_pauses_and_reads_back(sb: Sandbox) -> None:
    response = mutate_campaigns(sb, [campaign_operation(sb, "9001")])
    assert [r.resource_name for r in response.results] == [f"customers/{LAKESIDE}/campaigns/9001"]
    assert "campaign" not in response.results[0]  # RESOURCE_NAME_ONLY unless asked
    assert statuses(sb, "9001") == ["PAUSED"]
    # The same state GoogleAdsService reads, with the same change history.
    rows = stream(sb, "SELECT campaign.id, campaign.status FROM campaign WHERE campaign.id = 9001")
    assert [r.campaign.status.name for r in rows] == ["PAUSED"]
    assert api_changes(sb) == [("CAMPAIGN", "9001", "UPDATE", ("status",))]
    (entry,) = sb.log.mutating("google_ads")
    assert (entry.service, entry.method, entry.operations, entry.status) == (
        "CampaignService",
        "MutateCampaigns",
        1,
        "OK",
    )
    # The SDK's field_mask helper puts resource_name in the mask too; the API ignores it.
    assert entry.entities == (f"customers/{LAKESIDE}/campaigns/9001:resource_name,status",)


def test_remove_campaign(sb: Sandbox) -> None:
    service = sb.client.get_service("CampaignService")
    operation = sb.client.get_type("CampaignOperation")
    operation.remove = service.campaign_path(LAKESIDE, "9009")
    response = service.mutate_campaigns(customer_id=LAKESIDE, operations=[operation], timeout=T)
    assert response.results[0].resource_name == f"customers/{LAKESIDE}/campaigns/9009"
    assert statuses(sb, "9009") == ["REMOVED"]
    assert api_changes(sb) == [("CAMPAIGN", "9009", "REMOVE", ("status",))]


@pytest.mark.parametrize("partial", [False, True])
def test_campaign_service_has_the_rules_and_atomicity_of_mutate(sb: Sandbox, partial: bool) -> None:
    """VIDEO campaigns are refused as through GoogleAdsService.Mutate; the error's location is
    the per-resource request's `operations[i]`."""
    ops = [campaign_operation(sb, i) for i in ("9001", "9006", "9002")]
    if not partial:
        with pytest.raises(GoogleAdsException) as info:
            mutate_campaigns(sb, ops)
        (error,) = info.value.failure.errors
        assert code(error) == "operation_access_denied_error.MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT"
        assert path(error)[0] == ("operations", 1)
        assert statuses(sb, "9001", "9002", "9006") == ["ENABLED", "ENABLED", "ENABLED"]
        assert api_changes(sb) == []
        return
    response = mutate_campaigns(sb, ops, partial_failure=True)
    assert [r.resource_name.rsplit("/", 1)[-1] for r in response.results] == ["9001", "", "9002"]
    failure = GoogleAdsFailure.deserialize(response.partial_failure_error.details[0].value)
    (error,) = failure.errors
    assert path(error)[0] == ("operations", 1)
    assert statuses(sb, "9001", "9002", "9006") == ["PAUSED", "PAUSED", "ENABLED"]
    assert [c[1] for c in api_changes(sb)] == ["9001", "9002"]


def test_update_campaign_with_network_settings(sb: Sandbox) -> None:
    """Google's update_campaign example also turns off the search network."""
    service = sb.client.get_service("CampaignService")
    operation = sb.client.get_type("CampaignOperation")
    campaign = operation.update
    campaign.resource_name = service.campaign_path(LAKESIDE, "9001")
    campaign.status = sb.client.enums.CampaignStatusEnum.PAUSED
    campaign.network_settings.target_search_network = False
    sb.client.copy_from(operation.update_mask, protobuf_helpers.field_mask(None, campaign._pb))
    # The helper leaves out a False value: the mask names status only ...
    assert list(operation.update_mask.paths) == ["resource_name", "status"]
    operation.update_mask.paths.append("network_settings.target_search_network")  # ... so add it
    response = service.mutate_campaigns(customer_id=LAKESIDE, operations=[operation], timeout=T)
    assert response.results[0].resource_name == f"customers/{LAKESIDE}/campaigns/9001"
    query = (
        "SELECT campaign.status, campaign.network_settings.target_search_network, "
        "campaign.network_settings.target_google_search FROM campaign WHERE campaign.id = 9001"
    )
    (row,) = stream(sb, query)
    settings = row.campaign.network_settings
    assert (row.campaign.status.name, settings.target_search_network) == ("PAUSED", False)
    assert settings.target_google_search is True
    (event,) = [e for e in sb.state.change_events(LAKESIDE) if e.client_type == "GOOGLE_ADS_API"]
    assert event.changed_fields == ("status", "network_settings.target_search_network")
    assert event.new.campaign.network_settings.target_search_network is False
    assert event.old.campaign.network_settings.target_search_network is True


def test_trial_campaigns_and_unmodelled_fields_are_refused(sb: Sandbox) -> None:
    with pytest.raises(GoogleAdsException) as info:
        mutate_campaigns(sb, [campaign_operation(sb, "9008")])
    assert codes(info.value) == ["campaign_error.CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN"]
    # A field the stand-in does not model is refused, not silently ignored.
    operation = campaign_operation(sb, "9001")
    operation.update.tracking_url_template = "{lpurl}?src=ads"
    operation.update_mask.paths.append("tracking_url_template")
    with pytest.raises(GoogleAdsException) as info:
        mutate_campaigns(sb, [operation])
    assert codes(info.value) == ["mutate_error.MUTATE_NOT_ALLOWED"]
    assert statuses(sb, "9001") == ["ENABLED"]


def test_mutable_resource_returns_the_changed_campaign(sb: Sandbox) -> None:
    enum = sb.client.enums.ResponseContentTypeEnum
    response = mutate_campaigns(
        sb, [campaign_operation(sb, "9002")], response_content_type=enum.MUTABLE_RESOURCE
    )
    campaign = response.results[0].campaign
    assert (campaign.id, campaign.status.name, campaign.name) == (
        9002,
        "PAUSED",
        "Search - Inventory",
    )
    assert campaign.campaign_budget == f"customers/{LAKESIDE}/campaignBudgets/5002"
    # GoogleAdsService.Mutate honours the same setting.
    response = sb.ga.mutate(
        request={
            "customer_id": LAKESIDE,
            "mutate_operations": [campaign_op(sb.client, LAKESIDE, "9003")],
            "response_content_type": enum.MUTABLE_RESOURCE,
        },
        timeout=T,
    )
    result = response.mutate_operation_responses[0].campaign_result
    assert (result.campaign.id, result.campaign.status.name) == (9003, "PAUSED")


# ---- CampaignBudgetService.MutateCampaignBudgets ---------------------------------------------


def test_budget_service_sets_the_floor_and_records_the_change(sb: Sandbox) -> None:
    enum = sb.client.enums.ResponseContentTypeEnum
    response = mutate_budgets(
        sb,
        [budget_operation(sb, "5001", amount_micros=10_000)],
        response_content_type=enum.MUTABLE_RESOURCE,
    )
    (result,) = response.results
    assert result.resource_name == f"customers/{LAKESIDE}/campaignBudgets/5001"
    assert (result.campaign_budget.amount_micros, result.campaign_budget.period.name) == (
        10_000,
        "DAILY",
    )
    assert sb.state.budget(LAKESIDE, "5001").amount_micros == 10_000
    assert api_changes(sb) == [("CAMPAIGN_BUDGET", "5001", "UPDATE", ("amount_micros",))]


@pytest.mark.parametrize(
    ("budget", "values", "expected"),
    [
        ("5001", {"amount_micros": 15_000}, "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"),
        ("5004", {"amount_micros": 10_000}, "BUDGET_BELOW_PER_DAY_MINIMUM"),  # Demand Gen
        ("5003", {"amount_micros": 10_000}, "BUDGET_AMOUNT_MUST_BE_UNSET_FOR_CUSTOM_BUDGET_PERIOD"),
    ],
)
def test_budget_rules_are_those_of_mutate(
    sb: Sandbox, budget: str, values: dict[str, int], expected: str
) -> None:
    """The same operation fails the same way through either service."""
    with pytest.raises(GoogleAdsException) as via_service:
        mutate_budgets(sb, [budget_operation(sb, budget, **values)])
    with pytest.raises(GoogleAdsException) as via_mutate:
        sb.ga.mutate(
            customer_id=LAKESIDE,
            mutate_operations=[budget_op(sb.client, LAKESIDE, budget, **values)],
            timeout=T,
        )
    assert (
        codes(via_service.value) == codes(via_mutate.value) == [f"campaign_budget_error.{expected}"]
    )
    assert path(via_service.value.failure.errors[0])[0] == ("operations", 0)
    assert path(via_mutate.value.failure.errors[0])[0] == ("mutate_operations", 0)


def test_budget_validate_only_and_fault_rules(sb: Sandbox) -> None:
    response = mutate_budgets(
        sb, [budget_operation(sb, "5002", amount_micros=10_000)], validate_only=True
    )
    assert not response.results
    assert sb.state.budget(LAKESIDE, "5002").amount_micros == 80_000_000
    sb.faults.add(
        FaultRule(
            kind="partial_failure",
            method="MutateCampaignBudgets",
            match={"resource": "campaign_budget", "id": "5002"},
        )
    )
    response = mutate_budgets(
        sb,
        [
            budget_operation(sb, "5001", amount_micros=10_000),
            budget_operation(sb, "5002", amount_micros=10_000),
        ],
        partial_failure=True,
    )
    assert [r.resource_name.rsplit("/", 1)[-1] for r in response.results] == ["5001", ""]
    assert sb.state.budget(LAKESIDE, "5002").amount_micros == 80_000_000
    with pytest.raises(GoogleAdsException) as info:
        mutate_budgets(sb, [])
    assert codes(info.value) == ["request_error.OPERATION_REQUIRED"]


# ---- a pause in the style of sem-emergency-stop ----------------------------------------------


def _pausable(sb: Sandbox) -> list[int]:
    query = (
        "SELECT campaign.id FROM campaign WHERE campaign.status = 'ENABLED' "
        "AND campaign.experiment_type = 'BASE' AND campaign.advertising_channel_type != 'VIDEO'"
    )
    return sorted(r.campaign.id for r in stream(sb, query))


def test_emergency_stop_pause_and_unpause(sb: Sandbox) -> None:
    accounts = stream(sb, "SELECT customer_client.id FROM customer_client", customer=MANAGER)
    assert LAKESIDE in {r.customer_client.resource_name.rsplit("/", 1)[-1] for r in accounts}
    ids = _pausable(sb)
    assert ids == [9001, 9002, 9003, 9004, 9005]
    service = sb.client.get_service("CampaignService")

    def run(status: str, *, dry: bool) -> None:
        ops = [campaign_operation(sb, str(i), status) for i in ids]
        service.mutate_campaigns(
            request={"customer_id": LAKESIDE, "operations": ops, "validate_only": dry}, timeout=T
        )

    run("PAUSED", dry=True)
    assert _pausable(sb) == ids  # the dry run changed nothing
    run("PAUSED", dry=False)
    assert _pausable(sb) == []
    rows = stream(sb, "SELECT campaign.id, campaign.status FROM campaign")
    assert {r.campaign.id: r.campaign.status.name for r in rows if r.campaign.id in ids} == {
        i: "PAUSED" for i in ids
    }
    run("ENABLED", dry=False)
    assert _pausable(sb) == ids
    assert [e.method for e in sb.log.mutating("google_ads")] == ["MutateCampaigns"] * 3


# ---- CustomerService.ListAccessibleCustomers ---------------------------------------------------


def test_list_accessible_customers_ignores_login_customer_id(sb: Sandbox) -> None:
    for login in (MANAGER, None, LAKESIDE):
        client = make_client(sb.standin.port or 0, login=login)
        response = client.get_service("CustomerService").list_accessible_customers(timeout=T)
        assert list(response.resource_names) == [f"customers/{MANAGER}"]
    entry = sb.log.entries("google_ads")[-1]
    assert (entry.service, entry.method, entry.account, entry.mutating) == (
        "CustomerService",
        "ListAccessibleCustomers",
        None,
        False,
    )


def test_accessible_customers_from_the_scenario(tmp_path: Path) -> None:
    with demo_sandbox(tmp_path, accessible_customers=[LAKESIDE, MANAGER]) as sb:
        response = sb.client.get_service("CustomerService").list_accessible_customers(timeout=T)
        assert list(response.resource_names) == [f"customers/{LAKESIDE}", f"customers/{MANAGER}"]
    unknown = demo_sandbox(tmp_path, accessible_customers=["9999999999"])
    with pytest.raises(ValueError, match=r"accessible_customers\[0\]: customer 9999999999"):
        unknown.__enter__()


def test_list_accessible_customers_takes_faults(sb: Sandbox) -> None:
    sb.faults.add(FaultRule(kind="internal", method="ListAccessibleCustomers", times=1))
    with pytest.raises(core_exc.InternalServerError):
        sb.client.get_service("CustomerService").list_accessible_customers(timeout=T)
    assert sb.log.entries("google_ads")[-1].status == "INTERNAL"


# ---- the stand-in's methods are the SDK's -----------------------------------------------------


def test_every_modelled_method_is_the_sdks() -> None:
    """Each (service, method, request) the stand-in serves is one the SDK's generated gRPC
    transport calls, with that request type."""
    standin = GoogleAdsStandIn({"accounts": []}, RequestLog(), FaultPlan())
    methods = standin._methods()
    assert {(s, m) for s, m, _, _ in methods} >= {
        ("CampaignService", "MutateCampaigns"),
        ("CampaignBudgetService", "MutateCampaignBudgets"),
        ("CustomerService", "ListAccessibleCustomers"),
    }
    for service, method, request_cls, _work in methods:
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in service).lstrip("_")
        transport = importlib.import_module(
            f"google.ads.googleads.{VERSION}.services.services.{snake}.transports.grpc"
        )
        source = inspect.getsource(transport)
        assert f'"/google.ads.googleads.{VERSION}.services.{service}/{method}"' in source
        module = request_cls.__module__.rsplit(".", 1)[-1]
        assert f"request_serializer={module}.{request_cls.__name__}.serialize" in source
