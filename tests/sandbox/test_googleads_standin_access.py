"""The Google Ads stand-in's links and access, faults, change events and request log, exercised
only through the official SDK (google-ads 34, API v26), with the client built exactly as the
product builds it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.ads.googleads.errors import GoogleAdsException
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc
from google.api_core import exceptions as core_exc
from googleads_sdk import (
    HARBOR,
    LAKESIDE,
    MANAGER,
    Sandbox,
    T,
    campaign_op,
    code,
    codes,
    demo_sandbox,
    link_op,
    statuses,
    stream,
    trailing_failure,
)

from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.tls import sandbox_cert


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    with demo_sandbox(tmp_path) as sandbox:
        yield sandbox


# ---- links and access ------------------------------------------------------------------------


def test_terminating_the_manager_link_removes_access(sb: Sandbox) -> None:
    c = sb.client
    op = c.get_type("CustomerManagerLinkOperation")
    op.update.resource_name = f"customers/{LAKESIDE}/customerManagerLinks/{MANAGER}~700001"
    op.update.status = c.enums.ManagerLinkStatusEnum.INACTIVE
    op.update_mask.paths.append("status")
    service = c.get_service("CustomerManagerLinkService")
    response = service.mutate_customer_manager_link(
        customer_id=LAKESIDE, operations=[op], timeout=T
    )
    assert response.results[0].resource_name == op.update.resource_name
    assert sb.state.manager_link(LAKESIDE, MANAGER).status == "INACTIVE"
    with pytest.raises(GoogleAdsException) as info:
        stream(sb, "SELECT campaign.id FROM campaign")
    assert info.value.error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert codes(info.value) == ["authorization_error.USER_PERMISSION_DENIED"]
    clients = stream(sb, "SELECT customer_client.id FROM customer_client", MANAGER)
    assert {r.customer_client.id for r in clients} == {int(MANAGER), int(HARBOR)}
    assert stream(sb, "SELECT customer.id FROM customer", HARBOR)  # the other client still works


def test_link_status_changes_follow_the_rules(sb: Sandbox) -> None:
    links = sb.client.get_service("CustomerClientLinkService")
    with pytest.raises(GoogleAdsException) as info:
        links.mutate_customer_client_link(
            customer_id=MANAGER, operation=link_op(sb.client, status="PENDING"), timeout=T
        )
    assert codes(info.value) == ["manager_link_error.INVALID_STATUS_CHANGE"]
    assert sb.state.client_link(MANAGER, LAKESIDE).status == "ACTIVE"


@pytest.mark.parametrize(
    ("customer", "status", "expected"),
    [
        ("9999999999", grpc.StatusCode.UNAUTHENTICATED, "authentication_error.CUSTOMER_NOT_FOUND"),
        ("123-456-7890", grpc.StatusCode.INVALID_ARGUMENT, "request_error.INVALID_CUSTOMER_ID"),
    ],
)
def test_unknown_or_malformed_customer(
    sb: Sandbox, customer: str, status: grpc.StatusCode, expected: str
) -> None:
    with pytest.raises(GoogleAdsException) as info:
        stream(sb, "SELECT customer.id FROM customer", customer)
    assert info.value.error.code() == status
    assert codes(info.value) == [expected]


def test_raw_grpc_credentials_and_request_id(sb: Sandbox) -> None:
    """What the SDK always sends: without authorization the call is UNAUTHENTICATED; every
    answer, good or bad, carries a request-id."""
    channel = grpc.secure_channel(
        f"127.0.0.1:{sb.standin.port}", grpc.ssl_channel_credentials(sandbox_cert().cert_pem)
    )
    search = channel.unary_unary(
        "/google.ads.googleads.v26.services.GoogleAdsService/Search",
        request_serializer=ga_svc.SearchGoogleAdsRequest.serialize,
        response_deserializer=ga_svc.SearchGoogleAdsResponse.deserialize,
    )
    request = ga_svc.SearchGoogleAdsRequest(
        customer_id=LAKESIDE, query="SELECT customer.id FROM customer"
    )
    with pytest.raises(grpc.RpcError) as info:
        search(request, metadata=[("developer-token", "dev-token")], timeout=T)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "request-id" in dict(info.value.trailing_metadata())
    response, call = search.with_call(
        request,
        timeout=T,
        metadata=[("developer-token", "dev-token"), ("authorization", "Bearer test-token")],
    )
    assert response.results[0].customer.id == int(LAKESIDE)
    assert dict(call.trailing_metadata())["request-id"]
    channel.close()
    # A service the stand-in does not model answers UNIMPLEMENTED, and is still logged.
    op = sb.client.get_type("AdGroupAdOperation")
    op.remove = f"customers/{LAKESIDE}/adGroupAds/1~2"
    with pytest.raises(core_exc.MethodNotImplemented):
        sb.client.get_service("AdGroupAdService").mutate_ad_group_ads(
            customer_id=LAKESIDE, operations=[op], timeout=T
        )
    last = sb.log.entries("google_ads")[-1]
    assert (last.service, last.method, last.status) == (
        "AdGroupAdService",
        "MutateAdGroupAds",
        "UNIMPLEMENTED",
    )


# ---- faults ----------------------------------------------------------------------------------


def test_resource_exhausted_carries_retry_delay(sb: Sandbox) -> None:
    sb.faults.add(
        FaultRule(kind="resource_exhausted", method="SearchStream", retry_delay_s=2.5, times=1)
    )
    with pytest.raises(core_exc.ResourceExhausted) as info:
        stream(sb, "SELECT customer.id FROM customer")
    (error,) = trailing_failure(info.value).errors
    assert code(error) == "quota_error.RESOURCE_EXHAUSTED"
    delay = error.details.quota_error_details.retry_delay
    assert delay.total_seconds() == 2.5
    assert stream(sb, "SELECT customer.id FROM customer")  # times=1: the next call passes


def test_internal_and_unavailable(sb: Sandbox) -> None:
    sb.faults.add(FaultRule(kind="internal", method="Mutate", times=1))
    with pytest.raises(core_exc.InternalServerError) as info:
        sb.ga.mutate(
            customer_id=LAKESIDE,
            timeout=T,
            mutate_operations=[campaign_op(sb.client, LAKESIDE, "9001")],
        )
    assert [code(e) for e in trailing_failure(info.value).errors] == [
        "internal_error.INTERNAL_ERROR"
    ]
    assert statuses(sb, "9001") == ["ENABLED"]
    sb.faults.add(FaultRule(kind="unavailable", method="Search", times=1))
    with pytest.raises(core_exc.ServiceUnavailable):
        sb.ga.search(customer_id=LAKESIDE, query="SELECT customer.id FROM customer", timeout=T)


def test_timeout_aborts_early_and_changes_nothing(sb: Sandbox) -> None:
    sb.faults.add(FaultRule(kind="timeout", method="Mutate", times=1))
    started = time.monotonic()
    with pytest.raises(core_exc.DeadlineExceeded):
        sb.ga.mutate(
            customer_id=LAKESIDE,
            timeout=0.3,
            mutate_operations=[campaign_op(sb.client, LAKESIDE, "9001")],
        )
    assert time.monotonic() - started < 2
    time.sleep(0.1)  # the server notices the cancellation within ~20 ms
    assert statuses(sb, "9001") == ["ENABLED"]
    assert sb.log.entries("google_ads")[-1].status == "DEADLINE_EXCEEDED"


def test_latency_before_and_after_apply(sb: Sandbox) -> None:
    sb.faults.add(FaultRule(kind="latency", method="Search", latency_ms=200, times=1))
    started = time.monotonic()
    sb.ga.search(customer_id=LAKESIDE, query="SELECT customer.id FROM customer", timeout=T)
    assert time.monotonic() - started >= 0.2
    # after_apply: the change is made, then the answer is late (a client killed mid-call).
    sb.faults.add(
        FaultRule(
            kind="latency", method="Mutate", latency_ms=800, times=1, match={"phase": "after_apply"}
        )
    )
    with pytest.raises(core_exc.DeadlineExceeded):
        sb.ga.mutate(
            customer_id=LAKESIDE,
            timeout=0.3,
            mutate_operations=[campaign_op(sb.client, LAKESIDE, "9001")],
        )
    assert statuses(sb, "9001") == ["PAUSED"]


# ---- change events, drift --------------------------------------------------------------------


def test_change_event_filters_and_requirements(sb: Sandbox) -> None:
    now = dt.datetime.now(dt.UTC)
    sb.state.add_change_event(
        LAKESIDE,
        client_type="GOOGLE_ADS_SCRIPTS",
        resource_type="CAMPAIGN",
        when=now - dt.timedelta(days=2),
    )
    sb.state.add_change_event(
        LAKESIDE,
        client_type="GOOGLE_ADS_AUTOMATED_RULE",
        resource_type="CAMPAIGN_BUDGET",
        when=now - dt.timedelta(days=40),
    )
    sb.state.set_campaign_status(LAKESIDE, "9002", "PAUSED")  # someone in the UI
    sb.ga.mutate(
        customer_id=LAKESIDE,
        timeout=T,
        mutate_operations=[campaign_op(sb.client, LAKESIDE, "9001")],
    )
    local = sb.state.local_now(LAKESIDE)
    start = (local - dt.timedelta(days=29)).strftime("%Y-%m-%d")
    end = (local + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    fields = (
        "change_event.change_date_time, change_event.client_type, "
        "change_event.change_resource_type, change_event.change_resource_name, "
        "change_event.changed_fields, change_event.old_resource, change_event.new_resource"
    )
    window = (
        f"change_event.change_date_time >= '{start}' AND change_event.change_date_time <= '{end}'"
    )
    rows = stream(
        sb,
        f"SELECT {fields} FROM change_event WHERE {window} "
        "ORDER BY change_event.change_date_time LIMIT 100",
    )
    assert [r.change_event.client_type.name for r in rows] == [
        "GOOGLE_ADS_SCRIPTS",
        "GOOGLE_ADS_WEB_CLIENT",
        "GOOGLE_ADS_API",
    ]
    api = rows[-1].change_event
    assert api.change_resource_name == f"customers/{LAKESIDE}/campaigns/9001"
    assert list(api.changed_fields.paths) == ["status"]
    assert (api.old_resource.campaign.status.name, api.new_resource.campaign.status.name) == (
        "ENABLED",
        "PAUSED",
    )
    dt.datetime.strptime(api.change_date_time, "%Y-%m-%d %H:%M:%S.%f")
    scripts = stream(
        sb,
        f"SELECT change_event.client_type FROM change_event WHERE {window} AND "
        "change_event.client_type IN (GOOGLE_ADS_SCRIPTS, "
        "GOOGLE_ADS_AUTOMATED_RULE) LIMIT 10",
    )
    assert len(scripts) == 1
    during = stream(
        sb,
        "SELECT change_event.client_type FROM change_event "
        "WHERE change_event.change_date_time DURING LAST_7_DAYS LIMIT 10",
    )
    assert [r.change_event.client_type.name for r in during] == ["GOOGLE_ADS_SCRIPTS"]

    old = (local - dt.timedelta(days=40)).strftime("%Y-%m-%d")
    for query, expected in [
        (
            "SELECT change_event.client_type FROM change_event LIMIT 10",
            "CHANGE_DATE_RANGE_INFINITE",
        ),
        (
            f"SELECT change_event.client_type FROM change_event "
            f"WHERE change_event.change_date_time >= '{start}' LIMIT 10",
            "CHANGE_DATE_RANGE_INFINITE",
        ),
        (
            f"SELECT change_event.client_type FROM change_event "
            f"WHERE change_event.change_date_time BETWEEN '{old}' AND '{end}' LIMIT 10",
            "START_DATE_TOO_OLD",
        ),
        (
            f"SELECT change_event.client_type FROM change_event WHERE {window}",
            "LIMIT_NOT_SPECIFIED",
        ),
        (
            f"SELECT change_event.client_type FROM change_event WHERE {window} LIMIT 10001",
            "INVALID_LIMIT_CLAUSE",
        ),
    ]:
        with pytest.raises(GoogleAdsException) as info:
            stream(sb, query)
        assert codes(info.value) == [f"change_event_error.{expected}"], query


def test_drift_helpers_are_visible_to_reads(sb: Sandbox) -> None:
    sb.state.set_campaign_status(LAKESIDE, "9009", "ENABLED")
    sb.state.set_budget_amount(LAKESIDE, "5007", 9_000_000)
    (row,) = stream(
        sb,
        "SELECT campaign.status, campaign_budget.amount_micros FROM campaign "
        "WHERE campaign.id = 9009",
    )
    assert (row.campaign.status.name, row.campaign_budget.amount_micros) == ("ENABLED", 9_000_000)


# ---- the request log -----------------------------------------------------------------------


def test_request_log_flags_and_no_secrets(sb: Sandbox, tmp_path: Path) -> None:
    stream(sb, "SELECT customer.id FROM customer")
    sb.ga.search(customer_id=LAKESIDE, query="SELECT customer.id FROM customer", timeout=T)
    sb.ga.mutate(
        customer_id=LAKESIDE,
        timeout=T,
        mutate_operations=[campaign_op(sb.client, LAKESIDE, "9001")],
    )
    sb.client.get_service("CustomerClientLinkService").mutate_customer_client_link(
        customer_id=MANAGER, operation=link_op(sb.client, hidden=True), timeout=T
    )
    with pytest.raises(GoogleAdsException):
        stream(sb, "SELECT nope FROM campaign")
    entries = sb.log.entries("google_ads")
    assert [(e.method, e.mutating, e.status) for e in entries] == [
        ("SearchStream", False, "OK"),
        ("Search", False, "OK"),
        ("Mutate", True, "OK"),
        ("MutateCustomerClientLink", True, "OK"),
        ("SearchStream", False, "INVALID_ARGUMENT"),
    ]
    assert entries[3].account == MANAGER and entries[3].service == "CustomerClientLinkService"
    dumped = json.dumps([dataclasses.asdict(e) for e in entries])
    on_disk = (tmp_path / "requests.jsonl").read_text()
    for text in (dumped, on_disk):
        assert "dev-token" not in text and "test-token" not in text
    assert len(on_disk.splitlines()) == len(entries)
