"""Google Tag Manager, declared: its action, `[platforms.tag_manager]` and the manifest's
`tag_manager`.

FACTS the connector relies on, each with the vendor page it comes from:

- A user's access to an account and its containers is one `user_permissions` resource:
  `accounts.user_permissions.list(parent=accounts/N)` and `.delete(path=...)`; there is no batch
  (https://developers.google.com/tag-platform/tag-manager/api/reference/rest/v2/accounts.user_permissions).
- Quota: 10,000 requests per project per day and 0.25 queries per second per project, enforced
  on a 100-second sliding window; past it the API answers 403 Forbidden: every request waits its
  turn (`min_interval_s`, default 4 s)
  (https://developers.google.com/tag-platform/tag-manager/api/v2/limits-quotas).
"""

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
