"""A small vendor API for the generic `http` connector: a Fluency-like account hold and a
NinjaCat-like advertiser removal. Neither vendor documents such endpoints; this stand-in is the
shape an agency would configure once one exists, so that the `http` step is tested on the wire.

    GET    /accounts/{id}          -> {"id", "name", "hold"}
    POST   /accounts/{id}/hold     -> 200 {"id", "hold": true}
    GET    /advertisers/{id}       -> {"id", "name"}, or 404 once removed
    DELETE /advertisers/{id}       -> 204

Every request needs `Authorization: Bearer <token>` (401 otherwise); answers carry
`X-Request-Id`. Faults follow the base stand-in (429 with Retry-After, 500, 503);
`partial_failure` with match `{resource: account|advertiser, id: ...}` answers 409 to the write.

Scenario section:

    http:
      enabled: false      # whether the endpoints the sandbox configures start enabled
      token: ...          # optional: the only bearer token accepted
      accounts: [{id: FL-20417, name: Lakeside Powersports, hold: false}]
      advertisers: [{id: NC-88123, name: Lakeside Powersports}]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response

ID = r"[A-Za-z0-9_.-]{1,64}"


class VendorStandIn(HttpStandIn):
    platform = "http"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.accounts = {
            str(a["id"]): {
                "id": str(a["id"]),
                "name": a.get("name", ""),
                "hold": bool(a.get("hold", False)),
            }
            for a in self.section.get("accounts") or []
        }
        self.advertisers = {
            str(a["id"]): {"id": str(a["id"]), "name": a.get("name", "")}
            for a in self.section.get("advertisers") or []
        }
        self._ids = itertools.count(1)
        self.route("GET", rf"/accounts/(?P<account>{ID})", "accounts.get", self._get_account)
        self.route("POST", rf"/accounts/(?P<account>{ID})/hold", "accounts.hold", self._hold)
        self.route(
            "GET", rf"/advertisers/(?P<account>{ID})", "advertisers.get", self._get_advertiser
        )
        self.route(
            "DELETE",
            rf"/advertisers/(?P<account>{ID})",
            "advertisers.delete",
            self._delete_advertiser,
        )

    def authenticate(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expected = self.section.get("token")
        if scheme != "Bearer" or not token or (expected and token != expected):
            return self._answer(Response(401, {"error": "unauthorized"}))
        return None

    def dispatch(self, request: Request) -> Response:
        return self._answer(super().dispatch(request))

    def _answer(self, response: Response) -> Response:
        response.headers.setdefault("X-Request-Id", f"req-{next(self._ids):06d}")
        return response

    def settings(self) -> dict[str, Any]:
        enabled = bool(self.section.get("enabled", False))
        auth = {"Authorization": "Bearer sandbox:"}
        return {
            "timeout_s": 30.0,
            "attempts": 5,
            "endpoints": {
                "fluency_hold": {
                    "enabled": enabled,
                    "title": "Fluency account hold",
                    "manifest_key": "fluency",
                    "method": "POST",
                    "url": f"{self.url}/accounts/{{account_id}}/hold",
                    "expected_status": [200, 204],
                    "headers": auth,
                    "verify_url": f"{self.url}/accounts/{{account_id}}",
                    "verify_json_path": "hold",
                    "verify_equals": True,
                    "name_json_path": "name",
                },
                "ninjacat_remove": {
                    "enabled": enabled,
                    "title": "NinjaCat advertiser",
                    "manifest_key": "ninjacat",
                    "method": "DELETE",
                    "url": f"{self.url}/advertisers/{{account_id}}",
                    "expected_status": [200, 204],
                    "headers": auth,
                    "verify_url": f"{self.url}/advertisers/{{account_id}}",
                    "verify_gone": True,
                },
            },
        }

    # --- routes ---------------------------------------------------------------------------------

    def _get_account(self, request: Request) -> Response:
        with self.lock:
            account = self.accounts.get(request.params["account"])
            return Response(200, dict(account)) if account else _not_found()

    def _hold(self, request: Request) -> Response:
        key = request.params["account"]
        rule = request.failing(resource="account", id=key)
        if rule is not None:
            return Response(409, {"error": rule.message or "account is locked by billing"})
        with self.lock:
            account = self.accounts.get(key)
            if account is None:
                return _not_found()
            account["hold"] = True
            return Response(200, {"id": key, "hold": True})

    def _get_advertiser(self, request: Request) -> Response:
        with self.lock:
            advertiser = self.advertisers.get(request.params["account"])
            return Response(200, dict(advertiser)) if advertiser else _not_found()

    def _delete_advertiser(self, request: Request) -> Response:
        key = request.params["account"]
        rule = request.failing(resource="advertiser", id=key)
        if rule is not None:
            return Response(409, {"error": rule.message or "advertiser has active reports"})
        with self.lock:
            if self.advertisers.pop(key, None) is None:
                return _not_found()
            return Response(204)


def _not_found() -> Response:
    return Response(404, {"error": "not found"})
