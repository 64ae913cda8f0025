"""Microsoft Advertising, through the official `msads` SDK (REST, Campaign Management API v13).

Reads: `GetAccount` (Customer Management: the live name for the tenant guard, and the currency),
`GetCampaignsByAccountId`, `GetBudgetsByIds` with no ids for the account's whole shared budget
library (a budget the campaigns use that it lacks is read by id, 100 ids per call) and
`GetExperimentsByIds` for the base campaign of each experiment campaign.
`GetCampaignsByAccountId` asks for every documented campaign type (`declaration.CAMPAIGN_TYPES`:
the API returns Search campaigns only otherwise) and for the additional fields without which a
campaign is not returned or its budget reads differently (`declaration.ADDITIONAL_FIELDS`). If
the service answers that a type is not a valid value, the read is made again without it and the
plan, its report and verification say so (`AccountState.warnings`): never a silent gap.

Reads go out together where they do not depend on one another: `GetAccount` with
`GetCampaignsByAccountId` and the shared library (the tenant guard judges the account's name
before anything is written; the other reads are reads), then `GetExperimentsByIds`. The SDK's
REST clients are shared between these threads (`client.MicrosoftAdsApi`).

One read per phase: the engine reads every platform (`read_state`) right before it admits and
applies the phase's changes, so `apply` settles each change (ALREADY, DRIFT or send) against that
read, made by this same object moments before, instead of reading the account again. The read
is used once, and only while it is fresh (`FRESH_S` on the injected clock); an `apply` without
one (a second apply, a direct call) reads the account itself first.

Writes: `UpdateCampaigns` (Status and DailyBudget of campaign-level budgets) and `UpdateBudgets`
(Amount of shared budgets), at most 100 items per call (updatecampaigns.md, updatebudgets.md),
up to `IN_FLIGHT` calls on the wire at once, each journaled. Fields not set on an item are left
unchanged, so a campaign paused and given its floor budget is one item: 1,000 such campaigns are
10 calls. `PartialErrors` are mapped back to their item by `Index`; an item that carried both a
status and a budget and was refused is sent again one field per call (the refused item was not
applied: these are absolute values), so that a refused budget never holds back a pause. A
campaign that uses a shared budget (`BudgetId` set) cannot have its budget changed on the
campaign (error 1159): the shared budget is changed once, on itself. Experiment campaigns are
never written (error 6133): they follow their base (`planning`).

Microsoft Advertising scripts have no API: they stay a manual runbook step.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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
from adoffboard.connectors.microsoft_ads.client import (
    CAMPAIGNS,
    CUSTOMERS,
    MicrosoftAdsApi,
    partial_errors,
    translate,
)
from adoffboard.connectors.microsoft_ads.declaration import (
    ADDITIONAL_FIELDS,
    CAMPAIGN_TYPES,
    DECLARATION,
    MicrosoftAdsAccount,
)
from adoffboard.connectors.microsoft_ads.planning import (
    _status_view,
    live_values,
    plan_budgets,
    plan_pause,
    verify_budgets,
    verify_pause,
)
from adoffboard.connectors.microsoft_ads.sdk_models import (
    _budget,
    _campaigns,
    _request,
    refused_types,
)
from adoffboard.connectors.microsoft_ads.state import (
    AccountState,
    Campaign,
    SharedBudget,
    same_amount,
)
from adoffboard.connectors.transport import Calls
from adoffboard.errors import InputError, PlatformError, TenantMismatch, TransientError
from adoffboard.models import Change, Outcome, OutcomeStatus

MAX_ITEMS = 100  # UpdateCampaigns, UpdateBudgets and GetBudgetsByIds
MAX_EXPERIMENT_IDS = 5000  # GetExperimentsByIds (getexperimentsbyids.md)
# Calls on the wire at once: no documented limit on concurrent connections, but "limit the
# number of threads that you use to 10" (Microsoft's "Using Bing Ads services efficiently");
# error 117 CallRateExceeded is still waited out and retried (`client.translate`).
IN_FLIGHT = 10
FRESH_S = 60.0  # how long apply trusts the read its own read_state made in this phase
UPDATE = {"campaign": "update_campaigns", "budget": "update_budgets"}

T = TypeVar("T")


# --- the connector ----------------------------------------------------------------------------


class MicrosoftAdsConnector(Connector[AccountState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._api: MicrosoftAdsApi | None = None
        self._calls = Calls(ctx, self.calls, "Microsoft Advertising", translate=translate)
        self._types: tuple[str, ...] = CAMPAIGN_TYPES  # less any type the service refused
        self._warnings: list[str] = []
        # account -> (campaigns, shared budgets, when) of the last read_state, until apply uses it
        self._fresh: dict[
            str, tuple[tuple[Campaign, ...], dict[str, SharedBudget], dt.datetime]
        ] = {}

    # --- transport ----------------------------------------------------------------------------

    def _session(self, account: MicrosoftAdsAccount) -> MicrosoftAdsApi:
        if self._api is None:
            self._api = MicrosoftAdsApi(
                self.ctx.settings,
                self.ctx.workspace_root,
                account_id=account.account_id,
                customer_id=account.customer_id,
                read_only=self.ctx.read_only,
            )
        return self._api

    def _call(self, kind: str, service: str, operation: str, request: Any) -> tuple[Any, str]:
        assert self._api is not None
        api, timeout = self._api, self.ctx.retry.timeout

        return self._calls(kind, lambda: api.call(service, operation, request, timeout))

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> AccountState:
        acct = section(manifest, "microsoft_ads", MicrosoftAdsAccount)
        if acct is None:
            raise InputError(f"client {manifest.slug} has no microsoft_ads account in its manifest")
        self._session(acct).prepare((CUSTOMERS, CAMPAIGNS))
        # the guard's error wins: leaving the block waits for the other reads either way
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = pool.submit(self._get_campaigns, acct.account_id)
            library = pool.submit(self._all_budgets)
            live_name, currency = self._check_tenant(acct)
            campaigns = _campaigns(pending.result())
            # the experiments' bases follow from the campaigns alone
            bases = pool.submit(self._with_bases, campaigns)
            budgets = self._read_budgets(campaigns, library.result())
            read = bases.result()
        self._fresh[acct.account_id] = (campaigns, budgets, self.ctx.clock.now())
        return AccountState(
            acct.account_id,
            acct.customer_id,
            live_name,
            currency,
            read,
            budgets,
            self.ctx.clock.now(),
            tuple(self._warnings),
        )

    def take_over(self, reader: Connector[AccountState], manifest: Manifest, state: Any) -> bool:
        """The plan's read, as this phase's read (`_phase_read`), dated when it was read."""
        acct = section(manifest, "microsoft_ads", MicrosoftAdsAccount)
        if not isinstance(reader, MicrosoftAdsConnector) or acct is None:
            return False
        if state.account_id != acct.account_id:
            return False
        self._session(acct).prepare((CAMPAIGNS,))
        self._types, self._warnings = reader._types, list(reader._warnings)
        self._fresh[acct.account_id] = (state.campaigns, dict(state.budgets), state.read_at)
        return True

    def _check_tenant(self, acct: MicrosoftAdsAccount) -> tuple[str, str]:
        """GetAccount: the live name and currency; TenantMismatch unless the name is the one
        the manifest expects (the guard every write waits behind)."""
        from openapi_client.models.customer.get_account_request import GetAccountRequest

        data, _ = self._call(
            "read", CUSTOMERS, "get_account", GetAccountRequest(AccountId=acct.account_id)
        )
        account = data.account if data is not None else None
        if account is None:
            raise PlatformError(f"Microsoft Advertising account {acct.account_id} returned no data")
        live_name = account.name or ""
        if live_name.strip() != acct.expected_name.strip():
            raise TenantMismatch(
                f"Microsoft Advertising account {acct.account_id} is named {live_name!r}, but "
                f"the manifest expects {acct.expected_name!r}: refusing to touch it"
            )
        return live_name, str(getattr(account.currency_code, "value", account.currency_code) or "")

    def _with_bases(self, campaigns: tuple[Campaign, ...]) -> tuple[Campaign, ...]:
        """Each experiment campaign with its base campaign's id (GetExperimentsByIds)."""
        from openapi_client.models.campaign.get_experiments_by_ids_request import (
            GetExperimentsByIdsRequest,
        )

        wanted = sorted({c.experiment_id for c in campaigns if c.experiment_id})
        bases: dict[str, str] = {}
        for chunk in batches(wanted, MAX_EXPERIMENT_IDS):
            data, _ = self._call(
                "read",
                CAMPAIGNS,
                "get_experiments_by_ids",
                GetExperimentsByIdsRequest(ExperimentIds=list(chunk)),
            )
            for e in data.experiments or []:
                if e is not None and e.id and e.base_campaign_id:
                    bases[str(e.id)] = str(e.base_campaign_id)
        return tuple(
            dataclasses.replace(c, base_id=bases.get(c.experiment_id, "")) if c.experiment_id else c
            for c in campaigns
        )

    def _read_campaigns(
        self, account_id: str
    ) -> tuple[tuple[Campaign, ...], dict[str, SharedBudget]]:
        campaigns = _campaigns(self._get_campaigns(account_id))
        return campaigns, self._read_budgets(campaigns)

    def _all_budgets(self) -> dict[str, SharedBudget]:
        """Every budget of the account's shared library, in one call beside the campaigns'
        read: GetBudgetsByIds with BudgetIds nil "will return all budgets that are available to
        be shared with campaigns in the account" (getbudgetsbyids.md)."""
        from openapi_client.models.campaign.get_budgets_by_ids_request import (
            GetBudgetsByIdsRequest,
        )

        request = GetBudgetsByIdsRequest(BudgetIds=None)
        data = self._call("read", CAMPAIGNS, "get_budgets_by_ids", request)[0]
        return {str(b.id): _budget(b) for b in data.budgets or [] if b is not None and b.id}

    def _read_budgets(
        self, campaigns: Sequence[Campaign], library: Mapping[str, SharedBudget] | None = None
    ) -> dict[str, SharedBudget]:
        """The shared budgets the campaigns use, from the account's `library` where it has
        them; the others by id: GetBudgetsByIds, 100 ids a call, the calls on the wire together
        (up to `IN_FLIGHT`)."""
        from openapi_client.models.campaign.get_budgets_by_ids_request import (
            GetBudgetsByIdsRequest,
        )

        wanted = sorted({c.budget_id for c in campaigns if c.budget_id})
        budgets = {i: library[i] for i in wanted if library and i in library}
        wanted = [i for i in wanted if i not in budgets]

        def read(chunk: Sequence[str]) -> Any:
            request = GetBudgetsByIdsRequest(BudgetIds=list(chunk))
            return self._call("read", CAMPAIGNS, "get_budgets_by_ids", request)[0]

        for data in together(read, list(batches(wanted, MAX_ITEMS))):
            for b in data.budgets or []:
                if b is not None and b.id:
                    budgets[str(b.id)] = _budget(b)
        return budgets

    def _get_campaigns(self, account_id: str) -> Any:
        """GetCampaignsByAccountId for the documented types and the additional fields; a type the
        service refuses as an invalid value is dropped, the read made again, and a warning kept."""
        from openapi_client.models.campaign.campaign_additional_field import (
            CampaignAdditionalField,
        )
        from openapi_client.models.campaign.campaign_type import CampaignType
        from openapi_client.models.campaign.get_campaigns_by_account_id_request import (
            GetCampaignsByAccountIdRequest,
        )

        fields = functools.reduce(
            lambda a, b: a | b, (CampaignAdditionalField[f.upper()] for f in ADDITIONAL_FIELDS)
        )
        while True:
            # the flag form: the string form crashes in msads 13.0.30.1
            types = functools.reduce(
                lambda a, b: a | b, (CampaignType[t.upper()] for t in self._types)
            )
            request = GetCampaignsByAccountIdRequest(
                AccountId=account_id, CampaignType=types, ReturnAdditionalFields=fields
            )
            try:
                data, _ = self._call("read", CAMPAIGNS, "get_campaigns_by_account_id", request)
                return data
            except TransientError:
                raise
            except PlatformError as exc:
                refused = refused_types(str(exc), self._types)
                if not refused or len(refused) == len(self._types):
                    raise
                self._types = tuple(t for t in self._types if t not in refused)
                warning = (
                    f"Microsoft Advertising refused campaign type(s) {', '.join(refused)} as "
                    f"invalid ({exc}); read again without them: campaigns of that type were "
                    "not seen, check them in the Microsoft Advertising UI"
                )
                self._warnings.append(warning)
                self.ctx.progress(warning)

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: AccountState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action == "pause_campaigns":
            return plan_pause(state, step_id)
        if action == "budgets_to_floor":
            return plan_budgets(state, step_id)
        if action == "set_budgets":
            from adoffboard.connectors.microsoft_ads.addendum import plan_set_budgets

            return plan_set_budgets(state, params, step_id, ctx)
        raise InputError(f"microsoft_ads has no action {action!r}")

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for account in sorted({c.account for c in changes}):
            mine = [c for c in changes if c.account == account]
            campaigns, budgets = self._phase_read(account)
            to_send, settled = triage(mine, live_values(mine, campaigns, budgets), self.same_value)
            journal.record(settled)
            outcomes += settled
            for round_ in rounds(to_send):
                outcomes += send_in_batches(
                    journal,
                    round_,
                    MAX_ITEMS,
                    functools.partial(self._update, account),
                    by_entity,
                    in_flight=IN_FLIGHT,
                )
        return outcomes

    def _phase_read(self, account: str) -> tuple[tuple[Campaign, ...], dict[str, SharedBudget]]:
        """The account as this phase's read_state just read it (once, while fresh), else read
        now: changes are settled against a read made after the plan, never against the plan."""
        fresh = self._fresh.pop(account, None)
        if fresh is not None:
            campaigns, budgets, read_at = fresh
            if (self.ctx.clock.now() - read_at).total_seconds() <= FRESH_S:
                return campaigns, budgets
        return self._read_campaigns(account)

    def _update(
        self, account: str, chunk: Sequence[Change], *, split: bool = True
    ) -> list[Outcome]:
        """One UpdateCampaigns or UpdateBudgets call: one item per entity, with every field
        the chunk changes on it. An item refused as a whole that set several fields is sent
        again one field per call (`split`): a refused budget never holds back a pause."""
        items = entities(chunk)
        operation = UPDATE[chunk[0].entity_type]
        try:
            data, tracking = self._call(
                "write", CAMPAIGNS, operation, _request(account, operation, items)
            )
        except PlatformError as exc:
            return [
                Outcome(
                    c.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
                )
                for c in chunk
            ]
        errors = partial_errors(getattr(data, "partial_errors", None))
        outcomes: list[Outcome] = []
        again: list[Change] = []
        for i, item in enumerate(items):
            if i in errors and split and len(item) > 1:
                again += item
                continue
            outcomes += [
                Outcome(c.id, OutcomeStatus.FAILED, message=errors[i], request_id=tracking)
                if i in errors
                else Outcome(c.id, OutcomeStatus.APPLIED, live=c.after, request_id=tracking)
                for c in item
            ]
        for fld in sorted({c.field for c in again}, key=_field_rank):
            outcomes += self._update(account, [c for c in again if c.field == fld], split=False)
        return outcomes

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        live: dict[str, Any] = {}
        for account in sorted({c.account for c in changes}):
            mine = [c for c in changes if c.account == account]
            campaigns, budgets = self._read_campaigns(account)
            live.update(live_values(mine, campaigns, budgets))
        return live

    def same_value(self, change: Change, live: Any, target: Any) -> bool:
        view: Callable[[Any], Any] = _status_view if change.field == "Status" else (lambda v: v)
        return same_amount(view(live), view(target))

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
        if action == "set_budgets":
            from adoffboard.connectors.microsoft_ads.addendum import verify_set_budgets

            return verify_set_budgets(state, params, ctx)
        raise InputError(f"microsoft_ads has no action {action!r}")

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


