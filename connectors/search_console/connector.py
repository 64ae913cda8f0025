"""Google Search Console, through `google-api-python-client` (`searchconsole` v1 and
`siteVerification` v1).

Neither API manages other users: they speak for the credential's own user only. So
`remove_access` does what the agency can do for itself: drop the property from its Search Console
(`sites.delete`), then relinquish its verified ownership (`webResource.delete`, which Google
refuses while the agency's verification token is still on the site or in DNS). Removing the
agency's other users stays a manual step of the runbook (Settings > Users and permissions).

Reads: `sites.get` (the agency's permission level; 403 when the site is not among its sites) and
`webResource.list` (the properties it owns). When it has neither, `read_state` returns a state
with `reachable=False`: the agency's access is gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from adoffboard.config import Manifest
from adoffboard.connectors.base import (
    NO_CONTEXT,
    Connector,
    ConnectorContext,
    Journal,
    StepContext,
    StepDraft,
    Verdict,
)
from adoffboard.connectors.declare import GoogleApiSettings, section
from adoffboard.connectors.search_console.declaration import DECLARATION, SearchConsoleSite
from adoffboard.connectors.transport.google import (
    AccessDenied,
    AtOnce,
    Gone,
    google_calls,
    google_credentials,
    identities,
    raised,
)
from adoffboard.connectors.transport.google_discovery import build_service
from adoffboard.errors import AuthError, InputError, PlatformError
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase

SCOPES = [
    "https://www.googleapis.com/auth/webmasters",
    "https://www.googleapis.com/auth/siteverification",
]
# the reference documents siteOwner etc.; the bundled discovery document's enum says SITE_OWNER
SHOWN_LEVELS = {
    "siteOwner": "owner",
    "SITE_OWNER": "owner",
    "siteFullUser": "full user",
    "SITE_FULL_USER": "full user",
    "siteRestrictedUser": "restricted user",
    "SITE_RESTRICTED_USER": "restricted user",
    "siteUnverifiedUser": "unverified user",
    "SITE_UNVERIFIED_USER": "unverified user",
}


@dataclass(frozen=True)
class SearchConsoleState:
    site_url: str
    permission: str | None  # the agency's level in its own Search Console, None: not there
    verification_id: str | None  # the webResource the agency owns, None: not an owner
    owners: tuple[str, ...]  # verified owners, as Site Verification lists them
    identities: tuple[str, ...]
    read_at: dt.datetime
    detail: str = ""

    @property
    def reachable(self) -> bool:
        """False once the agency neither has the site nor owns it: its access is gone."""
        return self.permission is not None or self.verification_id is not None

    def agency_owners(self) -> list[str]:
        return [o for o in self.owners if o.lower() in self.identities]


def site_resource(site_url: str) -> tuple[str, str]:
    """(type, identifier) of a Search Console property in Site Verification's terms."""
    if site_url.startswith("sc-domain:"):
        return "INET_DOMAIN", site_url.removeprefix("sc-domain:")
    return "SITE", site_url


