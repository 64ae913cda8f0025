"""Google Ads stand-in: constants, currencies, entities and the GAQL schema (checked against
the SDK's GoogleAdsRow descriptor)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.ads.googleads.v26.errors.types import errors as err_types
from google.ads.googleads.v26.resources.types import change_event as change_event_types
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc
from google.protobuf import field_mask_pb2

from adoffboard.sandbox import gaql

PLATFORM = "google_ads"
VERSION = "v26"
FAILURE_KEY = f"google.ads.googleads.{VERSION}.errors.googleadsfailure-bin"
PAGE_SIZE = 10_000  # Search pages and SearchStream batches
MAX_OPERATIONS = 10_000
ROW = ga_svc.GoogleAdsRow.pb()
FAILURE = err_types.GoogleAdsFailure.pb()
GOOGLE_ADS_ERROR = err_types.GoogleAdsError.pb()
ERROR_DETAILS = err_types.ErrorDetails.pb()
CHANGED_RESOURCE = change_event_types.ChangeEvent.ChangedResource.pb()
_ERROR_CODE = err_types.ErrorCode.pb().DESCRIPTOR

T = TypeVar("T")


@dataclass(frozen=True)
class Currency:
    """A currency_constant row. `demand_gen_min` is v26's demand_gen_info minimum per day;
    the non-USD values are rough conversions of USD 5 (the real table is Google's)."""

    code: str
    name: str
    symbol: str
    billable_unit_micros: int
    demand_gen_min: int

    @property
    def resource_name(self) -> str:
        return f"currencyConstants/{self.code}"


CURRENCIES = {
    c.code: c
    for c in (
        Currency("USD", "US Dollar", "$", 10_000, 5_000_000),
        Currency("CAD", "Canadian Dollar", "CA$", 10_000, 7_000_000),
        Currency("EUR", "Euro", "€", 10_000, 5_000_000),
        Currency("GBP", "British Pound", "£", 10_000, 4_000_000),
        Currency("AUD", "Australian Dollar", "A$", 10_000, 8_000_000),
        Currency("JPY", "Japanese Yen", "¥", 1_000_000, 750_000_000),
        Currency("INR", "Indian Rupee", "₹", 10_000, 400_000_000),
        Currency("MXN", "Mexican Peso", "MX$", 10_000, 100_000_000),
    )
}

# --------------------------------------------------------------------------------------------
# Entities


@dataclass
class Customer:
    customer_id: str
    descriptive_name: str
    currency_code: str
    time_zone: str
    manager: bool = False
    test_account: bool = False
    status: str = "ENABLED"

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}"


@dataclass
class Budget:
    customer_id: str
    budget_id: str
    name: str
    period: str
    amount_micros: int | None
    total_amount_micros: int | None
    explicitly_shared: bool = False
    status: str = "ENABLED"
    delivery_method: str = "STANDARD"
    type: str = "STANDARD"

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/campaignBudgets/{self.budget_id}"


@dataclass
class Campaign:
    customer_id: str
    campaign_id: str
    name: str
    status: str
    channel: str
    budget_id: str
    sub_type: str | None = None
    experiment_type: str = "BASE"
    serving_status: str | None = None
    # network_settings (stored, not acted on: the stand-in serves no ads)
    target_google_search: bool = True
    target_search_network: bool = True
    target_content_network: bool = False
    target_partner_search_network: bool = False

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/campaigns/{self.campaign_id}"


@dataclass
class Link:
    """One manager-client link, seen as customer_client_link (manager side) and
    customer_manager_link (client side): both views share status."""

    manager_id: str
    client_id: str
    manager_link_id: str
    status: str = "ACTIVE"
    hidden: bool = False


