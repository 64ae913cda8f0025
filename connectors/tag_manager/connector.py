"""Google Tag Manager, through `google-api-python-client` (`tagmanager` v2).

Reads the account (its name is the tenant check when the manifest names it) and its user
permissions. `remove_access` deletes the permissions of the agency's own identities, one request
each (the API has no batch), client users untouched. Tag Manager allows 0.25 requests/s per
project, so every request waits its turn on the injected clock (`min_interval_s`, default 4 s),
and a rate-limit answer (429, or 403 rateLimitExceeded) is retried.

Deleting one's own admin permission ends one's right to delete the others: permissions without
account admin go first, the credential's own (when known: a service account) last. Once the
agency's last permission is gone the account answers 403: `read_state` then returns a state with
`reachable=False`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
from adoffboard.connectors.declare import section
from adoffboard.connectors.tag_manager.declaration import (
    DECLARATION,
    TagManagerAccount,
    TagManagerSettings,
)
from adoffboard.connectors.transport import shared_throttle
from adoffboard.connectors.transport.google import (
    AccessDenied,
    Gone,
    google_calls,
    google_credentials,
    identities,
)
from adoffboard.connectors.transport.google_discovery import build_service
from adoffboard.errors import AuthError, InputError, PlatformError, TenantMismatch
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase

SCOPES = [
    "https://www.googleapis.com/auth/tagmanager.manage.users",
    "https://www.googleapis.com/auth/tagmanager.readonly",
]


@dataclass(frozen=True)
class Permission:
    path: str  # accounts/N/user_permissions/ID
    email: str
    account_access: str
    containers: tuple[tuple[str, str], ...]  # (container id, permission)

    @property
    def value(self) -> dict[str, Any]:
        """What a later exact restore needs."""
        return {
            "emailAddress": self.email,
            "accountAccess": {"permission": self.account_access},
            "containerAccess": [{"containerId": c, "permission": p} for c, p in self.containers],
        }

    @property
    def shown(self) -> str:
        containers = ", ".join(f"{c}: {p}" for c, p in self.containers)
        return f"{self.email}: account {self.account_access}" + (
            f"; containers {containers}" if containers else ""
        )


@dataclass(frozen=True)
class TagManagerState:
    account_id: str
    name: str
    permissions: tuple[Permission, ...]
    identities: tuple[str, ...]
    read_at: dt.datetime
    reachable: bool = True  # False once the agency's own access is gone (account answers 403)
    listed: bool = True  # False when the agency can read the account but not its users
    detail: str = ""

    def agency_permissions(self) -> list[Permission]:
        return [p for p in self.permissions if p.email.lower() in self.identities]


def _permission(raw: Mapping[str, Any]) -> Permission:
    return Permission(
        path=str(raw["path"]),
        email=str(raw.get("emailAddress", "")),
        account_access=str((raw.get("accountAccess") or {}).get("permission", "")),
        containers=tuple(
            (str(c.get("containerId", "")), str(c.get("permission", "")))
            for c in raw.get("containerAccess") or ()
        ),
    )


class TagManagerConnector(Connector[TagManagerState]):
    declaration = DECLARATION
    reads_before_writing = True  # each change's live value, right before it is sent

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = TagManagerSettings.model_validate(dict(ctx.settings))
        throttle = shared_throttle(
            ctx.clock, f"tagmanager:{self.settings.endpoint}", self.settings.min_interval_s
        )
        self._call = google_calls(ctx, self.calls, "Tag Manager", throttle)
        self._service: Any = None
        self._own_email = ""

    def _gtm(self) -> Any:
        if self._service is None:
            creds = google_credentials(
                self.settings.model_dump(), self.ctx.workspace_root, SCOPES, self.platform
            )
            self._own_email = str(getattr(creds, "service_account_email", "") or "").lower()
            self._service = build_service(
                "tagmanager",
                "v2",
                creds=creds,
                root=_root(self.settings.endpoint),
                read_only=self.ctx.read_only,
                timeout=self.ctx.retry.timeout,
            )
        return self._service

    def _list(self, account_id: str) -> list[Permission]:
        perms = self._gtm().accounts().user_permissions()
        found: list[Permission] = []
        token = None
        while True:
            request = perms.list(parent=f"accounts/{account_id}", pageToken=token)
            page = self._call("read", functools.partial(request.execute, num_retries=0))
            found += [_permission(p) for p in page.get("userPermission") or ()]
            token = page.get("nextPageToken")
            if not token:
                return found

    # --- reads ----------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> TagManagerState:
        acct = section(manifest, "tag_manager", TagManagerAccount)
        if acct is None:
            raise InputError(f"client {manifest.slug} has no tag_manager account in its manifest")
        who = tuple(sorted(identities(self.ctx, manifest.remove_identities)))
        request = self._gtm().accounts().get(path=f"accounts/{acct.account_id}")
        try:
            live = self._call("read", lambda: request.execute(num_retries=0))
        except AccessDenied as exc:
            return TagManagerState(
                acct.account_id,
                acct.expected_name,
                (),
                who,
                self.ctx.clock.now(),
                reachable=False,
                detail=str(exc),
            )
        name = str(live.get("name", ""))
        if acct.expected_name and name.strip() != acct.expected_name.strip():
            raise TenantMismatch(
                f"Tag Manager account {acct.account_id} is named {name!r}, but the manifest "
                f"expects {acct.expected_name!r}: refusing to touch it"
            )
        try:
            permissions = tuple(self._list(acct.account_id))
        except AccessDenied as exc:
            return TagManagerState(
                acct.account_id, name, (), who, self.ctx.clock.now(), listed=False, detail=str(exc)
            )
        return TagManagerState(acct.account_id, name, permissions, who, self.ctx.clock.now())

    # --- planning (pure) ------------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: TagManagerState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action != "remove_access":
            raise InputError(f"tag_manager has no action {action!r}")
        if not state.reachable:
            return StepDraft(
                notes=(
                    f"Tag Manager account {state.account_id} cannot be read by "
                    "the agency: its access is already gone",
                )
            )
        if not state.listed:
            return StepDraft(
                manual_items=(
                    f"The agency cannot list the users of Tag Manager account {state.account_id} "
                    f"({state.detail}): remove the agency's users in Admin > User Management",
                )
            )
        mine = state.agency_permissions()
        changes = tuple(removal(state, p, step_id) for p in mine)
        kept = len(state.permissions) - len(mine)
        notes = [f"{kept} client user(s) left untouched"] if kept else []
        if not state.identities:
            notes.append("no agency identities configured ([agency] identities): nothing to remove")
        return StepDraft(changes, (), tuple(notes))

    # --- writes ---------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        self._gtm()  # knows the credential's own identity, for the order below
        for account_id in sorted({c.account for c in changes}):
            mine = sorted((c for c in changes if c.account == account_id), key=self._order)
            try:
                live = {p.path: p.value for p in self._list(account_id)}
            except (AccessDenied, Gone) as exc:
                settled = [
                    Outcome(
                        c.id,
                        OutcomeStatus.ALREADY,
                        message=f"account {account_id} can no longer be read by the "
                        f"agency: its access is gone ({exc})",
                    )
                    for c in mine
                ]
                journal.record(settled)
                outcomes += settled
                continue
            for ch in mine:
                value = live.get(ch.resource)
                if value is None:
                    outcome = Outcome(ch.id, OutcomeStatus.ALREADY)
                elif value != ch.before:
                    outcome = Outcome(
                        ch.id,
                        OutcomeStatus.DRIFT,
                        live=value,
                        message=f"permission now {value!r}, planned {ch.before!r}",
                    )
                else:
                    journal.intend([ch])
                    outcome = self._delete(ch)
                journal.record([outcome])
                outcomes.append(outcome)
        return outcomes

    def _order(self, change: Change) -> tuple[bool, bool, str]:
        """Non-admins first, admins next, the credential's own permission last."""
        before = change.before or {}
        admin = (before.get("accountAccess") or {}).get("permission") == "admin"
        own = bool(self._own_email) and before.get("emailAddress", "").lower() == self._own_email
        return own, admin, change.id

    def _delete(self, ch: Change) -> Outcome:
        request = self._gtm().accounts().user_permissions().delete(path=ch.resource)
        try:
            self._call("write", lambda: request.execute(num_retries=0))
        except Gone:
            return Outcome(ch.id, OutcomeStatus.ALREADY, message="already deleted")
        except (PlatformError, AuthError) as exc:
            return Outcome(ch.id, OutcomeStatus.FAILED, message=str(exc))
        return Outcome(ch.id, OutcomeStatus.APPLIED)

    # --- verification ---------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: TagManagerState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action != "remove_access":
            raise InputError(f"tag_manager has no action {action!r}")
        if not state.reachable:
            return Verdict(
                CheckStatus.PASS,
                f"the agency can no longer read Tag Manager account "
                f"{state.account_id}: its access is gone",
            )
        if not state.listed:
            return Verdict(
                CheckStatus.MANUAL_PENDING,
                f"the agency can read account {state.account_id} but not its users: "
                "check User Management by hand",
            )
        left = state.agency_permissions()
        if left:
            return Verdict(
                CheckStatus.FAIL,
                f"{len(left)} agency user permission(s) remain",
                tuple(p.shown for p in left[:20]),
            )
        return Verdict(
            CheckStatus.PASS,
            f"no agency user on Tag Manager account "
            f"{state.account_id} ({len(state.permissions)} "
            "client user(s) kept)",
        )

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None


def _root(endpoint: str) -> str:
    return endpoint.rstrip("/") + "/" if endpoint else ""


def removal(state: TagManagerState, perm: Permission, step_id: str) -> Change:
    pid = perm.path.rsplit("/", 1)[-1]
    return Change(
        id=f"tag_manager:{state.account_id}:user_permission:{pid}:access",
        step_id=step_id,
        platform="tag_manager",
        account=state.account_id,
        entity_type="user_permission",
        entity_id=perm.path,
        name=f"{perm.email} on {state.name} ({state.account_id})",
        field="access",
        before=perm.value,
        after=None,
        shown_before=perm.shown,
        shown_after="no access (user removed)",
        phase=Phase.ACCESS,
        resource=perm.path,
    )
