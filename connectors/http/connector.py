"""A generic HTTP step, for vendors without a usable public API (NinjaCat, Fluency).

Those checklist lines are manual tasks by default. When a vendor exposes an endpoint, the agency
describes it in `[platforms.http.endpoints.<name>]` (method, URL, headers by credential
reference, how to read the result back) and sets `enabled = true`; runbook steps that offer
`action_if_configured: {connector: http, name: call, params: {endpoint: <name>}}` then run it
instead of leaving the line to people.

- read: `GET verify_url` gives the live value (the JSON value at `verify_json_path`, or whether
  the resource is gone, for removals); `name_json_path` + the manifest's `expected_name` make the
  tenant guard.
- plan: one change from the live value to `verify_equals` (or "gone"); it shows the method and
  the URL, never a header.
- apply: re-read, then send the call exactly once (a vendor call need not be idempotent, so a
  failed or unanswered call is reported, not repeated, and redirects are not followed; `resume`
  re-reads before trying again).
- verify: read `verify_url` again.

`{account_id}` in URLs and string body values is the manifest's `<manifest_key>.account_id`.
Header values are references (`env:TOKEN`, or `Bearer env:TOKEN`), resolved only when sending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

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
    settle,
)
from adoffboard.connectors.http.declaration import DECLARATION, HttpEndpoint, HttpSettings
from adoffboard.connectors.transport import Calls
from adoffboard.connectors.transport.rest import (
    GuardedSession,
    check_sandbox_refs,
    error_for,
    send,
)
from adoffboard.credentials import resolve
from adoffboard.errors import InputError, PlatformError, TenantMismatch
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase

GONE, PRESENT = "gone", "present"


@dataclass(frozen=True)
class EndpointState:
    name: str
    title: str
    method: str
    url: str  # placeholders filled; no credentials (they travel in headers)
    verify_url: str
    account_id: str
    field: str
    live: Any
    target: Any


@dataclass(frozen=True)
class HttpState:
    endpoints: Mapping[str, EndpointState]
    unavailable: Mapping[str, str]  # endpoint -> why it is not automated for this client


def _fill(template: str, account_id: str) -> str:
    return template.replace("{account_id}", quote(account_id, safe=""))


def _fill_body(value: Any, account_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{account_id}", account_id)
    if isinstance(value, dict):
        return {k: _fill_body(v, account_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_body(v, account_id) for v in value]
    return value


def json_path(data: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def _path(url: str) -> str:
    return urlsplit(url).path


class HttpConnector(Connector[HttpState]):
    declaration = DECLARATION
    reads_before_writing = True  # each change's live value, right before it is sent

    @classmethod
    def enabled(cls, settings: Mapping[str, Any], action: str, params: Mapping[str, Any]) -> bool:
        endpoint = (settings.get("endpoints") or {}).get(params.get("endpoint", ""))
        return action == "call" and bool(endpoint and endpoint.get("enabled"))

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = HttpSettings.model_validate(dict(ctx.settings))
        self._session: GuardedSession | None = None
        self._call = Calls(ctx, self.calls, "HTTP endpoint")

    # --- transport ----------------------------------------------------------------------------

    def _http(self) -> GuardedSession:
        if self._session is None:
            self._session = GuardedSession(
                "HTTP endpoint", read_only=self.ctx.read_only, timeout=self.ctx.retry.timeout
            )
        return self._session

    def _headers(self, ep: HttpEndpoint, url: str) -> tuple[dict[str, str], tuple[str, ...]]:
        """The endpoint's headers with their references resolved, just before sending."""
        check_sandbox_refs(dict(ep.headers), url)
        headers, secrets = {"Accept": "application/json"}, []
        for name, value in ep.headers.items():
            prefix, _, ref = value.rpartition(" ")
            secret = resolve(ref, base=self.ctx.workspace_root).value
            secrets.append(secret)
            headers[name] = f"{prefix} {secret}" if prefix else secret
        return headers, tuple(secrets)

    def _read(self, ep: HttpEndpoint, url: str) -> requests.Response:
        def attempt() -> requests.Response:
            headers, secrets = self._headers(ep, url)
            response = send(self._http(), "HTTP endpoint", "GET", url, secrets, headers=headers)
            if response.status_code >= 400 and not (
                ep.verify_gone and response.status_code in (404, 410)
            ):
                raise error_for(f"GET {_path(url)}", response, secrets)
            return response

        return self._call("read", attempt)

    def _live(self, ep: HttpEndpoint, url: str, expected_name: str) -> Any:
        response = self._read(ep, url)
        if ep.verify_gone:
            return GONE if response.status_code in (404, 410) else PRESENT
        try:
            data = response.json()
        except ValueError:
            raise PlatformError(f"GET {_path(url)}: answer is not JSON") from None
        if ep.name_json_path and expected_name:
            name = json_path(data, ep.name_json_path)
            if str(name).strip() != expected_name.strip():
                raise TenantMismatch(
                    f"{url} names the account {name!r}, but the manifest "
                    f"expects {expected_name!r}: refusing to touch it"
                )
        return json_path(data, ep.verify_json_path)

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> HttpState:
        endpoints: dict[str, EndpointState] = {}
        unavailable: dict[str, str] = {}
        for name, ep in self.settings.endpoints.items():
            if not ep.enabled:
                unavailable[name] = f"[platforms.http.endpoints.{name}] is not enabled"
                continue
            account = getattr(manifest, ep.manifest_key, None)
            if account is None:
                unavailable[name] = f"the manifest has no {ep.manifest_key} account"
                continue
            verify_url = _fill(ep.verify_url, account.account_id)
            target = GONE if ep.verify_gone else ep.verify_equals
            endpoints[name] = EndpointState(
                name,
                ep.title or name,
                ep.method,
                _fill(ep.url, account.account_id),
                verify_url,
                account.account_id,
                ep.verify_json_path or "presence",
                self._live(ep, verify_url, account.expected_name),
                target,
            )
        return HttpState(endpoints, unavailable)

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: HttpState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action != "call":
            return StepDraft()
        name = str(params.get("endpoint", ""))
        ep = state.endpoints.get(name)
        if ep is None:
            why = state.unavailable.get(name, f"no endpoint {name!r} in [platforms.http]")
            return StepDraft(manual_items=(f"{why}: do this step by hand",))
        if ep.live == ep.target:
            return StepDraft(notes=(f"{ep.title}: {ep.field} is already {ep.target!r}",))
        try:
            phase = Phase(params.get("phase", Phase.VISIBILITY))
        except ValueError:
            raise InputError(
                f"http call {name}: phase must be one of {', '.join(p.value for p in Phase)}"
            ) from None
        return StepDraft(
            (
                Change(
                    id=f"http:{name}:{ep.account_id}:{ep.field}",
                    step_id=step_id,
                    platform="http",
                    account=ep.account_id,
                    entity_type=name,
                    entity_id=ep.account_id,
                    name=ep.title,
                    field=ep.field,
                    before=ep.live,
                    after=ep.target,
                    shown_before=f"{ep.field} = {ep.live!r}",
                    shown_after=f"{ep.field} = {ep.target!r} (by {ep.method} {ep.url})",
                    phase=phase,
                    resource=f"{ep.method} {ep.url}",
                ),
            )
        )

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes = []
        for ch in changes:
            ep = self.settings.endpoints.get(ch.entity_type)
            if ep is None or not ep.enabled:
                raise InputError(
                    f"[platforms.http.endpoints.{ch.entity_type}] is no longer enabled: re-plan"
                )
            live = self._live(ep, _fill(ep.verify_url, ch.account), "")
            settled = settle(ch, live)
            if settled is not None:
                journal.record([settled])
                outcomes.append(settled)
                continue
            journal.intend([ch])
            outcome = self._call_once(ch, ep)
            journal.record([outcome])
            outcomes.append(outcome)
        return outcomes

    def _call_once(self, ch: Change, ep: HttpEndpoint) -> Outcome:
        url = _fill(ep.url, ch.account)
        headers, secrets = self._headers(ep, url)
        body = _fill_body(ep.body, ch.account) if ep.body is not None else None
        self.calls["write"] += 1
        try:
            response = send(
                self._http(),
                "HTTP endpoint",
                ep.method,
                url,
                secrets,
                headers=headers,
                json=body,
                allow_redirects=False,
            )
        except PlatformError as exc:
            return Outcome(
                ch.id, OutcomeStatus.FAILED, message=f"{exc}; not sent again: resume re-reads first"
            )
        request_id = response.headers.get("X-Request-Id", "")
        if response.status_code not in ep.expected_status:
            error = error_for(f"{ep.method} {_path(url)}", response, secrets)
            return Outcome(ch.id, OutcomeStatus.FAILED, message=str(error), request_id=request_id)
        return Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=request_id)

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: HttpState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action != "call":
            raise InputError(f"http has no action {action!r}")
        name = str(params.get("endpoint", ""))
        ep = state.endpoints.get(name)
        if ep is None:
            return Verdict(
                CheckStatus.MANUAL_PENDING,
                state.unavailable.get(name, f"no endpoint {name!r} configured"),
            )
        seen = f"{ep.field} = {ep.live!r} at GET {ep.verify_url}"
        if ep.live == ep.target:
            return Verdict(CheckStatus.PASS, seen)
        return Verdict(CheckStatus.FAIL, f"{seen}, expected {ep.target!r}")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
