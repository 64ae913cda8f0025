"""Meta (Facebook) Ads, through the official `facebook-business` SDK (Graph API v26.0).

The client is one `FacebookSession` + `FacebookAdsApi` per connector, pointed at the configured
endpoint (`session.GRAPH`) and passed to every SDK object (`api=`): no process-global default API,
and never `FacebookAdsApi.init()`, whose crash reporter posts to the real host.

Reads: the ad account node (tenant guard on its `name`), then the `campaigns`, `adsets`,
`adrules_library` and `agencies` edges in pages of `page_size`, following `paging.cursors.after`.
Writes: node updates (`status`; `daily_budget` for an addendum) in Graph batches of at most 50
requests; a `null` item means no answer and only those items are sent again; a throttled item
waits for the time its usage headers give, then only it is sent again. Exact restore:
`live_values` reads each changed object's `status` (and `daily_budget`) by id (`GET
/<id>?fields=...` items, in batches of at most 50), and a restore's inverse changes (PAUSED ->
ACTIVE, DISABLED -> ENABLED, budgets) go back through the same batch
path as the pause, after the edges' drift check. Removing the agency is one `DELETE
/act_ID/agencies?business=...`, run last by the engine; afterwards the account is unreadable with
this token and `read_state` answers `reachable=False` once the agency business's own list of
client ad accounts confirms it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

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
from adoffboard.connectors.meta.batch import MAX_BATCH, GraphBatches, graph_batches
from adoffboard.connectors.meta.client import (
    PacedAdapter,
    Pacer,
    guard_logs,
    translate,
)
from adoffboard.connectors.meta.declaration import (
    DECLARATION,
    DEFAULT_MAX_THROTTLE_WAIT_S,
    MetaAdAccount,
)
from adoffboard.connectors.meta.planning import PLANNERS, MetaState, verify_action
from adoffboard.connectors.meta.reading import ADSET_STATUSES, OBJECT_STATUSES, EdgeReads
from adoffboard.connectors.meta.throttle import BudgetedCalls, ThrottleBudget
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import AuthError, InputError, PlatformError
from adoffboard.models import Change, Outcome, OutcomeStatus, Phase

API_VERSION = "v26.0"
GRAPH_URL = "https://graph.facebook.com"
# statuses a write may set that let an object spend again: sent last, after every other change
RESTARTS = frozenset({"ACTIVE", "ENABLED"})
# Write batches on the wire at once. Meta's Marketing API scores each request of a batch
# (a write counts 3 points) against the ad account's score, 9,000 points over 300 s in the
# standard tier (https://developers.facebook.com/docs/marketing-api/overview/rate-limiting);
# a batch of 50 updates costs 150. Ten batches (1,500 points) fit in the quarter of the score
# between the pacer's threshold (`slow_down_at_pct`, 75%) and the limit, so the batches already
# sent when usage crosses the threshold cannot take the account past it; from there on they go
# one at a time (`client.Pacer`). Ten is also the HTTP connection pool's size.
IN_FLIGHT = 10
EDGES = 4  # campaigns, ad sets, rules, agencies: read at once, each edge's pages in turn
T = TypeVar("T")


class MetaConnector(EdgeReads, GraphBatches, Connector[MetaState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        s = ctx.settings
        self._api: Any = None
        self._session: Any = None
        self._adapter: PacedAdapter | None = None
        self._pacer = Pacer(ctx.clock, float(s.get("slow_down_at_pct", 75.0)))
        self._page_size = int(s.get("page_size", 500))
        self._in_flight = int(s.get("batches_in_flight", IN_FLIGHT))
        # Meta states how long a throttle lasts (`throttle`); waiting less only provokes another
        # refusal, so one wait is never cut short: past the total allowed, the run stops.
        cap = float(s.get("max_throttle_wait_s", DEFAULT_MAX_THROTTLE_WAIT_S))
        self._budget = ThrottleBudget(ctx.clock, cap, self.calls)
        self._retry = dataclasses.replace(ctx.retry, max_delay=max(ctx.retry.max_delay, cap))
        # the SDK's exception texts may hold URLs with the token: translated without them
        self._calls = BudgetedCalls(
            ctx,
            None,
            "",  # every translated error already starts with "Meta"
            translate=translate,
            retry=self._retry,
            keep_cause=False,
            before_retry=self._pacer.reset,
        )
        self._calls.budget = self._budget
        self._opening = threading.Lock()
        self._tenants: set[tuple[str, str]] = set()  # (account, name) the tenant guard passed
        self._fresh: MetaState | None = None  # what read_state just read, for apply to settle on

    # --- transport ----------------------------------------------------------------------------

    def _graph(self) -> Any:
        with self._opening:  # reads and batches run on several threads: one FacebookSession for all
            return self._open()

    def _open(self) -> Any:
        if self._api is None:
            from facebook_business.api import FacebookAdsApi
            from facebook_business.session import FacebookSession

            guard_logs()
            s = self.ctx.settings
            endpoint = str(s.get("endpoint") or GRAPH_URL).rstrip("/")
            check_sandbox_only(dict(s), urlsplit(endpoint).netloc)
            missing = [k for k in ("app_id", "app_secret", "access_token") if not s.get(k)]
            if missing:
                raise AuthError(f"platforms.meta needs {', '.join(missing)}")
            base = self.ctx.workspace_root
            session = FacebookSession(
                str(s["app_id"]),
                resolve(s["app_secret"], base=base).value,
                resolve(s["access_token"], base=base).value,
                timeout=self.ctx.retry.timeout,
            )
            session.GRAPH = endpoint  # this session only; the class default stays untouched
            adapter = self._adapter = PacedAdapter(
                read_only=self.ctx.read_only, calls=self.calls, pacer=self._pacer
            )
            session.requests.mount("http://", adapter)
            session.requests.mount("https://", adapter)
            self._session = session
            self._api = FacebookAdsApi(session, api_version=API_VERSION)
        return self._api

    def _call(self, fn: Callable[[], T]) -> T:
        return self._calls("", fn)  # counted by the adapter, round trip by round trip

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> MetaState:
        """The account node, then its four edges at once (each edge's cursor pages in turn).

        The tenant guard comes first: on a first read of the account nothing but its node is
        read until its name matches. Once this connector has seen the name match, the edges are
        read alongside the node; their rows are still used only after the name is checked again.
        What is read is also kept for the next `apply` to settle its changes on."""
        self._fresh = None
        acct = section(manifest, "meta", MetaAdAccount)
        if acct is None:
            raise InputError(f"client {manifest.slug} has no meta ad account in its manifest")
        agency_id = str(self.ctx.settings.get("agency_business_id") or "")
        if not agency_id:
            raise InputError("platforms.meta.agency_business_id is not configured")
        self._graph()
        with ThreadPoolExecutor(max_workers=EDGES, thread_name_prefix="meta-read") as pool:
            early = (acct.ad_account_id, acct.expected_name) in self._tenants
            edges = self._read_edges(pool, acct.ad_account_id) if early else None
            state = self._read_account(acct, agency_id, edges, pool)
        self._fresh = state
        return state

    def read_after_removal(self, manifest: Manifest, before: MetaState) -> MetaState:
        """After the agency's removal: the agency business's own list of client ad accounts
        (one page for an agency of up to 500), not the account, which this token can no longer
        read. Only if the account is still listed (the removal did not take) is it read again."""
        acct = section(manifest, "meta", MetaAdAccount)
        agency_id = before.agency_business_id
        if acct is None or not agency_id or before.ad_account_id != acct.ad_account_id:
            return self.read_state(manifest)
        self._fresh = None
        if self._agency_lists(agency_id, acct.ad_account_id):
            return self.read_state(manifest)
        return self._removed(acct, agency_id)  # what read_state answers once access is gone

    def take_over(self, reader: Connector[MetaState], manifest: Manifest, state: Any) -> bool:
        """The plan's read, for the next `apply` to settle on, with the usage its reader last
        heard of (the pacing of the first writes) and the tenants it checked."""
        acct = section(manifest, "meta", MetaAdAccount)
        if not isinstance(reader, MetaConnector) or acct is None:
            return False
        if state.ad_account_id != acct.ad_account_id:
            return False
        self._pacer.carry(reader._pacer)
        self._tenants |= reader._tenants
        self._fresh = state
        return True

    def token_info(self) -> dict[str, Any]:
        """What Graph says of the workspace's token (`GET /debug_token?input_token=...`): its
        `is_valid`, `expires_at` (a Unix time; 0 for a token that never expires, as a system
        user's) and `scopes` (https://developers.facebook.com/docs/graph-api/reference/
        debug_token). A read: the doctor checks the token with it before any account is read."""
        api = self._graph()
        token = resolve(self.ctx.settings["access_token"], base=self.ctx.workspace_root).value
        response = self._call(
            lambda: api.call("GET", ("debug_token",), params={"input_token": token})
        )
        data = response.json().get("data") if isinstance(response.json(), dict) else None
        return dict(data) if isinstance(data, dict) else {}

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: MetaState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action == "set_budgets":
            from adoffboard.connectors.meta.addendum import plan_set_budgets

            return plan_set_budgets(state, params, step_id, ctx)
        planner = PLANNERS.get(action)
        return planner(state, step_id) if planner else StepDraft()

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        """Settle each change against the state `read_state` read last on this connector, then
        send the rest.

        The engine reads every platform right before it applies a phase (and admits the plan
        against that read), always on the connector it then applies with: that read is the
        fresh read the changes are settled on (ALREADY, DRIFT, or sent), with no second read of
        the same edges. It serves one `apply` only: an `apply` with no read of its own since
        the last one (a caller other than the engine) reads the values it needs first."""
        fresh, self._fresh = self._fresh, None
        outcomes: list[Outcome] = []
        ads = sorted((c for c in changes if c.phase != Phase.ACCESS), key=_send_order)
        if ads:
            outcomes += self._apply_updates(ads, journal, fresh)
        for ch in (c for c in changes if c.phase == Phase.ACCESS):
            outcomes += self._apply_removal(ch, journal, fresh)
        return outcomes

    def _live_values(
        self, changes: Sequence[Change], fresh: MetaState | None = None
    ) -> dict[str, Any]:
        """Each change's live value: from `fresh` (this phase's read) for its account, else
        read now."""
        known = _LiveIndex(fresh) if fresh is not None and fresh.reachable else None
        live: dict[str, Any] = {}
        unread: list[Change] = []
        for ch in changes:
            if known is not None and ch.account == known.account:
                live[ch.id] = known.value(ch)
            else:
                unread.append(ch)
        if unread:
            live.update(self._read_live_values(unread))
        return live

    def _read_live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        kinds = {c.entity_type for c in changes}
        live: dict[str, Any] = {}
        for aid in {c.account for c in changes}:
            status: dict[str, str] = {}
            budget: dict[str, int | None] = {}
            everything = [*OBJECT_STATUSES, "DELETED"]
            if "campaign" in kinds:
                campaigns = self._read_campaigns(aid, everything)
                status.update({c.id: c.status for c in campaigns})
                budget.update({c.id: c.daily_budget for c in campaigns})
            if "adset" in kinds:
                adsets = self._read_adsets(aid, [*ADSET_STATUSES, "DELETED"])
                status.update({s.id: s.status for s in adsets})
                budget.update({s.id: s.daily_budget for s in adsets})
            if "rule" in kinds:
                status.update({str(r["id"]): str(r.get("status")) for r in self._read_rules(aid)})
            for ch in changes:
                if ch.account == aid:
                    live[ch.id] = _live_value(ch, status, budget)
        return live

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        """Each change's live value, read by id (reads only): the `status` of its campaign, ad
        set or rule; None for an object Graph no longer returns. Agency access is read from the
        account's `agencies` edge, as `_apply_removal` does."""
        budgets = any(c.field == "daily_budget" for c in changes)
        statuses = self._read_statuses(
            [(c.entity_type, c.entity_id) for c in changes if c.phase != Phase.ACCESS],
            ("status", "daily_budget") if budgets else ("status",),
        )
        live: dict[str, Any] = {}
        for ch in changes:
            if ch.phase == Phase.ACCESS:
                live[ch.id] = self._agency_value(ch)
                continue
            found = statuses.get(ch.entity_id)
            value = found.get(ch.field) if found is not None else None
            if ch.field == "daily_budget" and found is not None:
                deleted = found["status"] == "DELETED"
                value = "DELETED" if deleted else int(value) if value else None
            live[ch.id] = value
        return live

    def _apply_updates(
        self, changes: Sequence[Change], journal: Journal, fresh: MetaState | None
    ) -> list[Outcome]:
        """Send what is not settled yet, stage after stage (`_stages`): the batches of one
        stage go out together, up to `IN_FLIGHT` at once; a stage starts when the previous
        one has its answers, since the requests of a Graph batch, and batches in flight at
        once, run in no set order."""
        to_send, settled = triage(changes, self._live_values(changes, fresh))
        journal.record(settled)
        outcomes = list(settled)
        for stage, lanes in _stages(to_send, self._in_flight):
            outcomes += send_in_batches(
                journal, stage, MAX_BATCH, self._send_batch, graph_batches, in_flight=lanes
            )
        return outcomes

    def _apply_removal(
        self, ch: Change, journal: Journal, fresh: MetaState | None
    ) -> list[Outcome]:
        agency_id = ch.entity_id
        to_send, settled = triage([ch], {ch.id: self._agency_value(ch, fresh)})
        journal.record(settled)
        if not to_send:
            return settled
        journal.intend([ch])
        account = self._account(ch.account)
        try:
            self._call(lambda: account.delete_agencies(params={"business": agency_id}))
            outcome = Outcome(
                ch.id, OutcomeStatus.APPLIED, live=None, request_id=self._last_trace()
            )
        except PlatformError as exc:
            outcome = Outcome(
                ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
            )
        journal.record([outcome])
        return [outcome]

    def _agency_value(self, ch: Change, fresh: MetaState | None = None) -> Any:
        """The live access of the agency business `ch` names, None once it is gone: from
        `fresh` (this phase's read) when it is of the change's account, else read now."""
        if fresh is not None and fresh.ad_account_id == ch.account:
            if not fresh.reachable:  # read_state checked the agency's own list of clients
                return None
            agency = next((a for a in fresh.agencies if a.business_id == ch.entity_id), None)
            return agency.value if agency else None
        try:
            agencies = {a.business_id: a for a in self._read_agencies(ch.account)}
        except AuthError:
            if self._agency_lists(ch.entity_id, ch.account):
                raise
            return None  # already removed: the account no longer answers this token
        agency = agencies.get(ch.entity_id)
        return agency.value if agency else None

    def _last_trace(self) -> str:
        return self._adapter.last_trace if self._adapter is not None else ""

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: MetaState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action == "set_budgets":
            from adoffboard.connectors.meta.addendum import verify_set_budgets

            return verify_set_budgets(state, params, ctx)
        if action not in PLANNERS:
            raise InputError(f"meta has no action {action!r}")
        return verify_action(action, state)

    def close(self) -> None:
        if self._session is not None:
            self._session.requests.close()
        self._api = self._session = None


