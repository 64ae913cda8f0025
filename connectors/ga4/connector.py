"""Google Analytics 4, through the official `google-analytics-admin` SDK (Admin API v1alpha, REST).

Reads the account (its display name is the tenant check when the manifest names it) and the
access bindings of the account and of each listed property. `remove_access` deletes the bindings
held by the agency's own identities, one `batchDeleteAccessBindings` per parent (at most 1000; a
lone binding goes through `deleteAccessBinding`), properties before the account (an account role
covers its properties, so the account's bindings go last). A batch is all or nothing: when it
fails, its bindings are retried one by one (admins last: deleting one's own admin binding ends
the right to delete the rest) so that each gets its own outcome; a binding already gone counts
as done. Client users are never touched.

Once the agency's last binding is gone the account answers 403: `read_state` then returns a state
with `reachable=False`, and `verify` passes, saying why.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
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
    send_in_batches,
)
from adoffboard.connectors.declare import GoogleApiSettings, section
from adoffboard.connectors.ga4.declaration import DECLARATION, GA4Access
from adoffboard.connectors.transport.google import (
    AccessDenied,
    AtOnce,
    Gone,
    google_calls,
    google_credentials,
    guard_session,
    identities,
    raised,
)
from adoffboard.errors import InputError, PlatformError, TenantMismatch, TransientError
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase

SCOPES = [
    "https://www.googleapis.com/auth/analytics.manage.users",
    "https://www.googleapis.com/auth/analytics.edit",
]
PAGE_SIZE = 500
MAX_BATCH = 1000
ADMIN = "predefinedRoles/admin"


@dataclass(frozen=True)
class Binding:
    name: str  # accounts/N/accessBindings/ID or properties/N/accessBindings/ID
    user: str
    roles: tuple[str, ...]

    @property
    def parent(self) -> str:
        return self.name.split("/accessBindings/")[0]

    @property
    def value(self) -> dict[str, Any]:
        """What a later exact restore needs (with the parent, in the name)."""
        return {"user": self.user, "roles": sorted(self.roles)}


@dataclass(frozen=True)
class Holder:
    """An account or property and the bindings read from it."""

    name: str
    display_name: str
    readable: bool
    bindings: tuple[Binding, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class GA4State:
    account_id: str
    name: str
    holders: tuple[Holder, ...]
    identities: tuple[str, ...]
    read_at: dt.datetime
    reachable: bool = True  # False once the agency's own access is gone (account answers 403)
    detail: str = ""

    def agency_bindings(self) -> list[Binding]:
        mine = set(self.identities)
        return [b for h in self.holders for b in h.bindings if b.user.lower() in mine]


def _role(role: str) -> str:
    return role.rsplit("/", 1)[-1]


class GA4Connector(Connector[GA4State]):
    declaration = DECLARATION
    reads_before_writing = True  # each change's live value, right before it is sent

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = GoogleApiSettings.model_validate(dict(ctx.settings))
        self._local = threading.local()  # this thread's client (`_admin`)
        self._lock = threading.Lock()
        self._creds: Any = None
        self._clients: list[Any] = []  # every thread's, closed by `close`
        self._at_once = AtOnce("ga4")
        self._call = google_calls(ctx, self.calls, "Google Analytics")

    # --- transport ------------------------------------------------------------------------------

    def _admin(self) -> Any:
        """This thread's client: the SDK's REST transport is a requests session, which is not
        thread-safe, and reads run at once (`AtOnce`)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._new_client()
        return client

    def _new_client(self) -> Any:
        from google.analytics.admin_v1alpha import AnalyticsAdminServiceClient

        with self._lock:
            if self._creds is None:
                self._creds = google_credentials(
                    self.settings.model_dump(), self.ctx.workspace_root, SCOPES, self.platform
                )
            options = {"api_endpoint": self.settings.endpoint} if self.settings.endpoint else None
            client = AnalyticsAdminServiceClient(
                credentials=self._creds, transport="rest", client_options=options
            )
            if self.ctx.read_only:
                # the REST transport's requests session: every non-GET is refused before sending
                guard_session(getattr(client.transport, "_session", None))
            self._clients.append(client)
        return client

    def _list(self, parent: str) -> list[Binding]:
        client, timeout = self._admin(), self.ctx.retry.timeout
        found: list[Binding] = []
        token = ""
        while True:
            request = {"parent": parent, "page_size": PAGE_SIZE, "page_token": token}
            page = self._call(
                "read",
                functools.partial(
                    client.list_access_bindings, request=request, retry=None, timeout=timeout
                ),
            )
            found += [Binding(b.name, b.user, tuple(b.roles)) for b in page.access_bindings]
            token = page.next_page_token
            if not token:
                return found

    # --- reads ----------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> GA4State:
        """The account first (unreachable, or not the manifest's: nothing else is read); then
        each property (checked to be the account's, then its bindings) and the account's own
        bindings, all at once. A tenant mismatch outranks any other error."""
        acct = section(manifest, "ga4", GA4Access)
        if acct is None:
            raise InputError(f"client {manifest.slug} has no ga4 account in its manifest")
        client, timeout = self._admin(), self.ctx.retry.timeout
        who = tuple(sorted(identities(self.ctx, manifest.remove_identities)))
        account = f"accounts/{acct.account_id}"
        try:
            live = self._call(
                "read", lambda: client.get_account(name=account, retry=None, timeout=timeout)
            )
        except AccessDenied as exc:
            return GA4State(
                acct.account_id,
                acct.expected_name,
                (),
                who,
                self.ctx.clock.now(),
                reachable=False,
                detail=str(exc),
            )
        if acct.expected_name and live.display_name.strip() != acct.expected_name.strip():
            raise TenantMismatch(
                f"GA4 account {acct.account_id} is named {live.display_name!r}, but the "
                f"manifest expects {acct.expected_name!r}: refusing to touch it"
            )
        jobs: list[Callable[[], Any]] = [
            *(functools.partial(self._read_property, p, account) for p in acct.property_ids),
            functools.partial(self._list, account),
        ]
        found = self._at_once.run(jobs)
        mismatch = next((r for r in found if isinstance(r, TenantMismatch)), None)
        if mismatch is not None:
            raise mismatch
        holders = [raised(h) for h in found[:-1]]
        try:
            holders.append(Holder(account, live.display_name, True, tuple(raised(found[-1]))))
        except AccessDenied as exc:  # a property-level user sees the account, not its users
            holders.append(Holder(account, live.display_name, False, detail=str(exc)))
        return GA4State(
            acct.account_id, live.display_name, tuple(holders), who, self.ctx.clock.now()
        )

    def _read_property(self, pid: str, account: str) -> Holder:
        client, timeout = self._admin(), self.ctx.retry.timeout
        name = f"properties/{pid}"
        try:
            prop = self._call(
                "read", lambda: client.get_property(name=name, retry=None, timeout=timeout)
            )
        except (AccessDenied, Gone) as exc:
            return Holder(name, name, False, detail=str(exc))
        if prop.parent != account:
            raise TenantMismatch(
                f"GA4 property {pid} belongs to {prop.parent}, not to the "
                f"manifest's {account}: refusing to touch it"
            )
        try:
            bindings = tuple(self._list(name))
        except (AccessDenied, Gone) as exc:
            return Holder(name, prop.display_name, False, detail=str(exc))
        return Holder(name, prop.display_name, True, bindings)

    # --- planning (pure) ------------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: GA4State,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action != "remove_access":
            raise InputError(f"ga4 has no action {action!r}")
        if not state.reachable:
            return StepDraft(
                notes=(
                    f"GA4 account {state.account_id} cannot be read by the "
                    "agency: its access is already gone",
                )
            )
        changes = tuple(removal(state, b, step_id) for b in state.agency_bindings())
        kept = [b for h in state.holders for b in h.bindings if b not in state.agency_bindings()]
        notes = [f"{len(kept)} client binding(s) left untouched"] if kept else []
        if not state.identities:
            notes.append("no agency identities configured ([agency] identities): nothing to remove")
        manual = tuple(
            f"GA4 {h.name} could not be read by the agency ({h.detail}): check in GA4 Admin "
            "that no agency user remains on it"
            for h in state.holders
            if not h.readable
        )
        return StepDraft(changes, manual, tuple(notes))

    # --- writes ---------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        parents = sorted(
            {c.resource.split("/accessBindings/")[0] for c in changes},
            key=lambda p: (p.startswith("accounts/"), p),
        )
        mine = {p: [c for c in changes if c.resource.startswith(p + "/")] for p in parents}
        # every parent's bindings read at once (deleting one parent's bindings changes no
        # other's), then the deletes in order
        triaged = self._at_once.run([functools.partial(self._triage, p, mine[p]) for p in parents])
        for parent, found in zip(parents, triaged, strict=True):  # properties first, account last
            to_send, settled = raised(found)
            journal.record(settled)
            outcomes += settled
            outcomes += send_in_batches(
                journal, to_send, MAX_BATCH, functools.partial(self._delete, parent)
            )
        return outcomes

    def _triage(self, parent: str, changes: Sequence[Change]) -> tuple[list[Change], list[Outcome]]:
        try:
            live = {b.name: b.value for b in self._list(parent)}
        except (AccessDenied, Gone) as exc:
            return [], [
                Outcome(
                    c.id,
                    OutcomeStatus.ALREADY,
                    message=f"{parent} can no longer "
                    f"be read by the agency: its access is gone ({exc})",
                )
                for c in changes
            ]
        to_send, settled = [], []
        for ch in changes:
            value = live.get(ch.resource)
            if value is None:
                settled.append(Outcome(ch.id, OutcomeStatus.ALREADY))
            elif value != ch.before:
                settled.append(
                    Outcome(
                        ch.id,
                        OutcomeStatus.DRIFT,
                        live=value,
                        message=f"binding now {value!r}, planned {ch.before!r}",
                    )
                )
            else:
                to_send.append(ch)
        return to_send, settled

    def _delete(self, parent: str, chunk: Sequence[Change]) -> list[Outcome]:
        client, timeout = self._admin(), self.ctx.retry.timeout
        if len(chunk) > 1:
            request = {"parent": parent, "requests": [{"name": c.resource} for c in chunk]}
            try:
                self._call(
                    "write",
                    lambda: client.batch_delete_access_bindings(
                        request=request, retry=None, timeout=timeout
                    ),
                )
                return [Outcome(c.id, OutcomeStatus.APPLIED) for c in chunk]
            except (AccessDenied, TransientError) as exc:
                return [Outcome(c.id, OutcomeStatus.FAILED, message=str(exc)) for c in chunk]
            except PlatformError:
                pass  # all or nothing: find the culprit one binding at a time
        outcomes = []
        # one's own admin binding, deleted early, would end the right to delete the others
        for ch in sorted(chunk, key=lambda c: ADMIN in c.before.get("roles", ())):
            try:
                self._call(
                    "write",
                    functools.partial(
                        client.delete_access_binding, name=ch.resource, retry=None, timeout=timeout
                    ),
                )
                outcomes.append(Outcome(ch.id, OutcomeStatus.APPLIED))
            except Gone:
                outcomes.append(Outcome(ch.id, OutcomeStatus.ALREADY, message="already deleted"))
            except (PlatformError, AccessDenied) as exc:
                outcomes.append(Outcome(ch.id, OutcomeStatus.FAILED, message=str(exc)))
        return outcomes

    # --- verification ---------------------------------------------------------------------------

    def verify(
        self, action: str, params: Mapping[str, Any], state: GA4State, ctx: StepContext = NO_CONTEXT
    ) -> Verdict:
        if action != "remove_access":
            raise InputError(f"ga4 has no action {action!r}")
        return verify_removal(state)

    def close(self) -> None:
        self._at_once.close()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.transport.close()
        self._local = threading.local()


