"""Meta (Facebook) Ads, declared: its actions, `[platforms.meta]` and the manifest's `meta`.

FACTS the connector relies on, each with the vendor page it comes from:

- Graph API v26.0 through the official `facebook-business` SDK (26.x): one `FacebookSession` +
  `FacebookAdsApi` per connector, passed to every object (`api=`); never
  `FacebookAdsApi.init()`, whose default crash logger posts to the real host (SDK source,
  https://github.com/facebook/facebook-python-business-sdk, `api.py`, `crashreporter.py`).
- Every server call carries `appsecret_proof`, the HMAC-SHA256 of the access token keyed with the
  app secret; token and proof travel in the query string, so no URL is ever logged
  (https://developers.facebook.com/docs/graph-api/securing-requests).
- Edges are paged with cursors: follow `paging.cursors.after` while a `next` link is present
  (https://developers.facebook.com/docs/graph-api/results).
- Campaigns and ad sets: `status` ACTIVE / PAUSED / DELETED / ARCHIVED is what can be set;
  `effective_status` adds delivery states (IN_PROCESS, WITH_ISSUES, CAMPAIGN_PAUSED, ...) and
  filters the `campaigns` / `adsets` edges; a node update is `POST /<id>` with the field
  (https://developers.facebook.com/docs/marketing-api/reference/ad-campaign-group,
  https://developers.facebook.com/docs/marketing-api/reference/ad-campaign).
- Budgets are not lowered: Meta's daily minimums depend on currency and bid strategy (about
  $1-$40 a day), far above $0.01, so pausing is what stops spend (the ad account's
  `min_daily_budget`, https://developers.facebook.com/docs/marketing-api/reference/ad-account).
- Automated rules live in `GET /act_ID/adrules_library`; their `execution_spec.execution_type`
  says what they do (UNPAUSE, CHANGE_BUDGET, CHANGE_CAMPAIGN_BUDGET, CHANGE_BID, REBALANCE_BUDGET,
  ROTATE can restart or raise spend; NOTIFICATION, PING_ENDPOINT, PAUSE cannot); a rule's status
  is set alone with `POST /<rule_id> status=DISABLED`
  (https://developers.facebook.com/docs/marketing-api/ad-rules,
  .../ad-rules/overview/execution-spec, .../ad-rules/guides/api-calls).
- Writes go in Graph batches of at most 50 requests, each counted against the rate limits as
  one call, and never two ad sets of the same campaign in one batch; answers come back in the
  order of the requests, and an operation that did not complete comes back `null`: retry only
  those
  (https://developers.facebook.com/docs/graph-api/batch-requests).
- Throttles: codes 4, 17, 32, 613 and 80000-80014, also inside batch items; the usage headers
  (`X-Business-Use-Case-Usage` `estimated_time_to_regain_access` in minutes,
  `X-Ad-Account-Usage` `reset_time_duration` in seconds, `X-App-Usage` percentages) say how long,
  and without them the documented holds apply (`throttle`;
  https://developers.facebook.com/docs/marketing-api/overview/rate-limiting,
  https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
- The agency leaves an ad account with `DELETE /act_ID/agencies?business=<agency business id>`;
  afterwards the agency's token no longer reads the account, and the agency business's
  `client_ad_accounts` edge no longer lists it
  (https://developers.facebook.com/docs/marketing-api/reference/ad-account/agencies,
  https://developers.facebook.com/docs/marketing-api/reference/business/client_ad_accounts).
"""

from __future__ import annotations

from pydantic import Field

from adoffboard.connectors.declare import (
    ActionSpec,
    Attempts,
    Claim,
    Declaration,
    ManifestSection,
    RequiredSecretRef,
    SettingsModel,
    TimeoutSeconds,
)
from adoffboard.models import Phase

DEFAULT_MAX_THROTTLE_WAIT_S = 3600.0  # the longest documented hold: a rolling hour


class MetaSettings(SettingsModel):
    """[platforms.meta]: the agency's Meta app and the token of a system user of its business."""

    endpoint: str = ""  # default https://graph.facebook.com
    app_id: str = Field(pattern=r"^\d{1,20}$")
    app_secret: RequiredSecretRef
    access_token: RequiredSecretRef
    agency_business_id: str = Field(pattern=r"^\d{1,20}$")  # removed by remove_agency
    page_size: int = Field(default=500, ge=1, le=5000, strict=True)
    # the most a run waits for throttles in all (`throttle`); past it, it stops to be resumed
    max_throttle_wait_s: float = Field(
        default=DEFAULT_MAX_THROTTLE_WAIT_S, ge=0, le=86400, allow_inf_nan=False
    )
    slow_down_at_pct: float = Field(default=75.0, gt=0, le=100, allow_inf_nan=False)
    # write batches on the wire at once (`connector.IN_FLIGHT`); 1 for an app in the
    # development tier, whose score (60 points) a single batch of 50 updates already passes
    batches_in_flight: int = Field(default=10, ge=1, le=10, strict=True)
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5


class MetaAdAccount(SettingsModel):
    ad_account_id: str = Field(pattern=r"^act_\d{5,20}$")
    expected_name: str = Field(min_length=1)


DECLARATION = Declaration(
    platform="meta",
    title="Meta (Facebook) Ads",
    module="adoffboard.connectors.meta.connector",
    cls="MetaConnector",
    settings=MetaSettings,
    actions={
        "pause_campaigns": ActionSpec("pause ACTIVE campaigns and ad sets (budgets unchanged)"),
        "disable_rules": ActionSpec("disable automated rules that can restart or raise spend"),
        "set_budgets": ActionSpec("set daily budgets to a signed addendum's amounts"),
        "remove_agency": ActionSpec(
            "remove the agency's business (agency loses access)", Phase.ACCESS
        ),
    },
    manifest_key="meta",
    manifest=(
        ManifestSection(
            "meta",
            MetaAdAccount,
            claims=(Claim("Meta ad account", "ad_account_id"),),
            hints={"ad_account_id": "Meta ad account ids look like act_1234567890"},
        ),
    ),
    # statuses and daily budgets of campaigns and ad sets, rules' statuses; the agency's removal
    # (ACCESS) is never restored (a note says so)
    restorable=True,
    restorable_entities=frozenset({"campaign", "adset", "rule", "agency"}),
    sdk=(
        "facebook_business.api",
        "facebook_business.session",
        "facebook_business.exceptions",
        "facebook_business.adobjects.adaccount",
        "facebook_business.adobjects.business",
        "facebook_business.adobjects.adrule",
        "facebook_business.adobjects.adset",
        "facebook_business.adobjects.campaign",
    ),
)
