"""Google Ads, through the official `google-ads` SDK (gRPC, API v26), on raw protobuf
(`use_proto_plus=False`: rows and requests are not wrapped in proto-plus).

Reads: one pass is two SearchStream queries sent together (`reading`): the campaigns with their
budgets and their account's facts, and the manager's client link; currency constants once per
process. apply settles its changes against the pass `read_state` made right before it (the
engine reads each platform right before it applies), so a phase reads once. Writes: campaign
and budget operations of one account in one `GoogleAdsService.Mutate` (10,000 operations at most
per request) with partial failure, so every operation gets its own outcome; the manager-side
link in its own service. Update masks are written by hand: the SDK's field_mask() drops default
values, which would turn `hidden=False` into a no-op on restore.

Scripts and automated rules have no API: they are manual tasks, and `scripts_quiet` reads
`change_event` for script or rule activity since the run.

Planning is pure and lives in `planning` (and `addendum` for `set_budgets`); the writes in
`writing`; the wire (read-only guard, request ids, error translation) in `client`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

from adoffboard.config import Manifest
from adoffboard.connectors.base import (
    NO_CONTEXT,
    Connector,
    ConnectorContext,
    StepContext,
    StepDraft,
    Verdict,
)
from adoffboard.connectors.declare import section
from adoffboard.connectors.google_ads import reading
from adoffboard.connectors.google_ads.client import (
    API_VERSION,
    ReadOnlyGuard,
    RequestIds,
    translate,
)
from adoffboard.connectors.google_ads.declaration import (
    DECLARATION,
    GoogleAdsAccount,
    show_google_ads_id,
)
from adoffboard.connectors.google_ads.planning import (
    AccountState,
    Budget,
    Campaign,
    ClientLink,
    plan_budgets,
    plan_hide,
    plan_pause,
    plan_unlink,
    verify_budgets,
    verify_pause,
)
from adoffboard.connectors.google_ads.writing import Writes
from adoffboard.connectors.transport import Calls
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import (
    AuthError,
    InputError,
    PlatformError,
    TenantMismatch,
)
from adoffboard.models import CheckStatus

SCRIPT_CLIENTS = ("GOOGLE_ADS_SCRIPTS", "GOOGLE_ADS_AUTOMATED_RULE")
# Currency code -> billable unit in micros: constants of the API, read once per process.
_UNITS: dict[str, int] = {}
_UNITS_LOCK = threading.Lock()

# The SDK logs every failed request (with its full request) at WARNING; adoffboard reports
# failures itself, so keep the SDK's log out of the terminal unless someone configures logging.
logging.getLogger("google.ads.googleads").addHandler(logging.NullHandler())
logging.getLogger("google.ads.googleads").propagate = False


# --- the connector ----------------------------------------------------------------------------


class GoogleAdsConnector(Writes, Connector[AccountState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._client: Any = None
        self._services: dict[str, Any] = {}
        self._account: GoogleAdsAccount | None = None  # the manifest's, once read
        self._ids = RequestIds()
        self._lock = threading.Lock()
        self._fresh: AccountState | None = None  # read_state's, until an apply takes it
        self._script_verdicts: dict[tuple[str, str, str], Verdict] = {}
        self._zone = ""  # the account's time zone, from this connector's last read
        # (since,) of the verification pass the next read is for (`expect_checks`), else None
        self._checks_since: tuple[dt.datetime | None] | None = None
        self._call = Calls(ctx, self.calls, "Google Ads", translate=translate)

    # --- transport ----------------------------------------------------------------------------

    def _sdk_client(self) -> Any:
        if self._client is None:
            import google.oauth2.credentials
            from google.ads.googleads.client import GoogleAdsClient

            s = self.ctx.settings
            base = self.ctx.workspace_root
            check_sandbox_only(dict(s), s.get("endpoint"))
            if not s.get("developer_token"):
                raise AuthError("platforms.google_ads.developer_token is not configured")
            token = resolve(s["developer_token"], base=base).value
            if s.get("access_token"):
                creds = google.oauth2.credentials.Credentials(
                    token=resolve(s["access_token"], base=base).value
                )
            elif s.get("refresh_token"):
                creds = google.oauth2.credentials.Credentials(
                    token=None,
                    refresh_token=resolve(s["refresh_token"], base=base).value,
                    client_id=resolve(s["client_id"], base=base).value,
                    client_secret=resolve(s["client_secret"], base=base).value,
                    token_uri=s.get("token_uri") or "https://oauth2.googleapis.com/token",
                )
            else:
                raise AuthError(
                    "platforms.google_ads needs access_token, or refresh_token with "
                    "client_id and client_secret"
                )
            assert self._account is not None
            self._client = GoogleAdsClient(
                credentials=creds,
                developer_token=token,
                login_customer_id=self._account.manager_id,
                endpoint=s.get("endpoint") or None,
                use_proto_plus=False,  # raw protobuf: see `reading`
                version=API_VERSION,
            )
        return self._client

    def _service(self, name: str) -> Any:
        if name not in self._services:
            interceptors: list[Any] = [ReadOnlyGuard()] if self.ctx.read_only else []
            interceptors.append(self._ids)
            self._services[name] = self._sdk_client().get_service(name, interceptors=interceptors)
        return self._services[name]

    def _query(self, customer_id: str, query: str) -> list[Any]:
        """Every row of `query` (raw protobuf), through one SearchStream."""
        svc = self._service("GoogleAdsService")
        timeout = self.ctx.retry.timeout

        def run() -> list[Any]:
            rows: list[Any] = []
            for batch in svc.search_stream(customer_id=customer_id, query=query, timeout=timeout):
                rows.extend(batch.results)
            return rows

        return self._call("read", run)

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> AccountState:
        """The account's campaigns, budgets and facts, and the manager's link to it, in one
        round trip (the queries of `reading` sent together); the tenant guard runs on it.

        The state read here is also what the next `apply` settles its changes against: the
        engine reads each platform right before it applies (and again before the access
        removals), so one read serves the tenant guard, the admission and the drift check of a
        phase (`_fresh_state`)."""
        acct = section(manifest, "google_ads", GoogleAdsAccount)
        if acct is None:
            raise InputError(f"client {manifest.slug} has no google_ads account in its manifest")
        self._account = acct
        with self._lock:
            self._fresh = None
        cid, read_at, zone = acct.customer_id, self.ctx.clock.now(), self._zone
        checking, self._checks_since = self._checks_since, None
        jobs: dict[str, Callable[[], Any]] = {
            "campaigns": lambda: self._query(cid, reading.CAMPAIGNS),
            "link": lambda: reading.client_link(
                self._query(acct.manager_id, reading.link_query(cid))
            ),
        }
        if not _UNITS:
            jobs["units"] = self._read_units
        # A read for a verification pass of a runbook that checks the scripts: that check's
        # change-history query (`_verify_scripts`, since the pass's moment), sent beside the
        # others when the account's time zone is known from an earlier read.
        early = None
        if checking is not None and zone and self._checks_scripts():
            early = scripts_query(read_at, zone, checking[0])
        if early is not None:
            jobs["scripts"] = lambda: self._query(cid, early[0])
        found = self._together(jobs)
        scripts = found.pop("scripts", None)  # its error is the check's: it asks again
        link = found["link"]
        if isinstance(found["campaigns"], AuthError) and not isinstance(link, Exception):
            if link is not None and link.status == "ACTIVE":
                raise found["campaigns"]
            # The agency's link was ended (by a run leaving the platform): only the manager's
            # side can still be read.
            return self._unreachable(acct, link)
        for value in found.values():
            if isinstance(value, Exception):
                raise value
        rows = found["campaigns"] or self._query(cid, reading.CUSTOMER)
        if not rows:
            raise PlatformError(f"Google Ads customer {show_google_ads_id(cid)} returned no data")
        state = self._state(acct, rows, link, read_at)
        self._zone = state.time_zone
        if early is not None and state.time_zone == zone and isinstance(scripts, list):
            key = (state.customer_id, read_at.isoformat(), early[0])
            self._script_verdicts = {key: _scripts_verdict(scripts, early[1])}
        with self._lock:
            self._fresh = state
        return state

    def _checks_scripts(self) -> bool:
        return any(name == "scripts_quiet" for name, _ in self.ctx.uses)

    def expect_checks(self, since: dt.datetime | None) -> None:
        self._checks_since = (since,)

    def read_after_removal(self, manifest: Manifest, before: AccountState) -> AccountState:
        """After the manager link was ended: the manager's side of the link alone (one query),
        since the client's own data is no longer readable through the manager. Only if the
        link is still active (the removal did not take) is everything read again."""
        acct = section(manifest, "google_ads", GoogleAdsAccount)
        if acct is None or acct.customer_id != before.customer_id:
            return self.read_state(manifest)
        self._account = acct
        with self._lock:
            self._fresh = None
        link = self._read_link(acct.manager_id, acct.customer_id)
        if link is not None and link.status == "ACTIVE":
            return self.read_state(manifest)
        self._checks_since = None  # nothing left to check the scripts of
        return self._unreachable(acct, link)  # what read_state answers once the link is gone

    def take_over(self, reader: Connector[AccountState], manifest: Manifest, state: Any) -> bool:
        """The plan's read of a reachable account, as this connector's `_fresh_state`."""
        acct = section(manifest, "google_ads", GoogleAdsAccount)
        if not isinstance(reader, GoogleAdsConnector) or acct is None:
            return False
        if not state.reachable or state.customer_id != acct.customer_id:
            return False  # the manager link ended: read what is left of it again
        self._account, self._zone = acct, state.time_zone
        with self._lock:
            self._fresh = state
        return True

    def _together(self, jobs: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run independent reads at once; each job's value, or the exception it raised."""
        self._service("GoogleAdsService")  # built once, before the threads share it

        def run(job: Callable[[], Any]) -> Any:
            try:
                return job()
            except Exception as exc:  # raised by the caller, in the order it chooses
                return exc

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}

    def _read_units(self) -> dict[str, int]:
        """Every currency's billable unit, read once per process (they are constants)."""
        assert self._account is not None
        units = reading.billable_units(self._query(self._account.customer_id, reading.CURRENCIES))
        with _UNITS_LOCK:
            _UNITS.update(units)
        return units

    def _state(
        self, acct: GoogleAdsAccount, rows: list[Any], link: Any, read_at: dt.datetime
    ) -> AccountState:
        """The state from the campaign rows (or the customer row of an account without
        campaigns); refuses an account whose live name is not the manifest's."""
        customer = rows[0].customer
        live_name = customer.descriptive_name
        if live_name.strip() != acct.expected_name.strip():
            raise TenantMismatch(
                f"Google Ads account {show_google_ads_id(acct.customer_id)} is named "
                f"{live_name!r}, but the manifest expects {acct.expected_name!r}: "
                "refusing to touch it"
            )
        campaigns, budgets = reading.campaigns_and_budgets(r for r in rows if r.campaign.id)
        return AccountState(
            customer_id=acct.customer_id,
            manager_id=acct.manager_id,
            name=live_name,
            currency=customer.currency_code,
            billable_unit_micros=self._unit(customer.currency_code),
            campaigns=campaigns,
            budgets=budgets,
            link=link,
            read_at=read_at,
            time_zone=customer.time_zone or "UTC",
        )

    def _unit(self, currency: str) -> int:
        """The currency's billable unit; a currency missing from the constants read is asked
        for on its own."""
        if currency not in _UNITS:
            assert self._account is not None
            rows = self._query(
                self._account.customer_id,
                f"{reading.CURRENCIES} WHERE currency_constant.code = '{currency}'",
            )
            with _UNITS_LOCK:
                _UNITS[currency] = next(
                    iter(reading.billable_units(rows).values()), reading.DEFAULT_UNIT_MICROS
                )
        return _UNITS[currency]

    def _unreachable(self, acct: GoogleAdsAccount, link: ClientLink | None) -> AccountState:
        return AccountState(
            acct.customer_id,
            acct.manager_id,
            acct.expected_name,
            "",
            reading.DEFAULT_UNIT_MICROS,
            (),
            {},
            link,
            self.ctx.clock.now(),
            reachable=False,
        )

    def _read_campaigns(self, cid: str) -> tuple[tuple[Campaign, ...], dict[str, Budget]]:
        return reading.campaigns_and_budgets(self._query(cid, reading.CAMPAIGNS))

    def _read_link(self, manager_id: str, cid: str) -> ClientLink | None:
        return reading.client_link(self._query(manager_id, reading.link_query(cid)))

    def _fresh_state(self) -> AccountState | None:
        """The state `read_state` just read, taken once: an apply settles its changes against
        it, and a later apply (after writes) reads again unless the engine read in between."""
        with self._lock:
            state, self._fresh = self._fresh, None
        return state

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: AccountState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action == "set_budgets":
            from adoffboard.connectors.google_ads.addendum import plan_set_budgets

            return plan_set_budgets(state, params, step_id, ctx)
        planner = {
            "pause_campaigns": plan_pause,
            "budgets_to_floor": plan_budgets,
            "hide_account": plan_hide,
            "unlink_account": plan_unlink,
        }.get(action)
        if planner is None:
            return StepDraft()
        return planner(state, step_id)

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: AccountState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action == "pause_campaigns":
            return verify_pause(state)
        if action == "budgets_to_floor":
            return verify_budgets(state)
        if action == "hide_account":
            ok = state.link is not None and state.link.hidden
            return Verdict(
                CheckStatus.PASS if ok else CheckStatus.FAIL,
                "account hidden in the manager" if ok else "account still visible",
            )
        if action == "unlink_account":
            ok = state.link is None or state.link.status != "ACTIVE"
            return Verdict(
                CheckStatus.PASS if ok else CheckStatus.FAIL,
                "manager link ended" if ok else "manager link still ACTIVE",
            )
        if action == "scripts_quiet":
            return self._verify_scripts(state, ctx)
        if action == "set_budgets":
            from adoffboard.connectors.google_ads.addendum import verify_set_budgets

            return verify_set_budgets(state, params, ctx)
        raise InputError(f"google_ads has no action {action!r}")

    def _verify_scripts(self, state: AccountState, ctx: StepContext) -> Verdict:
        """No script or rule change in the account's change history since the run. Steps that
        check this in the same pass (one `state`) share one query: the answer is the same."""
        query, since = scripts_query(state.read_at, state.time_zone, ctx.since)
        key = (state.customer_id, state.read_at.isoformat(), query)
        if key not in self._script_verdicts:
            rows = self._query(state.customer_id, query)
            self._script_verdicts = {key: _scripts_verdict(rows, since)}  # this pass's only
        return self._script_verdicts[key]

    def close(self) -> None:
        for svc in self._services.values():
            transport = getattr(svc, "transport", None)
            if transport is not None:
                transport.close()
        self._services.clear()


