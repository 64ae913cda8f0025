"""Google Tag Manager, declared: its action, `[platforms.tag_manager]` and the manifest's
`tag_manager`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from adoffboard.connectors.declare import (
    GOOGLE_REST_SDK,
    ActionSpec,
    Claim,
    Declaration,
    GoogleApiSettings,
    ManifestSection,
    SettingsModel,
)
from adoffboard.models import Phase


class TagManagerSettings(GoogleApiSettings):
    # Tag Manager allows 0.25 requests/s per project: one request every 4 s
    min_interval_s: float = Field(default=4.0, ge=0.0, le=60, allow_inf_nan=False)


class TagManagerAccount(SettingsModel):
    account_id: str = Field(pattern=r"^\d{4,15}$")
    expected_name: str = ""  # the account's name in Tag Manager; checked when set

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


DECLARATION = Declaration(
    platform="tag_manager",
    title="Google Tag Manager",
    module="adoffboard.connectors.tag_manager.connector",
    cls="TagManagerConnector",
    settings=TagManagerSettings,
    actions={
        "remove_access": ActionSpec(
            "delete the agency's user permissions on the account", Phase.ACCESS
        ),
    },
    manifest_key="tag_manager",
    manifest=(
        ManifestSection(
            "tag_manager", TagManagerAccount, claims=(Claim("Tag Manager account", "account_id"),)
        ),
    ),
    sdk=GOOGLE_REST_SDK,
)