@dataclass
class ChangeEvent:
    customer_id: str
    when: dt.datetime  # aware, UTC
    client_type: str
    resource_type: str
    resource_name: str
    user_email: str
    operation: str = "UPDATE"
    changed_fields: tuple[str, ...] = ()
    old: Any = None  # ChangeEvent.ChangedResource protobuf, or None
    new: Any = None
    seq: int = 0

    @property
    def campaign(self) -> str:
        m = re.match(r"(customers/\d+/campaigns/\d+)", self.resource_name)
        return m.group(1) if m else ""


@dataclass
class ChangeStatus:
    """The latest change of one resource (change_status keeps one row per resource)."""

    customer_id: str
    status_id: str
    resource_type: str  # ChangeStatusResourceType
    resource_name: str
    status: str  # ADDED, CHANGED or REMOVED
    when: dt.datetime  # aware, UTC


# --------------------------------------------------------------------------------------------
# GAQL schema (checked against the SDK's GoogleAdsRow descriptor) and row contexts

SCHEMA = gaql.Schema(ROW.DESCRIPTOR)
INT_METRICS = ("impressions", "clicks", "cost_micros", "interactions", "video_trueview_views")
DOUBLE_METRICS = (
    "conversions",
    "conversions_value",
    "all_conversions",
    "ctr",
    "average_cpc",
    "average_cost",
    "average_cpm",
    "interaction_rate",
    "cost_per_conversion",
)
NETWORK_SETTINGS = (
    "target_google_search",
    "target_search_network",
    "target_content_network",
    "target_partner_search_network",
)
# Campaign attributes under the names of their fields in the API
CAMPAIGN_FIELDS = {
    "status": "status",
    "name": "name",
    "budget_id": "campaign_budget",
    **{attr: f"network_settings.{attr}" for attr in NETWORK_SETTINGS},
}
BUDGET_FIELDS = {
    f: f for f in ("name", "amount_micros", "total_amount_micros", "explicitly_shared", "status")
}
# The change_status fields that name the changed resource: each is the lower-case name of the
# ChangeStatusResourceType it serves (CAMPAIGN_BUDGET -> campaign_budget).
CHANGE_STATUS_LINKS = tuple(
    f.name
    for f in ROW.DESCRIPTOR.fields_by_name["change_status"].message_type.fields
    if f.type == f.TYPE_STRING and f.name not in ("resource_name", "last_change_date_time")
)


def _attr_of(key: str, attr: str, index: int | None = None) -> Callable[[dict[str, Any]], Any]:
    """Getter for `ctx[key].attr` (or `ctx[key][index].attr`)."""

    def get(ctx: dict[str, Any]) -> Any:
        obj = ctx[key] if index is None else ctx[key][index]
        return getattr(obj, attr)

    return get


def _local_when(key: str) -> Callable[[dict[str, Any]], dt.datetime]:
    """Getter of `ctx[key].when` in the account's time zone, as the API shows date times."""

    def get(ctx: dict[str, Any]) -> dt.datetime:
        return ctx[key].when.astimezone(ctx["tz"]).replace(tzinfo=None)  # type: ignore[no-any-return]

    return get


