"""SharpSpring stand-in: the JSON-RPC API at `POST /pubapi/v1.2/?accountID=..&secretKey=..`.

Every call is a POST of `{"method", "params", "id"}`; the answer is HTTP 200 with `{"result",
"error", "id"}` whether it worked or not. Errors follow the published codes: 101 malformed body,
102 no request id, 103/104 no account id / secret key, 105 authentication failed, 106 daily
method call limit, 107 per-second limit, 204 unknown method, 205 invalid parameters.
`getLeads` takes `where`, `limit` (at most 500) and `offset` and answers `{"lead": [...]}`.

The log names each request by its JSON-RPC method (`getLeads`), and marks it mutating unless it
is a read (`get*`) or no call at all (a body that does not parse): the dry-run tests read that
log. Faults: `resource_exhausted` answers 107;
`internal` HTTP 500; `unavailable` HTTP 503; `partial_failure` (match
`{resource: contact_list, id: <account>, offset: <n>}`, offset optional) fails that `getLeads`
page with error 999 while the other pages succeed.

Scenario section:

    sharpspring:
      accounts:
        - account_id: 7A3F9C21D0
          secret_key: ...      # optional: the only key accepted (else any non-empty one)
          company: Lakeside Powersports
          leads: 1234          # generated contacts (stable for a given seed)
          seed: 7
          daily_limit: 50000   # calls per day before error 106
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response, Route

PATH = "/pubapi/v1.2/"
MAX_LIMIT = 500
ERRORS = {
    101: "Invalid request data format.",
    102: "Header missing request ID.",
    103: "Header missing account ID.",
    104: "Header missing Secret Key.",
    105: "User authentication failed.",
    106: "Exceeded daily method call limit.",
    107: "Exceeded per second method call limit.",
    204: "Invalid method signature.",
    205: "Invalid parameters.",
    999: "Unknown error.",
}
_FIRST = [
    "Ava",
    "Ben",
    "Chloé",
    "Dmitri",
    "Elena",
    "Finn",
    "Grace",
    "Hiro",
    "Isla",
    "José",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]
_LAST = [
    "Anders",
    "Baker",
    "Cruz",
    "Dubois",
    "Evans",
    "Fischer",
    "García",
    "Hughes",
    "Ito",
    "Jensen",
    "O'Brien",
    "Khan",
    "Lopez",
    "Müller",
    "Nguyen",
    "Olsen",
    "Patel",
    "Reyes",
]
_CITIES = [
    ("Lake Geneva", "WI", "53147"),
    ("Madison", "WI", "53703"),
    ("Rockford", "IL", "61101"),
    ("Kenosha", "WI", "53140"),
]


def generate_leads(count: int, seed: int, account: str) -> list[dict[str, Any]]:
    """`count` contacts shaped like SharpSpring leads, with the awkward values real lists have
    (commas, quotes, line breaks, accents, empty and missing fields, a custom field). Each call
    has its own copies (a stand-in is reset to its scenario often: they are made once)."""
    return [dict(lead) for lead in _leads(count, seed)]


@functools.lru_cache(maxsize=16)
def _leads(count: int, seed: int) -> tuple[dict[str, Any], ...]:
    rng = random.Random(seed)
    leads = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, state, zipcode = rng.choice(_CITIES)
        lead: dict[str, Any] = {
            "id": str(410_000_000 + i * 7 + seed),
            "accountID": "",
            "ownerID": "318420",
            "campaignID": "" if i % 5 else "90021",
            "leadStatus": rng.choice(["open", "contact", "qualified", "unqualified"]),
            "leadScore": str(rng.randint(0, 120)),
            "active": "1",
            "firstName": first,
            "lastName": last,
            "emailAddress": f"{first}.{last}.{i}@example.com".lower().replace("'", ""),
            "companyName": "" if i % 3 else f"{last}, {first} & Sons",
            "title": "",
            "street": f"{100 + i} Shore Dr" if i % 7 else f"{100 + i} Shore Dr\nApt 2",
            "city": city,
            "state": state,
            "zipcode": zipcode,
            "country": "US",
            "phoneNumber": f"+1-262-555-{i % 10000:04d}",
            "mobilePhoneNumber": "",
            "website": "",
            "description": "" if i % 11 else 'Asked about the "Spring Sale", call back',
            "isUnsubscribed": "1" if i % 13 == 0 else "0",
            "updateTimestamp": f"2026-{1 + i % 10:02d}-{1 + i % 27:02d} 10:{i % 60:02d}:00",
        }
        if i % 4 == 0:
            lead["preferred_brand_5f3a1c"] = rng.choice(["Polaris", "Sea-Doo", "Yamaha"])
        leads.append(lead)
    return tuple(leads)


@dataclass
class Account:
    account_id: str
    company: str = ""
    secret_key: str = ""
    daily_limit: int = 50_000
    calls_today: int = 0
    leads: list[dict[str, Any]] = field(default_factory=list)


class SharpSpringStandIn(HttpStandIn):
    platform = "sharpspring"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.accounts: dict[str, Account] = {}
        for raw in self.section.get("accounts") or []:
            account = Account(
                str(raw["account_id"]),
                str(raw.get("company", "")),
                str(raw.get("secret_key", "")),
                int(raw.get("daily_limit", 50_000)),
            )
            account.leads = generate_leads(
                int(raw.get("leads", 0)), int(raw.get("seed", 7)), account.account_id
            )
            self.accounts[account.account_id] = account
        self.handlers = {"getLeads": self._get_leads}

    # --- JSON-RPC routing: one URL, the method in the body --------------------------------------

    def _match(self, request: Request) -> tuple[Route | None, dict[str, str]]:
        if request.method != "POST" or request.path.rstrip("/") != PATH.rstrip("/"):
            return None, {}
        try:
            body = request.json()
            method = str(body.get("method", "")) if isinstance(body, dict) else ""
        except (ValueError, UnicodeDecodeError):
            method = ""
        op = method or "invalid"
        # A body that is no JSON-RPC call (a client killed half-way through sending it) is
        # refused and changes nothing: not a write.
        writes = bool(method) and not method.startswith("get")
        return Route("POST", _ANY, op, lambda r: self._call(r, method), writes, "pubapi"), {}

    def account_of(self, request: Request) -> str | None:
        return request.arg("accountID")

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        if rule.kind == "resource_exhausted":
            return _error(request, 107)
        if rule.kind == "unavailable":
            return Response(503, "Service Unavailable", content_type="text/plain")
        return Response(500, "Internal Server Error", content_type="text/plain")

    def not_found(self, request: Request) -> Response:
        return Response(404, "Not Found", content_type="text/plain")

    def settings(self) -> dict[str, Any]:
        return {
            "endpoint": self.url + PATH,
            "secret_key": "sandbox:",
            "timeout_s": 30.0,
            "attempts": 5,
        }

    # --- calls ------------------------------------------------------------------------------

    def _call(self, request: Request, method: str) -> Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            return _error(request, 101)
        if not isinstance(body, dict) or not method:
            return _error(request, 101)
        if body.get("id") in (None, ""):
            return _error(request, 102)
        account_id, secret = request.arg("accountID"), request.arg("secretKey")
        if not account_id:
            return _error(request, 103)
        if not secret:
            return _error(request, 104)
        with self.lock:
            account = self.accounts.get(account_id)
            if account is None or (account.secret_key and account.secret_key != secret):
                return _error(request, 105)
            account.calls_today += 1
            if account.calls_today > account.daily_limit:
                return _error(request, 106)
        handler = self.handlers.get(method)
        if handler is None:
            return _error(request, 204)
        params = body.get("params")
        if not isinstance(params, dict):
            return _error(request, 205)
        return handler(request, account, params)

    def _get_leads(self, request: Request, account: Account, params: dict[str, Any]) -> Response:
        try:
            limit = int(params.get("limit", MAX_LIMIT))
            offset = int(params.get("offset", 0))
        except (TypeError, ValueError):
            return _error(request, 205)
        where = params.get("where") or {}
        if not (0 < limit <= MAX_LIMIT) or offset < 0 or not isinstance(where, dict):
            return _error(request, 205)
        rule = request.failing(resource="contact_list", id=account.account_id, offset=str(offset))
        if rule is not None:
            return _error(request, 999, rule.message)
        with self.lock:
            leads = [
                dict(lead, accountID=account.account_id)
                for lead in account.leads
                if all(str(lead.get(k)) == str(v) for k, v in where.items())
            ]
        return _ok(request, {"lead": leads[offset : offset + limit]})

    # --- test helpers -----------------------------------------------------------------------

    def add_lead(self, account_id: str, **fields: Any) -> None:
        with self.lock:
            account = self.accounts[account_id]
            lead = dict(account.leads[-1]) if account.leads else {}
            lead.update({"id": str(900_000_000 + len(account.leads))}, **fields)
            account.leads.append(lead)


_ANY = re.compile(".*")


def _request_id(request: Request) -> Any:
    try:
        body = request.json()
        return body.get("id") if isinstance(body, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None


def _ok(request: Request, result: Any) -> Response:
    return Response(200, {"result": result, "error": None, "id": _request_id(request)})


def _error(request: Request, code: int, message: str = "") -> Response:
    payload = {
        "result": None,
        "error": {
            "code": code,
            "message": message or ERRORS.get(code, "Unknown error."),
            "data": {},
        },
        "id": _request_id(request),
    }
    return Response(200, json.dumps(payload).encode("utf-8"))
