"""Google Analytics (GA4 Admin API), declared: its action, `[platforms.ga4]` and the manifest's
`ga4`."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from adoffboard.connectors.declare import (
    GRPC_SDK,
    ActionSpec,
    Claim,
    Declaration,
    GoogleApiSettings,
    ManifestSection,
    SettingsModel,
)
from adoffboard.models import Phase


class GA4Access(SettingsModel):
    account_id: str = Field(pattern=r"^\d{4,15}$")
    property_ids: list[str] = Field(default_factory=list)
    expected_name: str = ""  # the account's display name; checked when set

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("property_ids", mode="before")
    @classmethod
    def _property_digits(cls, ids: Any) -> Any:
        if not isinstance(ids, list):
            return ids
        text = [str(p) for p in ids]
        bad = [p for p in text if not re.fullmatch(r"\d{4,15}", p)]
        if bad:
            raise ValueError(f"property ids must be digits like 123456789, not {bad}")
        return text


DECLARATION = Declaration(
    platform="ga4",
    title="Google Analytics",
    module="adoffboard.connectors.ga4.connector",
    cls="GA4Connector",
    settings=GoogleApiSettings,
    actions={
        "remove_access": ActionSpec(
            "delete the agency's access bindings on the account and its properties", Phase.ACCESS
        ),
    },
    manifest_key="ga4",
    manifest=(
        ManifestSection(
            "ga4",
            GA4Access,
            claims=(
                Claim("GA4 account", "account_id"),
                Claim("GA4 property", "property_ids", many=True),
            ),
        ),
    ),
    sdk=(
        "google.oauth2.credentials",
        "google.oauth2.service_account",
        "google.analytics.admin_v1alpha",
        "google.api_core.exceptions",
        "google.auth.exceptions",
        *GRPC_SDK,
    ),
)
