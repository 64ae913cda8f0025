"""Microsoft Advertising, through the official `msads` SDK (REST, Campaign Management API v13).

Reads: `GetAccount` (Customer Management: the live name for the tenant guard, and the currency),
`GetCampaignsByAccountId`, `GetBudgetsByIds` for the shared budgets the campaigns use (100 ids
per call) and `GetExperimentsByIds` for the base campaign of each experiment campaign.
`GetCampaignsByAccountId` asks for every documented campaign type (`declaration.CAMPAIGN_TYPES`:
the API returns Search campaigns only otherwise) and for the additional fields without which a
campaign is not returned or its budget reads differently (`declaration.ADDITIONAL_FIELDS`). If
the service answers that a type is not a valid value, the read is made again without it and the
plan, its report and verification say so (`AccountState.warnings`): never a silent gap.

Writes: `UpdateCampaigns` (Status; DailyBudget of campaign-level budgets) and `UpdateBudgets`
(Amount of shared budgets), at most 100 items per call; pauses and budget changes travel in
separate calls so that a refused budget never holds back a pause, and `PartialErrors` are mapped
back to their item by `Index`. A campaign that uses a shared budget (`BudgetId` set) cannot have
its budget changed on the campaign (error 1159): the shared budget is changed once, on itself.
Experiment campaigns are never written (error 6133): they follow their base (`planning`).

Microsoft Advertising scripts have no API: they stay a manual runbook step.
"""

from __future__ import annotations

import dataclasses
import functools
import re
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
from adoffboard.connectors.microsoft_ads.declaration import (
    ADDITIONAL_FIELDS,
    CAMPAIGN_TYPES,
    DECLARATION,
    MicrosoftAdsAccount,
)
from adoffboard.connectors.microsoft_ads.planning import (
    _settable,
    _status_view,
    live_values,
    plan_budgets,
    plan_pause,
    verify_budgets,
    verify_pause,
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
            self._with_bases(campaigns),
            budgets,
            self.ctx.clock.now(),
            tuple(self._warnings),
        )

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
        from openapi_client.models.campaign.get_budgets_by_ids_request import (
            GetBudgetsByIdsRequest,
        )

        data = self._get_campaigns(account_id)
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
    experiment_id = str(c.experiment_id or "")
    return Campaign(
        id=str(c.id),
        name=c.name or "",
        status=_value(c.status),
        campaign_type=_value(c.campaign_type),
        budget_type=_value(c.budget_type),
        daily_budget=None if c.daily_budget is None else float(c.daily_budget),
        budget_id="" if budget_id == "0" else budget_id,
        experiment_id="" if experiment_id == "0" else experiment_id,
        bidding=str(getattr(c.bidding_scheme, "type", None) or ""),
    )


def refused_types(text: str, sent: Sequence[str]) -> tuple[str, ...]:
    """The campaign types a fault names as invalid values (its Details or Message say which)."""
    if not re.search(r"campaign ?type", text, re.IGNORECASE):
        return ()
    return tuple(t for t in sent if re.search(rf"(?<![A-Za-z]){t}(?![A-Za-z])", text))


def batches(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
