"""Google Ads, through the official `google-ads` SDK (gRPC, API v26).

Reads: one SearchStream per query (customer, campaigns joined with their budgets, the currency's
billable unit, the manager's client link). Writes: campaign and budget operations of one account
in one `GoogleAdsService.Mutate` (10,000 operations at most per request) with partial failure, so
every operation gets its own outcome; the manager-side link in its own service. Update masks are
written by hand: the SDK's helper drops default values, which would turn `hidden=False` into a
no-op on restore.

Scripts and automated rules have no API: they are manual tasks, and `scripts_quiet` reads
`change_event` for script or rule activity since the run.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import grpc
from google.api_core import exceptions as gexc
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
from adoffboard.connectors.google_ads.declaration import (
    DECLARATION,
    GoogleAdsAccount,
    show_google_ads_id,
)
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import (
    AuthError,
    DryRunViolation,
    InputError,
    PlatformError,
    TenantMismatch,
    TransientError,
)
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase
from adoffboard.retry import call_with_retry

API_VERSION = "v26"
MAX_OPERATIONS = 10_000
READ_METHODS = frozenset({"Search", "SearchStream"})
FAILURE_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"
USD_CENT_MICROS = 10_000
# Demand Gen campaigns refuse daily budgets under the equivalent of USD 5.
DEMAND_GEN_MIN_MICROS = {"USD": 5_000_000, "CAD": 7_000_000, "AUD": 8_000_000,
                         "EUR": 5_000_000, "GBP": 4_000_000}
SCRIPT_CLIENTS = ("GOOGLE_ADS_SCRIPTS", "GOOGLE_ADS_AUTOMATED_RULE")

T = TypeVar("T")

# The SDK logs every failed request (with its full request) at WARNING; adoffboard reports
# failures itself, so keep the SDK's log out of the terminal unless someone configures logging.
logging.getLogger("google.ads.googleads").addHandler(logging.NullHandler())
logging.getLogger("google.ads.googleads").propagate = False


# --- state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    id: str
    name: str
    period: str
    amount_micros: int
    total_amount_micros: int
    explicitly_shared: bool
    reference_count: int

    @property
    def field(self) -> str:
        return "total_amount_micros" if self.period == "CUSTOM_PERIOD" else "amount_micros"

    @property
    def value(self) -> int:
        return self.total_amount_micros if self.period == "CUSTOM_PERIOD" else self.amount_micros


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    status: str
    channel: str
    experiment_type: str
    budget_id: str

    @property
    def automatable(self) -> bool:
        return self.experiment_type in ("BASE", "UNSPECIFIED", "") and self.channel != "VIDEO"


@dataclass(frozen=True)
class ClientLink:
    manager_link_id: str
    status: str
    hidden: bool


@dataclass(frozen=True)
class AccountState:
    customer_id: str
    manager_id: str
    name: str
    currency: str
    billable_unit_micros: int
    campaigns: tuple[Campaign, ...]
    budgets: Mapping[str, Budget]
    link: ClientLink | None
    read_at: dt.datetime
    time_zone: str = "UTC"  # change history speaks the account's local time
    reachable: bool = True  # False once the agency's own access was removed (link ended)

    def budget_floor(self, budget: Budget, campaigns: Iterable[Campaign]) -> int | None:
        """The lowest amount the platform accepts at or above 0.01 of the account's currency."""
        unit = self.billable_unit_micros
        floor = -(-max(unit, USD_CENT_MICROS) // unit) * unit
        if any(c.channel == "DEMAND_GEN" for c in campaigns):
            minimum = DEMAND_GEN_MIN_MICROS.get(self.currency)
            if minimum is None:
                return None
            floor = max(floor, -(-minimum // unit) * unit)
        return floor


def money(micros: int, currency: str) -> str:
    return f"{micros / 1_000_000:,.2f} {currency}"


# --- the connector ----------------------------------------------------------------------------


class GoogleAdsConnector(Connector[AccountState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._client: Any = None
        self._services: dict[str, Any] = {}
        self._account: GoogleAdsAccount | None = None  # the manifest's, once read
        self._ids = _RequestIds()

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
                    token_uri="https://oauth2.googleapis.com/token",
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
            interceptors: list[Any] = [_ReadOnlyGuard()] if self.ctx.read_only else []
            interceptors.append(self._ids)
            self._services[name] = self._sdk_client().get_service(name, interceptors=interceptors)
        return self._services[name]

    def _call(self, kind: str, fn: Callable[[], T]) -> T:
        def attempt() -> T:
            self.calls[kind] += 1
            try:
                return fn()
            except DryRunViolation:
                raise
            except Exception as exc:  # translated at the boundary, below
                raise translate(exc) from exc

        return call_with_retry(
            attempt,
            self.ctx.retry,
            self.ctx.clock,
            on_retry=lambda n, e, wait: self.ctx.progress(
                f"Google Ads: {e} - retry {n} in {wait:.1f}s"
            ),
        )

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
            return AccountState(cid, acct.manager_id, acct.expected_name, "", 10_000, (), {},
                                link, self.ctx.clock.now(), reachable=False)
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

    def plan(self, action: str, params: Mapping[str, Any], state: AccountState, step_id: str,
             ctx: StepContext = NO_CONTEXT) -> StepDraft:
        if action == "set_budgets":
            from adoffboard.connectors.google_ads.addendum import plan_set_budgets

            return plan_set_budgets(state, params, step_id)
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
            live[ch.id] = None if link is None else (
                link.hidden if ch.field == "hidden" else link.status)
        return live

    def _apply_ads(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for cid in sorted({c.account for c in changes}):
            mine = [c for c in changes if c.account == cid]
            live = self._live_values(cid, mine)
            to_send, settled = triage(mine, live)
            journal.record(settled)
            outcomes += settled
            outcomes += send_in_batches(journal, to_send, MAX_OPERATIONS,
                                        functools.partial(self._mutate, cid))
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
                Outcome(ch.id, OutcomeStatus.FAILED, message=str(exc),
                        request_id=exc.request_id or "")
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
            live = None if link is None else (
                link.hidden if ch.field == "hidden" else link.status
            )
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
            return Outcome(ch.id, OutcomeStatus.FAILED, message=str(exc),
                           request_id=exc.request_id or "")
        return Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=self._ids.last)

    # --- verification -------------------------------------------------------------------------

    def verify(self, action: str, params: Mapping[str, Any], state: AccountState,
               ctx: StepContext = NO_CONTEXT) -> Verdict:
        if action == "pause_campaigns":
            return verify_pause(state)
        if action == "budgets_to_floor":
            return verify_budgets(state)
        if action == "hide_account":
            ok = state.link is not None and state.link.hidden
            return Verdict(CheckStatus.PASS if ok else CheckStatus.FAIL,
                           "account hidden in the manager" if ok else "account still visible")
        if action == "unlink_account":
            ok = state.link is None or state.link.status != "ACTIVE"
            return Verdict(CheckStatus.PASS if ok else CheckStatus.FAIL,
                           "manager link ended" if ok else "manager link still ACTIVE")
        if action == "scripts_quiet":
            return self._verify_scripts(state, ctx)
        if action == "set_budgets":
            from adoffboard.connectors.google_ads.addendum import verify_set_budgets

            return verify_set_budgets(state, params)
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
            return Verdict(CheckStatus.FAIL,
                           f"{len(rows)} script/rule change(s) since {since:%Y-%m-%d %H:%M}",
                           evidence)
        return Verdict(CheckStatus.PASS, f"no script or rule activity since {since:%Y-%m-%d %H:%M}")

    def close(self) -> None:
        for svc in self._services.values():
            transport = getattr(svc, "transport", None)
            if transport is not None:
                transport.close()
        self._services.clear()


# --- pure planning and judging -----------------------------------------------------------------


def _campaign_change(state: AccountState, c: Campaign, step_id: str) -> Change:
    return Change(
        id=f"google_ads:{state.customer_id}:campaign:{c.id}:status",
        step_id=step_id,
        platform="google_ads",
        account=state.customer_id,
        entity_type="campaign",
        entity_id=c.id,
        name=c.name,
        field="status",
        before=c.status,
        after="PAUSED",
        shown_before=c.status,
        shown_after="PAUSED",
        resource=f"customers/{state.customer_id}/campaigns/{c.id}",
    )


def plan_pause(state: AccountState, step_id: str) -> StepDraft:
    enabled = [c for c in state.campaigns if c.status == "ENABLED"]
    changes = tuple(_campaign_change(state, c, step_id) for c in enabled if c.automatable)
    manual = tuple(
        f"Pause VIDEO campaign {c.name!r} ({c.id}) and lower its budget in the Google Ads UI: "
        "the API cannot modify VIDEO campaigns"
        for c in enabled
        if c.channel == "VIDEO"
    )
    notes = tuple(
        f"{c.name!r} ({c.id}) is a {c.experiment_type.lower()} campaign: left to its base campaign"
        for c in enabled
        if c.experiment_type not in ("BASE", "UNSPECIFIED", "")
    )
    return StepDraft(changes, manual, notes)


def plan_budgets(state: AccountState, step_id: str) -> StepDraft:
    users: dict[str, list[Campaign]] = {}
    for c in state.campaigns:
        if c.budget_id:
            users.setdefault(c.budget_id, []).append(c)
    changes, manual, notes = [], [], []
    for bid, campaigns in sorted(users.items()):
        budget = state.budgets[bid]
        if not any(c.automatable for c in campaigns):
            continue  # VIDEO-only budgets are part of the VIDEO campaign's manual task
        floor = state.budget_floor(budget, campaigns)
        if floor is None:
            manual.append(
                f"Set Demand Gen budget {budget.name!r} ({bid}) to its minimum in "
                f"{state.currency} by hand: the minimum for that currency is not known"
            )
            continue
        if budget.value <= floor:
            continue
        if any(c.channel == "DEMAND_GEN" for c in campaigns):
            notes.append(f"{budget.name!r}: Demand Gen minimum {money(floor, state.currency)}/day")
        if budget.explicitly_shared:
            notes.append(f"{budget.name!r} is shared by {len(campaigns)} campaigns: changed once")
        per = "total" if budget.period == "CUSTOM_PERIOD" else "day"
        changes.append(
            Change(
                id=f"google_ads:{state.customer_id}:campaign_budget:{bid}:{budget.field}",
                step_id=step_id,
                platform="google_ads",
                account=state.customer_id,
                entity_type="campaign_budget",
                entity_id=bid,
                name=budget.name,
                field=budget.field,
                before=budget.value,
                after=floor,
                shown_before=f"{money(budget.value, state.currency)}/{per}",
                shown_after=f"{money(floor, state.currency)}/{per}",
                resource=f"customers/{state.customer_id}/campaignBudgets/{bid}",
            )
        )
    return StepDraft(tuple(changes), tuple(manual), tuple(notes))


def _link_draft(state: AccountState, step_id: str, field: str, after: Any) -> StepDraft:
    link = state.link
    if link is None:
        return StepDraft(notes=("no link to the manager account: nothing to change",))
    before = link.hidden if field == "hidden" else link.status
    if before == after or (field == "status" and link.status != "ACTIVE"):
        return StepDraft()
    mcc, cid, lid = state.manager_id, state.customer_id, link.manager_link_id
    if field == "hidden":
        resource = f"customers/{mcc}/customerClientLinks/{cid}~{lid}"
        phase, shown = Phase.VISIBILITY, ("visible", "hidden")
    else:
        resource = f"customers/{cid}/customerManagerLinks/{mcc}~{lid}"
        phase, shown = Phase.ACCESS, (link.status, "INACTIVE (link ended)")
    return StepDraft(
        (
            Change(
                id=f"google_ads:{cid}:link:{mcc}:{field}",
                step_id=step_id,
                platform="google_ads",
                account=cid,
                entity_type="manager_link",
                entity_id=f"{mcc}~{lid}",
                name=f"link to manager {show_google_ads_id(mcc)}",
                field=field,
                before=before,
                after=after,
                shown_before=shown[0],
                shown_after=shown[1],
                phase=phase,
                resource=resource,
            ),
        )
    )


def plan_hide(state: AccountState, step_id: str) -> StepDraft:
    return _link_draft(state, step_id, "hidden", True)


def plan_unlink(state: AccountState, step_id: str) -> StepDraft:
    return _link_draft(state, step_id, "status", "INACTIVE")


def verify_pause(state: AccountState) -> Verdict:
    enabled = [c for c in state.campaigns if c.status == "ENABLED"]
    auto = [c for c in enabled if c.automatable]
    video = [c for c in enabled if c.channel == "VIDEO"]
    if auto:
        return Verdict(CheckStatus.FAIL, f"{len(auto)} campaign(s) still ENABLED",
                       tuple(f"{c.name} ({c.id})" for c in auto[:20]))
    if video:
        return Verdict(CheckStatus.MANUAL_PENDING,
                       f"{len(video)} VIDEO campaign(s) still ENABLED: pause them in the UI",
                       tuple(f"{c.name} ({c.id})" for c in video))
    return Verdict(CheckStatus.PASS, f"no enabled campaigns ({len(state.campaigns)} checked)")


def verify_budgets(state: AccountState) -> Verdict:
    draft = plan_budgets(state, "verify")
    if draft.changes:
        return Verdict(CheckStatus.FAIL, f"{len(draft.changes)} budget(s) above the floor",
                       tuple(f"{c.name}: {c.shown_before}" for c in draft.changes[:20]))
    if draft.manual_items:
        return Verdict(CheckStatus.MANUAL_PENDING, "; ".join(draft.manual_items))
    return Verdict(CheckStatus.PASS, f"all budgets at the floor ({len(state.budgets)} checked)")


# --- errors and the dry-run guard --------------------------------------------------------------


class _ReadOnlyGuard(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Refuses every method but Search/SearchStream before it leaves the process."""

    def _check(self, details: grpc.ClientCallDetails) -> None:
        method = details.method.rsplit("/", 1)[-1]
        if method not in READ_METHODS:
            raise DryRunViolation(f"read-only run refused Google Ads {method}: nothing was sent")

    def intercept_unary_unary(self, continuation, client_call_details, request):
        self._check(client_call_details)
        return continuation(client_call_details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        self._check(client_call_details)
        return continuation(client_call_details, request)


class _RequestIds(grpc.UnaryUnaryClientInterceptor):
    """Remembers the request id of the last unary call, for the journal."""

    def __init__(self) -> None:
        self.last = ""

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(client_call_details, request)
        self.last = _request_id(outcome)
        return outcome


def _failure_from_metadata(metadata: Iterable[Any] | None) -> Any:
    from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure

    for key, value in metadata or ():
        if key == FAILURE_KEY:
            return GoogleAdsFailure.deserialize(value)
    return None


def _retry_delay(failure: Any) -> float | None:
    for err in getattr(failure, "errors", ()):
        delay = err.details.quota_error_details.retry_delay
        if isinstance(delay, dt.timedelta):  # proto-plus turns Duration into timedelta
            seconds = delay.total_seconds()
        else:
            seconds = delay.seconds + delay.nanos / 1e9
        if seconds > 0:
            return seconds
    return None


def _describe(failure: Any) -> str:
    parts = [f"{_code_name(err.error_code)}: {err.message}"
             for err in list(getattr(failure, "errors", ()))[:3]]
    return "; ".join(parts) or "request failed"


def _code_name(code: Any) -> str:
    """'quota_error.RESOURCE_EXHAUSTED' from an ErrorCode, proto-plus or plain protobuf."""
    pb = type(code).pb(code) if hasattr(type(code), "pb") else code
    for fd, value in pb.ListFields():
        enum = fd.enum_type
        return f"{fd.name}.{enum.values_by_number[value].name}" if enum else fd.name
    return "error"


def _request_id(call: Any) -> str:
    """The request id of a finished call.

    It travels in the trailing metadata, but the layers between us and the wire hide it:
    gRPC's interceptor outcome keeps the inner call in `_call`, and google-ads 34's response
    wrapper answers trailing_metadata() with the initial metadata, keeping the real call in
    `_underlay_call`. Walk down to the wire-level call.
    """
    for _ in range(6):
        if call is None:
            break
        try:
            metadata = list(call.trailing_metadata() or ()) + list(call.initial_metadata() or ())
        except Exception:  # a call that failed before metadata arrived has none
            metadata = []
        found = next((str(v) for k, v in metadata if k == "request-id"), "")
        if found:
            return found
        call = getattr(call, "_underlay_call", None) or getattr(call, "_call", None)
    return ""


def translate(exc: Exception) -> Exception:
    """Map SDK and gRPC exceptions to adoffboard's tree, by what the caller should do."""
    from google.ads.googleads.errors import GoogleAdsException

    if isinstance(exc, GoogleAdsException):
        failure = exc.failure
        text = _describe(failure)
        names = {_code_name(err.error_code).split(".")[0] for err in failure.errors}
        if "quota_error" in names:
            return TransientError(f"Google Ads quota: {text}", retry_after=_retry_delay(failure),
                                  request_id=exc.request_id)
        if names & {"authentication_error", "authorization_error"}:
            return AuthError(f"Google Ads refused access: {text} (request {exc.request_id})")
        return PlatformError(f"Google Ads: {text}", request_id=exc.request_id)
    if isinstance(exc, gexc.GoogleAPICallError):
        call = exc.response if isinstance(exc.response, grpc.Call) else None
        failure = _failure_from_metadata(call.trailing_metadata() if call else None)
        rid = _request_id(call)
        transient = (gexc.ResourceExhausted, gexc.InternalServerError, gexc.ServiceUnavailable,
                     gexc.DeadlineExceeded)
        if isinstance(exc, transient):
            return TransientError(
                f"Google Ads {type(exc).__name__}: {exc.message}",
                retry_after=_retry_delay(failure), request_id=rid,
            )
        if isinstance(exc, gexc.Unauthenticated | gexc.PermissionDenied):
            return AuthError(f"Google Ads refused access: {exc.message}")
        return PlatformError(f"Google Ads {type(exc).__name__}: {exc.message}", request_id=rid)
    if isinstance(exc, grpc.RpcError):
        code = exc.code() if hasattr(exc, "code") else None
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL):
            return TransientError(f"Google Ads {code.name}")
        return PlatformError(f"Google Ads gRPC error {code}")
    return PlatformError(f"Google Ads client error: {type(exc).__name__}: {exc}")


def partial_errors(response: Any) -> dict[int, str]:
    """Operation index -> message, from a partial-failure response."""
    status = getattr(response, "partial_failure_error", None)
    if not status or not status.code:
        return {}
    from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure

    out: dict[int, str] = {}
    for detail in status.details:
        failure = GoogleAdsFailure.deserialize(detail.value)
        for err in failure.errors:
            index = next(
                (el.index for el in err.location.field_path_elements
                 if el.field_name == "mutate_operations"),
                None,
            )
            if index is not None:
                out[int(index)] = f"{_code_name(err.error_code)}: {err.message}"
    return out


