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
    # the vendor modules its connector imports while it works: imported by `build` in the
    # calling (main) thread, since two first imports of shared Google packages racing in the
    # engine's platform threads can deadlock
    sdk: tuple[str, ...] = ()

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
        sdk=("google.oauth2.credentials", "google.ads.googleads.client",
             "google.ads.googleads.errors",
             "google.ads.googleads.v26.errors.types.errors",
             "google.ads.googleads.v26.services.services.google_ads_service",
             "google.ads.googleads.v26.services.services.customer_client_link_service",
             "google.ads.googleads.v26.services.services.customer_manager_link_service"),
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
        sdk=("bingads.authorization", "bingads.service_client", "openapi_client",
             "openapi_client.rest", "openapi_client.exceptions", "urllib3"),
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
        sdk=("facebook_business.api", "facebook_business.session", "facebook_business.exceptions",
             "facebook_business.adobjects.adaccount", "facebook_business.adobjects.business",
             "facebook_business.adobjects.adrule", "facebook_business.adobjects.adset",
             "facebook_business.adobjects.campaign"),
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
        sdk=("google.oauth2.credentials", "google.oauth2.service_account",
             "google.analytics.admin_v1alpha", "google.api_core.exceptions",
             "google.auth.exceptions"),
        manifest_key="ga4",
        actions={"remove_access": Phase.ACCESS},
    ),
    "search_console": ConnectorInfo(
        platform="search_console",
        title="Google Search Console",
        module="adoffboard.connectors.search_console",
        cls="SearchConsoleConnector",
        sdk=("google.oauth2.credentials",
             "google.oauth2.service_account",
             "google_auth_httplib2",
             "googleapiclient.discovery",
             "googleapiclient.errors",
             "googleapiclient.http"),
        manifest_key="search_console",
        actions={"remove_access": Phase.ACCESS},
    ),
    "tag_manager": ConnectorInfo(
        platform="tag_manager",
        title="Google Tag Manager",
        module="adoffboard.connectors.tag_manager",
        cls="TagManagerConnector",
        sdk=("google.oauth2.credentials",
             "google.oauth2.service_account",
             "google_auth_httplib2",
             "googleapiclient.discovery",
             "googleapiclient.errors",
             "googleapiclient.http"),
        manifest_key="tag_manager",
        actions={"remove_access": Phase.ACCESS},
    ),
    "sheets": ConnectorInfo(
        platform="sheets",
        title="Google Sheets",
        module="adoffboard.connectors.sheets",
        cls="SheetsConnector",
        sdk=("google.oauth2.credentials",
             "google.oauth2.service_account",
             "google_auth_httplib2",
             "googleapiclient.discovery",
             "googleapiclient.errors",
             "googleapiclient.http"),
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
    """The platform's connector; its module and vendor SDK imported here, in the caller's
    thread (see `ConnectorInfo.sdk`)."""
    entry = info(platform)
    module = import_module(entry.module)
    for name in entry.sdk:
        import_module(name)
    connector: Connector = getattr(module, entry.cls)(ctx)
    return connector