def scripts_query(
    read_at: dt.datetime, time_zone: str, since: dt.datetime | None
) -> tuple[str, dt.datetime]:
    """The change-history query of the scripts check on a read taken at `read_at` (the last 29
    days, or since `since` if later; the account's local time), and where its window starts."""
    floor = read_at - dt.timedelta(days=29)
    start = max(since, floor) if since else floor
    until = read_at + dt.timedelta(days=1)  # the API wants a finite range
    zone = ZoneInfo(time_zone)
    start, until = start.astimezone(zone), until.astimezone(zone)
    clients = ", ".join(SCRIPT_CLIENTS)
    query = (
        "SELECT change_event.change_date_time, change_event.client_type, "
        "change_event.change_resource_type, change_event.change_resource_name "
        f"FROM change_event WHERE change_event.change_date_time >= "
        f"'{start:%Y-%m-%d %H:%M:%S}' AND change_event.change_date_time <= "
        f"'{until:%Y-%m-%d %H:%M:%S}' AND change_event.client_type IN ({clients}) "
        "ORDER BY change_event.change_date_time DESC LIMIT 1000"
    )
    return query, start


def _scripts_verdict(rows: Sequence[Any], since: dt.datetime) -> Verdict:
    """FAIL with the latest script or rule changes as evidence, PASS when there is none."""
    if not rows:
        return Verdict(CheckStatus.PASS, f"no script or rule activity since {since:%Y-%m-%d %H:%M}")
    evidence = tuple(
        f"{r.change_event.change_date_time} "
        f"{reading.enum_name(r.change_event, 'client_type')} "
        f"{r.change_event.change_resource_name}"
        for r in rows[:10]
    )
    return Verdict(
        CheckStatus.FAIL,
        f"{len(rows)} script/rule change(s) since {since:%Y-%m-%d %H:%M}",
        evidence,
    )
