"""The platform connectors, declared here by data so that listing them imports no SDK.

Each entry names the module and class that implement it; `build()` imports that module only when
a runbook step actually uses the platform (the Google Ads SDK alone takes most of a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from adoffboard.errors import InputError
from adoffboard.models import Change, Phase

if TYPE_CHECKING:
    from adoffboard.connectors.base import Connector, ConnectorContext


@dataclass(frozen=True)
class ConnectorInfo:
    platform: str
    title: str
    module: str
    cls: str
    manifest_key: str
    actions: dict[str, Phase]  # action name -> phase (check-only actions map to None-like ADS)
    restorable: bool = False  # `restore` can read its values back and write the old ones
    # when not empty, only changes to these entity types are restorable (e.g. Sheets cells, not
    # the rows a cancellation deletes or appends): the others are reported as not restored
    restorable_entities: frozenset[str] = frozenset()

    def restores(self, change: Change) -> bool:
        """Whether `restore` can put this change back."""
        return self.restorable and (not self.restorable_entities
                                    or change.entity_type in self.restorable_entities)


REGISTRY: dict[str, ConnectorInfo] = {
    "google_ads": ConnectorInfo(
        platform="google_ads",
        title="Google Ads",
        module="adoffboard.connectors.google_ads",
        cls="GoogleAdsConnector",
        manifest_key="google_ads",
        actions={
            "pause_campaigns": Phase.ADS,
            "budgets_to_floor": Phase.ADS,
            "hide_account": Phase.VISIBILITY,
            "unlink_account": Phase.ACCESS,
            "scripts_quiet": Phase.ADS,
            "set_budgets": Phase.ADS,
        },
        restorable=True,
    ),
    "microsoft_ads": ConnectorInfo(
        platform="microsoft_ads",
        title="Microsoft Advertising",
        module="adoffboard.connectors.microsoft_ads",
        cls="MicrosoftAdsConnector",
        manifest_key="microsoft_ads",
        actions={
            "pause_campaigns": Phase.ADS,
            "budgets_to_floor": Phase.ADS,
        },
        restorable=True,
    ),
    "meta": ConnectorInfo(
        platform="meta",
        title="Meta (Facebook) Ads",
        module="adoffboard.connectors.meta",
        cls="MetaConnector",
        manifest_key="meta",
        actions={
            "pause_campaigns": Phase.ADS,
            "disable_rules": Phase.ADS,
            "remove_agency": Phase.ACCESS,
        },
        restorable=True,  # statuses only: the agency's removal (ACCESS) is never restored
    ),
    "ga4": ConnectorInfo(
        platform="ga4",
        title="Google Analytics",
        module="adoffboard.connectors.ga4",
        cls="GA4Connector",
        manifest_key="ga4",
        actions={"remove_access": Phase.ACCESS},
    ),
    "search_console": ConnectorInfo(
        platform="search_console",
        title="Google Search Console",
        module="adoffboard.connectors.search_console",
        cls="SearchConsoleConnector",
        manifest_key="search_console",
        actions={"remove_access": Phase.ACCESS},
    ),
    "tag_manager": ConnectorInfo(
        platform="tag_manager",
        title="Google Tag Manager",
        module="adoffboard.connectors.tag_manager",
        cls="TagManagerConnector",
        manifest_key="tag_manager",
        actions={"remove_access": Phase.ACCESS},
    ),
    "sheets": ConnectorInfo(
        platform="sheets",
        title="Google Sheets",
        module="adoffboard.connectors.sheets",
        cls="SheetsConnector",
        manifest_key="trackers",
        actions={
            "remove_row": Phase.VISIBILITY,
            "append_row": Phase.VISIBILITY,
            "set_cell": Phase.VISIBILITY,
        },
        restorable=True,
        restorable_entities=frozenset({"cell"}),  # set_cell; rows removed or appended are not
    ),
    "trello": ConnectorInfo(
        platform="trello",
        title="Trello",
        module="adoffboard.connectors.trello",
        cls="TrelloConnector",
        manifest_key="trello",
        actions={"archive_card": Phase.VISIBILITY},
    ),
    "sharpspring": ConnectorInfo(
        platform="sharpspring",
        title="SharpSpring",
        module="adoffboard.connectors.sharpspring",
        cls="SharpSpringConnector",
        manifest_key="sharpspring",
        actions={"export_contacts": Phase.ADS},
    ),
    "http": ConnectorInfo(
        platform="http",
        title="HTTP endpoints",
        module="adoffboard.connectors.http_step",
        cls="HttpConnector",
        manifest_key="",  # each endpoint names its own (ninjacat, fluency)
        actions={"call": Phase.VISIBILITY},  # the default; a step's params may say "access"
    ),
}


def info(platform: str) -> ConnectorInfo:
    try:
        return REGISTRY[platform]
    except KeyError:
        raise InputError(
            f"unknown connector {platform!r}; known: {', '.join(sorted(REGISTRY))}"
        ) from None


def build(platform: str, ctx: ConnectorContext) -> Connector:
    entry = info(platform)
    module = import_module(entry.module)
    connector: Connector = getattr(module, entry.cls)(ctx)
    return connector
