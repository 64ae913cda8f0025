"""Configured vendor calls (NinjaCat, Fluency, ...), declared: the `call` action,
`[platforms.http]` (its endpoints) and the manifest sections whose account ids the calls use.

FACTS the configured calls rely on:

- NinjaCat's management API takes OAuth client credentials (`/oauth2/token` with an `x-api-key`)
  and lists advertisers; no delete endpoint is documented, so removal stays a manual task unless
  the agency configures an endpoint it has (https://developers.ninjacat.io/).
- Fluency has no public API: "Account Hold" is a setting in its UI; a configured webhook is the
  only automated path (the agency's Fluency contract).
- A vendor call need not be idempotent: it is sent exactly once after a fresh read of its
  `verify_url`; a failed or unanswered call is reported, never repeated, and `resume` reads again
  before trying again.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

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
)
from adoffboard.credentials import check_reference
from adoffboard.models import Phase


class HttpEndpoint(SettingsModel):
    """One vendor call the generic `http` connector may make (see connectors/http/connector.py)."""

    enabled: bool = False
    title: str = ""
    manifest_key: Literal["ninjacat", "fluency"]  # whose account_id fills {account_id}
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(pattern=r"^https?://[^\s@]+$")
    body: dict[str, Any] | None = None  # JSON; {account_id} is replaced in string values
    expected_status: list[Annotated[int, Field(ge=100, le=599, strict=True)]] = Field(
        default_factory=lambda: [200, 201, 202, 204], min_length=1
    )
    # credential references, optionally after a scheme: "Bearer env:TOKEN" or "env:TOKEN"
    headers: dict[str, str] = Field(default_factory=dict, json_schema_extra=SECRET)
    verify_url: str = Field(pattern=r"^https?://[^\s@]+$")
    verify_json_path: str = ""  # dotted path in the verify response, e.g. "settings.hold"
    verify_equals: Any = None
    # removals: done when verify_url answers 404 or 410
    verify_gone: bool = Field(default=False, validate_default=True)
    name_json_path: str = ""  # where the verify response names the account (tenant guard)

    @field_validator("headers")
    @classmethod
    def _header_refs(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if problem := check_reference(value.split(" ")[-1]):
                raise ValueError(
                    f'header {name}: {problem} (optionally after a scheme: "Bearer env:TOKEN")'
                )
        return headers

    @field_validator("url", "verify_url")
    @classmethod
    def _no_query_secrets(cls, value: str) -> str:
        if re.search(r"(?i)[?&](key|token|secret|password|api_key|apikey)=", value):
            raise ValueError("put credentials in `headers` (as references), not in the URL")
        return value

    @field_validator("verify_gone")
    @classmethod
    def _one_verification(cls, gone: bool, info: Any) -> bool:
        if gone == bool(info.data.get("verify_json_path")):
            raise ValueError(
                "set exactly one of verify_json_path (with verify_equals) or verify_gone"
            )
        return gone


class HttpSettings(SettingsModel):
    timeout_s: TimeoutSeconds = 30.0
    attempts: Attempts = 5
    endpoints: dict[str, HttpEndpoint] = Field(default_factory=dict)


DECLARATION = Declaration(
    platform="http",
    title="HTTP endpoints",
    module="adoffboard.connectors.http.connector",
    cls="HttpConnector",
    settings=HttpSettings,
    actions={"call": ActionSpec("call a configured vendor endpoint once", Phase.VISIBILITY)},
    manifest_key="",  # each endpoint names its own (ninjacat, fluency)
    manifest=(
        ManifestSection(
            "ninjacat", SimpleAccount, claims=(Claim("NinjaCat account", "account_id"),)
        ),
        ManifestSection("fluency", SimpleAccount, claims=(Claim("Fluency account", "account_id"),)),
    ),
)
