"""Google Ads API v26 stand-in: a gRPC server the official `google-ads` SDK talks to unchanged.

Why a wire-level stand-in: the connector is only trustworthy if it has met the API's real
behaviour (trailing-metadata failures, partial failures, update masks, refusals of VIDEO and
REMOVED campaigns, budget floors, quota errors) through the real SDK. So this server speaks gRPC
over TLS with the SDK's own protobuf messages, holds the accounts of a scenario in memory, logs
every request (never its secrets) and injects the faults a `FaultPlan` asks for.

Layout: entities; the GAQL schema (checked against the SDK's descriptors); scenario loading and
`GoogleAdsState` (the live data tests inspect); row contexts; errors as the API sends them; the
mutation engine (`_Txn`: atomic unless partial_failure); the gRPC services; `generate_accounts`.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import datetime as dt
import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import grpc
from google.ads.googleads.v26.errors.types import errors as err_types
from google.ads.googleads.v26.resources.types import change_event as change_event_types
from google.ads.googleads.v26.services.types import customer_client_link_service as ccl_svc
from google.ads.googleads.v26.services.types import customer_manager_link_service as cml_svc
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc
from google.protobuf import any_pb2, field_mask_pb2
from google.rpc import status_pb2

from adoffboard.sandbox import gaql
from adoffboard.sandbox.core import KILLED_AFTER, KILLED_BEFORE, FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.tls import sandbox_cert

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


# --------------------------------------------------------------------------------------------
# GAQL schema (checked against the SDK's GoogleAdsRow descriptor) and row contexts

SCHEMA = gaql.Schema(ROW.DESCRIPTOR)


def _attr_of(key: str, attr: str, index: int | None = None) -> Callable[[dict[str, Any]], Any]:
    """Getter for `ctx[key].attr` (or `ctx[key][index].attr`)."""
    def get(ctx: dict[str, Any]) -> Any:
        obj = ctx[key] if index is None else ctx[key][index]
        return getattr(obj, attr)
    return get


def _define_schema(s: gaql.Schema) -> None:
    s.resource("customer")
    s.resource("campaign", "campaign_budget", "customer")
    s.resource("campaign_budget", "customer")
    s.resource("currency_constant")
    s.resource("customer_client_link", "customer")
    s.resource("customer_manager_link", "customer")
    s.resource("customer_client", "customer")
    s.resource("change_event", "customer")

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
    s.add("campaign.serving_status", lambda c: cp(c).serving_status
          or ("NONE" if cp(c).status == "REMOVED" else "SERVING"))
    s.add("campaign.advertising_channel_type", lambda c: cp(c).channel)
    s.add("campaign.advertising_channel_sub_type", lambda c: cp(c).sub_type)
    s.add("campaign.experiment_type", lambda c: cp(c).experiment_type)
    s.add("campaign.campaign_budget",
          lambda c: f"customers/{cp(c).customer_id}/campaignBudgets/{cp(c).budget_id}")

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
    for attr in ("name", "amount_micros", "total_amount_micros", "period", "explicitly_shared",
                 "status", "delivery_method", "type"):
        s.add(f"campaign_budget.{attr}", bget(attr))
    s.add("campaign_budget.reference_count",
          lambda c: None if bu(c) is None else c["refs"].get(c["campaign_budget"].budget_id, 0))

    for attr in ("resource_name", "code", "name", "symbol", "billable_unit_micros"):
        s.add(f"currency_constant.{attr}", _attr_of("currency_constant", attr))
    s.add("currency_constant.demand_gen_info.minimum_budget_per_day_micros",
          lambda c: c["currency_constant"].demand_gen_min)

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

    s.add("customer_client.resource_name",
          lambda c: f"{cu(c).resource_name}/customerClients/{cc(c).customer_id}")
    s.add("customer_client.client_customer", lambda c: cc(c).resource_name)
    s.add("customer_client.id", lambda c: int(cc(c).customer_id))
    s.add("customer_client.level", lambda c: c["customer_client"][1])
    s.add("customer_client.hidden", lambda c: c["customer_client"][2])
    for attr in ("descriptive_name", "manager", "currency_code", "time_zone", "test_account",
                 "status"):
        s.add(f"customer_client.{attr}", _attr_of("customer_client", attr, index=0))

    def ev(c: dict[str, Any]) -> ChangeEvent:
        return c["change_event"]  # type: ignore[no-any-return]

    s.add("change_event.resource_name", lambda c: (
        f"customers/{ev(c).customer_id}/changeEvents/"
        f"{int(ev(c).when.timestamp() * 1_000_000)}~{ev(c).seq}~0"))
    s.add("change_event.change_date_time",
          lambda c: ev(c).when.astimezone(c["tz"]).replace(tzinfo=None), kind="datetime")
    s.add("change_event.change_resource_type", lambda c: ev(c).resource_type)
    s.add("change_event.change_resource_name", lambda c: ev(c).resource_name)
    s.add("change_event.client_type", lambda c: ev(c).client_type)
    s.add("change_event.user_email", lambda c: ev(c).user_email)
    s.add("change_event.resource_change_operation", lambda c: ev(c).operation)
    s.add("change_event.campaign", lambda c: ev(c).campaign)
    s.add("change_event.changed_fields",
          lambda c: field_mask_pb2.FieldMask(paths=list(ev(c).changed_fields)))
    s.add("change_event.old_resource", lambda c: ev(c).old)
    s.add("change_event.new_resource", lambda c: ev(c).new)


_define_schema(SCHEMA)


def client_link_name(link: Link) -> str:
    return (f"customers/{link.manager_id}/customerClientLinks/"
            f"{link.client_id}~{link.manager_link_id}")


def manager_link_name(link: Link) -> str:
    return (f"customers/{link.client_id}/customerManagerLinks/"
            f"{link.manager_id}~{link.manager_link_id}")


def _enum_names(gaql_field: str) -> frozenset[str]:
    values = SCHEMA.fields[gaql_field].enum_values or {}
    return frozenset(n for n in values if n not in ("UNSPECIFIED", "UNKNOWN"))


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


# --------------------------------------------------------------------------------------------
# Scenario loading


def _mapping(where: str, raw: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(raw).__name__}")
    unknown = set(raw) - required - optional
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: "
                         f"{sorted(required | optional)}")
    missing = required - set(raw)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    return dict(raw)


def _cid(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{10}", value):
        raise ValueError(f"{where}: customer id must be a quoted string of 10 digits without "
                         f"dashes, got {value!r}")
    return value


def _id(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,19}", value):
        raise ValueError(f"{where}: id must be a quoted string of digits, got {value!r}")
    return value


def _choice(where: str, value: Any, gaql_field: str) -> str:
    allowed = _enum_names(gaql_field)
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {sorted(allowed)}")
    return str(value)


def _micros(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: must be a positive integer of micros, got {value!r}")
    return value


def _when(where: str, value: Any) -> dt.datetime:
    """ISO datetime (naive = UTC), a YAML timestamp, or relative to now: -3d, -5h, -30m."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, str) and (m := re.fullmatch(r"-(\d+)([dhm])", value.strip())):
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        when = dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(m.group(1))})
    else:
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{where}: 'at' must be an ISO datetime or -Nd/-Nh/-Nm, "
                             f"got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------------------------
# The live state


