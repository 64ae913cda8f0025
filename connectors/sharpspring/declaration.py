"""SharpSpring, declared: its action, `[platforms.sharpspring]` and the manifest's
`sharpspring`."""

from __future__ import annotations

from pydantic import Field, field_validator

from adoffboard.connectors.declare import (
    SECRET,
    ActionSpec,
    Attempts,
    Claim,
    Declaration,
    ManifestSection,
    SettingsModel,
    SimpleAccount,
    TimeoutSeconds,
    check_references,
)


class SharpSpringSettings(SettingsModel):
    endpoint: str = "https://api.sharpspring.com/pubapi/v1.2/"
    # references; "{account_id}" in them is replaced by the client's account id, so that one
    # workspace can hold every dealer's key (e.g. keyring:adoffboard/sharpspring-{account_id})
    secret_key: str = Field(json_schema_extra=SECRET)
    # when set, the account the key belongs to: must be the manifest's
    account_id: str = Field(default="", json_schema_extra=SECRET)
    per_second: int = Field(default=10, ge=1, le=10, strict=True)
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5

    @field_validator("secret_key", "account_id")
    @classmethod
    def _refs(cls, value: str) -> str:
        check_references({"reference": value})
        return value


DECLARATION = Declaration(
    platform="sharpspring",
    title="SharpSpring",
    module="adoffboard.connectors.sharpspring.connector",
    cls="SharpSpringConnector",
    settings=SharpSpringSettings,
    actions={
        "export_contacts": ActionSpec("export every contact and email it to the Account Manager"),
    },
    manifest_key="sharpspring",
    manifest=(
        ManifestSection(
            "sharpspring", SimpleAccount, claims=(Claim("SharpSpring account", "account_id"),)
        ),
    ),
)