def _stages(changes: Sequence[Change], in_flight: int) -> Iterator[tuple[list[Change], int]]:
    """`changes` (in `_send_order`) in the runs that must follow one another, each with how
    many of its batches may be on the wire at once. A run is sent once the one before it has
    its answers: the requests of one Graph batch, like batches in flight together, run in no
    set order ("independent operations are processed in parallel",
    https://developers.facebook.com/docs/graph-api/batch-requests).

    Stopping spend: the rules first (a rule left on could undo the pause), then the campaigns
    and ad sets together, `in_flight` batches at once: pausing either stops spend, in any
    order. Restarting (a restore): one run whose batches go one after the other, in
    `_send_order` (ad sets, then campaigns, then rules)."""
    stage: list[Change] = []
    for ch in changes:
        if stage and _stage(ch) != _stage(stage[-1]):
            yield stage, _lanes(stage[-1], in_flight)
            stage = []
        stage.append(ch)
    if stage:
        yield stage, _lanes(stage[-1], in_flight)


def _stage(ch: Change) -> tuple[int, int]:
    restart, order = _send_order(ch)
    return (restart, 0) if restart else (restart, min(order, 1))


def _lanes(ch: Change, in_flight: int) -> int:
    return 1 if _send_order(ch)[0] else in_flight