class GoogleAdsState:
    """The accounts of one scenario, mutated by the stand-in and inspected by tests.

    Every access from the server holds `lock`; test helpers take it too.
    """

    def __init__(self, scenario: Mapping[str, Any]) -> None:
        self.lock = threading.RLock()
        self.customers: dict[str, Customer] = {}
        self.budgets: dict[str, dict[str, Budget]] = {}
        self.campaigns: dict[str, dict[str, Campaign]] = {}
        self.links: dict[tuple[str, str], Link] = {}  # (manager_id, client_id)
        self.events: dict[str, list[ChangeEvent]] = {}
        self.api_user_email = "api-user@agency.example"
        self._seq = 0
        self._load(scenario)

    # ---- loading
    def _load(self, scenario: Mapping[str, Any]) -> None:
        root = _mapping("google_ads", scenario, {"accounts"}, {"managers", "api_user_email"})
        self.api_user_email = str(root.get("api_user_email") or self.api_user_email)
        cust_keys = {"customer_id", "descriptive_name", "currency_code"}
        for i, raw in enumerate(root.get("managers") or []):
            m = _mapping(f"google_ads.managers[{i}]", raw, cust_keys, {"time_zone"})
            self._add_customer(f"google_ads.managers[{i}]", m, manager=True)
        if not isinstance(root["accounts"], list):
            raise ValueError("google_ads.accounts must be a list")
        pending_events: list[tuple[str, str, dict[str, Any]]] = []
        for i, raw in enumerate(root["accounts"]):
            where = f"google_ads.accounts[{i}]"
            a = _mapping(where, raw, cust_keys, {"time_zone", "links", "budgets", "campaigns",
                                                 "change_events", "test_account", "status"})
            cust = self._add_customer(where, a, manager=False)
            cid = cust.customer_id
            for j, lraw in enumerate(a.get("links") or []):
                self._add_link(f"{where}.links[{j}]", cid, lraw)
            for j, braw in enumerate(a.get("budgets") or []):
                self._add_budget(f"{where}.budgets[{j}]", cid, braw)
            for j, craw in enumerate(a.get("campaigns") or []):
                self._add_campaign(f"{where}.campaigns[{j}]", cid, craw)
            for j, eraw in enumerate(a.get("change_events") or []):
                pending_events.append((f"{where}.change_events[{j}]", cid, eraw))
        for where, cid, eraw in pending_events:
            e = _mapping(where, eraw, {"client_type", "resource_type", "at"},
                         {"resource_name", "user_email", "operation", "changed_fields"})
            self.add_change_event(
                cid, client_type=_choice(where, e["client_type"], "change_event.client_type"),
                resource_type=_choice(where, e["resource_type"],
                                      "change_event.change_resource_type"),
                when=_when(where, e["at"]), resource_name=e.get("resource_name"),
                user_email=e.get("user_email"),
                operation=_choice(where, e.get("operation", "UPDATE"),
                                  "change_event.resource_change_operation"),
                changed_fields=tuple(e.get("changed_fields") or ()))

    def _add_customer(self, where: str, raw: dict[str, Any], *, manager: bool) -> Customer:
        cid = _cid(f"{where}.customer_id", raw["customer_id"])
        if cid in self.customers:
            raise ValueError(f"{where}: customer id {cid} appears twice")
        currency = raw["currency_code"]
        if currency not in CURRENCIES:
            raise ValueError(f"{where}: currency_code {currency!r} not one of {sorted(CURRENCIES)}")
        tz = str(raw.get("time_zone", "America/New_York"))
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{where}: unknown time_zone {tz!r}") from None
        cust = Customer(cid, str(raw["descriptive_name"]), currency, tz, manager=manager,
                        test_account=bool(raw.get("test_account", False)),
                        status=_choice(where, raw.get("status", "ENABLED"), "customer.status"))
        self.customers[cid] = cust
        self.budgets[cid], self.campaigns[cid], self.events[cid] = {}, {}, []
        return cust

    def _add_link(self, where: str, client_id: str, raw: Any) -> None:
        lk = _mapping(where, raw, {"manager_id", "manager_link_id"}, {"status", "hidden"})
        manager_id = _cid(f"{where}.manager_id", lk["manager_id"])
        if manager_id not in self.customers or not self.customers[manager_id].manager:
            raise ValueError(f"{where}: manager {manager_id} is not under google_ads.managers")
        if (manager_id, client_id) in self.links:
            raise ValueError(f"{where}: {client_id} is linked to {manager_id} twice")
        status = _choice(where, lk.get("status", "ACTIVE"), "customer_client_link.status")
        self.links[(manager_id, client_id)] = Link(
            manager_id, client_id, _id(f"{where}.manager_link_id", lk["manager_link_id"]),
            status, bool(lk.get("hidden", False)))

    def _add_budget(self, where: str, cid: str, raw: Any) -> None:
        b = _mapping(where, raw, {"id", "name", "period"},
                     {"amount_micros", "total_amount_micros", "explicitly_shared", "status"})
        bid = _id(f"{where}.id", b["id"])
        if bid in self.budgets[cid]:
            raise ValueError(f"{where}: budget id {bid} appears twice in account {cid}")
        period = _choice(where, b["period"], "campaign_budget.period")
        amount, total = b.get("amount_micros"), b.get("total_amount_micros")
        if period == "DAILY" and (amount is None or total is not None):
            raise ValueError(f"{where}: a DAILY budget takes amount_micros, "
                             "not total_amount_micros")
        if period == "CUSTOM_PERIOD" and (total is None or amount is not None):
            raise ValueError(f"{where}: a CUSTOM_PERIOD budget takes total_amount_micros "
                             "and no amount_micros")
        self.budgets[cid][bid] = Budget(
            cid, bid, str(b["name"]), period,
            None if amount is None else _micros(f"{where}.amount_micros", amount),
            None if total is None else _micros(f"{where}.total_amount_micros", total),
            bool(b.get("explicitly_shared", False)),
            _choice(where, b.get("status", "ENABLED"), "campaign_budget.status"))

    def _add_campaign(self, where: str, cid: str, raw: Any) -> None:
        c = _mapping(where, raw, {"id", "name", "status", "channel", "budget_id"},
                     {"experiment_type", "sub_type", "serving_status"})
        camp_id = _id(f"{where}.id", c["id"])
        if camp_id in self.campaigns[cid]:
            raise ValueError(f"{where}: campaign id {camp_id} appears twice in account {cid}")
        budget_id = _id(f"{where}.budget_id", c["budget_id"])
        if budget_id not in self.budgets[cid]:
            raise ValueError(f"{where}: budget_id {budget_id} is not a budget of account {cid}")
        sub = c.get("sub_type")
        serving = c.get("serving_status")
        self.campaigns[cid][camp_id] = Campaign(
            cid, camp_id, str(c["name"]),
            _choice(where, c["status"], "campaign.status"),
            _choice(where, c["channel"], "campaign.advertising_channel_type"), budget_id,
            None if sub is None else _choice(where, sub, "campaign.advertising_channel_sub_type"),
            _choice(where, c.get("experiment_type", "BASE"), "campaign.experiment_type"),
            None if serving is None else _choice(where, serving, "campaign.serving_status"))

    # ---- public reads (tests)
    def customer(self, customer_id: str) -> Customer:
        return self._get(self.customers, customer_id, "customer")

    def campaign(self, customer_id: str, campaign_id: str) -> Campaign:
        return self._get(self.campaigns.get(customer_id, {}), str(campaign_id), "campaign")

    def budget(self, customer_id: str, budget_id: str) -> Budget:
        return self._get(self.budgets.get(customer_id, {}), str(budget_id), "budget")

    def client_link(self, manager_id: str, client_id: str) -> Link:
        return self._get(self.links, (manager_id, client_id), "link")

    def manager_link(self, client_id: str, manager_id: str) -> Link:
        return self._get(self.links, (manager_id, client_id), "link")

    def change_events(self, customer_id: str) -> list[ChangeEvent]:
        with self.lock:
            return list(self.events.get(customer_id, []))

    @staticmethod
    def _get(table: Mapping[Any, T], key: Any, what: str) -> T:
        try:
            return table[key]
        except KeyError:
            raise KeyError(f"no {what} {key!r} in the Google Ads stand-in") from None

    def reference_counts(self, customer_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.campaigns.get(customer_id, {}).values():
            if c.status != "REMOVED":
                counts[c.budget_id] = counts.get(c.budget_id, 0) + 1
        return counts

    def local_now(self, customer_id: str) -> dt.datetime:
        tz = _zone(self.customer(customer_id).time_zone)
        return dt.datetime.now(dt.UTC).astimezone(tz).replace(tzinfo=None)

    # ---- public writes (drift simulation)
    def set_campaign_status(self, customer_id: str, campaign_id: str, status: str, *,
                            client_type: str | None = "GOOGLE_ADS_WEB_CLIENT") -> None:
        """Change a campaign as someone else would (UI by default); None records no event."""
        _choice("status", status, "campaign.status")
        with self.lock:
            camp = self.campaign(customer_id, campaign_id)
            old = dataclasses.replace(camp)
            camp.status = status
            if client_type:
                self.record_change(client_type, "CAMPAIGN", old, camp, ("status",), "UPDATE",
                                   user_email="someone@client.example")

    def set_budget_amount(self, customer_id: str, budget_id: str, amount_micros: int | None = None,
                          *, total_amount_micros: int | None = None,
                          client_type: str | None = "GOOGLE_ADS_WEB_CLIENT") -> None:
        """Change a budget's amount (DAILY) or total (CUSTOM_PERIOD) as someone else would."""
        with self.lock:
            budget = self.budget(customer_id, budget_id)
            old, changed = dataclasses.replace(budget), []
            if amount_micros is not None:
                budget.amount_micros = amount_micros
                changed.append("amount_micros")
            if total_amount_micros is not None:
                budget.total_amount_micros = total_amount_micros
                changed.append("total_amount_micros")
            if client_type and changed:
                self.record_change(client_type, "CAMPAIGN_BUDGET", old, budget, tuple(changed),
                                   "UPDATE", user_email="someone@client.example")

    def add_change_event(self, customer_id: str, *, client_type: str = "GOOGLE_ADS_SCRIPTS",
                         resource_type: str = "CAMPAIGN", when: dt.datetime | None = None,
                         resource_name: str | None = None, user_email: str | None = None,
                         operation: str = "UPDATE", changed_fields: tuple[str, ...] = (),
                         ) -> ChangeEvent:
        """Record a change made outside the API (a script, a rule, the UI).

        Without `resource_name`, the account's first campaign (or budget) is used.
        """
        _choice("client_type", client_type, "change_event.client_type")
        _choice("resource_type", resource_type, "change_event.change_resource_type")
        with self.lock:
            self.customer(customer_id)
            if resource_name is None:
                pool: Mapping[str, Any] = (self.budgets if resource_type == "CAMPAIGN_BUDGET"
                                           else self.campaigns)[customer_id]
                first = next(iter(pool.values()), None)
                resource_name = first.resource_name if first else f"customers/{customer_id}"
            when = when or dt.datetime.now(dt.UTC)
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            self._seq += 1
            event = ChangeEvent(customer_id, when, client_type, resource_type, resource_name,
                                user_email or "scripts@client.example", operation,
                                tuple(changed_fields), seq=self._seq)
            bisect.insort(self.events[customer_id], event, key=lambda e: e.when)
            return event

    def record_change(self, client_type: str, resource_type: str, old: Any, new: Any,
                      fields: tuple[str, ...], operation: str, *, user_email: str) -> None:
        """A change_event with old/new resources holding the changed fields."""
        event = self.add_change_event(
            new.customer_id, client_type=client_type, resource_type=resource_type,
            resource_name=new.resource_name, user_email=user_email, operation=operation,
            changed_fields=fields)
        event.old = _changed_resource(resource_type, old, fields)
        event.new = _changed_resource(resource_type, new, fields)


def _changed_resource(resource_type: str, entity: Any, fields: tuple[str, ...]) -> Any:
    out = CHANGED_RESOURCE()
    prefix = "campaign" if resource_type == "CAMPAIGN" else "campaign_budget"
    msg = getattr(out, prefix)
    msg.resource_name = entity.resource_name
    for name in fields:
        spec = SCHEMA.fields[f"{prefix}.{name}"]
        value = spec.get({prefix: entity})
        if value is None:
            continue
        setattr(msg, name, spec.enum_values[value] if spec.enum_values else value)
    return out


def _contexts(state: GoogleAdsState, cust: Customer, resource: str) -> list[dict[str, Any]]:
    """The candidate rows of `resource` in one account, as dicts the schema getters read."""
    cid = cust.customer_id
    if resource == "customer":
        return [{"customer": cust}]
    if resource in ("campaign", "campaign_budget"):
        refs = state.reference_counts(cid)
        budgets = state.budgets[cid]
        if resource == "campaign_budget":
            return [{"customer": cust, "campaign_budget": b, "refs": refs}
                    for b in budgets.values()]
        return [{"customer": cust, "campaign": c, "campaign_budget": budgets.get(c.budget_id),
                 "refs": refs} for c in state.campaigns[cid].values()]
    if resource == "currency_constant":
        return [{"currency_constant": c} for c in CURRENCIES.values()]
    if resource == "customer_client_link":
        return [{"customer": cust, resource: lk} for lk in state.links.values()
                if lk.manager_id == cid]
    if resource == "customer_manager_link":
        return [{"customer": cust, resource: lk} for lk in state.links.values()
                if lk.client_id == cid]
    if resource == "customer_client":
        rows = [{"customer": cust, resource: (cust, 0, False)}]
        if cust.manager:
            rows += [{"customer": cust, resource: (state.customers[lk.client_id], 1, lk.hidden)}
                     for lk in state.links.values()
                     if lk.manager_id == cid and lk.status == "ACTIVE"]
        return rows
    if resource == "change_event":
        tz = _zone(cust.time_zone)
        return [{"customer": cust, "change_event": e, "tz": tz} for e in state.events[cid]]
    raise AssertionError(resource)


# --------------------------------------------------------------------------------------------
# Errors as the real API sends them

Location = tuple[tuple[str, int | None], ...]
INVALID = grpc.StatusCode.INVALID_ARGUMENT
_STATUS_MESSAGES = {
    grpc.StatusCode.INVALID_ARGUMENT: "Request contains an invalid argument.",
    grpc.StatusCode.PERMISSION_DENIED: "The caller does not have permission",
    grpc.StatusCode.UNAUTHENTICATED: "Request had invalid authentication credentials.",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "Resource has been exhausted (e.g. check quota).",
    grpc.StatusCode.INTERNAL: "Internal error encountered.",
    grpc.StatusCode.UNAVAILABLE: "The service is currently unavailable.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "Deadline expired before operation could complete.",
}


def ads_error(code_field: str, enum_name: str, message: str, *, trigger: str | int | None = None,
              location: Location = (), details: Any = None) -> Any:
    """A GoogleAdsError protobuf; unknown code names fail loudly (they are stand-in bugs)."""
    err = GOOGLE_ADS_ERROR()
    number = _ERROR_CODE.fields_by_name[code_field].enum_type.values_by_name[enum_name].number
    setattr(err.error_code, code_field, number)
    err.message = message
    if isinstance(trigger, int):
        err.trigger.int64_value = trigger
    elif trigger is not None:
        err.trigger.string_value = trigger
    for name, index in location:
        element = err.location.field_path_elements.add(field_name=name)
        if index is not None:
            element.index = index
    if details is not None:
        err.details.CopyFrom(details)
    return err


def error_code_name(err: Any) -> str:
    """'campaign_budget_error.NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT' for logs and messages."""
    which = err.error_code.WhichOneof("error_code")
    enum = _ERROR_CODE.fields_by_name[which].enum_type
    return f"{which}.{enum.values_by_number[getattr(err.error_code, which)].name}"


def _path(location: Any) -> str:
    return ".".join(e.field_name + (f"[{e.index}]" if e.HasField("index") else "")
                    for e in location.field_path_elements)


class AdsFault(Exception):
    """A whole request fails: gRPC status plus the GoogleAdsErrors for the trailing metadata."""

    def __init__(self, status: grpc.StatusCode, errors: list[Any] | None = None) -> None:
        super().__init__(status.name)
        self.status = status
        self.errors = errors or []

    @property
    def detail(self) -> str:
        return ", ".join(error_code_name(e) for e in self.errors) or self.status.name


def _fault(status: grpc.StatusCode, code_field: str, enum_name: str, message: str,
           **kw: Any) -> AdsFault:
    return AdsFault(status, [ads_error(code_field, enum_name, message, **kw)])


class _OpError(Exception):
    """One operation refused; its location is relative to the operation."""

    def __init__(self, code_field: str, enum_name: str, message: str, *,
                 location: Location = (), trigger: str | int | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.args4 = (code_field, enum_name, message)
        self.location, self.trigger, self.details = location, trigger, details

    def to_error(self, prefix: Location) -> Any:
        return ads_error(*self.args4, trigger=self.trigger, location=prefix + self.location,
                         details=self.details)


def _partial_failure_status(errors: list[Any], request_id: str) -> Any:
    """google.rpc.Status for MutateGoogleAdsResponse.partial_failure_error."""
    first = errors[0]
    where = _path(first.location)
    message = first.message + (f", at {where}" if where else "")
    if len(errors) > 1:
        message = f"Multiple errors in 'details'. First error: {message}"
    packed = any_pb2.Any()
    packed.Pack(FAILURE(errors=errors, request_id=request_id))
    return status_pb2.Status(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message=message,
                             details=[packed])


# --------------------------------------------------------------------------------------------
# Mutations


def _fields_of(resource: str) -> Any:
    return ROW.DESCRIPTOR.fields_by_name[resource].message_type.fields_by_name


def _names(gaql_field: str) -> dict[int, str]:
    return {v: k for k, v in (SCHEMA.fields[gaql_field].enum_values or {}).items()}


_CAMPAIGN_STATUS = _names("campaign.status")
_BUDGET_PERIOD = _names("campaign_budget.period")
_LINK_STATUS = _names("customer_client_link.status")
_CAMPAIGN_MASK = ({"status", "name", "campaign_budget"},
                  {"id", "advertising_channel_type", "advertising_channel_sub_type",
                   "experiment_type", "base_campaign", "serving_status", "primary_status",
                   "primary_status_reasons", "bidding_strategy_type"})
_BUDGET_MASK = ({"name", "amount_micros", "total_amount_micros", "period", "explicitly_shared"},
                {"id", "type", "reference_count", "status", "has_recommended_budget",
                 "recommended_budget_amount_micros", "aligned_bidding_strategy_id"})


def _check_mask(paths: list[str], resource: str, mask: tuple[set[str], set[str]]) -> list[str]:
    """Validate update_mask paths the way the API does; resource_name is accepted and ignored
    (the SDK's field_mask() helper puts it there)."""
    if not paths:
        raise _OpError("field_mask_error", "FIELD_MASK_MISSING",
                       "The field mask must be set for an update operation.",
                       location=(("update_mask", None),))
    fields, (mutable, immutable) = _fields_of(resource), mask
    out = []
    for path in paths:
        top = path.split(".", 1)[0]
        if top not in fields:
            raise _OpError("field_mask_error", "FIELD_NOT_FOUND",
                           f"The field mask contained an invalid field: '{path}'.",
                           location=(("update_mask", None),), trigger=path)
        if path == "resource_name":
            continue
        if top in immutable:
            raise _OpError("field_error", "IMMUTABLE_FIELD", "The field is immutable.",
                           location=(("update", None), (top, None)))
        if path not in mutable:
            raise _OpError("mutate_error", "MUTATE_NOT_ALLOWED",
                           f"The stand-in does not model updates of {resource}.{path}.",
                           location=(("update", None), (top, None)))
        out.append(path)
    return out


def _parse_name(name: str, customer_id: str, collection: str, location: Location,
                pattern: str = r"(\d+)") -> re.Match[str]:
    if not name:
        raise _OpError("request_error", "RESOURCE_NAME_MISSING", "Resource name is missing.",
                       location=location)
    m = re.fullmatch(rf"customers/(\d+)/{collection}/{pattern}", name)
    if m is None:
        raise _OpError("request_error", "RESOURCE_NAME_MALFORMED", "Resource name is malformed.",
                       location=location, trigger=name)
    if m.group(1) != customer_id:
        raise _OpError("mutate_error", "RESOURCE_NOT_FOUND",
                       "Resource was not found (it belongs to another customer).",
                       location=location, trigger=name)
    return m


def _not_found(name: str, location: Location) -> _OpError:
    return _OpError("mutate_error", "RESOURCE_NOT_FOUND", "Resource was not found.",
                    location=location, trigger=name)


def _inject(rules: list[FaultRule], resource: str, resource_id: str) -> None:
    """A partial_failure fault aimed at this resource: refuse the operation."""
    for rule in rules:
        if (rule.kind == "partial_failure" and rule.match.get("resource") == resource
                and str(rule.match.get("id")) == resource_id):
            code_field, enum_name = rule.match.get(
                "error", "database_error.CONCURRENT_MODIFICATION").split(".", 1)
            raise _OpError(code_field, enum_name, rule.message or (
                "Multiple requests were attempting to modify the same resource at once. "
                "Retry the request."))


class _Txn:
    """Staged changes of one Mutate: applied to the state only on commit (atomicity)."""

    def __init__(self, state: GoogleAdsState, customer: Customer) -> None:
        self.state, self.customer = state, customer
        self.cid = customer.customer_id
        self.campaigns: dict[str, Campaign] = {}
        self.budgets: dict[str, Budget] = {}
        self.changes: list[tuple[str, Any, Any, tuple[str, ...], str]] = []
        self._users: dict[str, set[str]] | None = None

    def campaign(self, campaign_id: str) -> Campaign | None:
        return self.campaigns.get(campaign_id) or self.state.campaigns[self.cid].get(campaign_id)

    def budget(self, budget_id: str) -> Budget | None:
        return self.budgets.get(budget_id) or self.state.budgets[self.cid].get(budget_id)

    def users(self, budget_id: str) -> list[Campaign]:
        """Non-removed campaigns using a budget (indexed once: benchmarks send 5,000 ops)."""
        if self._users is None:
            self._users = {}
            for c in self.state.campaigns[self.cid].values():
                self._users.setdefault(c.budget_id, set()).add(c.campaign_id)
        found = (self.campaign(i) for i in self._users.get(budget_id, ()))
        return [c for c in found if c is not None and c.status != "REMOVED"]

    def stage(self, kind: str, old: Any, new: Any, operation: str) -> None:
        old = dataclasses.replace(old)  # `old` may be the live object, changed on commit
        watched = (("status", "name", "budget_id") if kind == "CAMPAIGN" else
                   ("name", "amount_micros", "total_amount_micros", "explicitly_shared",
                    "status"))
        changed = tuple("campaign_budget" if f == "budget_id" else f
                        for f in watched if getattr(old, f) != getattr(new, f))
        if kind == "CAMPAIGN":
            if self._users is not None and old.budget_id != new.budget_id:
                self._users.get(old.budget_id, set()).discard(new.campaign_id)
                self._users.setdefault(new.budget_id, set()).add(new.campaign_id)
            self.campaigns[new.campaign_id] = new
        else:
            self.budgets[new.budget_id] = new
        self.changes.append((kind, old, new, changed, operation))

    def commit(self) -> None:
        for kind, old, new, changed, operation in self.changes:
            table: Any = self.state.campaigns if kind == "CAMPAIGN" else self.state.budgets
            live = table[self.cid][new.campaign_id if kind == "CAMPAIGN" else new.budget_id]
            for f in dataclasses.fields(new):
                setattr(live, f.name, getattr(new, f.name))
            if changed:
                self.state.record_change("GOOGLE_ADS_API", kind, old, new, changed, operation,
                                         user_email=self.state.api_user_email)


def _target(txn: _Txn, op: Any, rules: list[FaultRule], resource: str, collection: str,
            lookup: Callable[[str], Any], mask: Any) -> tuple[str, str, Location, str, Any,
                                                             list[str]]:
    """What every update/remove operation starts with: which entity, found, masked."""
    which = op.WhichOneof("operation")
    if which != "update" and which != "remove":
        raise _OpError("mutate_error", "MUTATE_NOT_ALLOWED",
                       f"The stand-in does not create {resource.split('_')[-1]}s.",
                       location=((str(which), None),))
    name = op.remove if which == "remove" else op.update.resource_name
    loc: Location = ((which, None),) if which == "remove" else (("update", None),
                                                                 ("resource_name", None))
    entity_id = _parse_name(name, txn.cid, collection, loc).group(2)
    entity = lookup(entity_id)
    if entity is None:
        raise _not_found(name, loc)
    _inject(rules, resource, entity_id)
    paths = _check_mask(list(op.update_mask.paths), resource, mask) if which == "update" else []
    return which, name, loc, entity_id, entity, paths


def _campaign_op(txn: _Txn, op: Any, rules: list[FaultRule]) -> tuple[str, str]:
    which, name, loc, camp_id, camp, paths = _target(
        txn, op, rules, "campaign", "campaigns", txn.campaign, _CAMPAIGN_MASK)
    if camp.status == "REMOVED":
        raise _OpError("operation_access_denied_error",
                       "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
                       "This operation is not allowed because the resource is removed.",
                       location=loc, trigger=name)
    if camp.channel == "VIDEO":
        raise _OpError("operation_access_denied_error", "MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT",
                       "A mutate action is not allowed on this resource, from this client.",
                       location=loc, trigger="VIDEO")
    new = dataclasses.replace(camp)
    if which == "remove":
        new.status = "REMOVED"
        txn.stage("CAMPAIGN", camp, new, "REMOVE")
        return "campaign_result", name
    if camp.experiment_type == "EXPERIMENT" and {"status", "campaign_budget"} & set(paths):
        raise _OpError("campaign_error", "CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN",
                       "Cannot modify dates, budget or status of a trial campaign.",
                       location=loc, trigger=name)
    upd = op.update
    for path in paths:
        at: Location = (("update", None), (path, None))
        if path == "status":
            status = _CAMPAIGN_STATUS.get(upd.status, "UNKNOWN")
            if status == "REMOVED":
                raise _OpError("campaign_error", "INVALID_STATUS_CHANGE",
                               "The requested change in status is not supported; "
                               "use a remove operation.", location=at)
            if status not in ("ENABLED", "PAUSED"):
                raise _OpError("request_error", "INVALID_ENUM_VALUE",
                               "The value of the enum field is invalid.", location=at)
            new.status = status
        elif path == "name":
            if not upd.name.strip():
                raise _OpError("field_error", "REQUIRED", "The required field was not present.",
                               location=at)
            new.name = upd.name
        elif path == "campaign_budget":
            budget_id = _parse_name(upd.campaign_budget, txn.cid, "campaignBudgets", at).group(2)
            budget = txn.budget(budget_id)
            if budget is None:
                raise _not_found(upd.campaign_budget, at)
            if budget.status == "REMOVED":
                raise _OpError("campaign_budget_error", "CAMPAIGN_BUDGET_REMOVED",
                               "The requested campaign budget no longer exists.", location=at)
            new.budget_id = budget_id
    txn.stage("CAMPAIGN", camp, new, "UPDATE")
    return "campaign_result", name


def _budget_error(enum_name: str, message: str, at: Location, **kw: Any) -> _OpError:
    return _OpError("campaign_budget_error", enum_name, message, location=at, **kw)


def _check_amount(txn: _Txn, budget: Budget, value: int, at: Location, *, daily: bool) -> None:
    cur = CURRENCIES[txn.customer.currency_code]
    if value < 0:
        raise _budget_error("NEGATIVE_MONEY_AMOUNT", "A money amount was negative.", at)
    if value < cur.billable_unit_micros:
        raise _budget_error("MONEY_AMOUNT_LESS_THAN_CURRENCY_MINIMUM_CPC",
                            "A money amount was less than the minimum CPC for currency.", at)
    if value % cur.billable_unit_micros:
        raise _budget_error("NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
                            "A money amount was not a multiple of a minimum unit.", at,
                            trigger=value)
    demand_gen = any(c.channel == "DEMAND_GEN" for c in txn.users(budget.budget_id))
    if daily and demand_gen and value < cur.demand_gen_min:
        details = ERROR_DETAILS()
        d = details.budget_per_day_minimum_error_details
        d.currency_code = cur.code
        d.budget_per_day_minimum_micros = cur.demand_gen_min
        d.minimum_budget_amount_micros = cur.demand_gen_min
        d.failed_budget_amount_micros = value
        raise _budget_error("BUDGET_BELOW_PER_DAY_MINIMUM",
                            "Budget amount or total amount must be above this campaign's per-day "
                            "minimum.", at, details=details)


def _budget_op(txn: _Txn, op: Any, rules: list[FaultRule]) -> tuple[str, str]:
    which, name, loc, budget_id, budget, paths = _target(
        txn, op, rules, "campaign_budget", "campaignBudgets", txn.budget, _BUDGET_MASK)
    if budget.status == "REMOVED":
        raise _budget_error("CAMPAIGN_BUDGET_REMOVED",
                            "The requested campaign budget no longer exists.", loc)
    new = dataclasses.replace(budget)
    if which == "remove":
        if txn.users(budget_id):
            raise _budget_error("CAMPAIGN_BUDGET_IN_USE",
                                "The campaign budget is associated with at least one campaign, "
                                "and so the campaign budget cannot be removed.", loc)
        new.status = "REMOVED"
        txn.stage("CAMPAIGN_BUDGET", budget, new, "REMOVE")
        return "campaign_budget_result", name
    upd = op.update
    for path in paths:
        at: Location = (("update", None), (path, None))
        present = upd.HasField(path) if path != "period" else True
        if path == "name":
            if not upd.name.strip():
                raise _OpError("field_error", "REQUIRED", "The required field was not present.",
                               location=at)
            new.name = upd.name
        elif path == "period":
            if _BUDGET_PERIOD.get(upd.period) != budget.period:
                raise _OpError("campaign_error", "CANNOT_CHANGE_BUDGET_PERIOD",
                               "The budget period of a budget cannot be changed.", location=at)
        elif path == "explicitly_shared":
            if budget.explicitly_shared and not upd.explicitly_shared:
                raise _budget_error("CANNOT_UPDATE_CAMPAIGN_BUDGET_TO_IMPLICITLY_SHARED",
                                    "An explicitly shared budget cannot become implicitly "
                                    "shared.", at)
            new.explicitly_shared = upd.explicitly_shared
        elif path == "amount_micros":
            if budget.period == "CUSTOM_PERIOD":
                if present:
                    raise _budget_error("BUDGET_AMOUNT_MUST_BE_UNSET_FOR_CUSTOM_BUDGET_PERIOD",
                                        "Budget amount must be unset when a custom budget "
                                        "period is specified.", at)
                continue
            if not present:
                raise _OpError("field_error", "REQUIRED", "A DAILY budget needs amount_micros.",
                               location=at)
            _check_amount(txn, budget, upd.amount_micros, at, daily=True)
            new.amount_micros = upd.amount_micros
        elif path == "total_amount_micros":
            if budget.period == "DAILY":
                if present:
                    raise _budget_error("TOTAL_BUDGET_AMOUNT_MUST_BE_UNSET_FOR_BUDGET_PERIOD_DAILY",
                                        "Total budget amount must be unset when BudgetPeriod is "
                                        "DAILY.", at)
                continue
            if not present:
                raise _OpError("field_error", "REQUIRED",
                               "A CUSTOM_PERIOD budget needs total_amount_micros.", location=at)
            _check_amount(txn, budget, upd.total_amount_micros, at, daily=False)
            new.total_amount_micros = upd.total_amount_micros
    txn.stage("CAMPAIGN_BUDGET", budget, new, "UPDATE")
    return "campaign_budget_result", name


# Link status changes each side may make (same status = no-op, allowed).
_CLIENT_LINK_MOVES = {("ACTIVE", "INACTIVE"), ("PENDING", "CANCELED")}  # by the manager
_MANAGER_LINK_MOVES = {("ACTIVE", "INACTIVE"), ("PENDING", "ACTIVE"), ("PENDING", "REFUSED")}


def _link_status(link: Link, value: int, moves: set[tuple[str, str]], at: Location) -> str:
    status = _LINK_STATUS.get(value, "UNKNOWN")
    if status != link.status and (link.status, status) not in moves:
        raise _OpError("manager_link_error", "INVALID_STATUS_CHANGE",
                       f"The link status cannot change from {link.status} to {status}.",
                       location=at)
    return status


# --------------------------------------------------------------------------------------------
# The gRPC server

_SERVICES = "google.ads.googleads.{}.services.{}"
_READ_METHODS = frozenset({"Search", "SearchStream"})
Work = Callable[[list[FaultRule], str], tuple[Any, str]]


def _request_id() -> str:
    return secrets.token_urlsafe(16)[:22]


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()  # type: ignore[no-any-return]


class GoogleAdsStandIn:
    """The Google Ads API v26 stand-in server (TLS, the SDK's own messages).

    Faults are asked for once per request (`faults.take("google_ads", method, customer_id)`):
    `latency` sleeps before processing, or after the state was changed with
    match {"phase": "after_apply"}; `timeout` sleeps `latency_ms` (default 30 s) unless the
    client gives up first, and then changes nothing; `resource_exhausted`, `internal` and
    `unavailable` fail the call; `partial_failure` refuses the operation on the resource named
    by match {"resource": "campaign" | "campaign_budget" | "customer_client_link" (id = client)
    | "customer_manager_link" (id = manager), "id": ...}, with DatabaseError
    CONCURRENT_MODIFICATION unless match["error"] names another, e.g.
    "campaign_error.CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN". A rule counts as fired when its request
    arrives, whether or not that request touches the matched resource.
    """

    def __init__(self, scenario: Mapping[str, Any], log: RequestLog, faults: FaultPlan) -> None:
        self.state = GoogleAdsState(scenario)
        self.log = log
        self.faults = faults
        self.port: int | None = None
        self.host = "127.0.0.1"
        self._server: grpc.Server | None = None

    # ---- lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        cert = sandbox_cert()
        server = grpc.server(ThreadPoolExecutor(max_workers=16, thread_name_prefix="google-ads"))
        server.add_generic_rpc_handlers(self._handlers())
        bound = server.add_secure_port(
            f"{host}:{port}", grpc.ssl_server_credentials([(cert.key_pem, cert.cert_pem)]))
        if not bound:
            raise OSError(f"Google Ads stand-in cannot listen on {host}:{port}")
        server.start()
        self._server, self.port, self.host = server, int(bound), host
        return int(bound)

    def settings(self) -> dict[str, Any]:
        """The `[platforms.google_ads]` table that points a workspace at this stand-in."""
        return {
            "endpoint": f"{self.host}:{self.port}",
            "ca_file": str(sandbox_cert().ca_file),
            "developer_token": "sandbox:",
            "access_token": "sandbox:",
            "timeout_s": 30.0,
            "attempts": 5,
        }

    def reset(self, section: Mapping[str, Any]) -> None:
        """Back to the accounts `section` describes, still listening (tests reuse one server
        across many runs). Call it while no request is in flight."""
        self.state = GoogleAdsState(section)

    def stop(self, grace: float | None = 0.5) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def __enter__(self) -> GoogleAdsStandIn:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handlers(self) -> tuple[grpc.GenericRpcHandler, ...]:
        def unary(fn: Any, request_cls: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=request_cls.deserialize, response_serializer=_serialize)

        google_ads = {
            "Search": unary(self._search, ga_svc.SearchGoogleAdsRequest),
            "SearchStream": grpc.unary_stream_rpc_method_handler(
                self._search_stream, request_deserializer=ga_svc.SearchGoogleAdsStreamRequest
                .deserialize, response_serializer=_serialize),
            "Mutate": unary(self._mutate, ga_svc.MutateGoogleAdsRequest),
        }
        client_link = {"MutateCustomerClientLink": unary(
            self._mutate_client_link, ccl_svc.MutateCustomerClientLinkRequest)}
        manager_link = {"MutateCustomerManagerLink": unary(
            self._mutate_manager_link, cml_svc.MutateCustomerManagerLinkRequest)}
        return (*(
            grpc.method_handlers_generic_handler(_SERVICES.format(VERSION, name), methods)
            for name, methods in (("GoogleAdsService", google_ads),
                                  ("CustomerClientLinkService", client_link),
                                  ("CustomerManagerLinkService", manager_link))),
            _Unmodelled(self.log))

    # ---- the common path of every request
    def _serve(self, context: grpc.ServicerContext, service: str, method: str, customer_id: str,
               operations: int, work: Work, entities: tuple[str, ...] = ()) -> Any:
        request_id = _request_id()
        mutating = method not in _READ_METHODS
        entry = self.log.record(PLATFORM, service, method, mutating=mutating,
                                account=customer_id or None, operations=operations,
                                entities=entities)
        fault: AdsFault | None = None
        try:
            metadata = {k.lower(): v for k, v in context.invocation_metadata()}
            self._authenticate(metadata)
            rules = self.faults.take(PLATFORM, method, customer_id or None, mutating=mutating)
            if FaultPlan.kill(rules, "before_apply"):
                raise _Killed
            self._before(rules, context)
            self._authorize(customer_id, metadata)
            response, detail = work(rules, request_id)
            if FaultPlan.kill(rules, "after_apply"):
                detail = KILLED_AFTER
        except AdsFault as exc:
            fault = exc
        except _Killed:
            self.log.finish(entry, "killed", KILLED_BEFORE)
            context.abort(grpc.StatusCode.UNAVAILABLE, "the client was killed")
        except Exception as exc:  # a stand-in bug still answers like a server would
            fault = _fault(grpc.StatusCode.INTERNAL, "internal_error", "INTERNAL_ERROR",
                           f"Stand-in failure: {type(exc).__name__}: {exc}")
        if fault is not None:
            self.log.finish(entry, fault.status.name, fault.detail)
            self._abort(context, fault, request_id)
        context.set_trailing_metadata((("request-id", request_id),))
        self.log.finish(entry, "OK", detail)
        return response

    @staticmethod
    def _abort(context: grpc.ServicerContext, fault: AdsFault, request_id: str) -> None:
        """End the call like the API: status, message, GoogleAdsFailure in trailing metadata."""
        message = _STATUS_MESSAGES.get(fault.status, fault.status.name)
        metadata: list[tuple[str, str | bytes]] = [("request-id", request_id)]
        if fault.errors:
            failure = FAILURE(errors=fault.errors, request_id=request_id)
            packed = any_pb2.Any()
            packed.Pack(failure)
            rich = status_pb2.Status(code=fault.status.value[0], message=message, details=[packed])
            metadata += [(FAILURE_KEY, failure.SerializeToString()),
                         ("grpc-status-details-bin", rich.SerializeToString())]
        context.set_trailing_metadata(tuple(metadata))
        context.abort(fault.status, message)

    @staticmethod
    def _authenticate(metadata: Mapping[str, Any]) -> None:
        auth = metadata.get("authorization")
        if not auth:
            raise _fault(grpc.StatusCode.UNAUTHENTICATED, "authentication_error",
                         "AUTHENTICATION_ERROR", "Request is missing required authentication "
                         "credential: an OAuth 2 access token ('authorization: Bearer ...').")
        if not str(auth).startswith("Bearer ") or len(str(auth)) <= len("Bearer "):
            raise _fault(grpc.StatusCode.UNAUTHENTICATED, "authentication_error",
                         "OAUTH_TOKEN_HEADER_INVALID",
                         "The OAuth token in the header is not valid.")
        if not metadata.get("developer-token"):
            raise _fault(INVALID, "request_error", "DEVELOPER_TOKEN_PARAMETER_MISSING",
                         "Developer token parameter is missing.")

    def _before(self, rules: list[FaultRule], context: grpc.ServicerContext) -> None:
        """Faults that act before the request is processed."""
        FaultPlan.delay([r for r in rules if r.kind == "latency"
                         and r.match.get("phase") != "after_apply"])
        for rule in rules:
            if rule.kind == "timeout":
                deadline = time.monotonic() + (rule.latency_ms or 30_000) / 1000
                while time.monotonic() < deadline and context.is_active():
                    time.sleep(0.02)
                if not context.is_active():
                    raise AdsFault(grpc.StatusCode.DEADLINE_EXCEEDED)
            elif rule.kind == "resource_exhausted":
                details = ERROR_DETAILS()
                quota = details.quota_error_details
                quota.rate_scope = quota.QuotaRateScope.Value("DEVELOPER")
                quota.rate_name = "Requests per developer token"
                quota.retry_delay.FromMilliseconds(int(rule.retry_delay_s * 1000))
                raise _fault(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota_error",
                             "RESOURCE_EXHAUSTED", rule.message or (
                                 f"Too many requests. Retry in {rule.retry_delay_s:g} seconds."),
                             details=details)
            elif rule.kind == "internal":
                raise _fault(grpc.StatusCode.INTERNAL, "internal_error", "INTERNAL_ERROR",
                             rule.message or "An internal error has occurred.")
            elif rule.kind == "unavailable":
                raise AdsFault(grpc.StatusCode.UNAVAILABLE)

    def _authorize(self, customer_id: str, metadata: Mapping[str, Any]) -> None:
        """The target must exist and, with login-customer-id, be that manager or its client
        through an ACTIVE link."""
        if not re.fullmatch(r"\d{10}", customer_id or ""):
            raise _fault(INVALID, "request_error", "INVALID_CUSTOMER_ID",
                         f"Invalid customer ID '{customer_id}'.")
        state = self.state
        with state.lock:
            if customer_id not in state.customers:
                raise _fault(grpc.StatusCode.UNAUTHENTICATED, "authentication_error",
                             "CUSTOMER_NOT_FOUND",
                             "No customer found for the provided customer id.")
            login = str(metadata.get("login-customer-id") or "")
            if not login or login == customer_id:
                return
            if not re.fullmatch(r"\d{10}", login):
                raise _fault(INVALID, "header_error", "INVALID_LOGIN_CUSTOMER_ID",
                             "The login customer ID could not be validated.")
            link = state.links.get((login, customer_id))
            if link is None or link.status != "ACTIVE":
                raise _fault(grpc.StatusCode.PERMISSION_DENIED, "authorization_error",
                             "USER_PERMISSION_DENIED",
                             "User doesn't have permission to access customer. Note: If you're "
                             "accessing a client customer, the manager's customer id must be set "
                             "in the 'login-customer-id' header.")

    # ---- GoogleAdsService
    def _search(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = ga_svc.SearchGoogleAdsRequest.pb(request)
        return self._serve(context, "GoogleAdsService", "Search", req.customer_id, 0,
                           lambda rules, rid: self._do_search(req))

    def _search_stream(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        req = ga_svc.SearchGoogleAdsStreamRequest.pb(request)
        batches = self._serve(context, "GoogleAdsService", "SearchStream", req.customer_id, 0,
                              lambda rules, rid: self._do_search_stream(req, rid))
        yield from batches

    def _mutate(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = ga_svc.MutateGoogleAdsRequest.pb(request)
        written = tuple(_written(getattr(op, str(op.WhichOneof("operation"))))
                        for op in req.mutate_operations if op.WhichOneof("operation"))
        return self._serve(context, "GoogleAdsService", "Mutate", req.customer_id,
                           len(req.mutate_operations),
                           lambda rules, rid: self._do_mutate(req, rules, rid), written)

    def _bind(self, customer_id: str, query: str) -> tuple[gaql.BoundQuery, list[dict[str, Any]],
                                                            int]:
        """Parse, check and run a query; returns (bound, rows within LIMIT, total ignoring LIMIT).
        Call with the state lock held."""
        now = self.state.local_now(customer_id)
        try:
            bound = gaql.bind(gaql.parse(query), SCHEMA, now.date())
            if bound.resource.name == "change_event":
                _check_change_event_query(bound, now)
        except gaql.GaqlError as exc:
            raise _fault(INVALID, exc.code_field, exc.enum_name, exc.message,
                         location=(("query", None),)) from None
        contexts = _contexts(self.state, self.state.customers[customer_id], bound.resource.name)
        matched = gaql.run(bound, contexts, apply_limit=False)
        limited = matched[: bound.limit] if bound.limit is not None else matched
        return bound, limited, len(matched)

    def _do_search(self, req: Any) -> tuple[Any, str]:
        if req.page_size:
            raise _fault(INVALID, "request_error", "PAGE_SIZE_NOT_SUPPORTED",
                         "Setting the page size is not supported; pages hold 10,000 rows.")
        resp = ga_svc.SearchGoogleAdsResponse.pb()()
        with self.state.lock:
            bound, rows, total = self._bind(req.customer_id, req.query)
            resp.field_mask.paths.extend(s.name for s in bound.select)
            if req.validate_only:
                return resp, "validate_only"
            key = hashlib.sha256(f"{req.customer_id}\n{req.query}".encode()).hexdigest()[:16]
            offset = 0
            if req.page_token:
                offset = _read_page_token(req.page_token, key)
            names = gaql.resource_name_specs(bound, SCHEMA)
            for ctx in rows[offset: offset + PAGE_SIZE]:
                gaql.fill_row(resp.results.add(), bound, ctx, names)
        if offset + PAGE_SIZE < len(rows):
            resp.next_page_token = _page_token(key, offset + PAGE_SIZE)
        if req.search_settings.return_total_results_count:
            resp.total_results_count = total
        return resp, f"{bound.resource.name}: {len(resp.results)} of {len(rows)} rows"

    def _do_search_stream(self, req: Any, request_id: str) -> tuple[list[Any], str]:
        response_cls = ga_svc.SearchGoogleAdsStreamResponse.pb()
        batches: list[Any] = []
        with self.state.lock:
            bound, rows, _total = self._bind(req.customer_id, req.query)
            names = gaql.resource_name_specs(bound, SCHEMA)
            for start in range(0, max(len(rows), 1), PAGE_SIZE):
                batch = response_cls(request_id=request_id)
                batch.field_mask.paths.extend(s.name for s in bound.select)
                for ctx in rows[start: start + PAGE_SIZE]:
                    gaql.fill_row(batch.results.add(), bound, ctx, names)
                batches.append(batch)
        return batches, f"{bound.resource.name}: {len(rows)} rows in {len(batches)} batches"

    def _do_mutate(self, req: Any, rules: list[FaultRule], request_id: str) -> tuple[Any, str]:
        ops = req.mutate_operations
        if not ops:
            raise _fault(INVALID, "request_error", "OPERATION_REQUIRED",
                         "At least one operation is required.",
                         location=(("mutate_operations", None),))
        if len(ops) > MAX_OPERATIONS:
            raise _fault(INVALID, "request_error", "TOO_MANY_MUTATE_OPERATIONS",
                         f"Too many mutate operations: {len(ops)} > {MAX_OPERATIONS}.")
        results: list[tuple[str, str] | None] = []
        failures: list[Any] = []
        with self.state.lock:
            txn = _Txn(self.state, self.state.customers[req.customer_id])
            for i, op in enumerate(ops):
                kind = op.WhichOneof("operation")
                prefix: Location = (("mutate_operations", i), (kind or "operation", None))
                try:
                    if kind == "campaign_operation":
                        results.append(_campaign_op(txn, op.campaign_operation, rules))
                    elif kind == "campaign_budget_operation":
                        results.append(_budget_op(txn, op.campaign_budget_operation, rules))
                    elif kind is None:
                        raise _OpError("request_error", "OPERATION_REQUIRED",
                                       "The operation is empty.")
                    else:
                        raise _OpError("mutate_error", "MUTATE_NOT_ALLOWED",
                                       f"The stand-in does not model {kind}.")
                except _OpError as exc:
                    failures.append(exc.to_error(prefix))
                    results.append(None)
            if failures and not req.partial_failure:
                raise AdsFault(INVALID, failures)
            if not req.validate_only:
                txn.commit()
        self._after_apply(rules)
        resp = ga_svc.MutateGoogleAdsResponse.pb()()
        if failures:
            resp.partial_failure_error.CopyFrom(_partial_failure_status(failures, request_id))
        if not req.validate_only:
            for result in results:
                item = resp.mutate_operation_responses.add()
                if result is not None:
                    getattr(item, result[0]).resource_name = result[1]
        ok = sum(r is not None for r in results)
        return resp, f"{ok} ok, {len(failures)} failed" + (" (validate_only)" * req.validate_only)

    @staticmethod
    def _after_apply(rules: list[FaultRule]) -> None:
        FaultPlan.delay([r for r in rules if r.kind == "latency"
                         and r.match.get("phase") == "after_apply"])

    # ---- CustomerClientLinkService (on the manager)
    def _mutate_client_link(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = ccl_svc.MutateCustomerClientLinkRequest.pb(request)
        return self._serve(context, "CustomerClientLinkService", "MutateCustomerClientLink",
                           req.customer_id, 1, lambda rules, rid: self._do_client_link(req, rules),
                           (_written(req.operation),))

    def _do_client_link(self, req: Any, rules: list[FaultRule]) -> tuple[Any, str]:
        op, state = req.operation, self.state
        which = op.WhichOneof("operation")
        with state.lock:
            try:
                if which != "update":
                    raise _OpError("mutate_error", "MUTATE_NOT_ALLOWED",
                                   "The stand-in only updates customer client links.",
                                   location=((str(which), None),))
                name, at = op.update.resource_name, (("update", None), ("resource_name", None))
                m = _parse_name(name, req.customer_id, "customerClientLinks", at, r"(\d+)~(\d+)")
                link = state.links.get((req.customer_id, m.group(2)))
                if link is None or link.manager_link_id != m.group(3):
                    raise _not_found(name, at)
                _inject(rules, "customer_client_link", link.client_id)
                paths = _check_mask(list(op.update_mask.paths), "customer_client_link",
                                    ({"hidden", "status"}, {"client_customer", "manager_link_id"}))
                hidden, status = link.hidden, link.status
                if "hidden" in paths:
                    if state.customers[link.client_id].manager:
                        raise _OpError("customer_client_link_error",
                                       "CANNOT_HIDE_OR_UNHIDE_MANAGER_ACCOUNTS",
                                       "Manager accounts cannot be hidden or unhidden.",
                                       location=(("update", None), ("hidden", None)))
                    hidden = op.update.hidden
                if "status" in paths:
                    status = _link_status(link, op.update.status, _CLIENT_LINK_MOVES,
                                          (("update", None), ("status", None)))
            except _OpError as exc:
                raise AdsFault(INVALID, [exc.to_error((("operation", None),))]) from None
            if not req.validate_only:
                link.hidden, link.status = hidden, status
        self._after_apply(rules)
        resp = ccl_svc.MutateCustomerClientLinkResponse.pb()()
        if not req.validate_only:
            resp.result.resource_name = name
        return resp, f"hidden={hidden} status={status}"

    # ---- CustomerManagerLinkService (on the client)
    def _mutate_manager_link(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = cml_svc.MutateCustomerManagerLinkRequest.pb(request)
        return self._serve(context, "CustomerManagerLinkService", "MutateCustomerManagerLink",
                           req.customer_id, len(req.operations),
                           lambda rules, rid: self._do_manager_link(req, rules),
                           tuple(_written(op) for op in req.operations))

    def _do_manager_link(self, req: Any, rules: list[FaultRule]) -> tuple[Any, str]:
        if not req.operations:
            raise _fault(INVALID, "request_error", "OPERATION_REQUIRED",
                         "At least one operation is required.")
        staged: list[tuple[Link, str, str]] = []
        errors: list[Any] = []
        with self.state.lock:
            for i, op in enumerate(req.operations):
                try:
                    name, at = op.update.resource_name, (("update", None), ("resource_name", None))
                    m = _parse_name(name, req.customer_id, "customerManagerLinks", at,
                                    r"(\d+)~(\d+)")
                    link = self.state.links.get((m.group(2), req.customer_id))
                    if link is None or link.manager_link_id != m.group(3):
                        raise _not_found(name, at)
                    _inject(rules, "customer_manager_link", link.manager_id)
                    paths = _check_mask(list(op.update_mask.paths), "customer_manager_link",
                                        ({"status"}, {"manager_customer", "manager_link_id"}))
                    status = link.status
                    if "status" in paths:
                        status = _link_status(link, op.update.status, _MANAGER_LINK_MOVES,
                                              (("update", None), ("status", None)))
                    staged.append((link, status, name))
                except _OpError as exc:
                    errors.append(exc.to_error((("operations", i),)))
            if errors:
                raise AdsFault(INVALID, errors)
            if not req.validate_only:
                for link, status, _name in staged:
                    link.status = status
        self._after_apply(rules)
        resp = cml_svc.MutateCustomerManagerLinkResponse.pb()()
        if not req.validate_only:
            for _link, _status, name in staged:
                resp.results.add(resource_name=name)
        return resp, ", ".join(f"{lk.manager_id}:{st}" for lk, st, _n in staged)

    # ---- benchmark data
    @staticmethod
    def generate_accounts(campaigns: int = 5000, *, accounts: int = 1,
                          manager_id: str = "1112223333", currency_code: str = "USD",
                          first_customer_id: int = 3_000_000_001, seed: int = 7) -> dict[str, Any]:
        """A `google_ads` scenario with `campaigns` campaigns per account, in a realistic mix:
        mostly Search, some PMax/Display/Shopping/Demand Gen/Video; ~15% paused, ~5% removed,
        2% experiments; own DAILY budgets, every 10th sharing a pool, every 25th CUSTOM_PERIOD."""
        rng = random.Random(seed)
        unit = CURRENCIES[currency_code].billable_unit_micros
        channels = (["SEARCH"] * 50 + ["PERFORMANCE_MAX"] * 15 + ["DISPLAY"] * 15 +
                    ["SHOPPING"] * 7 + ["DEMAND_GEN"] * 8 + ["VIDEO"] * 5)
        out_accounts = []
        for a in range(accounts):
            cid = str(first_customer_id + a)
            budgets: list[dict[str, Any]] = [{"id": "1", "name": "Shared pool", "period": "DAILY",
                                              "amount_micros": 500 * 1_000_000,
                                              "explicitly_shared": True}]
            camps = []
            for n in range(1, campaigns + 1):
                channel = rng.choice(channels)
                budget_id = "1"
                if n % 10:
                    budget_id = str(10 + n)
                    amount = rng.randint(10, 300) * 1_000_000 // unit * unit
                    if n % 25 == 0 and channel != "DEMAND_GEN":
                        budgets.append({"id": budget_id, "name": f"Flight {n}",
                                        "period": "CUSTOM_PERIOD",
                                        "total_amount_micros": amount * 30})
                    else:
                        budgets.append({"id": budget_id, "name": f"Budget {n}",
                                        "period": "DAILY", "amount_micros": amount})
                roll = rng.random()
                status = "REMOVED" if roll < 0.05 else "PAUSED" if roll < 0.20 else "ENABLED"
                camp = {"id": str(100_000 + n), "name": f"{channel.title()} campaign {n}",
                        "status": status, "channel": channel, "budget_id": budget_id}
                if n % 50 == 0:
                    camp["experiment_type"] = "EXPERIMENT"
                camps.append(camp)
            out_accounts.append({
                "customer_id": cid, "descriptive_name": f"Benchmark client {a + 1}",
                "currency_code": currency_code, "time_zone": "America/New_York",
                "links": [{"manager_id": manager_id, "manager_link_id": str(800_000 + a)}],
                "budgets": budgets, "campaigns": camps})
        return {"managers": [{"customer_id": manager_id, "descriptive_name": "Benchmark MCC",
                              "currency_code": currency_code}],
                "accounts": out_accounts}


class _Killed(Exception):
    """A kill fault ended the client before its request was applied."""


def _written(operation: Any) -> str:
    """The resource an update operation names and the fields of its mask, for the log."""
    update = operation.update if operation.HasField("update") else None
    name = update.resource_name if update is not None else str(operation.WhichOneof("operation"))
    return f"{name}:{','.join(sorted(operation.update_mask.paths))}"


class _Unmodelled(grpc.GenericRpcHandler):
    """Any other method: logged like the rest (so tests see the attempt), then UNIMPLEMENTED,
    which is what a server without that method answers."""

    def __init__(self, log: RequestLog) -> None:
        self._log = log

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        full = str(details.method)
        service, _, method = full.strip("/").rpartition("/")

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            entry = self._log.record(PLATFORM, service.rsplit(".", 1)[-1], method,
                                     mutating=method not in _READ_METHODS)
            self._log.finish(entry, "UNIMPLEMENTED", "not modelled by the stand-in")
            context.set_trailing_metadata((("request-id", _request_id()),))
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"Method not found: {full} (not modelled by the Google Ads stand-in).")
            raise AssertionError("unreachable")

        return grpc.unary_unary_rpc_method_handler(answer)


def _page_token(key: str, offset: int) -> str:
    raw = json.dumps({"k": key, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_page_token(token: str, key: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["k"] == key and isinstance(data["o"], int) and data["o"] >= 0:
            return int(data["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise _fault(INVALID, "request_error", "INVALID_PAGE_TOKEN", "Page token is invalid.",
                 location=(("page_token", None),))


def _check_change_event_query(bound: gaql.BoundQuery, now: dt.datetime) -> None:
    """change_event needs a finite change_date_time range within 30 days and LIMIT <= 10,000."""
    lows: list[dt.datetime] = []
    highs: list[dt.datetime] = []
    for spec, cond in bound.where:
        if spec.name != "change_event.change_date_time":
            continue
        if cond.op in (">", ">=", "=", "BETWEEN", "DURING"):
            lows.append(cond.typed[0])
        if cond.op in ("<", "<=", "="):
            highs.append(cond.typed[0])
        if cond.op in ("BETWEEN", "DURING"):
            highs.append(cond.typed[1])
    if not lows or not highs:
        raise gaql.GaqlError("change_event_error", "CHANGE_DATE_RANGE_INFINITE",
                             "The change_event search request must specify a finite range filter "
                             "on change_date_time.")
    low, high = max(lows), min(highs)
    if low > high:
        raise gaql.GaqlError("change_event_error", "CHANGE_DATE_RANGE_NEGATIVE",
                             "The change_date_time filters can never match (start after end).")
    if low.date() < (now - dt.timedelta(days=30)).date():
        raise gaql.GaqlError("change_event_error", "START_DATE_TOO_OLD",
                             "The requested start date is too old. It cannot be older than "
                             "30 days.")
    if bound.limit is None:
        raise gaql.GaqlError("change_event_error", "LIMIT_NOT_SPECIFIED",
                             "The change_event search request must specify a LIMIT.")
    if bound.limit > 10_000:
        raise gaql.GaqlError("change_event_error", "INVALID_LIMIT_CLAUSE",
                             "The LIMIT of a change_event request must be at most 10,000.")
