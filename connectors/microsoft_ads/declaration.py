"""Microsoft Advertising, declared: its actions, `[platforms.microsoft_ads]` and the manifest's
`microsoft_ads`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from adoffboard.connectors.declare import (
    ActionSpec,
    Attempts,
    Claim,
    Declaration,
    ManifestSection,
    SecretRef,
    SettingsModel,
    TimeoutSeconds,
)


class MicrosoftAdsSettings(SettingsModel):
    """`[platforms.microsoft_ads]`: `endpoint` replaces both services' hosts (the sandbox);
    empty means Microsoft's own hosts for `environment` (production, or Microsoft's sandbox)."""

    endpoint: str = ""
    customer_endpoint: str = ""  # Customer Management host, when it differs from `endpoint`
    environment: Literal["production", "sandbox"] = "production"
    developer_token: SecretRef  # required; empty is refused when the connector starts
    access_token: SecretRef = ""
    client_id: SecretRef = ""
    client_secret: SecretRef = ""
    refresh_token: SecretRef = ""
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5


class MicrosoftAdsAccount(SettingsModel):
    account_id: str = Field(pattern=r"^\d{4,12}$")
    customer_id: str = Field(pattern=r"^\d{4,12}$")
    expected_name: str = Field(min_length=1)


DECLARATION = Declaration(
    platform="microsoft_ads",
    title="Microsoft Advertising",
    module="adoffboard.connectors.microsoft_ads.connector",
    cls="MicrosoftAdsConnector",
    settings=MicrosoftAdsSettings,
    actions={
        "pause_campaigns": ActionSpec("pause Active and BudgetPaused campaigns"),
        "budgets_to_floor": ActionSpec("set daily budgets to the currency's minimum"),
        "set_budgets": ActionSpec("set daily budgets to a signed addendum's amounts"),
    },
    manifest_key="microsoft_ads",
    manifest=(
        ManifestSection(
            "microsoft_ads",
            MicrosoftAdsAccount,
            claims=(Claim("Microsoft Advertising account", "account_id"),),
        ),
    ),
    restorable=True,
    # statuses, campaigns' daily budgets and shared budgets: everything this connector writes
    restorable_entities=frozenset({"campaign", "budget"}),
    sdk=(
        "bingads.authorization",
        "bingads.service_client",
        "openapi_client",
        "openapi_client.rest",
        "openapi_client.exceptions",
        "urllib3",
    ),
)
