"""Meta Graph API v26.0 stand-in: the REST paths the official `facebook-business` SDK uses.

What it models, because the connector must have met it through the real SDK:
- ad account node reads (`GET /v26.0/act_ID/`), the `campaigns`, `adsets`, `adrules_library` and
  `agencies` edges with `effective_status` filters and cursor paging (`limit`, `after`, and a
  `next` link only when another page exists, which is what the SDK's Cursor checks);
- node updates `POST /v26.0/<id>/` (form-encoded `status`), `DELETE /v26.0/act_ID/agencies
  ?business=<id>` (afterwards the agency's token gets Graph's permission errors on the account),
  and the agency business's `client_ad_accounts` edge;
- node reads `GET /v26.0/<id>/?fields=...` of campaigns, ad sets and rules (DELETED objects
  still answer, with their status), alone or as batch items: how a restore reads values back;
- the batch endpoint `POST /v26.0/` (`batch=[...]` JSON, at most 50 requests, per-item
  `{code, headers, body}`; `include_headers=false` drops the item headers; an item may come back
  `null`, which means "no answer"; a second write to an ad set of a campaign already written in
  the same batch is refused with (#100), as the page says a batch cannot hold two ad sets of one
  campaign); a batch of GET items alone is logged as a read; each item counts as one call in
  the usage headers, the batch call itself as none; batches sent at once are served at once (a
  thread each), every change to the accounts and every counter under the stand-in's lock;
- `appsecret_proof` (HMAC-SHA256 of the token keyed with the app secret), checked on every call;
- `GET /v26.0/debug_token?input_token=...`: the token's metadata (`is_valid`, `expires_at`, 0 for
  a token that never expires, `scopes`), from the scenario's `token` table
  (`{is_valid, expires_at, scopes}`; default: a valid system-user token that never expires);
- usage headers on every response (`X-App-Usage`, `X-Ad-Account-Usage`,
  `X-Business-Use-Case-Usage` with `estimated_time_to_regain_access` in minutes);
- faults from the shared plan. Top level: `resource_exhausted` -> code 80004 on an ad account
  (17 elsewhere; a rule's `message` may name another code, e.g. "613"; with `match`
  `{"usage_headers": "none"}` the throttle comes without any usage header), `internal` -> code 1 /
  HTTP 500, `unavailable`/`timeout` -> code 2 / HTTP 503. Inside a batch: a rule whose `method`
  names the item's operation (`update_object`, `remove_agency`) and whose `match` fits the
  entity (`{"resource": "campaign"|"adset"|"rule", "id": ...}`) hits that item alone (`get_object`
  for a node read)
  (`resource_exhausted`, `internal`, `unavailable`, `partial_failure`; `timeout` makes the item
  `null`); a `partial_failure` rule with any method fails the entity it matches, and with
  `message: "null"` leaves its item unanswered instead.

Errors use Graph's envelope `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.

Layout: this module holds the paths (node reads and writes, the batch endpoint); `meta_graph` the
plumbing every path shares (lookups, authentication, usage headers, errors, faults); `meta_data`
the accounts and their rows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from adoffboard.credentials import SANDBOX_SECRET
from adoffboard.sandbox import meta_data
from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.http import Request, Response
from adoffboard.sandbox.meta_data import (
    AdAccount,
    CallWindow,
    adset_row,
    campaign_row,
    load_account,
    rule_row,
    select,
)
from adoffboard.sandbox.meta_graph import (
    PLATFORM,
    RATE_LIMIT_SUBCODE,
    VERSION,
    MetaGraphBase,
    V,
    _trace_id,
    _written,
    add_usage_headers,
    graph_error,
    same_campaign,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_BATCH",
    "MAX_LIMIT",
    "MIN_DAILY_BUDGET",
    "OBJECT_STATUSES",
    "PLATFORM",
    "RATE_LIMIT_SUBCODE",
    "RULE_STATUSES",
    "VERSION",
    "MetaStandIn",
    "graph_error",
]

MAX_BATCH = 50
DEFAULT_LIMIT = 25  # Graph's page size when `limit` is not given
MAX_LIMIT = 5000
OBJECT_STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "DELETED")
RULE_STATUSES = ("ENABLED", "DISABLED", "DELETED")
# Lowest daily budget Meta accepts, in the currency's cents (roughly USD 1; the real table
# depends on the optimisation goal and goes up to ~USD 40/day).
MIN_DAILY_BUDGET = {"USD": 100, "CAD": 135, "EUR": 100, "GBP": 100, "AUD": 150}
A = r"(?P<account>act_\d+)"
ID = r"(?P<id>\d+)"


# --- the stand-in -----------------------------------------------------------------------------


class MetaStandIn(MetaGraphBase):
    platform = PLATFORM
    service = "graph"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        sec = self.section
        self.app_id = str(sec.get("app_id", "880000000000001"))
        self.app_secret = str(sec.get("app_secret", SANDBOX_SECRET))
        agency = sec.get("agency_business") or {
            "id": "100200300400500",
            "name": "Summit Digital Agency",
        }
        self.agency = {"id": str(agency["id"]), "name": agency["name"]}
        self.accounts: dict[str, AdAccount] = {}
        for raw in sec.get("ad_accounts") or []:
            acct = load_account(raw, self.agency)
            self.accounts[acct.id] = acct
        self.call_capacity = int(sec.get("call_capacity", 20_000))  # calls per rolling hour
        self.token = dict(sec.get("token") or {})  # what debug_token says of the caller's token
        self.app_calls = CallWindow()
        self._declare_routes()

    def _declare_routes(self) -> None:
        r = self.route
        r("GET", f"{V}/debug_token/?", "debug_token", self.debug_token)
        r("GET", f"{V}/{A}/?", "get_account", self.get_account)
        r("GET", f"{V}/{A}/campaigns/?", "list_campaigns", self.list_campaigns)
        r("GET", f"{V}/{A}/adsets/?", "list_adsets", self.list_adsets)
        r("GET", f"{V}/{A}/adrules_library/?", "list_rules", self.list_rules)
        r("GET", f"{V}/{A}/agencies/?", "list_agencies", self.list_agencies)
        r("DELETE", f"{V}/{A}/agencies/?", "remove_agency", self.remove_agency)
        r(
            "GET",
            f"{V}/(?P<business>\\d+)/client_ad_accounts/?",
            "list_client_accounts",
            self.list_client_accounts,
        )
        r("GET", f"{V}/{ID}/?", "get_object", self.get_object)
        r("POST", f"{V}/{ID}/?", "update_object", self.update_object)
        r("POST", f"{V}/?", "batch", self.batch)

    def settings(self) -> dict[str, Any]:
        return {
            "endpoint": self.url,
            "app_id": self.app_id,
            "app_secret": "sandbox:",
            "access_token": "sandbox:",
            "agency_business_id": self.agency["id"],
            "timeout_s": 30.0,
            "attempts": 5,
        }

    # --- reads --------------------------------------------------------------------------------

    def get_account(self, request: Request) -> Response:
        acct = self._acct(request, edge=False)
        if isinstance(acct, Response):
            return acct
        full = {
            "id": acct.id,
            "account_id": acct.id.removeprefix("act_"),
            "name": acct.name,
            "currency": acct.currency,
            "timezone_name": acct.timezone_name,
            "account_status": acct.account_status,
            "business": {"id": acct.owner_business, "name": ""},
        }
        return Response(200, select(full, request))

    def _page(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        try:
            limit = min(int(request.arg("limit") or DEFAULT_LIMIT), MAX_LIMIT)
            start = (
                int(base64.b64decode(request.arg("after") or "MA==").decode())
                if request.arg("after")
                else 0
            )
        except ValueError:
            return graph_error(400, 100, "(#100) Invalid cursor or limit")
        page = rows[start : start + limit]
        body: dict[str, Any] = {"data": [select(r, request) for r in page]}
        if page:
            body["paging"] = {
                "cursors": {
                    "before": base64.b64encode(str(start).encode()).decode(),
                    "after": base64.b64encode(str(start + len(page)).encode()).decode(),
                }
            }
            if start + len(page) < len(rows):
                # Graph's next links repeat the caller's token: cassettes must scrub bodies too
                after = body["paging"]["cursors"]["after"]
                body["paging"]["next"] = (
                    f"{self.url}{request.path}?access_token={request.arg('access_token')}"
                    f"&appsecret_proof={request.arg('appsecret_proof')}&limit={limit}"
                    f"&after={after}"
                )
        if (request.arg("summary") or "").lower() == "true":
            body["summary"] = {"total_count": len(rows)}
        return Response(200, body)

    def _statuses(self, request: Request, default: tuple[str, ...]) -> set[str] | Response:
        raw = request.arg("effective_status")
        if not raw:
            return set(default)
        try:
            wanted = json.loads(raw)
        except ValueError:
            return graph_error(400, 100, "(#100) param effective_status must be an array.")
        if not isinstance(wanted, list):
            return graph_error(400, 100, "(#100) param effective_status must be an array.")
        return {str(s) for s in wanted}

    def list_campaigns(self, request: Request) -> Response:
        acct = self._acct(request)
        if isinstance(acct, Response):
            return acct
        wanted = self._statuses(request, ("ACTIVE", "PAUSED", "IN_PROCESS", "WITH_ISSUES"))
        if isinstance(wanted, Response):
            return wanted
        rows = [campaign_row(c) for c in acct.campaigns.values()]
        return self._page(request, [r for r in rows if r["effective_status"] in wanted])

    def list_adsets(self, request: Request) -> Response:
        acct = self._acct(request)
        if isinstance(acct, Response):
            return acct
        wanted = self._statuses(
            request, ("ACTIVE", "PAUSED", "CAMPAIGN_PAUSED", "IN_PROCESS", "WITH_ISSUES")
        )
        if isinstance(wanted, Response):
            return wanted
        rows = [adset_row(s, acct.campaigns.get(s.campaign_id)) for s in acct.adsets.values()]
        return self._page(request, [r for r in rows if r["effective_status"] in wanted])

    def list_rules(self, request: Request) -> Response:
        acct = self._acct(request)
        if isinstance(acct, Response):
            return acct
        rows = [rule_row(r, acct) for r in acct.rules.values() if r.status != "DELETED"]
        return self._page(request, rows)

    def list_agencies(self, request: Request) -> Response:
        acct = self._acct(request)
        if isinstance(acct, Response):
            return acct
        rows = [
            {
                "id": a.business_id,
                "name": a.name,
                "access_status": a.access_status,
                "permitted_tasks": list(a.permitted_tasks),
            }
            for a in acct.agencies.values()
        ]
        return self._page(request, rows)

    def debug_token(self, request: Request) -> Response:
        """https://developers.facebook.com/docs/graph-api/reference/debug_token"""
        if not request.arg("input_token"):
            return graph_error(400, 100, "The parameter input_token is required")
        data = {
            "app_id": self.app_id,
            "type": "SYSTEM_USER",
            "application": "adoffboard sandbox",
            "data_access_expires_at": 0,
            "expires_at": int(self.token.get("expires_at", 0)),
            "is_valid": bool(self.token.get("is_valid", True)),
            "scopes": list(
                self.token.get("scopes", ["ads_management", "ads_read", "business_management"])
            ),
        }
        return Response(200, {"data": data})

    def list_client_accounts(self, request: Request) -> Response:
        if request.params["business"] != self.agency["id"]:
            return self._no_access_node(request.params["business"])
        rows = [
            {"id": a.id, "account_id": a.id.removeprefix("act_"), "name": a.name}
            for a in self.accounts.values()
            if self.agency["id"] in a.agencies
        ]
        return self._page(request, rows)

    def get_object(self, request: Request) -> Response:
        oid = request.params["id"]
        if oid == self.agency["id"]:
            return Response(200, select({"id": oid, "name": self.agency["name"]}, request))
        found = self.find(oid)
        if found is None or not self.reachable(found[1]):
            return self._no_access_node(oid)
        kind, acct, entity = found
        row = {
            "campaign": lambda: campaign_row(entity),
            "adset": lambda: adset_row(entity, acct.campaigns.get(entity.campaign_id)),
            "rule": lambda: rule_row(entity, acct),
        }[kind]()
        return Response(200, select(row, request))

    # --- writes -------------------------------------------------------------------------------

    def update_object(self, request: Request) -> Response:
        oid = request.params["id"]
        found = self.find(oid)
        if found is None or not self.reachable(found[1]):
            return self._no_access_node(oid)
        kind, acct, entity = found
        rule = request.failing(resource=kind, id=oid)
        if rule is not None:
            return self._fault(rule, acct)
        form = request.form()
        with self.lock:
            if "status" in form:
                allowed = RULE_STATUSES if kind == "rule" else OBJECT_STATUSES
                new = form["status"]
                if new not in allowed:
                    return graph_error(
                        400, 100, f"(#100) param status must be one of {{{', '.join(allowed)}}}"
                    )
                if entity.status == "DELETED":
                    return graph_error(
                        400, 100, f"(#100) The {kind} {oid} has been deleted", subcode=1487056
                    )
                if entity.status == "ARCHIVED" and new not in ("ARCHIVED", "DELETED"):
                    return graph_error(
                        400, 100, f"(#100) An archived {kind} can only be deleted", subcode=1487056
                    )
            if "daily_budget" in form and kind != "rule":
                refused = _budget_refusal(kind, acct, entity, form["daily_budget"])
                if refused is not None:
                    return refused
                entity.daily_budget = int(form["daily_budget"])
            if "status" in form:
                entity.status = form["status"]
            if "name" in form:
                entity.name = form["name"]
        return Response(200, {"success": True})

    def remove_agency(self, request: Request) -> Response:
        acct = self._acct(request)
        if isinstance(acct, Response):
            return acct
        business = request.arg("business")
        if not business:
            return graph_error(400, 100, "(#100) The parameter business is required")
        rule = request.failing(resource="agency", id=business)
        if rule is not None:
            return self._fault(rule, acct)
        with self.lock:
            if business not in acct.agencies:
                return graph_error(
                    400, 100, f"(#100) Business {business} is not an agency of ad account {acct.id}"
                )
            del acct.agencies[business]
        return Response(200, {"success": True})

    # --- batch --------------------------------------------------------------------------------

    def batch(self, request: Request) -> Response:
        form = request.form()
        if "batch" not in form:
            return graph_error(400, 100, "(#100) The parameter batch is required")
        try:
            items = json.loads(form["batch"])
        except ValueError:
            return graph_error(400, 100, "(#100) param batch must be a JSON array")
        if not isinstance(items, list):
            return graph_error(400, 100, "(#100) param batch must be a JSON array")
        if len(items) > MAX_BATCH:
            return graph_error(
                400,
                100,
                f"(#100) Too many requests in batch message. Maximum batch size is {MAX_BATCH}",
            )
        include_headers = form.get("include_headers", "true").lower() != "false"
        auth: dict[str, list[str]] = {
            k: request.query[k] for k in ("access_token", "appsecret_proof") if k in request.query
        }
        crowded = self.adsets_sharing_a_campaign(items)
        return Response(
            200,
            [
                _item_response(same_campaign(), include_headers)
                if n in crowded
                else self._item(item, request, auth, include_headers)
                for n, item in enumerate(items)
            ],
        )

    def _item(
        self,
        item: Mapping[str, Any],
        outer: Request,
        auth: dict[str, list[str]],
        include_headers: bool,
    ) -> dict[str, Any] | None:
        split = urlsplit("/" + str(item.get("relative_url", "")).lstrip("/"))
        path = split.path if split.path.startswith(V + "/") else V + split.path
        sub = Request(
            str(item.get("method", "GET")).upper(),
            path,
            {**auth, **parse_qs(split.query, keep_blank_values=True)},
            {"Content-Type": "application/x-www-form-urlencoded"},
            str(item.get("body") or "").encode("utf-8"),
            faults=outer.faults,
        )
        route, params = self._match(sub)
        if route is None or route.op == "batch":
            return _item_response(
                graph_error(400, 100, f"(#100) Unknown path components: {split.path}"),
                include_headers,
            )
        sub.params = params
        account = self.account_of(sub)
        entry = self.log.record(
            PLATFORM,
            "graph-batch",
            route.op,
            mutating=route.mutating,
            account=account,
            operations=1,
            entities=(_written(sub),) if route.mutating else (),
        )
        found = self.find(params.get("id", "")) if "id" in params else None
        entity = {
            "resource": found[0] if found else "agency" if route.op == "remove_agency" else "",
            "id": params.get("id") or sub.arg("business") or "",
        }
        acct = self.accounts.get(account or "")
        with self.lock:
            self.app_calls.add()
            if acct is not None:
                acct.calls.add()
        rules = self._item_rules(route.op, entity)  # under the lock: batches run at once
        unanswered = [r for r in rules if r.kind == "timeout"] + [
            r
            for r in outer.faults
            if r.message == "null" and all(str(entity.get(k)) == str(v) for k, v in r.match.items())
        ]
        if unanswered:
            self.log.finish(entry, "null", "no answer")
            return None
        blocking = [
            r
            for r in rules
            if r.kind in ("resource_exhausted", "internal", "unavailable", "partial_failure")
        ]
        if blocking:
            response = self._fault(blocking[0], acct)
            self.log.finish(entry, str(response.status), blocking[0].kind)
        else:
            sub.faults = [r for r in outer.faults if r.message != "null"]
            response = route.handler(sub)
            self.log.finish(entry, str(response.status))
        with self.lock:
            usage = self.usage_headers(acct)
        add_usage_headers(response, usage)
        response.headers.setdefault("x-fb-trace-id", _trace_id())
        return _item_response(response, include_headers)

    generate_account = staticmethod(meta_data.generate_account)


