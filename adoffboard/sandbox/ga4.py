"""The Google Analytics Admin API (v1alpha, REST) stand-in: accounts, properties, access bindings.

Served as the `google-analytics-admin` SDK's REST transport calls it:

    GET    /v1alpha/accountSummaries                              list_account_summaries
    GET    /v1alpha/accounts/{a}                                  get_account
    GET    /v1alpha/properties/{p}                                get_property
    GET    /v1alpha/{accounts/{a}|properties/{p}}/accessBindings  list (pageSize <= 500, pageToken)
    DELETE /v1alpha/{parent}/accessBindings/{id}                  delete_access_binding
    POST   /v1alpha/{parent}/accessBindings:batchDelete           batch_delete (<= 1000, atomic)

Access follows the scenario's `caller`: reading needs any role on the resource (an account role
covers its properties; account summaries list the accounts it can see, each with the properties
it has a role on), deleting needs predefinedRoles/admin. Unknown resources answer 403, as
GA4 does for anything the caller cannot see. A batch is all or nothing: a missing binding fails
it with 404, a `partial_failure` rule matching {"resource": "binding", "id": ...} with 400.

Scenario section:

    ga4:
      caller: sem-team@agency.example
      accounts:
        - id: "100200300"
          display_name: Lakeside Powersports
          bindings: [{id: b1, user: sem-team@agency.example, roles: [predefinedRoles/admin]}]
          properties:
            - {id: "310000001", display_name: Website, bindings: [...]}
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.google_rest import (
    GoogleRestStandIn,
    google_error,
    not_found,
    permission_denied,
)
from adoffboard.sandbox.http import Request, Response

ADMIN = "predefinedRoles/admin"
MAX_PAGE = 500
DEFAULT_PAGE = 200
MAX_BATCH = 1000
ID = r"[A-Za-z0-9_.-]+"


@dataclass
class Binding:
    id: str
    user: str
    roles: list[str]

    def to_json(self, parent: str) -> dict[str, Any]:
        return {
            "name": f"{parent}/accessBindings/{self.id}",
            "user": self.user,
            "roles": list(self.roles),
        }


@dataclass
class Node:
    """An account or a property: what holds access bindings."""

    name: str  # accounts/N or properties/N
    display_name: str
    bindings: dict[str, Binding] = field(default_factory=dict)
    account: str = ""  # for a property: its account's name

    def roles_of(self, user: str) -> set[str]:
        return {r for b in self.bindings.values() if b.user.lower() == user for r in b.roles}


def _bindings(raw: Any) -> dict[str, Binding]:
    out = {}
    for b in raw or ():
        out[str(b["id"])] = Binding(str(b["id"]), str(b["user"]), [str(r) for r in b["roles"]])
    return out


class GA4State:
    def __init__(self, section: Mapping[str, Any]) -> None:
        self.nodes: dict[str, Node] = {}
        for acct in section.get("accounts") or ():
            name = f"accounts/{acct['id']}"
            self.nodes[name] = Node(
                name, str(acct.get("display_name", "")), _bindings(acct.get("bindings"))
            )
            for prop in acct.get("properties") or ():
                pname = f"properties/{prop['id']}"
                self.nodes[pname] = Node(
                    pname,
                    str(prop.get("display_name", "")),
                    _bindings(prop.get("bindings")),
                    account=name,
                )
        self._ids = itertools.count(1)

    def node(self, name: str) -> Node | None:
        return self.nodes.get(name)

    def roles(self, user: str, name: str) -> set[str]:
        """The user's roles on a node, an account's roles included for its properties."""
        node = self.nodes.get(name)
        if node is None:
            return set()
        roles = node.roles_of(user)
        if node.account:
            roles |= self.nodes[node.account].roles_of(user)
        return roles

    def can_see_account(self, user: str, name: str) -> bool:
        return bool(self.roles(user, name)) or any(
            n.account == name and n.roles_of(user) for n in self.nodes.values()
        )

    def add_binding(self, parent: str, user: str, roles: list[str]) -> Binding:
        binding = Binding(f"added-{next(self._ids)}", user, roles)
        self.nodes[parent].bindings[binding.id] = binding
        return binding

    def users(self, parent: str) -> list[str]:
        return sorted(b.user for b in self.nodes[parent].bindings.values())


class GA4StandIn(GoogleRestStandIn):
    platform = "ga4"
    service = "AnalyticsAdminService"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.state = GA4State(self.section)
        parent = r"(?P<parent>(?:accounts|properties)/(?P<pid>\d+))"
        self.route("GET", r"/v1alpha/accountSummaries", "ListAccountSummaries", self._summaries)
        self.route("GET", r"/v1alpha/accounts/(?P<id>\d+)", "GetAccount", self._get_account)
        self.route("GET", r"/v1alpha/properties/(?P<id>\d+)", "GetProperty", self._get_property)
        self.route("GET", rf"/v1alpha/{parent}/accessBindings", "ListAccessBindings", self._list)
        self.route(
            "DELETE",
            rf"/v1alpha/{parent}/accessBindings/(?P<bid>{ID})",
            "DeleteAccessBinding",
            self._delete,
        )
        self.route(
            "POST",
            rf"/v1alpha/{parent}/accessBindings:batchDelete",
            "BatchDeleteAccessBindings",
            self._batch_delete,
        )

    def entities(self, route: Any, request: Request) -> tuple[str, ...]:
        """The access bindings a delete removes, one or a batch."""
        if route.op == "BatchDeleteAccessBindings":
            return tuple(
                str(r.get("name", "")) for r in (request.json() or {}).get("requests") or ()
            )
        return (f"{request.params['parent']}/accessBindings/{request.params['bid']}",)

    def account_of(self, request: Request) -> str | None:
        name = request.params.get("parent") or (
            f"{'accounts' if '/accounts/' in request.path else 'properties'}/"
            f"{request.params.get('id', '')}"
        )
        node = self.state.node(name)
        if node is None:
            return name.split("/")[-1] or None
        return (node.account or node.name).split("/")[-1]

    # --- reads ----------------------------------------------------------------------------------

    def _get_account(self, request: Request) -> Response:
        name = f"accounts/{request.params['id']}"
        with self.lock:
            node = self.state.node(name)
            if node is None or not self.state.can_see_account(self.caller, name):
                return permission_denied(
                    f"User does not have sufficient permissions for this account: {name}"
                )
            return Response(
                200, {"name": name, "displayName": node.display_name, "regionCode": "US"}
            )

    def _summaries(self, request: Request) -> Response:
        """ListAccountSummaries: each account the caller can see, with the properties it has a
        role on (https://developers.google.com/analytics/devguides/config/admin/v1/rest/v1alpha/
        accountSummaries/list); pageSize / pageToken as the other lists."""
        try:
            size = int(request.arg("pageSize") or DEFAULT_PAGE)
            start = int(request.arg("pageToken") or 0)
        except ValueError:
            return google_error(400, "Invalid page size or page token.", "badRequest")
        with self.lock:
            nodes = self.state.nodes.values()
            summaries = [
                {
                    "name": f"accountSummaries/{acct.name.split('/')[-1]}",
                    "account": acct.name,
                    "displayName": acct.display_name,
                    "propertySummaries": [
                        {
                            "property": prop.name,
                            "displayName": prop.display_name,
                            "propertyType": "PROPERTY_TYPE_ORDINARY",
                            "parent": acct.name,
                        }
                        for prop in nodes
                        if prop.account == acct.name and self.state.roles(self.caller, prop.name)
                    ],
                }
                for acct in nodes
                if not acct.account and self.state.can_see_account(self.caller, acct.name)
            ]
        body: dict[str, Any] = {"accountSummaries": summaries[start : start + size]}
        if start + size < len(summaries):
            body["nextPageToken"] = str(start + size)
        return Response(200, body)

    def _get_property(self, request: Request) -> Response:
        name = f"properties/{request.params['id']}"
        with self.lock:
            node = self.state.node(name)
            if node is None or not self.state.roles(self.caller, name):
                return permission_denied(
                    f"User does not have sufficient permissions for this property: {name}"
                )
            return Response(
                200,
                {
                    "name": name,
                    "displayName": node.display_name,
                    "parent": node.account,
                    "account": node.account,
                    "propertyType": "PROPERTY_TYPE_ORDINARY",
                    "timeZone": "America/Chicago",
                    "currencyCode": "USD",
                },
            )

    def _list(self, request: Request) -> Response:
        parent = request.params["parent"]
        try:
            size = int(request.arg("pageSize") or DEFAULT_PAGE)
            start = int(request.arg("pageToken") or 0)
        except ValueError:
            return google_error(400, "Invalid page size or page token.", "badRequest")
        size = DEFAULT_PAGE if size <= 0 else min(size, MAX_PAGE)
        with self.lock:
            node = self.state.node(parent)
            if node is None or not self.state.roles(self.caller, parent):
                return permission_denied(f"User does not have sufficient permissions for {parent}")
            items = [b.to_json(parent) for b in node.bindings.values()]
        page = items[start : start + size]
        body: dict[str, Any] = {"accessBindings": page}
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return Response(200, body)

    # --- writes ---------------------------------------------------------------------------------

    def _writable(self, parent: str) -> Response | None:
        if self.state.node(parent) is None or not self.state.roles(self.caller, parent):
            return permission_denied(f"User does not have sufficient permissions for {parent}")
        if ADMIN not in self.state.roles(self.caller, parent):
            return permission_denied(f"Managing users of {parent} needs the Administrator role")
        return None

    def _delete(self, request: Request) -> Response:
        parent, bid = request.params["parent"], request.params["bid"]
        with self.lock:
            refused = self._writable(parent)
            if refused is not None:
                return refused
            node = self.state.nodes[parent]
            if bid not in node.bindings:
                return not_found(f"Access binding {parent}/accessBindings/{bid} not found.")
            rule = request.failing(resource="binding", id=bid)
            if rule is not None:
                return self.partial_failure(rule, f"access binding {bid}")
            del node.bindings[bid]
        return Response(200, {})

    def _batch_delete(self, request: Request) -> Response:
        parent = request.params["parent"]
        body = request.json() or {}
        names = [str(r.get("name", "")) for r in body.get("requests") or ()]
        if not names or len(names) > MAX_BATCH:
            return google_error(400, f"requests must hold 1 to {MAX_BATCH} entries", "badRequest")
        prefix = f"{parent}/accessBindings/"
        if any(not n.startswith(prefix) for n in names):
            return google_error(400, f"every binding must belong to {parent}", "badRequest")
        ids = [n[len(prefix) :] for n in names]
        with self.lock:
            refused = self._writable(parent)
            if refused is not None:
                return refused
            node = self.state.nodes[parent]
            missing = [i for i in ids if i not in node.bindings]
            if missing:
                return not_found(f"Access binding {prefix}{missing[0]} not found.")
            for bid in ids:
                rule = request.failing(resource="binding", id=bid)
                if rule is not None:
                    return self.partial_failure(rule, f"access binding {bid}")
            for bid in ids:
                del node.bindings[bid]
        return Response(200, {})
