"""Microsoft Advertising, through the official `msads` SDK (REST, Campaign Management API v13).

Reads: `GetAccount` (Customer Management: the live name for the tenant guard, and the currency),
`GetCampaignsByAccountId` asking for every campaign type (the API returns Search campaigns only
otherwise), and `GetBudgetsByIds` for the shared budgets the campaigns use (100 ids per call).

Writes: `UpdateCampaigns` (Status; DailyBudget of campaign-level budgets) and `UpdateBudgets`
(Amount of shared budgets), at most 100 items per call; pauses and budget changes travel in
separate calls so that a refused budget never holds back a pause, and `PartialErrors` are mapped
back to their item by `Index`. A campaign that uses a shared budget (`BudgetId` set) cannot have
its budget changed on the campaign (error 1159): the shared budget is changed once, on itself.

Microsoft Advertising scripts have no API: they stay a manual runbook step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from adoffboard.connectors.microsoft_ads.declaration import DECLARATION, MicrosoftAdsAccount
from adoffboard.connectors.microsoft_ads.state import (
    DAILY_TYPES,
    PAUSED,
    RUNNING,
    AccountState,
    Campaign,
    SharedBudget,
    _change,
    money,
    same_amount,
)
from adoffboard.connectors.transport import Calls
from adoffboard.errors import InputError, PlatformError, TenantMismatch
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus

MAX_ITEMS = 100  # UpdateCampaigns, UpdateBudgets and GetBudgetsByIds

T = TypeVar("T")


# --- the connector ----------------------------------------------------------------------------


class MicrosoftAdsConnector(Connector[AccountState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self._api: MicrosoftAdsApi | None = None
        self._calls = Calls(ctx, self.calls, "Microsoft Advertising", translate=translate)

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
        self._session(acct)
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
        currency = getattr(account.currency_code, "value", account.currency_code) or ""
        campaigns, budgets = self._read_campaigns(acct.account_id)
        return AccountState(
            acct.account_id,
            acct.customer_id,
            live_name,
            str(currency),
            campaigns,
            budgets,
            self.ctx.clock.now(),
        )

    def _read_campaigns(
        self, account_id: str
    ) -> tuple[tuple[Campaign, ...], dict[str, SharedBudget]]:
        from openapi_client.models.campaign.campaign_type import CampaignType
        from openapi_client.models.campaign.get_budgets_by_ids_request import (
            GetBudgetsByIdsRequest,
        )
        from openapi_client.models.campaign.get_campaigns_by_account_id_request import (
            GetCampaignsByAccountIdRequest,
        )

        every_type = CampaignType(0)
        for member in CampaignType:  # the flag form: the string form crashes in 13.0.30.1
            every_type |= member
        data, _ = self._call(
            "read",
            CAMPAIGNS,
            "get_campaigns_by_account_id",
            GetCampaignsByAccountIdRequest(AccountId=account_id, CampaignType=every_type),
        )
        campaigns = tuple(_campaign(c) for c in (data.campaigns or []) if c is not None)
        wanted = sorted({c.budget_id for c in campaigns if c.budget_id})
        budgets: dict[str, SharedBudget] = {}
        for chunk in batches(wanted, MAX_ITEMS):
            data, _ = self._call(
                "read",
                CAMPAIGNS,
                "get_budgets_by_ids",
                GetBudgetsByIdsRequest(BudgetIds=list(chunk)),
            )
            for b in data.budgets or []:
                if b is not None and b.id:
                    budgets[str(b.id)] = SharedBudget(
                        str(b.id),
                        b.name or "",
                        float(b.amount or 0.0),
                        _value(b.budget_type),
                        int(b.association_count or 0),
                    )
        return campaigns, budgets

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
            campaigns, budgets = self._read_campaigns(account)
            to_send, settled = triage(mine, live_values(mine, campaigns, budgets), self.same_value)
            journal.record(settled)
            outcomes += settled
            # Separate calls: a refused budget must never hold back a pause.
            groups = (
                ("update_campaigns", "Status"),
                ("update_campaigns", "DailyBudget"),
                ("update_budgets", "Amount"),
            )
            for operation, fld in groups:
                outcomes += send_in_batches(
                    journal,
                    [c for c in to_send if c.field == fld],
                    MAX_ITEMS,
                    functools.partial(self._update, operation, account),
                )
        return outcomes

    def _update(self, operation: str, account: str, chunk: Sequence[Change]) -> list[Outcome]:
        from openapi_client.models.campaign.budget import Budget as SdkBudget
        from openapi_client.models.campaign.campaign import Campaign as SdkCampaign
        from openapi_client.models.campaign.campaign_status import CampaignStatus
        from openapi_client.models.campaign.update_budgets_request import UpdateBudgetsRequest
        from openapi_client.models.campaign.update_campaigns_request import (
            UpdateCampaignsRequest,
        )

        request: Any
        if operation == "update_budgets":
            request = UpdateBudgetsRequest(
                Budgets=[SdkBudget(Id=c.entity_id, Amount=float(c.after)) for c in chunk]
            )
        elif chunk[0].field == "Status":
            request = UpdateCampaignsRequest(
                AccountId=account,
                Campaigns=[
                    SdkCampaign(Id=c.entity_id, Status=CampaignStatus(_settable(c.after)))
                    for c in chunk
                ],
            )
        else:
            request = UpdateCampaignsRequest(
                AccountId=account,
                Campaigns=[SdkCampaign(Id=c.entity_id, DailyBudget=float(c.after)) for c in chunk],
            )
        try:
            data, tracking = self._call("write", CAMPAIGNS, operation, request)
        except PlatformError as exc:
            return [
                Outcome(
                    c.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
                )
                for c in chunk
            ]
        errors = partial_errors(getattr(data, "partial_errors", None))
        return [
            Outcome(c.id, OutcomeStatus.FAILED, message=errors[i], request_id=tracking)
            if i in errors
            else Outcome(c.id, OutcomeStatus.APPLIED, live=c.after, request_id=tracking)
            for i, c in enumerate(chunk)
        ]

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


# --- SDK models to state ------------------------------------------------------------------------


def _value(v: Any) -> str:
    """An SDK enum's wire value ('Active', 'DailyBudgetStandard'); a Flag's name ('Search')."""
    if v is None:
        return ""
    return str(getattr(v, "value", None) if isinstance(getattr(v, "value", None), str) else v)


def _campaign(c: Any) -> Campaign:
    budget_id = str(c.budget_id or "")
    return Campaign(
        id=str(c.id),
        name=c.name or "",
        status=_value(c.status),
        campaign_type=_value(c.campaign_type),
        budget_type=_value(c.budget_type),
        daily_budget=None if c.daily_budget is None else float(c.daily_budget),
        budget_id="" if budget_id == "0" else budget_id,
    )


def batches(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- pure planning and judging -----------------------------------------------------------------


def plan_pause(state: AccountState, step_id: str) -> StepDraft:
    changes = tuple(
        _change(
            state,
            "campaign",
            c.id,
            c.name,
            "Status",
            c.status,
            "Paused",
            (c.status, "Paused"),
            step_id,
        )
        for c in state.campaigns
        if c.status in RUNNING
    )
    counts: dict[str, int] = {}
    for c in state.campaigns:
        if c.status not in RUNNING:
            counts[c.status] = counts.get(c.status, 0) + 1
    notes = []
    if counts.get("Deleted"):
        notes.append(f"{counts['Deleted']} Deleted campaign(s) skipped")
    already = sum(n for s, n in counts.items() if s in PAUSED)
    if already:
        notes.append(f"{already} campaign(s) already paused")
    notes += [
        f"{c.name!r} ({c.id}) is Suspended by Microsoft Advertising: the API cannot pause "
        "it; left alone"
        for c in state.campaigns
        if c.status == "Suspended"
    ]
    return StepDraft(changes, (), tuple(notes))


def plan_budgets(state: AccountState, step_id: str) -> StepDraft:
    live = [c for c in state.campaigns if c.status != "Deleted"]
    floor, cur = state.floor, state.currency
    if floor is None:
        over = [c for c in live if (c.daily_budget or 0) > 0.01 or c.budget_id]
        unknown = (
            (
                f"Set the daily budgets of {len(over)} campaign(s) to the lowest amount "
                f"Microsoft Advertising accepts in {cur or 'the account currency'} by hand: "
                "adoffboard has no documented minimum for that currency",
            )
            if over
            else ()
        )
        return StepDraft(manual_items=unknown)
    changes: list[Change] = []
    manual: list[str] = []
    notes: list[str] = []
    for c in live:
        if c.budget_id:
            continue
        if c.budget_type not in DAILY_TYPES:
            manual.append(
                f"{c.name!r} ({c.id}) has a {c.budget_type or 'unknown'} budget: "
                "lower or end it in the Microsoft Advertising UI"
            )
        elif c.daily_budget is not None and c.daily_budget > floor + 0.001:
            changes.append(
                _change(
                    state,
                    "campaign",
                    c.id,
                    c.name,
                    "DailyBudget",
                    c.daily_budget,
                    floor,
                    (money(c.daily_budget, cur), money(floor, cur)),
                    step_id,
                )
            )
    users: dict[str, list[Campaign]] = {}
    for c in live:
        if c.budget_id:
            users.setdefault(c.budget_id, []).append(c)
    for bid, campaigns in sorted(users.items()):
        budget = state.budgets.get(bid)
        if budget is None:
            manual.append(
                f"Shared budget {bid} (used by {len(campaigns)} campaign(s)) could "
                "not be read: set it to the minimum in the Shared Library by hand"
            )
            continue
        if budget.budget_type not in DAILY_TYPES:
            manual.append(
                f"Shared budget {budget.name!r} ({bid}) is {budget.budget_type}: "
                "lower it in the Shared Library by hand"
            )
            continue
        if budget.amount <= floor + 0.001:
            continue
        if len(campaigns) > 1:
            notes.append(
                f"shared budget {budget.name!r} is used by {len(campaigns)} campaigns: changed once"
            )
        changes.append(
            _change(
                state,
                "budget",
                bid,
                budget.name,
                "Amount",
                budget.amount,
                floor,
                (money(budget.amount, cur), money(floor, cur)),
                step_id,
            )
        )
    return StepDraft(tuple(changes), tuple(manual), tuple(notes))


def verify_pause(state: AccountState) -> Verdict:
    running = [c for c in state.campaigns if c.status in RUNNING]
    if running:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(running)} campaign(s) still running",
            tuple(f"{c.name} ({c.id}): {c.status}" for c in running[:20]),
        )
    return Verdict(
        CheckStatus.PASS, f"no Active or BudgetPaused campaign ({len(state.campaigns)} checked)"
    )


def verify_budgets(state: AccountState) -> Verdict:
    draft = plan_budgets(state, "verify")
    if draft.changes:
        return Verdict(
            CheckStatus.FAIL,
            f"{len(draft.changes)} budget(s) above the {state.currency} minimum",
            tuple(f"{c.name}: {c.shown_before}" for c in draft.changes[:20]),
        )
    if draft.manual_items:
        return Verdict(CheckStatus.MANUAL_PENDING, "; ".join(draft.manual_items))
    checked = sum(1 for c in state.campaigns if c.status != "Deleted")
    return Verdict(
        CheckStatus.PASS,
        f"every daily budget at the {state.currency} minimum "
        f"({checked} campaign(s), {len(state.budgets)} shared budget(s) checked)",
    )


def _settable(status: str) -> str:
    """The status to send: the platform sets BudgetPaused by itself (a restore sends Active)."""
    return "Active" if status in RUNNING else "Paused" if status in PAUSED else status


def _status_view(status: Any) -> Any:
    """Active and BudgetPaused are one state for drift: the platform moves between them as
    budgets run out and reset. Paused and BudgetAndManualPaused are both 'paused by us'."""
    if status in RUNNING:
        return "running"
    if status in PAUSED:
        return "Paused"
    return status


def live_values(
    changes: Sequence[Change], campaigns: Sequence[Campaign], budgets: Mapping[str, SharedBudget]
) -> dict[str, Any]:
    by_id = {c.id: c for c in campaigns}
    live: dict[str, Any] = {}
    for ch in changes:
        if ch.entity_type == "budget":
            b = budgets.get(ch.entity_id)
            live[ch.id] = b.amount if b else None
            continue
        c = by_id.get(ch.entity_id)
        if c is None:
            live[ch.id] = None
        elif c.status == "Deleted":  # deleted since the plan: nothing left to change
            live[ch.id] = "Deleted"
        elif ch.field == "Status":
            live[ch.id] = c.status
        else:
            live[ch.id] = f"shared budget {c.budget_id}" if c.budget_id else c.daily_budget
    return live
