"""Google Ads stand-in: scenario loading and `GoogleAdsState` (the live data tests inspect)."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adoffboard.sandbox import gaql
from adoffboard.sandbox.googleads.model import (
    CHANGED_RESOURCE,
    CURRENCIES,
    ROW,
    SCHEMA,
    Budget,
    Campaign,
    ChangeEvent,
    Customer,
    Link,
    T,
    _zone,
)
from adoffboard.sandbox.googleads.scenario import _choice, _cid, _id, _mapping, _micros, _when

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
        self.accessible: list[str] = []  # customers the API user reaches directly
        self._seq = 0
        self._load(scenario)

    # ---- loading
    def _load(self, scenario: Mapping[str, Any]) -> None:
        root = _mapping(
            "google_ads",
            scenario,
            {"accounts"},
            {"managers", "api_user_email", "accessible_customers"},
        )
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
            a = _mapping(
                where,
                raw,
                cust_keys,
                {
                    "time_zone",
                    "links",
                    "budgets",
                    "campaigns",
                    "change_events",
                    "test_account",
                    "status",
                },
            )
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
        self._load_accessible(root.get("accessible_customers"))
        for where, cid, eraw in pending_events:
            e = _mapping(
                where,
                eraw,
                {"client_type", "resource_type", "at"},
                {"resource_name", "user_email", "operation", "changed_fields"},
            )
            self.add_change_event(
                cid,
                client_type=_choice(where, e["client_type"], "change_event.client_type"),
                resource_type=_choice(
                    where, e["resource_type"], "change_event.change_resource_type"
                ),
                when=_when(where, e["at"]),
                resource_name=e.get("resource_name"),
                user_email=e.get("user_email"),
                operation=_choice(
                    where, e.get("operation", "UPDATE"), "change_event.resource_change_operation"
                ),
                changed_fields=tuple(e.get("changed_fields") or ()),
            )

    def _load_accessible(self, raw: Any) -> None:
        """The customers the API user was granted directly: the managers unless the scenario
        lists them (then clients reached only through a manager are not among them)."""
        if raw is None:
            managers = [c for c in self.customers.values() if c.manager]
            self.accessible = [c.customer_id for c in managers or self.customers.values()]
            return
        where = "google_ads.accessible_customers"
        if not isinstance(raw, list):
            raise ValueError(f"{where} must be a list of customer ids")
        for i, value in enumerate(raw):
            cid = _cid(f"{where}[{i}]", value)
            if cid not in self.customers:
                raise ValueError(f"{where}[{i}]: customer {cid} is not in the scenario")
            self.accessible.append(cid)

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
        cust = Customer(
            cid,
            str(raw["descriptive_name"]),
            currency,
            tz,
            manager=manager,
            test_account=bool(raw.get("test_account", False)),
            status=_choice(where, raw.get("status", "ENABLED"), "customer.status"),
        )
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
            manager_id,
            client_id,
            _id(f"{where}.manager_link_id", lk["manager_link_id"]),
            status,
            bool(lk.get("hidden", False)),
        )

    def _add_budget(self, where: str, cid: str, raw: Any) -> None:
        b = _mapping(
            where,
            raw,
            {"id", "name", "period"},
            {"amount_micros", "total_amount_micros", "explicitly_shared", "status"},
        )
        bid = _id(f"{where}.id", b["id"])
        if bid in self.budgets[cid]:
            raise ValueError(f"{where}: budget id {bid} appears twice in account {cid}")
        period = _choice(where, b["period"], "campaign_budget.period")
        amount, total = b.get("amount_micros"), b.get("total_amount_micros")
        if period == "DAILY" and (amount is None or total is not None):
            raise ValueError(
                f"{where}: a DAILY budget takes amount_micros, not total_amount_micros"
            )
        if period == "CUSTOM_PERIOD" and (total is None or amount is not None):
            raise ValueError(
                f"{where}: a CUSTOM_PERIOD budget takes total_amount_micros and no amount_micros"
            )
        self.budgets[cid][bid] = Budget(
            cid,
            bid,
            str(b["name"]),
            period,
            None if amount is None else _micros(f"{where}.amount_micros", amount),
            None if total is None else _micros(f"{where}.total_amount_micros", total),
            bool(b.get("explicitly_shared", False)),
            _choice(where, b.get("status", "ENABLED"), "campaign_budget.status"),
        )

    def _add_campaign(self, where: str, cid: str, raw: Any) -> None:
        c = _mapping(
            where,
            raw,
            {"id", "name", "status", "channel", "budget_id"},
            {"experiment_type", "sub_type", "serving_status"},
        )
        camp_id = _id(f"{where}.id", c["id"])
        if camp_id in self.campaigns[cid]:
            raise ValueError(f"{where}: campaign id {camp_id} appears twice in account {cid}")
        budget_id = _id(f"{where}.budget_id", c["budget_id"])
        if budget_id not in self.budgets[cid]:
            raise ValueError(f"{where}: budget_id {budget_id} is not a budget of account {cid}")
        sub = c.get("sub_type")
        serving = c.get("serving_status")
        self.campaigns[cid][camp_id] = Campaign(
            cid,
            camp_id,
            str(c["name"]),
            _choice(where, c["status"], "campaign.status"),
            _choice(where, c["channel"], "campaign.advertising_channel_type"),
            budget_id,
            None if sub is None else _choice(where, sub, "campaign.advertising_channel_sub_type"),
            _choice(where, c.get("experiment_type", "BASE"), "campaign.experiment_type"),
            None if serving is None else _choice(where, serving, "campaign.serving_status"),
        )

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
    def set_campaign_status(
        self,
        customer_id: str,
        campaign_id: str,
        status: str,
        *,
        client_type: str | None = "GOOGLE_ADS_WEB_CLIENT",
    ) -> None:
        """Change a campaign as someone else would (UI by default); None records no event."""
        _choice("status", status, "campaign.status")
        with self.lock:
            camp = self.campaign(customer_id, campaign_id)
            old = dataclasses.replace(camp)
            camp.status = status
            if client_type:
                self.record_change(
                    client_type,
                    "CAMPAIGN",
                    old,
                    camp,
                    ("status",),
                    "UPDATE",
                    user_email="someone@client.example",
                )

    def set_budget_amount(
        self,
        customer_id: str,
        budget_id: str,
        amount_micros: int | None = None,
        *,
        total_amount_micros: int | None = None,
        client_type: str | None = "GOOGLE_ADS_WEB_CLIENT",
    ) -> None:
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
                self.record_change(
                    client_type,
                    "CAMPAIGN_BUDGET",
                    old,
                    budget,
                    tuple(changed),
                    "UPDATE",
                    user_email="someone@client.example",
                )

    def add_change_event(
        self,
        customer_id: str,
        *,
        client_type: str = "GOOGLE_ADS_SCRIPTS",
        resource_type: str = "CAMPAIGN",
        when: dt.datetime | None = None,
        resource_name: str | None = None,
        user_email: str | None = None,
        operation: str = "UPDATE",
        changed_fields: tuple[str, ...] = (),
    ) -> ChangeEvent:
        """Record a change made outside the API (a script, a rule, the UI).

        Without `resource_name`, the account's first campaign (or budget) is used.
        """
        _choice("client_type", client_type, "change_event.client_type")
        _choice("resource_type", resource_type, "change_event.change_resource_type")
        with self.lock:
            self.customer(customer_id)
            if resource_name is None:
                pool: Mapping[str, Any] = (
                    self.budgets if resource_type == "CAMPAIGN_BUDGET" else self.campaigns
                )[customer_id]
                first = next(iter(pool.values()), None)
                resource_name = first.resource_name if first else f"customers/{customer_id}"
            when = when or dt.datetime.now(dt.UTC)
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            self._seq += 1
            event = ChangeEvent(
                customer_id,
                when,
                client_type,
                resource_type,
                resource_name,
                user_email or "scripts@client.example",
                operation,
                tuple(changed_fields),
                seq=self._seq,
            )
            bisect.insort(self.events[customer_id], event, key=lambda e: e.when)
            return event

    def record_change(
        self,
        client_type: str,
        resource_type: str,
        old: Any,
        new: Any,
        fields: tuple[str, ...],
        operation: str,
        *,
        user_email: str,
    ) -> None:
        """A change_event with old/new resources holding the changed fields."""
        event = self.add_change_event(
            new.customer_id,
            client_type=client_type,
            resource_type=resource_type,
            resource_name=new.resource_name,
            user_email=user_email,
            operation=operation,
            changed_fields=fields,
        )
        event.old = _changed_resource(resource_type, old, fields)
        event.new = _changed_resource(resource_type, new, fields)


def _changed_resource(resource_type: str, entity: Any, fields: tuple[str, ...]) -> Any:
    out = CHANGED_RESOURCE()
    prefix = "campaign" if resource_type == "CAMPAIGN" else "campaign_budget"
    row = ROW()
    specs = [SCHEMA.fields[f"{prefix}.{name}"] for name in ("resource_name", *fields)]
    gaql.fill_fields(row, specs, {prefix: entity})
    getattr(out, prefix).CopyFrom(getattr(row, prefix))
    return out
