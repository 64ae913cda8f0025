"""SharpSpring: the final export of the dealer's contacts, emailed to the Account Manager.

JSON-RPC over `requests`: every call is `POST <endpoint>?accountID=..&secretKey=..` with
`{"method", "params", "id"}`, answered with HTTP 200 even when it failed (`error` in the body).
The secret travels in the URL, so no URL is ever logged, and every error text is scrubbed.
Because every call is a POST, the read-only transport decides by JSON-RPC method name: only the
`get*` methods this connector knows leave the process in a dry run.

Reads page `getLeads` 500 at a time until a short page. Limits: 10 calls per second (kept
client-side on the injected clock; error 107 is retried after a second) and a daily limit (error
106 stops the export with a clear error: nothing is written, `resume` tries again later).

The export is modelled as one change (`contact_list.final_export`): the plan shows how many
contacts will be exported and to whom they go; apply writes the CSV and its record under
`exports/` and emails the file; verify passes while the CSV still matches its record and the
live count still equals the exported one.

The email carries the client's contacts, so it is sent at most once (`delivery.py`). Its intent
is journaled in the export's record, on disk, before the SMTP exchange starts
(`send_export_once`). An intent without a recorded success (the process was killed mid-exchange,
or the server never answered after the message went out) means the email may have reached the
Account Manager: apply and resume then send nothing and say so, verify reports it
MANUAL-PENDING, and a person settles it with `adoffboard resend CLIENT --as PERSON` (send it
again) or `--received` (it did arrive).

SharpSpring has no method that names the API account itself, so the tenant guard is the account
id: the configured key must belong to the manifest's account (`account_id` setting), and requests
name that account only. Deactivating the account has no API: it stays a manual step, after this
one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import requests

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
from adoffboard.connectors.sharpspring.declaration import DECLARATION, SharpSpringSettings
from adoffboard.connectors.sharpspring.delivery import (
    EmailInDoubt,
    export_email,
    send_export_once,
    sharpspring_account,
)
from adoffboard.connectors.sharpspring.delivery import (
    resend_export as resend_export,  # `adoffboard resend` imports it from here
)
from adoffboard.connectors.sharpspring.export import (
    EXPORTS_DIR,
    ExportRecord,
    latest_record,
    write_export,
)
from adoffboard.connectors.sharpspring.planning import (
    ContactsState,
    export_status,
    in_doubt_text,
    plan_export,
    verify_export,
)
from adoffboard.connectors.transport import Calls, Throttle
from adoffboard.connectors.transport.rest import (
    GuardedSession,
    check_sandbox_refs,
    error_for,
    scrub,
    send,
)
from adoffboard.credentials import resolve
from adoffboard.errors import (
    AdoffboardError,
    AuthError,
    DryRunViolation,
    InputError,
    PlatformError,
    TenantMismatch,
    TransientError,
)
from adoffboard.models import Change, Outcome, OutcomeStatus

PAGE = 500
READ_METHODS = frozenset({"getLeads", "getLead", "getLeadsDateRange", "getClients", "getFields"})
AUTH_CODES = {103, 104, 105}
PER_SECOND_WAIT = 1.0


def _rpc_method(request: requests.PreparedRequest) -> str:
    body = request.body
    if not isinstance(body, bytes | str):
        return ""
    try:
        return str(json.loads(body or "{}").get("method", ""))
    except (ValueError, AttributeError):
        return ""


class SharpSpringConnector(Connector[ContactsState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = SharpSpringSettings.model_validate(dict(ctx.settings))
        self._session: GuardedSession | None = None
        self._auth: dict[str, str] = {}
        self._secrets: tuple[str, ...] = ()
        self._call = Calls(
            ctx,
            self.calls,
            "SharpSpring",
            throttle=Throttle(self.settings.per_second, 1.0, ctx.clock),
        )
        self._seq = 0
        self._state: ContactsState | None = None

    # --- transport ----------------------------------------------------------------------------

    def _connect(self, account_id: str) -> None:
        s, root = self.settings, self.ctx.workspace_root
        secret_ref = s.secret_key.replace("{account_id}", account_id)
        key_account_ref = s.account_id.replace("{account_id}", account_id)
        check_sandbox_refs({"secret_key": secret_ref, "account_id": key_account_ref}, s.endpoint)
        secret = resolve(secret_ref, base=root).value
        if key_account_ref:
            key_account = resolve(key_account_ref, base=root).value
            if key_account != account_id:
                raise TenantMismatch(
                    "the configured SharpSpring key belongs to another account than the "
                    f"manifest's {account_id}: refusing to read or export it"
                )
        self._auth = {"accountID": account_id, "secretKey": secret}
        self._secrets = (secret,)
        self._session = GuardedSession(
            "SharpSpring",
            read_only=self.ctx.read_only,
            timeout=self.ctx.retry.timeout,
            is_read=lambda r: _rpc_method(r) in READ_METHODS,
            describe=lambda r: _rpc_method(r) or "request",
        )

    def _rpc(self, method: str, params: Mapping[str, Any]) -> Any:
        if self._session is None:
            raise InputError("SharpSpring: read_state must run first")
        session = self._session
        self._seq += 1
        payload = {"method": method, "params": dict(params), "id": f"adoffboard-{self._seq}"}

        def attempt() -> Any:
            response = send(
                session,
                "SharpSpring",
                "POST",
                self.settings.endpoint,
                self._secrets,
                params=self._auth,
                json=payload,
            )
            if response.status_code >= 400:
                raise error_for(f"SharpSpring {method}", response, self._secrets)
            try:
                body = response.json()
            except ValueError:
                raise PlatformError(f"SharpSpring {method}: answer is not JSON") from None
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, list):
                error = error[0] if error else None
            if error:
                raise self._rpc_error(method, error)
            return body.get("result")

        return self._call("read" if method in READ_METHODS else "write", attempt)

    def _rpc_error(self, method: str, error: Any) -> Exception:
        code = int(error.get("code", 0)) if isinstance(error, dict) else 0
        message = scrub(
            str(error.get("message", error) if isinstance(error, dict) else error), self._secrets
        )
        text = f"SharpSpring {method}: error {code}: {message}"
        if code in AUTH_CODES:
            return AuthError(f"{text} (check the account id and secret key)")
        if code == 106:
            return PlatformError(
                f"{text}: the account's daily API call limit is used up; "
                "nothing was exported. Try again after the daily reset "
                "(`adoffboard resume RUN`)."
            )
        if code == 107:
            return TransientError(text, retry_after=PER_SECOND_WAIT)
        return PlatformError(text)

    def _leads(self) -> list[dict[str, Any]]:
        """Every lead, page by page until a short page; duplicates (shifting pages) dropped."""
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            result = self._rpc("getLeads", {"where": {}, "limit": PAGE, "offset": offset})
            page = (result.get("lead") or []) if isinstance(result, dict) else []
            for lead in page:
                found.setdefault(str(lead.get("id", len(found))), lead)
            if len(page) < PAGE:
                return list(found.values())
            offset += PAGE

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> ContactsState:
        account = sharpspring_account(manifest)
        self._connect(account)
        record = latest_record(self.ctx.workspace_root, manifest.slug, account)
        am = manifest.account_manager
        live: int | None
        try:
            live, unreachable = len(self._leads()), ""
        except AuthError as exc:
            if record is None or not record.intact:
                raise
            # Deactivated after its final export (the runbook's order): judge the export alone.
            live, unreachable = None, str(exc)
        self._state = ContactsState(
            manifest.slug,
            manifest.name,
            account,
            f"{am.name} <{am.email}>",
            am.email,
            live,
            record,
            unreachable,
        )
        return self._state

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: ContactsState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action != "export_contacts":
            return StepDraft()
        return plan_export(state, step_id)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes = []
        for ch in changes:
            if self.ctx.read_only:
                raise DryRunViolation(
                    "read-only run: the SharpSpring export is neither written nor emailed"
                )
            outcomes.append(self._export(ch, journal))
        return outcomes

    def _export(self, ch: Change, journal: Journal) -> Outcome:
        if self._state is None:
            raise InputError("SharpSpring: read_state must run before apply")
        st = self._state
        record = latest_record(self.ctx.workspace_root, st.client, st.account_id)
        if record is not None and record.in_doubt:
            # Never a second send on a resume or a new apply: a person decides (`resend`).
            waiting = Outcome(
                ch.id,
                OutcomeStatus.FAILED,
                live=export_status(record, None),
                message=in_doubt_text(record, st.client, st.account_manager),
            )
            journal.record([waiting])
            return waiting
        try:
            leads = self._leads()
        except PlatformError as exc:
            failed = Outcome(
                ch.id, OutcomeStatus.FAILED, message=f"{exc} (nothing written, nothing sent)"
            )
            journal.record([failed])
            return failed
        status = export_status(record, len(leads))
        target = f"exported {len(leads)} contacts, emailed to {st.am_email}"
        if status == target:
            done = Outcome(ch.id, OutcomeStatus.ALREADY, live=status)
            journal.record([done])
            return done
        journal.intend([ch])
        now = self.ctx.clock.now()
        if record is None or status == "not exported":
            record, _ = write_export(
                self.ctx.workspace_root,
                st.client,
                st.account_id,
                now.date().isoformat(),
                now.isoformat(timespec="seconds"),
                leads,
            )
        outcome = self._email(ch, record)
        journal.record([outcome])
        return outcome

    def _email(self, ch: Change, record: ExportRecord) -> Outcome:
        st = self._state
        assert st is not None
        where = f"{EXPORTS_DIR}/{record.file}"
        if self.ctx.notifications is None:
            return Outcome(
                ch.id,
                OutcomeStatus.FAILED,
                message=f"exported {record.rows} contacts to {where}, but no "
                "[notifications] SMTP settings to email it",
            )
        email = export_email(self.ctx.workspace_root, record, st.client_name, st.am_email)
        try:
            done = send_export_once(
                self.ctx.workspace_root,
                self.ctx.notifications,
                self.ctx.clock,
                record,
                email,
                read_only=self.ctx.read_only,
            )
        except EmailInDoubt as exc:
            return Outcome(
                ch.id,
                OutcomeStatus.FAILED,
                live=export_status(exc.record, None),
                message=in_doubt_text(exc.record, st.client, st.account_manager),
            )
        except DryRunViolation:
            raise
        except AdoffboardError as exc:
            return Outcome(
                ch.id,
                OutcomeStatus.FAILED,
                message=f"exported {record.rows} contacts to {where}, but the email "
                f"to {st.am_email} failed: {exc} (resume sends it again)",
            )
        return Outcome(
            ch.id,
            OutcomeStatus.APPLIED,
            live=export_status(done, done.rows),
            message=f"{done.rows} contacts -> {where} (sha256 {done.sha256[:12]}), "
            f"emailed to {st.account_manager}",
            request_id=done.message_id,
        )

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: ContactsState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action != "export_contacts":
            raise InputError(f"sharpspring has no action {action!r}")
        return verify_export(state)

    def same_target(self, change: Change, planned: Any, expected: Any) -> bool:
        """The export's after-value only describes it (the live contact count grows between plan
        and apply): any export of this account is the step's target."""
        return True

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
