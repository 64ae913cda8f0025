"""The Search Console (`searchconsole` v1 sites) and Site Verification (v1) stand-in.

Served as `google-api-python-client` calls them (roots `http://HOST:PORT/` and
`http://HOST:PORT/siteVerification/v1/`):

    GET    /webmasters/v3/sites                     sites.list: the caller's sites
    GET    /webmasters/v3/sites/{siteUrl}           sites.get (403 when not among them)
    DELETE /webmasters/v3/sites/{siteUrl}           sites.delete: drop it from the caller's sites
    GET    /siteVerification/v1/webResource         webResource.list: what the caller owns
    GET    /siteVerification/v1/webResource/{id}    webResource.get
    DELETE /siteVerification/v1/webResource/{id}    webResource.delete: relinquish ownership

As documented, relinquishing is refused while the caller's verification token is still in place
(`tokens_in_place`), and unverifies the caller only: other owners stay verified. An owner who
relinquishes keeps the site in their list as an unverified user until they drop it. Neither API
manages other users: that stays with people.

Scenario section:

    search_console:
      caller: sem-team@agency.example
      sites:
        - url: https://www.example.com/        # or sc-domain:example.com
          users: {sem-team@agency.example: siteOwner, owner@example.com: siteOwner}
          verified_owners: [sem-team@agency.example, owner@example.com]
          tokens_in_place: [owner@example.com]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.google_rest import (
    GoogleRestStandIn,
    google_error,
    not_found,
    permission_denied,
)
from adoffboard.sandbox.http import Request, Response


@dataclass
class Site:
    url: str
    users: dict[str, str] = field(default_factory=dict)  # email -> permission level
    verified_owners: list[str] = field(default_factory=list)
    tokens_in_place: set[str] = field(default_factory=set)

    @property
    def resource_id(self) -> str:
        """Site Verification's id: the URL-encoded site (`dns://` for a domain property)."""
        return quote(
            self.identifier if self.kind == "SITE" else f"dns://{self.identifier}", safe=""
        )

    @property
    def kind(self) -> str:
        return "INET_DOMAIN" if self.url.startswith("sc-domain:") else "SITE"

    @property
    def identifier(self) -> str:
        return self.url.removeprefix("sc-domain:")

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.resource_id,
            "site": {"type": self.kind, "identifier": self.identifier},
            "owners": list(self.verified_owners),
        }


class SearchConsoleStandIn(GoogleRestStandIn):
    platform = "search_console"
    service = "SearchConsole"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.sites: dict[str, Site] = {}
        for raw in self.section.get("sites") or ():
            site = Site(
                str(raw["url"]),
                {str(k).lower(): str(v) for k, v in (raw.get("users") or {}).items()},
                [str(o).lower() for o in raw.get("verified_owners") or ()],
                {str(o).lower() for o in raw.get("tokens_in_place") or ()},
            )
            self.sites[site.url] = site
        sites, verify = "/webmasters/v3/sites", "/siteVerification/v1/webResource"
        self.route("GET", sites, "sites.list", self._list_sites)
        self.route("GET", rf"{sites}/(?P<site>[^/]+)", "sites.get", self._get_site)
        self.route("DELETE", rf"{sites}/(?P<site>[^/]+)", "sites.delete", self._delete_site)
        self.route(
            "GET", verify, "webResource.list", self._list_resources, service="SiteVerification"
        )
        self.route(
            "GET",
            rf"{verify}/(?P<rid>[^/]+)",
            "webResource.get",
            self._get_resource,
            service="SiteVerification",
        )
        self.route(
            "DELETE",
            rf"{verify}/(?P<rid>[^/]+)",
            "webResource.delete",
            self._delete_resource,
            service="SiteVerification",
        )

    def account_of(self, request: Request) -> str | None:
        if "site" in request.params:
            return unquote(request.params["site"])
        site = self._by_resource(request.params.get("rid", ""))
        return site.url if site else None

    def _by_resource(self, rid: str) -> Site | None:
        """The site a webResource id names (the id arrives encoded once more in the path)."""
        wanted = _decoded(rid)
        return next((s for s in self.sites.values() if _decoded(s.resource_id) == wanted), None)

    # --- Search Console sites -----------------------------------------------------------------

    def _entry(self, site: Site) -> dict[str, str]:
        return {"siteUrl": site.url, "permissionLevel": site.users[self.caller]}

    def _list_sites(self, request: Request) -> Response:
        with self.lock:
            entries = [self._entry(s) for s in self.sites.values() if self.caller in s.users]
        return Response(200, {"siteEntry": entries} if entries else {})

    def _get_site(self, request: Request) -> Response:
        url = unquote(request.params["site"])
        with self.lock:
            site = self.sites.get(url)
            if site is None or self.caller not in site.users:
                return permission_denied(
                    f"User does not have sufficient permission for site "
                    f"'{url}'. See also: https://support.google.com/"
                    "webmasters/answer/2451999."
                )
            return Response(200, self._entry(site))

    def _delete_site(self, request: Request) -> Response:
        url = unquote(request.params["site"])
        with self.lock:
            site = self.sites.get(url)
            if site is None or self.caller not in site.users:
                return not_found(f"Site '{url}' is not among the user's sites.")
            rule = request.failing(resource="site", id=url)
            if rule is not None:
                return self.partial_failure(rule, f"site {url}")
            del site.users[self.caller]
        return self.no_content()

    # --- Site Verification --------------------------------------------------------------------

    def _list_resources(self, request: Request) -> Response:
        with self.lock:
            items = [s.resource() for s in self.sites.values() if self.caller in s.verified_owners]
        return Response(200, {"items": items} if items else {})

    def _owned(self, request: Request) -> Site | Response:
        site = self._by_resource(request.params["rid"])
        if site is None or self.caller not in site.verified_owners:
            return permission_denied("You are not an owner of this site.")
        return site

    def _get_resource(self, request: Request) -> Response:
        with self.lock:
            site = self._owned(request)
            return site if isinstance(site, Response) else Response(200, site.resource())

    def _delete_resource(self, request: Request) -> Response:
        with self.lock:
            site = self._owned(request)
            if isinstance(site, Response):
                return site
            if self.caller in site.tokens_in_place:
                return google_error(
                    400,
                    "The verification token is still in place: remove it "
                    "from the site before relinquishing ownership.",
                    "badRequest",
                    status="FAILED_PRECONDITION",
                )
            rule = request.failing(resource="verification", id=site.url)
            if rule is not None:
                return self.partial_failure(rule, f"ownership of {site.url}")
            site.verified_owners.remove(self.caller)
            if site.users.get(self.caller) == "siteOwner":
                site.users[self.caller] = "siteUnverifiedUser"
        return self.no_content()

    # --- helpers for tests --------------------------------------------------------------------

    def site(self, url: str) -> Site:
        return self.sites[url]


def _decoded(text: str) -> str:
    previous = None
    while text != previous:
        previous, text = text, unquote(text)
    return text