def _live_value(ch: Change, status: Mapping[str, str], budget: Mapping[str, int | None]) -> Any:
    """A change's live value from its account's statuses and budgets by object id: DELETED for
    an object no edge lists any more (Graph's edges leave deleted objects out)."""
    value: Any = status.get(ch.entity_id, "DELETED")
    if ch.field == "daily_budget" and value != "DELETED":
        value = budget.get(ch.entity_id)
    return value


class _LiveIndex:
    """One read state's statuses and budgets by object id."""

    def __init__(self, state: MetaState) -> None:
        self.account = state.ad_account_id
        self.status: dict[str, str] = {}
        self.budget: dict[str, int | None] = {}
        for campaign in state.campaigns:
            self.status[campaign.id] = campaign.status
            self.budget[campaign.id] = campaign.daily_budget
        for adset in state.adsets:
            self.status[adset.id] = adset.status
            self.budget[adset.id] = adset.daily_budget
        self.status.update({r.id: r.status for r in state.rules})

    def value(self, ch: Change) -> Any:
        return _live_value(ch, self.status, self.budget)


def _send_order(ch: Change) -> tuple[int, int]:
    """Changes that stop spend first, rules before the objects they act on (none may undo the
    pause); changes that let objects spend again (a restore) last, in the reverse order: ad sets,
    then their campaigns, then the rules that act on them."""
    order = {"rule": 0, "campaign": 1, "adset": 2}.get(ch.entity_type, 3)
    if ch.after in RESTARTS:
        return 1, -order
    return 0, order
