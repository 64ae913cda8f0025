"""SharpSpring, declared: its action, `[platforms.sharpspring]` and the manifest's
`sharpspring`.

FACTS the connector relies on, each with the vendor page it comes from (SharpSpring's API
overview, https://help.sharpspring.com/hc/en-us/articles/115001069228-Overview-API-v1-2):

- One JSON-RPC endpoint, `POST https://api.sharpspring.com/pubapi/v1.2/?accountID=..&secretKey=..`,
  body `{"method", "params", "id"}`; the secret is in the URL, so no URL is ever logged.
- `getLeads` with `{"where": {}, "limit": 500, "offset": N}` pages until a short page.
- Errors come inside HTTP 200 bodies: 105 authentication, 106 the daily call limit, 107 more than
  10 calls per second (kept client-side; 107 is retried after a second).
- No API deactivates an account: that checklist line is an attested manual task.
"""

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
