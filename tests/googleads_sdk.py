"""The Google Ads stand-in met through the official SDK: the client built as the product builds
it (the session trusts the sandbox certificate, see conftest), a stand-in on the demo accounts,
and helpers that read errors the way the SDK returns them. Shared by the stand-in's tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.ads.googleads.v26.errors.types.errors import ErrorCode, GoogleAdsFailure
from google.api_core import exceptions as core_exc

from adoffboard.sandbox.core import FaultPlan, RequestLog, load_scenario
from adoffboard.sandbox.googleads import FAILURE_KEY, GoogleAdsStandIn

DEMO = Path(__file__).resolve().parents[1] / "adoffboard" / "sandbox" / "scenarios" / "demo.yaml"
MANAGER, LAKESIDE, HARBOR = "1112223333", "1234567890", "2345678901"
T = 10  # seconds: every call gets an explicit timeout, as the product's calls will


def make_client(port: int, login: str | None = MANAGER) -> GoogleAdsClient:
    return GoogleAdsClient(
        credentials=google.oauth2.credentials.Credentials(token="test-token"),
        developer_token="dev-token",
        login_customer_id=login,
        endpoint=f"127.0.0.1:{port}",
        use_proto_plus=True,
        version="v26",
    )


@dataclasses.dataclass
class Sandbox:
    standin: GoogleAdsStandIn
    log: RequestLog
    faults: FaultPlan
    client: GoogleAdsClient

    @property
    def state(self) -> Any:
        return self.standin.state

    @property
    def ga(self) -> Any:
        return self.client.get_service("GoogleAdsService")


@contextlib.contextmanager
def demo_sandbox(tmp_path: Path, **changes: Any) -> Iterator[Sandbox]:
    """A stand-in on the demo accounts (its VIDEO campaign enabled, `changes` merged into the
    `google_ads` section), and a client of the agency's manager."""
    log, faults = RequestLog(tmp_path / "requests.jsonl"), FaultPlan()
    scenario = load_scenario(DEMO)["google_ads"] | changes
    for campaign in scenario["accounts"][0]["campaigns"]:  # the demo keeps its VIDEO paused
        if campaign["channel"] == "VIDEO":
            campaign["status"] = "ENABLED"
    standin = GoogleAdsStandIn(scenario, log, faults)
    port = standin.start()
    try:
        yield Sandbox(standin, log, faults, make_client(port))
    finally:
        standin.stop(grace=None)


# ---- helpers -------------------------------------------------------------------------------


def stream(sb: Sandbox, query: str, customer: str = LAKESIDE) -> list[Any]:
    # Keep the service referenced while iterating: when it is garbage-collected, its channel
    # goes too and the stream dies with CANCELLED "Channel deallocated".
    ga = sb.ga
    return [
        row
        for batch in ga.search_stream(customer_id=customer, query=query, timeout=T)
        for row in batch.results
    ]


def code(error: Any) -> str:
    which = ErrorCode.pb(error.error_code).WhichOneof("error_code")
    return f"{which}.{getattr(error.error_code, which).name}"


def codes(exc: GoogleAdsException) -> list[str]:
    return [code(e) for e in exc.failure.errors]


def path(error: Any) -> list[tuple[str, int | None]]:
    return [
        (e.field_name, e.index if "index" in e else None)
        for e in error.location.field_path_elements
    ]


def campaign_op(
    client: Any,
    customer: str,
    campaign_id: str,
    status: str | None = "PAUSED",
    mask: tuple[str, ...] = ("status",),
) -> Any:
    op = client.get_type("MutateOperation")
    update = op.campaign_operation.update
    update.resource_name = f"customers/{customer}/campaigns/{campaign_id}"
    if status:
        update.status = client.enums.CampaignStatusEnum[status]
    op.campaign_operation.update_mask.paths.extend(mask)
    return op


def budget_op(client: Any, customer: str, budget_id: str, **values: int) -> Any:
    op = client.get_type("MutateOperation")
    update = op.campaign_budget_operation.update
    update.resource_name = f"customers/{customer}/campaignBudgets/{budget_id}"
    for name, value in values.items():
        setattr(update, name, value)
    op.campaign_budget_operation.update_mask.paths.extend(values)
    return op


def link_op(
    client: Any,
    *,
    hidden: bool | None = None,
    status: str | None = None,
    mask: tuple[str, ...] | None = None,
) -> Any:
    op = client.get_type("CustomerClientLinkOperation")
    op.update.resource_name = f"customers/{MANAGER}/customerClientLinks/{LAKESIDE}~700001"
    if hidden is not None:
        op.update.hidden = hidden
    if status is not None:
        op.update.status = client.enums.ManagerLinkStatusEnum[status]
    op.update_mask.paths.extend(
        mask
        if mask is not None
        else [n for n, v in (("hidden", hidden), ("status", status)) if v is not None]
    )
    return op


def mutate(sb: Sandbox, customer: str, ops: list[Any], timeout: float = T, **flags: bool) -> Any:
    """GoogleAdsService.Mutate with request flags (partial_failure, validate_only)."""
    request = sb.client.get_type("MutateGoogleAdsRequest")
    request.customer_id = customer
    request.mutate_operations.extend(ops)
    for name, value in flags.items():
        setattr(request, name, value)
    return sb.ga.mutate(request=request, timeout=timeout)


def statuses(sb: Sandbox, *ids: str) -> list[str]:
    return [sb.state.campaign(LAKESIDE, i).status for i in ids]


def trailing_failure(exc: core_exc.GoogleAPICallError) -> Any:
    metadata = dict(exc.response.trailing_metadata())  # type: ignore[union-attr]
    return GoogleAdsFailure.deserialize(metadata[FAILURE_KEY])
