"""Google Ads, declared: its actions, `[platforms.google_ads]` and the manifest's `google_ads`."""

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