def _define_schema(s: gaql.Schema) -> None:
    s.resource("customer", metrics=True)
    s.resource("campaign", "campaign_budget", "customer", metrics=True)
    s.resource("campaign_budget", "customer", metrics=True)
    s.resource("currency_constant")
    s.resource("customer_client_link", "customer")
    s.resource("customer_manager_link", "customer")
    s.resource("customer_client", "customer")
    s.resource("change_event", "customer")
    s.resource("change_status", "customer")

    # Statistics: the stand-in's accounts have no traffic, so every metric is zero.
    for name in INT_METRICS:
        s.add(f"metrics.{name}", lambda c: 0)
    for name in DOUBLE_METRICS:
        s.add(f"metrics.{name}", lambda c: 0.0)
    s.add("segments.date", lambda c: c.get("date"), kind="date")

    def cu(c: dict[str, Any]) -> Customer:
        return c["customer"]  # type: ignore[no-any-return]

    s.add("customer.resource_name", lambda c: cu(c).resource_name)
    s.add("customer.id", lambda c: int(cu(c).customer_id))
    s.add("customer.descriptive_name", lambda c: cu(c).descriptive_name)
    s.add("customer.currency_code", lambda c: cu(c).currency_code)
    s.add("customer.time_zone", lambda c: cu(c).time_zone)
    s.add("customer.manager", lambda c: cu(c).manager)
    s.add("customer.test_account", lambda c: cu(c).test_account)
    s.add("customer.status", lambda c: cu(c).status)

    def cp(c: dict[str, Any]) -> Campaign:
        return c["campaign"]  # type: ignore[no-any-return]

    primary = {"ENABLED": "ELIGIBLE", "PAUSED": "PAUSED", "REMOVED": "REMOVED"}
    s.add("campaign.resource_name", lambda c: cp(c).resource_name)
    s.add("campaign.id", lambda c: int(cp(c).campaign_id))
    s.add("campaign.name", lambda c: cp(c).name)
    s.add("campaign.status", lambda c: cp(c).status)
    s.add("campaign.primary_status", lambda c: primary[cp(c).status])
    s.add(
        "campaign.serving_status",
        lambda c: cp(c).serving_status or ("NONE" if cp(c).status == "REMOVED" else "SERVING"),
    )
    s.add("campaign.advertising_channel_type", lambda c: cp(c).channel)
    s.add("campaign.advertising_channel_sub_type", lambda c: cp(c).sub_type)
    s.add("campaign.experiment_type", lambda c: cp(c).experiment_type)
    # Declared for every campaign since 2025; the stand-in's accounts run no political ads.
    s.add(
        "campaign.contains_eu_political_advertising",
        lambda c: "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING",
    )
    for attr in NETWORK_SETTINGS:
        s.add(f"campaign.network_settings.{attr}", _attr_of("campaign", attr))
    s.add(
        "campaign.campaign_budget",
        lambda c: f"customers/{cp(c).customer_id}/campaignBudgets/{cp(c).budget_id}",
    )

    def bu(c: dict[str, Any]) -> Budget | None:
        return c.get("campaign_budget")

    def bget(attr: str, conv: Callable[[Any], Any] = lambda v: v) -> Callable[[Any], Any]:
        def get(c: dict[str, Any]) -> Any:
            b = bu(c)
            value = None if b is None else getattr(b, attr)
            return None if value is None else conv(value)

        return get

    s.add("campaign_budget.resource_name", bget("resource_name"))
    s.add("campaign_budget.id", bget("budget_id", int))
    for attr in (
        "name",
        "amount_micros",
        "total_amount_micros",
        "period",
        "explicitly_shared",
        "status",
        "delivery_method",
        "type",
    ):
        s.add(f"campaign_budget.{attr}", bget(attr))
    s.add(
        "campaign_budget.reference_count",
        lambda c: None if bu(c) is None else c["refs"].get(c["campaign_budget"].budget_id, 0),
    )

    for attr in ("resource_name", "code", "name", "symbol", "billable_unit_micros"):
        s.add(f"currency_constant.{attr}", _attr_of("currency_constant", attr))
    s.add(
        "currency_constant.demand_gen_info.minimum_budget_per_day_micros",
        lambda c: c["currency_constant"].demand_gen_min,
    )

    def lk(c: dict[str, Any], view: str) -> Link:
        return c[view]  # type: ignore[no-any-return]

    v = "customer_client_link"
    s.add(f"{v}.resource_name", lambda c: client_link_name(lk(c, v)))
    s.add(f"{v}.client_customer", lambda c: f"customers/{lk(c, v).client_id}")
    s.add(f"{v}.manager_link_id", lambda c: int(lk(c, v).manager_link_id))
    s.add(f"{v}.status", lambda c: lk(c, v).status)
    s.add(f"{v}.hidden", lambda c: lk(c, v).hidden)
    w = "customer_manager_link"
    s.add(f"{w}.resource_name", lambda c: manager_link_name(lk(c, w)))
    s.add(f"{w}.manager_customer", lambda c: f"customers/{lk(c, w).manager_id}")
    s.add(f"{w}.manager_link_id", lambda c: int(lk(c, w).manager_link_id))
    s.add(f"{w}.status", lambda c: lk(c, w).status)

    def cc(c: dict[str, Any]) -> Customer:
        return c["customer_client"][0]  # type: ignore[no-any-return]

    s.add(
        "customer_client.resource_name",
        lambda c: f"{cu(c).resource_name}/customerClients/{cc(c).customer_id}",
    )
    s.add("customer_client.client_customer", lambda c: cc(c).resource_name)
    s.add("customer_client.id", lambda c: int(cc(c).customer_id))
    s.add("customer_client.level", lambda c: c["customer_client"][1])
    s.add("customer_client.hidden", lambda c: c["customer_client"][2])
    for attr in (
        "descriptive_name",
        "manager",
        "currency_code",
        "time_zone",
        "test_account",
        "status",
    ):
        s.add(f"customer_client.{attr}", _attr_of("customer_client", attr, index=0))

    def ev(c: dict[str, Any]) -> ChangeEvent:
        return c["change_event"]  # type: ignore[no-any-return]

    s.add(
        "change_event.resource_name",
        lambda c: (
            f"customers/{ev(c).customer_id}/changeEvents/"
            f"{int(ev(c).when.timestamp() * 1_000_000)}~{ev(c).seq}~0"
        ),
    )
    s.add("change_event.change_date_time", _local_when("change_event"), kind="datetime")
    s.add("change_event.change_resource_type", lambda c: ev(c).resource_type)
    s.add("change_event.change_resource_name", lambda c: ev(c).resource_name)
    s.add("change_event.client_type", lambda c: ev(c).client_type)
    s.add("change_event.user_email", lambda c: ev(c).user_email)
    s.add("change_event.resource_change_operation", lambda c: ev(c).operation)
    s.add("change_event.campaign", lambda c: ev(c).campaign)
    s.add(
        "change_event.changed_fields",
        lambda c: field_mask_pb2.FieldMask(paths=list(ev(c).changed_fields)),
    )
    s.add("change_event.old_resource", lambda c: ev(c).old)
    s.add("change_event.new_resource", lambda c: ev(c).new)

    def st(c: dict[str, Any]) -> ChangeStatus:
        return c["change_status"]  # type: ignore[no-any-return]

    s.add(
        "change_status.resource_name",
        lambda c: f"customers/{st(c).customer_id}/changeStatus/{st(c).status_id}",
    )
    s.add("change_status.last_change_date_time", _local_when("change_status"), kind="datetime")
    s.add("change_status.resource_type", lambda c: st(c).resource_type)
    s.add("change_status.resource_status", lambda c: st(c).status)

    def named(link: str) -> Callable[[dict[str, Any]], str | None]:
        def get(c: dict[str, Any]) -> str | None:
            return st(c).resource_name if st(c).resource_type.lower() == link else None

        return get

    for link in CHANGE_STATUS_LINKS:
        s.add(f"change_status.{link}", named(link))


_define_schema(SCHEMA)


def client_link_name(link: Link) -> str:
    return (
        f"customers/{link.manager_id}/customerClientLinks/{link.client_id}~{link.manager_link_id}"
    )


def manager_link_name(link: Link) -> str:
    return (
        f"customers/{link.client_id}/customerManagerLinks/{link.manager_id}~{link.manager_link_id}"
    )


def _enum_names(gaql_field: str) -> frozenset[str]:
    values = SCHEMA.fields[gaql_field].enum_values or {}
    return frozenset(n for n in values if n not in ("UNSPECIFIED", "UNKNOWN"))


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC
