"""Meta (Facebook) Ads, declared: its actions, `[platforms.meta]` and the manifest's `meta`."""

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
