"""Google Ads, through the official `google-ads` SDK (gRPC, API v26).

Reads: one SearchStream per query (customer, campaigns joined with their budgets, the currency's
billable unit, the manager's client link). Writes: campaign and budget operations of one account
in one `GoogleAdsService.Mutate` (10,000 operations at most per request) with partial failure, so
every operation gets its own outcome; the manager-side link in its own service. Update masks are
written by hand: the SDK's helper drops default values, which would turn `hidden=False` into a
no-op on restore.

Scripts and automated rules have no API: they are manual tasks, and `scripts_quiet` reads
`change_event` for script or rule activity since the run.

Planning is pure and lives in `planning` (and `addendum` for `set_budgets`); the wire (read-only
guard, request ids, error translation) in `client`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf import field_mask_pb2

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
    triage,
)
from adoffboard.connectors.declare import section
from adoffboard.connectors.google_ads.client import (
    API_VERSION,
    MAX_OPERATIONS,
    ReadOnlyGuard,
    RequestIds,
    partial_errors,
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
from adoffboard.connectors.transport import Calls
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import (
    AuthError,
    InputError,
    PlatformError,
    TenantMismatch,
)
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase

SCRIPT_CLIENTS = ("GOOGLE_ADS_SCRIPTS", "GOOGLE_ADS_AUTOMATED_RULE")

# The SDK logs every failed request (with its full request) at WARNING; adoffboard reports
# failures itself, so keep the SDK's log out of the terminal unless someone configures logging.
logging.getLogger("google.ads.googleads").addHandler(logging.NullHandler())
logging.getLogger("google.ads.googleads").propagate = False


# --- the connector ----------------------------------------------------------------------------


class GoogleAdsConnector(Connector[AccountState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._client: Any = None
        self._services: dict[str, Any] = {}
        self._account: GoogleAdsAccount | None = None  # the manifest's, once read
        self._ids = RequestIds()
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
                use_proto_plus=True,
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
        acct = section(manifest, "google_ads", GoogleAdsAccount)
        if acct is None:
            raise InputError(f"client {manifest.slug} has no google_ads account in its manifest")
        self._account = acct
        cid = acct.customer_id
        try:
            rows = self._query(
                cid,
                "SELECT customer.id, customer.descriptive_name, customer.currency_code, "
                "customer.time_zone FROM customer",
            )
        except AuthError:
            link = self._read_link(acct.manager_id, cid)
            if link is not None and link.status == "ACTIVE":
                raise
            # The agency's link was ended (by a run leaving the platform): only the manager's
            # side can still be read.
            return AccountState(
                cid,
                acct.manager_id,
                acct.expected_name,
                "",
                10_000,
                (),
                {},
                link,
                self.ctx.clock.now(),
                reachable=False,
            )
        if not rows:
            raise PlatformError(f"Google Ads customer {show_google_ads_id(cid)} returned no data")
        customer = rows[0].customer
        live_name = customer.descriptive_name
        if live_name.strip() != acct.expected_name.strip():
            raise TenantMismatch(
                f"Google Ads account {show_google_ads_id(cid)} is named {live_name!r}, "
                f"but the manifest expects {acct.expected_name!r}: refusing to touch it"
            )
        currency = customer.currency_code
        unit_rows = self._query(
            cid,
            "SELECT currency_constant.code, currency_constant.billable_unit_micros "
            f"FROM currency_constant WHERE currency_constant.code = '{currency}'",
        )
        unit = int(unit_rows[0].currency_constant.billable_unit_micros) if unit_rows else 10_000
        campaigns, budgets = self._read_campaigns(cid)
        state = AccountState(
            customer_id=cid,
            manager_id=acct.manager_id,
            name=live_name,
            currency=currency,
            billable_unit_micros=unit,
            campaigns=campaigns,
            budgets=budgets,
            link=self._read_link(acct.manager_id, cid),
            read_at=self.ctx.clock.now(),
            time_zone=customer.time_zone or "UTC",
        )
        return state

    def _read_campaigns(self, cid: str) -> tuple[tuple[Campaign, ...], dict[str, Budget]]:
        rows = self._query(
            cid,
            "SELECT campaign.id, campaign.name, campaign.status, "
            "campaign.advertising_channel_type, campaign.experiment_type, "
            "campaign_budget.id, campaign_budget.name, campaign_budget.period, "
            "campaign_budget.amount_micros, campaign_budget.total_amount_micros, "
            "campaign_budget.explicitly_shared, campaign_budget.reference_count "
            "FROM campaign WHERE campaign.status != 'REMOVED'",
        )
        campaigns, budgets = [], {}
        for row in rows:
            c, b = row.campaign, row.campaign_budget
            bid = str(b.id) if b.id else ""
            campaigns.append(
                Campaign(
                    id=str(c.id),
                    name=c.name,
                    status=c.status.name,
                    channel=c.advertising_channel_type.name,
                    experiment_type=c.experiment_type.name,
                    budget_id=bid,
                )
            )
            if bid and bid not in budgets:
                budgets[bid] = Budget(
                    id=bid,
                    name=b.name,
                    period=b.period.name,
                    amount_micros=int(b.amount_micros),
                    total_amount_micros=int(b.total_amount_micros),
                    explicitly_shared=bool(b.explicitly_shared),
                    reference_count=int(b.reference_count),
                )
        return tuple(campaigns), budgets

    def _read_link(self, manager_id: str, cid: str) -> ClientLink | None:
        rows = self._query(
            manager_id,
            "SELECT customer_client_link.client_customer, customer_client_link.manager_link_id, "
            "customer_client_link.status, customer_client_link.hidden FROM customer_client_link "
            f"WHERE customer_client_link.client_customer = 'customers/{cid}'",
        )
        active = [r.customer_client_link for r in rows]
        if not active:
            return None
        link = sorted(active, key=lambda lk: lk.status.name != "ACTIVE")[0]
        return ClientLink(str(link.manager_link_id), link.status.name, bool(link.hidden))

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

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        by_phase = sorted({c.phase for c in changes}, key=lambda p: list(Phase).index(p))
        for phase in by_phase:
            batch = [c for c in changes if c.phase == phase]
            if phase == Phase.ADS:
                outcomes += self._apply_ads(batch, journal)
            else:
                outcomes += self._apply_links(batch, journal)
        return outcomes

    def _live_values(self, cid: str, changes: Sequence[Change]) -> dict[str, Any]:
        campaigns, budgets = self._read_campaigns(cid)
        live: dict[str, Any] = {}
        status = {c.id: c.status for c in campaigns}
        for ch in changes:
            if ch.entity_type == "campaign":
                live[ch.id] = status.get(ch.entity_id, "REMOVED")
            elif ch.entity_type == "campaign_budget":
                b = budgets.get(ch.entity_id)
                live[ch.id] = getattr(b, ch.field) if b else None
        return live

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        live: dict[str, Any] = {}
        ads = [c for c in changes if c.phase == Phase.ADS]
        for cid in sorted({c.account for c in ads}):
            live.update(self._live_values(cid, [c for c in ads if c.account == cid]))
        for ch in (c for c in changes if c.phase != Phase.ADS):
            assert self._account is not None
            link = self._read_link(self._account.manager_id, ch.account)
            live[ch.id] = (
                None if link is None else (link.hidden if ch.field == "hidden" else link.status)
            )
        return live

    def _apply_ads(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for cid in sorted({c.account for c in changes}):
            mine = [c for c in changes if c.account == cid]
            live = self._live_values(cid, mine)
            to_send, settled = triage(mine, live)
            journal.record(settled)
            outcomes += settled
            outcomes += send_in_batches(
                journal, to_send, MAX_OPERATIONS, functools.partial(self._mutate, cid)
            )
        return outcomes

    def _mutate(self, cid: str, chunk: Sequence[Change]) -> list[Outcome]:
        client = self._sdk_client()
        svc = self._service("GoogleAdsService")
        request = client.get_type("MutateGoogleAdsRequest")
        request.customer_id = cid
        request.partial_failure = True
        ops = []
        for ch in chunk:
            op = client.get_type("MutateOperation")
            if ch.entity_type == "campaign":
                op.campaign_operation.update.resource_name = ch.resource
                op.campaign_operation.update.status = client.enums.CampaignStatusEnum[ch.after]
                op.campaign_operation.update_mask = field_mask_pb2.FieldMask(paths=["status"])
            else:
                setattr(op.campaign_budget_operation.update, ch.field, int(ch.after))
                op.campaign_budget_operation.update.resource_name = ch.resource
                op.campaign_budget_operation.update_mask = field_mask_pb2.FieldMask(
                    paths=[ch.field]
                )
            ops.append(op)
        request.mutate_operations.extend(ops)
        timeout = self.ctx.retry.timeout
        try:
            response = self._call("write", lambda: svc.mutate(request=request, timeout=timeout))
        except PlatformError as exc:
            return [
                Outcome(
                    ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
                )
                for ch in chunk
            ]
        errors = partial_errors(response)
        request_id = self._ids.last
        return [
            Outcome(ch.id, OutcomeStatus.FAILED, message=errors[i], request_id=request_id)
            if i in errors
            else Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=request_id)
            for i, ch in enumerate(chunk)
        ]

    def _apply_links(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for ch in changes:
            assert self._account is not None
            link = self._read_link(self._account.manager_id, ch.account)
            live = None if link is None else (link.hidden if ch.field == "hidden" else link.status)
            to_send, settled = triage([ch], {ch.id: live})
            journal.record(settled)
            outcomes += settled
            if not to_send:
                continue
            journal.intend([ch])
            outcome = self._mutate_link(ch)
            journal.record([outcome])
            outcomes.append(outcome)
        return outcomes

    def _mutate_link(self, ch: Change) -> Outcome:
        client = self._sdk_client()
        timeout = self.ctx.retry.timeout
        if ch.field == "hidden":
            svc = self._service("CustomerClientLinkService")
            op = client.get_type("CustomerClientLinkOperation")
            op.update.resource_name = ch.resource
            op.update.hidden = bool(ch.after)
            op.update_mask = field_mask_pb2.FieldMask(paths=["hidden"])
            manager = ch.resource.split("/")[1]

            def send() -> Any:
                return svc.mutate_customer_client_link(
                    customer_id=manager, operation=op, timeout=timeout
                )
        else:
            svc = self._service("CustomerManagerLinkService")
            op = client.get_type("CustomerManagerLinkOperation")
            op.update.resource_name = ch.resource
            op.update.status = client.enums.ManagerLinkStatusEnum[ch.after]
            op.update_mask = field_mask_pb2.FieldMask(paths=["status"])

            def send() -> Any:
                return svc.mutate_customer_manager_link(
                    customer_id=ch.account, operations=[op], timeout=timeout
                )

        try:
            self._call("write", send)
        except PlatformError as exc:
            return Outcome(
                ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
            )
        return Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=self._ids.last)

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
        since = ctx.since or (state.read_at - dt.timedelta(days=29))
        since = max(since, state.read_at - dt.timedelta(days=29))
        until = state.read_at + dt.timedelta(days=1)  # the API wants a finite range
        zone = ZoneInfo(state.time_zone)
        since, until = since.astimezone(zone), until.astimezone(zone)
        clients = ", ".join(SCRIPT_CLIENTS)
        rows = self._query(
            state.customer_id,
            "SELECT change_event.change_date_time, change_event.client_type, "
            "change_event.change_resource_type, change_event.change_resource_name "
            f"FROM change_event WHERE change_event.change_date_time >= "
            f"'{since:%Y-%m-%d %H:%M:%S}' AND change_event.change_date_time <= "
            f"'{until:%Y-%m-%d %H:%M:%S}' AND change_event.client_type IN ({clients}) "
            "ORDER BY change_event.change_date_time DESC LIMIT 1000",
        )
        if rows:
            evidence = tuple(
                f"{r.change_event.change_date_time} {r.change_event.client_type.name} "
                f"{r.change_event.change_resource_name}"
                for r in rows[:10]
            )
            return Verdict(
                CheckStatus.FAIL,
                f"{len(rows)} script/rule change(s) since {since:%Y-%m-%d %H:%M}",
                evidence,
            )
        return Verdict(CheckStatus.PASS, f"no script or rule activity since {since:%Y-%m-%d %H:%M}")

    def close(self) -> None:
        for svc in self._services.values():
            transport = getattr(svc, "transport", None)
            if transport is not None:
                transport.close()
        self._services.clear()