def removal(state: GA4State, binding: Binding, step_id: str) -> Change:
    holder = next(h for h in state.holders if h.name == binding.parent)
    roles = ", ".join(_role(r) for r in sorted(binding.roles))
    return Change(
        id=f"ga4:{state.account_id}:{binding.name}:access",
        step_id=step_id,
        platform="ga4",
        account=state.account_id,
        entity_type="access_binding",
        entity_id=binding.name,
        name=f"{binding.user} on {holder.display_name} ({holder.name})",
        field="access",
        before=binding.value,
        after=None,
        shown_before=f"{binding.user}: {roles}",
        shown_after="no access (binding deleted)",
        phase=Phase.ACCESS,
        resource=binding.name,
    )


def verify_removal(state: GA4State) -> Verdict:
    if not state.reachable:
        return Verdict(
            CheckStatus.PASS,
            f"the agency can no longer read GA4 account {state.account_id}: its access is gone",
        )
    left = state.agency_bindings()
    if left:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(left)} agency access binding(s) remain",
            tuple(f"{b.user} on {b.parent}" for b in left[:20]),
        )
    unreadable = [h for h in state.holders if not h.readable]
    if unreadable:
        return Verdict(
            CheckStatus.MANUAL_PENDING,
            f"{len(unreadable)} of the account's access lists unreadable by the "
            "agency: check them in GA4 Admin",
            tuple(f"{h.name}: {h.detail}" for h in unreadable),
        )
    return Verdict(
        CheckStatus.PASS,
        f"no agency access binding on account {state.account_id} "
        f"or its {len(state.holders) - 1} propert(ies)",
    )