# --- batch items ------------------------------------------------------------------------------


def _budget_refusal(kind: str, acct: Any, entity: Any, raw: str) -> Response | None:
    """Graph's refusal of a `daily_budget` write, or None. Budgets are integers in the currency's
    minor units; a campaign with campaign budget optimization holds the budget (its ad sets
    cannot have one), a campaign without it leaves the budgets to its ad sets; a lifetime budget
    does not become a daily one; deleted and archived objects are not edited."""
    if not raw.isdigit():
        return graph_error(
            400, 100, "(#100) param daily_budget must be a non-negative integer (minor units)"
        )
    if entity.status in ("DELETED", "ARCHIVED"):
        return graph_error(
            400, 100, f"(#100) The {kind} {entity.id} is {entity.status.lower()}", subcode=1487056
        )
    if kind == "adset":
        parent = acct.campaigns.get(entity.campaign_id)
        if parent is not None and (parent.daily_budget or parent.lifetime_budget):
            return graph_error(
                400,
                100,
                "(#100) Invalid parameter: the ad set's campaign uses campaign budget "
                "optimization; set the budget on the campaign",
            )
    elif entity.lifetime_budget or (
        not entity.daily_budget
        and any(s.daily_budget for s in acct.adsets.values() if s.campaign_id == entity.id)
    ):
        return graph_error(
            400,
            100,
            "(#100) Invalid parameter: this campaign's budget is a lifetime budget or is set on "
            "its ad sets",
        )
    floor = MIN_DAILY_BUDGET.get(acct.currency, 100)
    if int(raw) < floor:
        return graph_error(
            400,
            100,
            f"(#100) Your budget is too low. The minimum daily budget is {floor} "
            f"({acct.currency} cents) for this ad set",
            subcode=1885272,
        )
    return None


def _item_response(response: Response, include_headers: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"code": response.status, "body": response.encode().decode("utf-8")}
    if include_headers:
        headers = {"Content-Type": "text/javascript; charset=UTF-8", **response.headers}
        item["headers"] = [{"name": k, "value": v} for k, v in headers.items()]
    return item
