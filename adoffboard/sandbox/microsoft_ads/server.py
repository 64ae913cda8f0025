"""The Microsoft Advertising stand-in's server: routes, authentication, reads and writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response
from adoffboard.sandbox.microsoft_ads.accounts import (
    BUDGET_TYPES,
    MAX_ITEMS,
    Account,
    Campaign,
    load_accounts,
    rejected_types,
)
from adoffboard.sandbox.microsoft_ads.faults import (
    BUDGETS_EMPTY,
    BUDGETS_LIMIT,
    CALL_RATE,
    CAMPAIGNS_EMPTY,
    CAMPAIGNS_LIMIT,
    DUPLICATE_CAMPAIGN_IDS,
    EXPERIMENT_CAMPAIGN_NOT_UPDATABLE,
    EXPERIMENT_ID_INVALID,
    INTERNAL,
    INVALID_ACCOUNT_ID,
    INVALID_BUDGET_ID,
    INVALID_CAMPAIGN_ID,
    INVALID_CREDENTIALS,
    INVALID_DAILY_BUDGET,
    INVALID_STATUS,
    MISSING_HEADERS,
    NOT_AUTHORIZED,
    SHARED_BUDGET,
    TOKEN_EXPIRED,
    _auth_fault,
    _error,
    _Fault,
    _operation_fault,
    _tracking,
)
from adoffboard.sandbox.microsoft_ads.users import USER_LEVEL, UserReads
from adoffboard.sandbox.microsoft_ads.wire import (
    budget_json,
    campaign_json,
    experiment_json,
    requested_fields,
    requested_types,
    visible,
)
from adoffboard.sandbox.oauth import (
    MICROSOFT_AUTHORIZE,
    MICROSOFT_TOKEN,
    AuthorizationServer,
    oauth_error,
)

PLATFORM = "microsoft_ads"
CM = "/CampaignManagement/v13"
CUSTOMER = "/CustomerManagement/v13"


class MicrosoftAdsStandIn(UserReads, HttpStandIn):
    platform = PLATFORM
    service = "CampaignManagementService"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.accounts = load_accounts(self.section)
        self.expired_tokens = {str(t) for t in self.section.get("expired_tokens") or []}
        self.rejected_types = rejected_types(self.section)
        # every write call as received: (operation, account, [(id, fields sent)]), for tests
        self.writes: list[tuple[str, str, list[tuple[str, tuple[str, ...]]]]] = []
        # Reads are POSTs in this API: declared non-mutating by name, not by verb.
        self.route(
            "POST",
            f"{CUSTOMER}/Account/Query",
            "GetAccount",
            self._get_account,
            service="CustomerManagementService",
            mutating=False,
        )
        self.route(
            "POST",
            f"{CM}/Campaigns/QueryByAccountId",
            "GetCampaignsByAccountId",
            self._get_campaigns,
            mutating=False,
        )
        self.route(
            "POST", f"{CM}/Budgets/QueryByIds", "GetBudgetsByIds", self._get_budgets, mutating=False
        )
        self.route(
            "POST",
            f"{CM}/Experiments/QueryByIds",
            "GetExperimentsByIds",
            self._get_experiments,
            mutating=False,
        )
        # the accounts the signed-in user can manage: GetUser (no UserId: the caller), then
        # SearchAccounts with a UserId predicate (Microsoft's "search user accounts" example)
        for path, op, handler in (
            ("User/Query", "GetUser", self._get_user),
            ("Accounts/Search", "SearchAccounts", self._search_accounts),
        ):
            self.route(
                "POST",
                f"{CUSTOMER}/{path}",
                op,
                handler,
                service="CustomerManagementService",
                mutating=False,
            )
        self.route("PUT", f"{CM}/Campaigns", "UpdateCampaigns", self._update_campaigns)
        self.route("PUT", f"{CM}/Budgets", "UpdateBudgets", self._update_budgets)
        # Microsoft identity platform's endpoints (`token_endpoint` in the workspace points the
        # connector and `adoffboard auth microsoft-ads` here): a refresh token is issued when the
        # scope asks for offline_access
        self.oauth = AuthorizationServer(
            self.section,
            prefix="sandbox-msads",
            offline=lambda args: "offline_access" in args.get("scope", "").split(),
        )
        self.route(
            "GET", MICROSOFT_AUTHORIZE, "oauth2.authorize", self.oauth.authorize, service="OAuth2"
        )
        self.route(
            "POST", MICROSOFT_TOKEN, "oauth2.token", self._token, mutating=False, service="OAuth2"
        )

    # --- hooks ----------------------------------------------------------------------------

    @staticmethod
    def _header(request: Request, name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in request.headers.items() if k.lower() == wanted), "")

    def account_of(self, request: Request) -> str | None:
        return self._header(request, "CustomerAccountId") or None

    def entities(self, route: Any, request: Request) -> tuple[str, ...]:
        """Each campaign or budget of an update call, with the fields it sets."""
        kind = "Campaigns" if route.op == "UpdateCampaigns" else "Budgets"
        items = (request.json() or {}).get(kind) or []
        return tuple(
            f"{kind[:-1].lower()}/{item.get('Id')}:{','.join(sorted(k for k in item if k != 'Id'))}"
            for item in items
        )

    def _token(self, request: Request) -> Response:
        answered = self.oauth.token(request)
        return answered or oauth_error("unsupported_grant_type", "The grant type is not supported.")

    def authenticate(self, request: Request) -> Response | None:
        if "/oauth2/" in request.path:
            return None  # the client authenticates with its code, refresh token or secret
        names: tuple[str, ...] = ("Authorization", "DeveloperToken")
        if request.path not in USER_LEVEL:  # the user's own reads: no customer or account yet
            names += ("CustomerId", "CustomerAccountId")
        if any(not self._header(request, n) for n in names):
            return _auth_fault(400, MISSING_HEADERS)
        auth = self._header(request, "Authorization")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        if not token:
            return _auth_fault(401, INVALID_CREDENTIALS)
        if token in self.expired_tokens:
            return _auth_fault(401, TOKEN_EXPIRED)
        if request.path in USER_LEVEL:
            return None
        account = self.accounts.get(self._header(request, "CustomerAccountId"))
        if account is None or account.customer_id != self._header(request, "CustomerId"):
            return _auth_fault(403, NOT_AUTHORIZED)
        return None

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        service = next(
            (
                r.service
                for r in self._routes
                if r.method == request.method and r.pattern.match(request.path)
            ),
            self.service,
        )
        if rule.kind == "unavailable":
            return Response(503, "Service Unavailable", content_type="text/plain")
        if rule.kind == "resource_exhausted":
            fault = _operation_fault(service, _error(CALL_RATE))
        else:
            fault = _operation_fault(
                service,
                _error(INTERNAL, message=rule.message),
                status=500 if rule.kind != "timeout" else 504,
            )
        return Response(fault.status, fault.body, {"TrackingId": fault.body["TrackingId"]})

    def settings(self) -> dict[str, Any]:
        return {
            "endpoint": self.url,
            "developer_token": "sandbox:",
            "access_token": "sandbox:",
            "timeout_s": 30.0,
            "attempts": 5,
        }

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        response.headers.setdefault("TrackingId", _tracking())
        return response

    # --- helpers --------------------------------------------------------------------------

    def _account(self, request: Request) -> Account:
        return self.accounts[self._header(request, "CustomerAccountId")]  # authenticated

    @staticmethod
    def _answer(fn: Any, request: Request) -> Response:
        try:
            return Response(200, fn(request))
        except _Fault as fault:
            return Response(fault.status, fault.body, {"TrackingId": fault.body["TrackingId"]})

    # --- reads ----------------------------------------------------------------------------

    def _get_account(self, request: Request) -> Response:
        def run(req: Request) -> dict[str, Any]:
            wanted = str((req.json() or {}).get("AccountId") or "")
            caller = self._account(req)
            account = self.accounts.get(wanted)
            if account is None or account.customer_id != caller.customer_id:
                raise _operation_fault("CustomerManagementService", _error(INVALID_ACCOUNT_ID))
            return {
                "Account": {
                    "Id": account.account_id,
                    "Name": account.name,
                    "Number": account.number,
                    "CurrencyCode": account.currency,
                    "ParentCustomerId": account.customer_id,
                    "AccountLifeCycleStatus": "Active",
                    "PauseReason": None,
                }
            }

        return self._answer(run, request)

    def _get_campaigns(self, request: Request) -> Response:
        def run(req: Request) -> dict[str, Any]:
            body = req.json() or {}
            account = self._account(req)
            if str(body.get("AccountId") or "") != account.account_id:
                raise _operation_fault(self.service, _error(INVALID_ACCOUNT_ID))
            types = requested_types(body.get("CampaignType"), self.rejected_types)
            fields = requested_fields(body.get("ReturnAdditionalFields"))
            with self.lock:
                found = [
                    campaign_json(c, account, fields)
                    for c in account.campaigns.values()
                    if visible(c, types, fields)
                ]
            return {"Campaigns": found}

        return self._answer(run, request)

    def _get_budgets(self, request: Request) -> Response:
        def run(req: Request) -> dict[str, Any]:
            account = self._account(req)
            ids = [str(i) for i in (req.json() or {}).get("BudgetIds") or []]
            if len(ids) > MAX_ITEMS:
                raise _operation_fault(self.service, _error(BUDGETS_LIMIT))
            with self.lock:
                wanted = ids or list(account.budgets)
                budgets = [budget_json(account, i) for i in wanted]
            return {"Budgets": budgets, "PartialErrors": []}

        return self._answer(run, request)

    def _get_experiments(self, request: Request) -> Response:
        """GetExperimentsByIds: no ids means every experiment of the account; an unknown id is
        a null item and a PartialError (getexperimentsbyids.md)."""

        def run(req: Request) -> dict[str, Any]:
            account = self._account(req)
            ids = [str(i) for i in (req.json() or {}).get("ExperimentIds") or []]
            with self.lock:
                wanted = ids or list(account.experiments)
                found = [experiment_json(account, i) for i in wanted]
            errors = [
                _error(EXPERIMENT_ID_INVALID, index=i, field_path="ExperimentIds")
                for i, e in enumerate(found)
                if e is None
            ]
            return {"Experiments": found, "PartialErrors": errors}

        return self._answer(run, request)

    # --- writes ---------------------------------------------------------------------------

    def _update_campaigns(self, request: Request) -> Response:
        def run(req: Request) -> dict[str, Any]:
            body = req.json() or {}
            account = self._account(req)
            items = body.get("Campaigns") or []
            if str(body.get("AccountId") or "") != account.account_id:
                raise _operation_fault(self.service, _error(INVALID_ACCOUNT_ID))
            if not items:
                raise _operation_fault(self.service, _error(CAMPAIGNS_EMPTY))
            if len(items) > MAX_ITEMS:
                raise _operation_fault(self.service, _error(CAMPAIGNS_LIMIT))
            self._remember(req, "UpdateCampaigns", account, items)
            errors: list[dict[str, Any]] = []
            ids = [str(item.get("Id") or "") for item in items]
            repeated = {cid for cid, n in Counter(ids).items() if n > 1}
            with self.lock:
                for i, item in enumerate(items):
                    failure = self._campaign_failure(req, account, item, repeated)
                    if failure is not None:
                        code, message, path = failure
                        errors.append(_error(code, index=i, message=message, field_path=path))
                        continue
                    self._update_campaign(account, account.campaigns[ids[i]], item)
            return {"PartialErrors": errors}

        return self._answer(run, request)

    def _campaign_failure(
        self, req: Request, account: Account, item: Mapping[str, Any], repeated: set[str]
    ) -> tuple[tuple[int, str, str], str, str | None] | None:
        """Why one item of UpdateCampaigns fails: (code, message, FieldPath), or None."""
        cid = str(item.get("Id") or "")
        campaign = account.campaigns.get(cid)
        if campaign is None:
            return INVALID_CAMPAIGN_ID, "", "Id"
        if cid in repeated:
            return DUPLICATE_CAMPAIGN_IDS, "", "Id"
        # a rule may name the field it refuses ("field": "DailyBudget"): an item setting that
        # field fails as a whole, as the service fails an item (updatecampaigns.md)
        sets = [k for k, v in item.items() if k != "Id" and v is not None]
        rule = next(
            (r for f in sets if (r := req.failing(resource="campaign", id=cid, field=f))), None
        )
        if rule is not None:
            return INTERNAL, rule.message, None
        if account.base_of(campaign).status == "Deleted":
            return INVALID_STATUS, "A deleted campaign cannot be updated.", "Status"
        if campaign.experiment_id:
            # campaign.md: an experiment's Budget, BudgetType and Status are its base's
            inherited = [f for f in ("Status", "DailyBudget", "BudgetType") if item.get(f)]
            if inherited:
                return EXPERIMENT_CAMPAIGN_NOT_UPDATABLE, "", inherited[0]
        status = item.get("Status")
        if status is not None and (
            status not in ("Active", "Paused") or campaign.status == "Suspended"
        ):
            return INVALID_STATUS, "", "Status"
        if item.get("DailyBudget") is not None:
            if campaign.budget_id:
                return SHARED_BUDGET, "", "DailyBudget"
            if float(item["DailyBudget"]) < account.min_daily_budget:
                return (
                    INVALID_DAILY_BUDGET,
                    f"The daily budget must be at least {account.min_daily_budget} "
                    f"{account.currency}.",
                    "DailyBudget",
                )
        if item.get("BudgetType") is not None and item["BudgetType"] not in BUDGET_TYPES:
            return INVALID_DAILY_BUDGET, "", "BudgetType"
        return None

    @staticmethod
    def _update_campaign(account: Account, campaign: Campaign, item: Mapping[str, Any]) -> None:
        status = item.get("Status")
        if status == "Paused":
            campaign.status = (
                "BudgetAndManualPaused"
                if campaign.status in ("BudgetPaused", "BudgetAndManualPaused")
                else "Paused"
            )
        elif status == "Active":
            campaign.status = (
                "BudgetPaused" if campaign.status == "BudgetAndManualPaused" else "Active"
            )
        if item.get("DailyBudget") is not None:
            campaign.daily_budget = float(item["DailyBudget"])
        if item.get("BudgetType") is not None:
            campaign.budget_type = str(item["BudgetType"])
        if item.get("Name") is not None:
            campaign.name = str(item["Name"])

    def _update_budgets(self, request: Request) -> Response:
        def run(req: Request) -> dict[str, Any]:
            account = self._account(req)
            items = (req.json() or {}).get("Budgets") or []
            if not items:
                raise _operation_fault(self.service, _error(BUDGETS_EMPTY))
            if len(items) > MAX_ITEMS:
                raise _operation_fault(self.service, _error(BUDGETS_LIMIT))
            self._remember(req, "UpdateBudgets", account, items)
            errors: list[dict[str, Any]] = []
            with self.lock:
                for i, item in enumerate(items):
                    bid = str(item.get("Id") or "")
                    budget = account.budgets.get(bid)
                    rule = req.failing(resource="budget", id=bid)
                    amount = item.get("Amount")
                    if budget is None:
                        errors.append(_error(INVALID_BUDGET_ID, index=i, field_path="Id"))
                    elif rule is not None:
                        errors.append(_error(INTERNAL, index=i, message=rule.message))
                    elif amount is not None and float(amount) < account.min_daily_budget:
                        errors.append(_error(INVALID_DAILY_BUDGET, index=i, field_path="Amount"))
                    else:
                        if amount is not None:
                            budget.amount = float(amount)
                        if item.get("Name") is not None:
                            budget.name = str(item["Name"])
            return {"PartialErrors": errors}

        return self._answer(run, request)

    def _remember(self, req: Request, op: str, account: Account, items: list[Any]) -> None:
        sent = [
            (
                str(item.get("Id") or ""),
                tuple(sorted(k for k, v in item.items() if k != "Id" and v is not None)),
            )
            for item in items
        ]
        with self.lock:
            self.writes.append((op, account.account_id, sent))
