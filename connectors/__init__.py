"""The platform connectors, declared here by data so that listing them imports no SDK.

Each entry names the module and class that implement it; `build()` imports that module only when
a runbook step actually uses the platform (the Google Ads SDK alone takes most of a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from adoffboard.errors import InputError
from adoffboard.models import Phase

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
        },
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