class SearchConsoleConnector(Connector[SearchConsoleState]):
    declaration = DECLARATION
    reads_before_writing = True  # each change's live value, right before it is sent

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = GoogleApiSettings.model_validate(dict(ctx.settings))
        self._call = google_calls(ctx, self.calls, "Search Console")
        self._services: dict[str, Any] = {}
        self._at_once = AtOnce("search-console-read", workers=2)

    def _service(self, api: str) -> Any:
        if api not in self._services:
            creds = google_credentials(
                self.settings.model_dump(), self.ctx.workspace_root, SCOPES, self.platform
            )
            base = self.settings.endpoint.rstrip("/")
            root = (
                ""
                if not base
                else (f"{base}/" if api == "searchconsole" else f"{base}/siteVerification/v1/")
            )
            self._services[api] = build_service(
                api,
                "v1",
                creds=creds,
                root=root,
                read_only=self.ctx.read_only,
                timeout=self.ctx.retry.timeout,
            )
        return self._services[api]

    # --- reads ----------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> SearchConsoleState:
        site = section(manifest, "search_console", SearchConsoleSite)
        if site is None:
            raise InputError(f"client {manifest.slug} has no search_console site in its manifest")
        url = site.site_url
        who = tuple(sorted(identities(self.ctx, manifest.remove_identities)))
        # the two APIs' services, each over its own transport, built here and read at once
        for api in ("searchconsole", "siteVerification"):
            self._service(api)
        site_read, ownership_read = self._at_once.run(
            [lambda: self._read_permission(url), lambda: self._read_ownership(url)]
        )
        permission, detail = cast("tuple[str | None, str]", raised(site_read))
        verification_id, owners = cast("tuple[str | None, tuple[str, ...]]", raised(ownership_read))
        if permission is None and verification_id is None:
            detail = (
                f"{url} is not among the agency's Search Console properties and the "
                f"agency is not a verified owner ({detail})"
            )
        return SearchConsoleState(
            url, permission, verification_id, owners, who, self.ctx.clock.now(), detail
        )

    def _read_permission(self, url: str) -> tuple[str | None, str]:
        request = self._service("searchconsole").sites().get(siteUrl=url)
        try:
            entry = self._call("read", lambda: request.execute(num_retries=0))
        except (AccessDenied, Gone) as exc:
            return None, str(exc)
        return str(entry.get("permissionLevel") or "") or None, ""

    def _read_ownership(self, url: str) -> tuple[str | None, tuple[str, ...]]:
        kind, identifier = site_resource(url)
        request = self._service("siteVerification").webResource().list()
        listed = self._call("read", lambda: request.execute(num_retries=0))
        for item in listed.get("items") or ():
            site = item.get("site") or {}
            if site.get("type") == kind and _same_site(site.get("identifier", ""), identifier):
                return str(item["id"]), tuple(str(o) for o in item.get("owners") or ())
        return None, ()

    # --- planning (pure) ------------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: SearchConsoleState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action != "remove_access":
            raise InputError(f"search_console has no action {action!r}")
        if not state.reachable:
            return StepDraft(notes=(f"{state.site_url}: the agency's access is already gone",))
        changes: list[Change] = []
        notes: list[str] = []
        if state.verification_id is not None:
            changes.append(relinquish(state, step_id))
            # removing the token is the runbook's manual step before this one
            notes.append(
                f"Google refuses to relinquish ownership of {state.site_url} while the "
                "agency's verification token (HTML file, meta tag, DNS TXT record) is "
                "still in place"
            )
            others = state.agency_owners()
            if len(others) > 1:
                notes.append(
                    f"agency verified owners: {', '.join(others)}; the credential "
                    "relinquishes only its own ownership"
                )
        if state.permission is not None:
            changes.append(drop_site(state, step_id))
        return StepDraft(tuple(changes), (), tuple(notes))

    # --- writes ---------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        # the site first: relinquishing ownership first would turn the agency's own level into
        # "unverified user", which the site's drift check would then (rightly) refuse
        for ch in sorted(changes, key=lambda c: c.entity_type != "site"):
            live = self._live(ch)
            if live == ch.after:
                outcome = Outcome(ch.id, OutcomeStatus.ALREADY)
            elif live != ch.before:
                outcome = Outcome(
                    ch.id,
                    OutcomeStatus.DRIFT,
                    live=live,
                    message=f"live {live!r}, planned {ch.before!r}",
                )
            else:
                journal.intend([ch])
                outcome = self._send(ch)
            journal.record([outcome])
            outcomes.append(outcome)
        return outcomes

    def _live(self, ch: Change) -> Any:
        if ch.entity_type == "site_verification":
            rid, _ = self._read_ownership(ch.account)
            return rid is not None
        permission, _ = self._read_permission(ch.account)
        return permission

    def _send(self, ch: Change) -> Outcome:
        if ch.entity_type == "site_verification":
            request = self._service("siteVerification").webResource().delete(id=ch.entity_id)
        else:
            request = self._service("searchconsole").sites().delete(siteUrl=ch.entity_id)
        try:
            self._call("write", lambda: request.execute(num_retries=0))
        except Gone:
            return Outcome(ch.id, OutcomeStatus.ALREADY, message="already done")
        except (PlatformError, AuthError) as exc:
            return Outcome(ch.id, OutcomeStatus.FAILED, message=str(exc))
        return Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after)

    # --- verification ---------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: SearchConsoleState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action != "remove_access":
            raise InputError(f"search_console has no action {action!r}")
        if not state.reachable:
            return Verdict(
                CheckStatus.PASS,
                f"the agency no longer has {state.site_url} nor a "
                "verified ownership of it: its access is gone",
            )
        left = []
        if state.verification_id is not None:
            left.append("the agency is still a verified owner")
        if state.permission is not None:
            left.append(
                f"the property is still in the agency's Search Console "
                f"({SHOWN_LEVELS.get(state.permission, state.permission)})"
            )
        return Verdict(CheckStatus.FAIL, "; ".join(left), (state.site_url,))

    def close(self) -> None:
        self._at_once.close()
        for service in self._services.values():
            service.close()
        self._services.clear()


def _same_site(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def relinquish(state: SearchConsoleState, step_id: str) -> Change:
    assert state.verification_id is not None
    return Change(
        id=f"search_console:{state.site_url}:site_verification:verified_owner",
        step_id=step_id,
        platform="search_console",
        account=state.site_url,
        entity_type="site_verification",
        entity_id=state.verification_id,
        name=f"the agency's verified ownership of {state.site_url}",
        field="verified_owner",
        before=True,
        after=False,
        shown_before="verified owner",
        shown_after="ownership relinquished",
        phase=Phase.ACCESS,
        resource=f"siteVerification/v1/webResource/{quote(state.verification_id, safe='')}",
    )


def drop_site(state: SearchConsoleState, step_id: str) -> Change:
    return Change(
        id=f"search_console:{state.site_url}:site:permission_level",
        step_id=step_id,
        platform="search_console",
        account=state.site_url,
        entity_type="site",
        entity_id=state.site_url,
        name=f"{state.site_url} in the agency's Search Console",
        field="permission_level",
        before=state.permission,
        after=None,
        shown_before=SHOWN_LEVELS.get(str(state.permission), str(state.permission)),
        shown_after="removed from the agency's Search Console",
        phase=Phase.ACCESS,
        resource=f"webmasters/v3/sites/{quote(state.site_url, safe='')}",
    )
