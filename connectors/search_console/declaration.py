"""Google Search Console, declared: its action, `[platforms.search_console]` and the manifest's
`search_console`.

FACTS the connector relies on, each with the vendor page it comes from:

- The Search Console API manages only the caller's own list of sites: `sites.get` tells the
  agency's permission level (403 when the site is not among its sites) and `sites.delete` drops it
  (https://developers.google.com/webmaster-tools/v1/sites/get, .../v1/sites/delete).
- Verified ownership is relinquished with the Site Verification API's `webResource.delete`, after
  the verification token has been removed from the site
  (https://developers.google.com/site-verification/v1/webResource/delete).
- The API has no user management: other users' access to the property is a manual task
  (https://support.google.com/webmasters/answer/7687615).
- Built offline from the client library's bundled discovery documents; `num_retries` retries 5xx,
  429 and rate-limit 403s, and is 0 by default
  (https://googleapis.github.io/google-api-python-client/docs/epy/googleapiclient.http.HttpRequest-class.html).
"""

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
