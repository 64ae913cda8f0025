"""Google Search Console, declared: its action, `[platforms.search_console]` and the manifest's
`search_console`."""

from __future__ import annotations

from pydantic import Field

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


class SearchConsoleSite(SettingsModel):
    site_url: str = Field(pattern=r"^(https?://\S+/|sc-domain:\S+)$")


DECLARATION = Declaration(
    platform="search_console",
    title="Google Search Console",
    module="adoffboard.connectors.search_console.connector",
    cls="SearchConsoleConnector",
    settings=GoogleApiSettings,
    actions={
        "remove_access": ActionSpec(
            "relinquish the agency's verified ownership and drop the "
            "property from its Search Console",
            Phase.ACCESS,
        ),
    },
    manifest_key="search_console",
    manifest=(
        ManifestSection(
            "search_console",
            SearchConsoleSite,
            claims=(Claim("Search Console property", "site_url"),),
        ),
    ),
    sdk=GOOGLE_REST_SDK,
)
