"""Google Ads, declared: its actions, `[platforms.google_ads]` and the manifest's `google_ads`.

FACTS the connector relies on (API v26 through the `google-ads` SDK), each with its vendor page:

- Calls on a client go through the agency's manager: `login-customer-id` is the manager's id and
  the client must be linked to it (ACTIVE link), otherwise USER_PERMISSION_DENIED.
  https://developers.google.com/google-ads/api/docs/concepts/call-structure
- One GAQL query FROM campaign also selects `campaign_budget` and `customer` fields (attributed
  resources); SearchStream answers a whole query in one call (no page size).
  https://developers.google.com/google-ads/api/docs/query/structure,
  https://developers.google.com/google-ads/api/docs/reporting/streaming
- Campaign and budget operations of one account go in one `GoogleAdsService.Mutate`, at most
  10,000 operations per request; a request is atomic unless `partial_failure` is set, and then
  each operation gets its own result or error (GoogleAdsFailure in `partial_failure_error`).
  https://developers.google.com/google-ads/api/docs/mutating/overview,
  https://developers.google.com/google-ads/api/docs/best-practices/quotas,
  https://developers.google.com/google-ads/api/docs/best-practices/partial-failures
- An update changes only the fields of its `update_mask`; the SDK's field_mask() helper leaves
  out default values (False, 0), so masks are written by hand.
  https://developers.google.com/google-ads/api/docs/client-libs/python/field-masks
- Video campaigns cannot be modified through the API (MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT):
  pausing them is a manual task. https://developers.google.com/google-ads/api/docs/video/overview
- REMOVED campaigns cannot be changed (OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE); experiment
  (trial) campaigns follow their base for status and budget (CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN).
  https://developers.google.com/google-ads/api/reference/rpc/v26/OperationAccessDeniedErrorEnum.OperationAccessDeniedError,
  https://developers.google.com/google-ads/api/docs/experiments/overview
- Money is in micros of the account currency; a budget amount must be a multiple of
  `currency_constant.billable_unit_micros` (the floor: USD 10,000 micros = $0.01), and a Demand
  Gen campaign's daily budget at least `demand_gen_info.minimum_budget_per_day_micros`.
  https://developers.google.com/google-ads/api/reference/rpc/v26/CurrencyConstant
- A CUSTOM_PERIOD budget has `total_amount_micros` and no `amount_micros`; a DAILY budget the
  reverse; the period cannot change. A budget shared by several campaigns
  (`explicitly_shared`, `reference_count`) is one resource: changed once.
  https://developers.google.com/google-ads/api/reference/rpc/v26/CampaignBudget
- Hiding a client is `hidden=true` on the manager's CustomerClientLink; ending the link is
  status INACTIVE on the client's CustomerManagerLink (the agency then loses access: last step).
  https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerClientLink,
  https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerManagerLinkOperation
- Scripts and automated rules have no API; `change_event` shows their activity (client_type
  GOOGLE_ADS_SCRIPTS / GOOGLE_ADS_AUTOMATED_RULE), needs a finite change_date_time range within
  the last 30 days and a LIMIT of at most 10,000.
  https://developers.google.com/google-ads/api/docs/change-event
- Errors arrive as GoogleAdsFailure in the trailing metadata; RESOURCE_EXHAUSTED carries the
  retry delay in QuotaErrorDetails; the SDK sets no timeout and no retry by default.
  https://developers.google.com/google-ads/api/docs/best-practices/error-types,
  https://developers.google.com/google-ads/api/docs/best-practices/rate-limits
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from adoffboard.connectors.declare import (
    GRPC_SDK,
    ActionSpec,
    Attempts,
    Claim,
    Declaration,
    ManifestSection,
    SecretRef,
    SettingsModel,
    TimeoutSeconds,
)
from adoffboard.models import Phase


def google_ads_id(value: str) -> str:
    """Normalise a Google Ads customer id ('123-456-7890' or '1234567890') to 10 digits."""
    text = str(value).strip()
    if not re.fullmatch(r"\d{3}-?\d{3}-?\d{4}", text):
        raise ValueError("must be a 10-digit customer id like 123-456-7890")
    return text.replace("-", "")


def show_google_ads_id(cid: str) -> str:
    return f"{cid[:3]}-{cid[3:6]}-{cid[6:]}"


class GoogleAdsSettings(SettingsModel):
    endpoint: str = ""
    ca_file: str = ""
    developer_token: SecretRef  # required; empty is refused when the connector starts
    access_token: SecretRef = ""
    client_id: SecretRef = ""
    client_secret: SecretRef = ""
    refresh_token: SecretRef = ""
    token_uri: str = ""  # where the refresh token is exchanged; empty: Google's
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5


class GoogleAdsAccount(SettingsModel):
    customer_id: str
    manager_id: str
    expected_name: str = Field(min_length=1)

    _ids = field_validator("customer_id", "manager_id", mode="before")(
        lambda cls, v: google_ads_id(v)
    )


def _manager_is_not_the_client(account: Any) -> list[tuple[str, str, str]]:
    if account.manager_id != account.customer_id:
        return []
    return [
        (
            "manager_id",
            "is the client's own customer id",
            "the agency's manager (MCC) account that links to it, like 111-222-3333",
        )
    ]


DECLARATION = Declaration(
    platform="google_ads",
    title="Google Ads",
    module="adoffboard.connectors.google_ads.connector",
    cls="GoogleAdsConnector",
    settings=GoogleAdsSettings,
    actions={
        "pause_campaigns": ActionSpec("pause enabled campaigns"),
        "budgets_to_floor": ActionSpec("set budgets to the platform floor"),
        "hide_account": ActionSpec("hide the account in the manager", Phase.VISIBILITY),
        "unlink_account": ActionSpec("end the manager link (agency loses access)", Phase.ACCESS),
        "scripts_quiet": ActionSpec("no script or rule activity since the run", check_only=True),
        "set_budgets": ActionSpec("set budgets to a signed addendum's amounts"),
    },
    manifest_key="google_ads",
    manifest=(
        ManifestSection(
            "google_ads",
            GoogleAdsAccount,
            claims=(Claim("Google Ads customer", "customer_id", show=show_google_ads_id),),
            hints={
                "customer_id": "Google Ads ids look like 123-456-7890",
                "manager_id": "the agency's manager (MCC) id, like 111-222-3333",
            },
            check=_manager_is_not_the_client,
        ),
    ),
    restorable=True,
    sdk=(
        "google.oauth2.credentials",
        "google.ads.googleads.client",
        "google.ads.googleads.errors",
        "google.ads.googleads.v26.errors.types.errors",
        "google.ads.googleads.v26.services.services.google_ads_service",
        "google.ads.googleads.v26.services.services.customer_client_link_service",
        "google.ads.googleads.v26.services.services.customer_manager_link_service",
        *GRPC_SDK,
    ),
)
