"""Google Analytics (GA4 Admin API), declared: its action, `[platforms.ga4]` and the manifest's
`ga4`.

FACTS the connector relies on, each with the vendor page it comes from:

- The agency's access is a list of access bindings on the account and on each property
  (`accounts/N/accessBindings`, `properties/N/accessBindings`), read with `list` and removed with
  `batchDelete`, at most 1,000 names of one parent per call
  (https://developers.google.com/analytics/devguides/config/admin/v1/rest/v1alpha/accounts.accessBindings,
  .../accounts.accessBindings/batchDelete).
- Through the official `google-analytics-admin` client (v1alpha), with no default retry: the
  connector passes its own retry and timeout on every call
  (https://cloud.google.com/python/docs/reference/analyticsadmin/latest).
- Quota errors arrive as 429 RESOURCE_EXHAUSTED (or 403 with reason `rateLimitExceeded`), which
  are retried; any other 403 is a real permission error
  (https://developers.google.com/analytics/devguides/config/admin/v1/quotas).
- A binding deleted a second time answers 404 NOT_FOUND: the access is already gone.
"""

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
