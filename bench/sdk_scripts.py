"""The contenders that talk to the platforms through the official SDKs directly.

- `per_campaign`: a one-call-per-campaign script, the way offboardings are often scripted: every
  campaign, ad set, rule and budget the plan changes gets its own update call (google-ads,
  msads, facebook-business). It is handed the work list (the plan's ad changes, computed
  beforehand and not timed) and makes none of the reads a real script would need, so its
  figures are a floor for such a script.
- `sem_emergency_stop`: a replica of getyourguide/sem-emergency-stop's pause (ses/main.py): one
  `customer_client` query from the manager for the enabled client accounts, one `campaign` query
  per account, then `CampaignService.MutateCampaigns` requests of up to 1,000 campaigns, every
  account's queries and mutates spread over 16 threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any

from adoffboard.credentials import resolve

Changes = Sequence[Mapping[str, Any]]
GOOGLE_VERSION = "v26"
META_VERSION = "v26.0"
SES_WORKERS = 16
SES_CHUNK = 1000


class Unimplemented(Exception):
    """The stand-in does not serve a method the replica needs."""


def _secret(settings: Mapping[str, Any], key: str) -> str:
    return str(resolve(settings[key], base=Path.cwd()).value)


def google_client(settings: Mapping[str, Any], manager_id: str) -> Any:
    import google.oauth2.credentials
    from google.ads.googleads.client import GoogleAdsClient

    return GoogleAdsClient(
        credentials=google.oauth2.credentials.Credentials(token=_secret(settings, "access_token")),
        developer_token=_secret(settings, "developer_token"),
        login_customer_id=manager_id,
        endpoint=settings["endpoint"],
        use_proto_plus=True,
        version=GOOGLE_VERSION,
    )


def _google_one(client: Any, change: Mapping[str, Any]) -> None:
    from google.api_core import protobuf_helpers

    op = client.get_type("MutateOperation")
    if change["entity_type"] == "campaign":
        update = op.campaign_operation.update
        update.status = client.enums.CampaignStatusEnum[change["after"]]
        mask = op.campaign_operation.update_mask
    else:
        update = op.campaign_budget_operation.update
        setattr(update, change["field"], int(change["after"]))
        mask = op.campaign_budget_operation.update_mask
    update.resource_name = change["resource"]
    mask.CopyFrom(protobuf_helpers.field_mask(None, type(update).pb(update)))
    client.get_service("GoogleAdsService").mutate(
        customer_id=change["account"], mutate_operations=[op]
    )


def _microsoft_one(settings: Mapping[str, Any], ids: Mapping[str, str]) -> Callable[..., None]:
    from bingads.authorization import (
        AuthorizationData,
        OAuthDesktopMobileImplicitGrant,
        OAuthTokens,
    )
    from bingads.service_client import ServiceClient
    from openapi_client.models.campaign.budget import Budget
    from openapi_client.models.campaign.campaign import Campaign
    from openapi_client.models.campaign.campaign_status import CampaignStatus
    from openapi_client.models.campaign.update_budgets_request import UpdateBudgetsRequest
    from openapi_client.models.campaign.update_campaigns_request import UpdateCampaignsRequest

    tokens = OAuthTokens(
        access_token=_secret(settings, "access_token"), access_token_expires_in_seconds=None
    )
    service = ServiceClient(
        "CampaignManagementService",
        13,
        AuthorizationData(
            account_id=ids["account_id"],
            customer_id=ids["customer_id"],
            developer_token=_secret(settings, "developer_token"),
            authentication=OAuthDesktopMobileImplicitGrant(client_id="script", oauth_tokens=tokens),
        ),
        location=settings["endpoint"],
    )

    def one(change: Mapping[str, Any]) -> None:
        if change["entity_type"] == "budget":
            service.update_budgets(
                UpdateBudgetsRequest(
                    Budgets=[Budget(Id=change["entity_id"], Amount=float(change["after"]))]
                )
            )
            return
        campaign = Campaign(Id=change["entity_id"])
        if change["field"] == "Status":
            campaign.Status = CampaignStatus(change["after"])
        else:
            campaign.DailyBudget = float(change["after"])
        service.update_campaigns(
            UpdateCampaignsRequest(AccountId=change["account"], Campaigns=[campaign])
        )

    return one


def _meta_one(settings: Mapping[str, Any]) -> Callable[..., None]:
    from facebook_business.adobjects.adrule import AdRule
    from facebook_business.adobjects.adset import AdSet
    from facebook_business.adobjects.campaign import Campaign
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    session = FacebookSession(
        str(settings["app_id"]),
        _secret(settings, "app_secret"),
        _secret(settings, "access_token"),
    )
    session.GRAPH = str(settings["endpoint"]).rstrip("/")
    api = FacebookAdsApi(session, api_version=META_VERSION)
    nodes: dict[str, Any] = {"campaign": Campaign, "adset": AdSet, "rule": AdRule}

    def one(change: Mapping[str, Any]) -> None:
        node = nodes[change["entity_type"]](change["entity_id"], api=api)
        node.api_update(params={change["field"]: change["after"]})

    return one


def per_campaign(
    settings: Mapping[str, Mapping[str, Any]], changes: Changes, manifest: Mapping[str, Any]
) -> None:
    """One update call per changed entity, one call after the other, platform by platform."""
    senders: dict[str, Callable[[Mapping[str, Any]], None]] = {}
    if "google_ads" in manifest:
        client = google_client(settings["google_ads"], manifest["google_ads"]["manager_id"])
        senders["google_ads"] = lambda change: _google_one(client, change)
    if "microsoft_ads" in manifest:
        senders["microsoft_ads"] = _microsoft_one(
            settings["microsoft_ads"], manifest["microsoft_ads"]
        )
    if "meta" in manifest:
        senders["meta"] = _meta_one(settings["meta"])
    for change in changes:
        if change.get("phase") == "ads" and change["platform"] in senders:
            senders[change["platform"]](change)


def sem_emergency_stop(settings: Mapping[str, Any], manager_id: str) -> None:
    """The replica's pause; raises `Unimplemented` if the stand-in lacks CampaignService."""
    import grpc
    from google.api_core import exceptions as api_exceptions

    client = google_client(settings, manager_id)
    search = client.get_service("GoogleAdsService")
    customers = [
        int(row.customer_client.resource_name.rsplit("/", 1)[-1])
        for batch in search.search_stream(
            customer_id=manager_id,
            query="SELECT customer.id FROM customer_client "
            "WHERE customer_client.status = 'ENABLED'",
        )
        for row in batch.results
    ]

    def campaign_ids(customer_id: int) -> tuple[int, list[int]]:
        query = (
            "SELECT campaign.id FROM campaign WHERE campaign.status = 'ENABLED' "
            "AND campaign.experiment_type = 'BASE' "
            "AND campaign.advertising_channel_type != 'VIDEO' "
            "AND campaign.advertising_channel_type != 'LOCAL'"
        )
        stream = search.search_stream(customer_id=str(customer_id), query=query)
        return customer_id, [row.campaign.id for batch in stream for row in batch.results]

    sets = _in_threads(campaign_ids, customers)
    service = client.get_service("CampaignService")
    status = client.enums.CampaignStatusEnum.PAUSED

    def mutate(campaign_set: tuple[int, list[int]]) -> None:
        from google.api_core import protobuf_helpers

        customer_id, ids = campaign_set
        for chunk in zip_longest(*[iter(ids)] * SES_CHUNK):
            request = client.get_type("MutateCampaignsRequest")
            request.customer_id = str(customer_id)
            for campaign_id in chunk:
                if campaign_id:
                    op = client.get_type("CampaignOperation")
                    op.update.resource_name = service.campaign_path(customer_id, campaign_id)
                    op.update.status = status
                    op.update_mask.CopyFrom(
                        protobuf_helpers.field_mask(None, type(op.update).pb(op.update))
                    )
                    request.operations.append(op)
            try:
                service.mutate_campaigns(request=request)
            except api_exceptions.MethodNotImplemented as exc:
                raise Unimplemented(str(exc)) from None
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    raise Unimplemented(str(exc.details())) from None
                raise

    _in_threads(mutate, sets)


def _in_threads(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """`fn` over `items` by SES_WORKERS threads taking from one queue, as ses/main.py does."""
    todo: queue.Queue[Any] = queue.Queue()
    for item in items:
        todo.put(item)
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results.append(fn(item))
            except BaseException as exc:  # the first one is raised below
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(SES_WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
