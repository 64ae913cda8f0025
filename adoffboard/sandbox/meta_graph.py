"""The Graph API plumbing of the Meta stand-in (`adoffboard.sandbox.meta`) that every path shares:
finding nodes and who may see them, `appsecret_proof`, usage headers, Graph's error envelope and
the faults of the shared plan, at the top level and inside a batch.

Kept apart from the paths themselves (`adoffboard.sandbox.meta`) so that each reads in one sitting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.http import HttpStandIn, Request, Response, Route
from adoffboard.sandbox.meta_data import AdAccount, CallWindow

PLATFORM = "meta"
VERSION = "v26.0"
RATE_LIMIT_SUBCODE = 2446079
# A `resource_exhausted` rule with this in its `match` throttles without any usage header, as
# Meta's answers sometimes come: the client must fall back on the documented hold.
NO_USAGE = {"usage_headers": "none"}
_BARE = "x-standin-no-usage"  # marks such an answer inside the stand-in; never sent
V = f"/{VERSION}"


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    kind: str = "OAuthException",
    subcode: int | None = None,
    transient: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    trace = _trace_id()
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": trace}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return Response(status, {"error": error}, {"x-fb-trace-id": trace, **(headers or {})})


def _trace_id() -> str:
    return "A" + secrets.token_urlsafe(12)


class MetaGraphBase(HttpStandIn):
    """What `MetaStandIn` does for every request, whatever its path."""

    accounts: dict[str, AdAccount]
    agency: dict[str, str]
    app_secret: str
    app_calls: CallWindow
    call_capacity: int

    # --- lookups ------------------------------------------------------------------------------

    def find(self, object_id: str) -> tuple[str, AdAccount, Any] | None:
        """(kind, account, entity) of a campaign, ad set or rule id."""
        for acct in self.accounts.values():
            for kind, table in (
                ("campaign", acct.campaigns),
                ("adset", acct.adsets),
                ("rule", acct.rules),
            ):
                if object_id in table:
                    return kind, acct, table[object_id]
        return None

    def adsets_sharing_a_campaign(self, items: list[Any]) -> set[int]:
        """The items (by index) that write an ad set of a campaign an earlier write of the same
        batch already wrote an ad set of: Meta's batch-requests page says "Batch requests cannot
        include multiple Adsets under the same Campaign". How Graph answers such an item is not
        documented; the stand-in refuses each one after the first with (#100) (its own choice)."""
        seen: set[str] = set()
        crowded: set[int] = set()
        for n, item in enumerate(items):
            if not isinstance(item, Mapping) or str(item.get("method", "GET")).upper() == "GET":
                continue
            node = urlsplit("/" + str(item.get("relative_url", "")).lstrip("/")).path
            found = self.find(node.rstrip("/").rsplit("/", 1)[-1])
            if found is None or found[0] != "adset":
                continue
            campaign = str(found[2].campaign_id)
            if campaign in seen:
                crowded.add(n)
            seen.add(campaign)
        return crowded

    def account_of(self, request: Request) -> str | None:
        if "account" in request.params:
            return request.params["account"]
        if "id" in request.params:
            found = self.find(request.params["id"])
            return found[1].id if found else None
        if request.method == "POST" and request.path.rstrip("/") == V:
            return self._batch_account(request)
        return None

    def _batch_account(self, request: Request) -> str | None:
        """The one ad account every request of a batch targets, if there is one."""
        try:
            items = json.loads(request.form().get("batch") or "[]")
        except ValueError:
            return None
        accounts = set()
        for item in items if isinstance(items, list) else []:
            path = urlsplit("/" + str(item.get("relative_url", "")).lstrip("/")).path
            head = path.strip("/").removeprefix(VERSION).strip("/").split("/")[0]
            found = self.find(head)
            accounts.add(head if head.startswith("act_") else found[1].id if found else None)
        return accounts.pop() if len(accounts) == 1 else None

    def entities(self, route: Route, request: Request) -> tuple[str, ...]:
        """A batch's writes are logged item by item (`_item`), the envelope names none."""
        if route.op == "batch":
            return ()
        return (_written(request),)

    def mutates(self, route: Route, request: Request) -> bool:
        """A batch changes state unless every request in it is a GET."""
        if route.op != "batch":
            return route.mutating
        try:
            items = json.loads(request.form().get("batch") or "[]")
        except ValueError:
            return True
        return not (
            isinstance(items, list)
            and items
            and all(
                isinstance(i, Mapping) and str(i.get("method", "GET")).upper() == "GET"
                for i in items
            )
        )

    def reachable(self, acct: AdAccount) -> bool:
        """Whether the agency's token can see the account: the agency is one of its agencies."""
        if acct.token_blocked:
            return False
        return self.agency["id"] in acct.agencies or acct.owner_business == self.agency["id"]

    def _no_access_node(self, object_id: str) -> Response:
        return graph_error(
            400,
            100,
            f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read "
            "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            kind="GraphMethodException",
            subcode=33,
        )

    def _no_access_edge(self, account_id: str) -> Response:
        return graph_error(
            403,
            200,
            f"(#200) The user does not have permission to access ad "
            f"account {account_id} (missing ads_management or "
            "ads_read permission on this account)",
        )

    def _acct(self, request: Request, *, edge: bool = True) -> AdAccount | Response:
        acct = self.accounts.get(request.params["account"])
        if acct is None or not self.reachable(acct):
            aid = request.params["account"]
            return self._no_access_edge(aid) if edge else self._no_access_node(aid)
        return acct

    # --- authentication and usage --------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        token = request.arg("access_token")
        proof = request.arg("appsecret_proof")
        if not token:
            return graph_error(400, 104, "An access token is required to request this resource.")
        if not proof:
            return graph_error(
                400,
                100,
                "API calls from the server require an appsecret_proof argument",
                kind="GraphMethodException",
            )
        expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, proof):
            return graph_error(
                400,
                100,
                "Invalid appsecret_proof provided in the API argument",
                kind="GraphMethodException",
            )
        return None

    def dispatch(self, request: Request) -> Response:
        """Each call counts against the usage windows, but a batch call itself does not: "each
        call within the batch is counted separately" (its items, in `_item`), "a batch of 10
        API calls will count as 10 calls" (https://developers.facebook.com/docs/graph-api/
        batch-requests)."""
        response = super().dispatch(request)
        batch = request.method == "POST" and request.path.rstrip("/") == V
        with self.lock:
            acct = self.accounts.get(self.account_of(request) or "")
            if not batch:
                self.app_calls.add()
                if acct is not None:
                    acct.calls.add()
            add_usage_headers(response, self.usage_headers(acct))
        response.headers.setdefault("x-fb-trace-id", _trace_id())
        return response

    def usage_headers(
        self, acct: AdAccount | None, *, regain_minutes: int = 0, pct: int | None = None
    ) -> dict[str, str]:
        app_pct = min(100, self.app_calls.count() * 100 // max(1, self.call_capacity))
        headers = {
            "X-App-Usage": json.dumps(
                {"call_count": app_pct, "total_cputime": app_pct // 2, "total_time": app_pct // 2}
            )
        }
        if acct is None and not regain_minutes:
            return headers
        if acct is None:  # a throttle outside any ad account: counted against the agency
            used, owner = 100, self.agency["id"]
        else:
            used = (
                pct
                if pct is not None
                else min(
                    100, acct.usage_pct + acct.calls.count() * 100 // max(1, self.call_capacity)
                )
            )
            owner = acct.owner_business or acct.id.removeprefix("act_")
            headers["X-Ad-Account-Usage"] = json.dumps(
                {
                    "acc_id_util_pct": used,
                    "reset_time_duration": regain_minutes * 60,
                    "ads_api_access_tier": "standard_access",
                }
            )
        headers["X-Business-Use-Case-Usage"] = json.dumps(
            {
                owner: [
                    {
                        "type": "ads_management",
                        "call_count": used,
                        "total_cputime": used // 2,
                        "total_time": used // 2,
                        "estimated_time_to_regain_access": regain_minutes,
                        "ads_api_access_tier": "standard_access",
                    }
                ]
            }
        )
        return headers

    # --- faults -------------------------------------------------------------------------------

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        acct = self.accounts.get(self.account_of(request) or "")
        return self._fault(rule, acct)

    def _fault(self, rule: FaultRule, acct: AdAccount | None) -> Response:
        if rule.kind == "resource_exhausted":
            minutes = max(1, math.ceil(rule.retry_delay_s / 60))
            bare = all(rule.match.get(k) == v for k, v in NO_USAGE.items())
            code = int(rule.message) if rule.message.isdigit() else (80004 if acct else 17)
            message = {
                17: "(#17) User request limit reached",
                613: "(#613) Calls to this api have exceeded the rate limit.",
                4: "(#4) Application request limit reached",
            }.get(
                code,
                f"(#{code}) There have been too many calls to this ad-account. Wait a "
                "bit and try again. For more info, please refer to "
                "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
            )
            return graph_error(
                400,
                code,
                message,
                subcode=RATE_LIMIT_SUBCODE,
                transient=True,
                headers=(
                    {_BARE: "1"}
                    if bare
                    else self.usage_headers(acct, regain_minutes=minutes, pct=100)
                ),
            )
        if rule.kind == "internal":
            return graph_error(500, 1, rule.message or "An unknown error occurred", transient=True)
        if rule.kind == "partial_failure":
            return graph_error(
                400, 100, rule.message or "(#100) Invalid parameter", subcode=1487390
            )
        return graph_error(
            503,
            2,
            rule.message or "An unexpected error has occurred. Please retry your request later.",
            transient=True,
        )

    def _item_rules(self, op: str, entity: Mapping[str, str]) -> list[FaultRule]:
        """Rules aimed at one request inside a batch: their method names the item's operation."""
        fired = []
        with self.lock:
            for rule in self.faults.rules:
                if rule.method != op or rule.platform not in ("*", PLATFORM):
                    continue
                if any(
                    str(entity.get(k)) != str(v) for k, v in rule.match.items() if k not in NO_USAGE
                ):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or (rule.times is not None and rule.fired >= rule.times):
                    continue
                rule.fired += 1
                fired.append(rule)
        return fired


def add_usage_headers(response: Response, usage: Mapping[str, str]) -> None:
    """The usage headers on an answer, unless it is a throttle meant to come without them."""
    if response.headers.pop(_BARE, None) is None:
        for name, value in usage.items():
            response.headers.setdefault(name, value)


def _written(request: Request) -> str:
    """The node a write targets and the fields it sets (a business for an agency removal)."""
    form = request.form()
    business = request.arg("business")
    fields = ",".join(
        sorted(k for k in form if k not in ("access_token", "appsecret_proof", "business"))
    )
    return (
        f"{request.method} {request.path}"
        + (f" business={business}" if business else "")
        + (f" {fields}" if fields else "")
    )


def same_campaign() -> Response:
    return graph_error(
        400, 100, "(#100) Batch requests cannot include multiple Adsets under the same Campaign"
    )
