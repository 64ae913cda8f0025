"""The Tag Manager API v2 stand-in: accounts and their user permissions.

Served as `google-api-python-client`'s `tagmanager` v2 calls it (root `http://HOST:PORT/`):

    GET    /tagmanager/v2/accounts                               accounts.list (pageToken)
    GET    /tagmanager/v2/accounts/{a}                           accounts.get
    GET    /tagmanager/v2/accounts/{a}/user_permissions          user_permissions.list (pageToken)
    DELETE /tagmanager/v2/accounts/{a}/user_permissions/{id}     user_permissions.delete

Access follows the scenario's `caller`: reading (or listing) an account needs any permission on
it, listing and deleting user permissions needs account `admin`. Unknown accounts answer 403.

Tag Manager allows 0.25 requests/s per project. With `enforce_rate_limit: true` the stand-in
refuses a request that comes sooner than `min_interval_s` after the previous one of the same
project (told apart by the bearer token) with 429 rateLimitExceeded and the time left as its
retry delay. Enforcement is off by default: a client on a fake clock throttles without waiting
in real time. `settings()` hands `min_interval_s` to the workspace, so the client throttles to
the stand-in's window (default 0.25 s: the real 4 s scaled down to keep the demo quick).

Scenario section:

    tag_manager:
      caller: sem-team@agency.example
      min_interval_s: 0.25
      enforce_rate_limit: false
      accounts:
        - id: "6001234567"
          name: Lakeside Powersports
          permissions:
            - {id: "11", email: sem-team@agency.example, account: admin,
               containers: [{id: "2001", permission: publish}]}
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.google_rest import (
    GoogleRestStandIn,
    google_error,
    not_found,
    permission_denied,
    rate_limited,
)
from adoffboard.sandbox.http import Handler, Request, Response

ROOT = "/tagmanager/v2/accounts"
DEFAULT_INTERVAL = 0.25
TOLERANCE = 0.8  # network jitter between the client's clock and the server's arrival times


@dataclass
class Permission:
    id: str
    email: str
    account: str  # admin | user | noAccess
    containers: list[dict[str, str]] = field(default_factory=list)

    def to_json(self, account_id: str) -> dict[str, Any]:
        return {
            "path": f"accounts/{account_id}/user_permissions/{self.id}",
            "accountId": account_id,
            "emailAddress": self.email,
            "accountAccess": {"permission": self.account},
            "containerAccess": [
                {"containerId": c["id"], "permission": c["permission"]} for c in self.containers
            ],
        }


@dataclass
class Account:
    id: str
    name: str
    permissions: dict[str, Permission] = field(default_factory=dict)

    def access_of(self, email: str) -> str:
        return next((p.account for p in self.permissions.values() if p.email.lower() == email), "")


class TagManagerStandIn(GoogleRestStandIn):
    platform = "tag_manager"
    service = "TagManager"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.accounts: dict[str, Account] = {}
        for raw in self.section.get("accounts") or ():
            acct = Account(str(raw["id"]), str(raw.get("name", "")))
            for p in raw.get("permissions") or ():
                acct.permissions[str(p["id"])] = Permission(
                    str(p["id"]),
                    str(p["email"]),
                    str(p.get("account", "user")),
                    [
                        {"id": str(c["id"]), "permission": str(c["permission"])}
                        for c in p.get("containers") or ()
                    ],
                )
            self.accounts[acct.id] = acct
        self.page_size = int(self.section.get("page_size", 100))
        self.min_interval_s = float(self.section.get("min_interval_s", DEFAULT_INTERVAL))
        self.enforce_rate_limit = bool(self.section.get("enforce_rate_limit", False))
        self._last_by_project: dict[str, float] = {}
        self._rate_lock = threading.Lock()
        self._ids = itertools.count(900)
        self.route("GET", rf"{ROOT}/?", "accounts.list", self._limited(self._accounts))
        self.route("GET", rf"{ROOT}/(?P<account>\d+)", "accounts.get", self._limited(self._get))
        self.route(
            "GET",
            rf"{ROOT}/(?P<account>\d+)/user_permissions",
            "user_permissions.list",
            self._limited(self._list),
        )
        self.route(
            "DELETE",
            rf"{ROOT}/(?P<account>\d+)/user_permissions/(?P<id>\d+)",
            "user_permissions.delete",
            self._limited(self._delete),
        )

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "min_interval_s": self.min_interval_s}

    def _limited(self, handler: Handler) -> Handler:
        """The project's request rate, checked before the handler when enforcement is on."""

        def limited(request: Request) -> Response:
            if self.enforce_rate_limit:
                project, now = self.bearer(request), time.monotonic()
                with self._rate_lock:
                    last = self._last_by_project.get(project)
                    if last is not None and now - last < self.min_interval_s * TOLERANCE:
                        return rate_limited(
                            round(self.min_interval_s - (now - last), 3),
                            message="Quota exceeded for quota metric 'Queries' of service "
                            "'tagmanager.googleapis.com'",
                        )
                    self._last_by_project[project] = now
            return handler(request)

        return limited

    # --- helpers for tests ----------------------------------------------------------------------

    def emails(self, account_id: str) -> list[str]:
        return sorted(p.email for p in self.accounts[account_id].permissions.values())

    def add_permission(self, account_id: str, email: str, account: str = "user") -> str:
        pid = str(next(self._ids))
        self.accounts[account_id].permissions[pid] = Permission(pid, email, account)
        return pid

    # --- handlers -------------------------------------------------------------------------------

    def _account(self, request: Request, *, admin: bool) -> Account | Response:
        acct = self.accounts.get(request.params["account"])
        access = acct.access_of(self.caller) if acct else ""
        if acct is None or access in ("", "noAccess"):
            return permission_denied("The caller does not have permission")
        if admin and access != "admin":
            return permission_denied("Managing user permissions needs account admin access")
        return acct

    def _accounts(self, request: Request) -> Response:
        """accounts.list: the accounts the caller has access to, a page at a time
        (https://developers.google.com/tag-platform/tag-manager/api/reference/rest/v2/accounts/list)."""
        start = (
            int(request.arg("pageToken") or 0) if (request.arg("pageToken") or "0").isdigit() else 0
        )
        with self.lock:
            mine = [
                a
                for a in self.accounts.values()
                if a.access_of(self.caller) not in ("", "noAccess")
            ]
            rows = [_account_json(a) for a in mine[start : start + self.page_size]]
        body: dict[str, Any] = {"account": rows}
        if start + self.page_size < len(mine):
            body["nextPageToken"] = str(start + self.page_size)
        return Response(200, body)

    def _get(self, request: Request) -> Response:
        with self.lock:
            acct = self._account(request, admin=False)
            if isinstance(acct, Response):
                return acct
            return Response(200, _account_json(acct))

    def _list(self, request: Request) -> Response:
        try:
            start = int(request.arg("pageToken") or 0)
        except ValueError:
            return google_error(400, "Invalid page token.", "invalid")
        with self.lock:
            acct = self._account(request, admin=True)
            if isinstance(acct, Response):
                return acct
            items = [p.to_json(acct.id) for p in acct.permissions.values()]
        body: dict[str, Any] = {"userPermission": items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            body["nextPageToken"] = str(start + self.page_size)
        return Response(200, body)

    def _delete(self, request: Request) -> Response:
        pid = request.params["id"]
        with self.lock:
            acct = self._account(request, admin=True)
            if isinstance(acct, Response):
                return acct
            if pid not in acct.permissions:
                return not_found(f"Not found: user permission {pid}")
            rule = request.failing(resource="permission", id=pid)
            if rule is not None:
                return self.partial_failure(rule, f"user permission {pid}")
            del acct.permissions[pid]
        return self.no_content()


def _account_json(acct: Account) -> dict[str, Any]:
    return {
        "path": f"accounts/{acct.id}",
        "accountId": acct.id,
        "name": acct.name,
        "fingerprint": "1700000000000",
    }
