"""The platform connectors: one folder per platform, each declared once in its `declaration.py`.

    connectors/<platform>/declaration.py  what it is: title, actions and phases, settings and
                                          manifest models, restorability, vendor modules
    connectors/<platform>/connector.py    the `Connector`: read, apply, verify
    connectors/<platform>/planning.py     pure planning and judging, from the state it reads
    connectors/<platform>/client.py       its wire: SDK or HTTP plumbing, error translation

The registry is built from the declarations alone, so listing platforms, validating a workspace
or a runbook imports no vendor SDK; `build()` imports a connector (and its SDK) only when a
runbook step actually uses the platform (the Google Ads SDK alone takes most of a second).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from adoffboard.connectors.declare import Declaration
from adoffboard.connectors.ga4.declaration import DECLARATION as GA4
from adoffboard.connectors.google_ads.declaration import DECLARATION as GOOGLE_ADS
from adoffboard.connectors.http.declaration import DECLARATION as HTTP
from adoffboard.connectors.meta.declaration import DECLARATION as META
from adoffboard.connectors.microsoft_ads.declaration import DECLARATION as MICROSOFT_ADS
from adoffboard.connectors.search_console.declaration import DECLARATION as SEARCH_CONSOLE
from adoffboard.connectors.sharpspring.declaration import DECLARATION as SHARPSPRING
from adoffboard.connectors.sheets.declaration import DECLARATION as SHEETS
from adoffboard.connectors.tag_manager.declaration import DECLARATION as TAG_MANAGER
from adoffboard.connectors.trello.declaration import DECLARATION as TRELLO
from adoffboard.errors import InputError

if TYPE_CHECKING:
    from adoffboard.connectors.base import Connector, ConnectorContext

# In the order of the client manifest's sections (the manifest model is composed from it).
REGISTRY: dict[str, Declaration] = {
    d.platform: d
    for d in (
        GOOGLE_ADS,
        MICROSOFT_ADS,
        META,
        GA4,
        SEARCH_CONSOLE,
        TAG_MANAGER,
        HTTP,
        SHARPSPRING,
        TRELLO,
        SHEETS,
    )
}


def info(platform: str) -> Declaration:
    try:
        return REGISTRY[platform]
    except KeyError:
        raise InputError(
            f"unknown connector {platform!r}; known: {', '.join(sorted(REGISTRY))}"
        ) from None


def connector_class(platform: str) -> type[Connector[Any]]:
    """The platform's connector class (imports its module, not yet its vendor SDK)."""
    entry = info(platform)
    cls: type[Connector[Any]] = getattr(import_module(entry.module), entry.cls)
    return cls


def build(platform: str, ctx: ConnectorContext) -> Connector[Any]:
    """The platform's connector; its module and vendor SDK imported here, in the caller's
    thread (see `Declaration.sdk`)."""
    cls = connector_class(platform)
    for name in info(platform).sdk:
        import_module(name)
    return cls(ctx)