FIELD_ORDER = ("Status", "DailyBudget", "Amount")  # pauses first when items are sent again


def _field_rank(fld: str) -> int:
    return FIELD_ORDER.index(fld) if fld in FIELD_ORDER else len(FIELD_ORDER)


def entities(changes: Sequence[Change]) -> list[list[Change]]:
    """The changes grouped by entity (one item of an update call each), in first-seen order."""
    items: dict[tuple[str, str], list[Change]] = {}
    for c in changes:
        items.setdefault((c.entity_type, c.entity_id), []).append(c)
    return list(items.values())


def by_entity(changes: Sequence[Change], size: int) -> list[Sequence[Change]]:
    """`send_in_batches`' batches: at most `size` entities per call, every change of one
    entity in the same call, campaigns and shared budgets in calls of their own."""
    chunks: list[Sequence[Change]] = []
    for kind in UPDATE:
        items = entities([c for c in changes if c.entity_type == kind])
        chunks += [[c for item in part for c in item] for part in batches(items, size)]
    return chunks


def rounds(changes: Sequence[Change]) -> list[list[Change]]:
    """`changes` so that no round sets one field of one entity twice (it would be the same
    entity twice in one call): in practice a single round. Rounds are sent one after another."""
    seen: dict[tuple[str, str, str], int] = {}
    out: list[list[Change]] = []
    for c in changes:
        key = (c.entity_type, c.entity_id, c.field)
        n = seen[key] = seen.get(key, -1) + 1
        if n == len(out):
            out.append([])
        out[n].append(c)
    return out


def together(fn: Callable[[Sequence[str]], T], chunks: Sequence[Sequence[str]]) -> list[T]:
    """`fn` of every chunk, up to `IN_FLIGHT` at once (inline for a single chunk), in order."""
    if len(chunks) <= 1:
        return [fn(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=min(IN_FLIGHT, len(chunks))) as pool:
        return list(pool.map(fn, chunks))


def batches(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
