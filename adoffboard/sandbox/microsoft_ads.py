"""Microsoft Advertising API v13 stand-in: the REST/JSON endpoints the `msads` SDK calls.

The connector is only trustworthy if it has met the API's rules through the unmodified SDK, so
this server answers the paths, JSON bodies and fault envelopes the SDK's generated client sends
and parses (`openapi_client` in msads 13.0.30.1):

    POST /CustomerManagement/v13/Account/Query                GetAccount
    POST /CampaignManagement/v13/Campaigns/QueryByAccountId   GetCampaignsByAccountId
    POST /CampaignManagement/v13/Budgets/QueryByIds           GetBudgetsByIds
    PUT  /CampaignManagement/v13/Campaigns                    UpdateCampaigns
    PUT  /CampaignManagement/v13/Budgets                      UpdateBudgets

Rules it enforces, as the API documents them: the AuthenticationToken (Bearer), DeveloperToken,
CustomerId and CustomerAccountId headers; Search campaigns only unless `CampaignType` asks for
more; at most 100 items per call (fault 1114 for campaigns); `PartialErrors` by `Index` for items
that fail (unknown id 1100, Deleted or Suspended status 1120, a daily budget under the currency's
minimum 1106, a campaign-level budget change on a campaign that uses a shared budget 1159);
pausing a BudgetPaused campaign makes it BudgetAndManualPaused. Faults from the shared FaultPlan:
`resource_exhausted` -> 117 CallRateExceeded, `internal` -> 500, `unavailable` -> 503,
`partial_failure` with match {"resource": "campaign"|"budget", "id": ...} fails that item.

Where the published error list has no entry (the budget-array limit, an unknown budget id) the
stand-in's own choice is marked as such below. Errors travel as the SDK expects them: HTTP 400/
401/403/500 with an `ApplicationFault` body whose `Type` is `ApiFaultDetail` (Campaign Management),
`ApiFault` (Customer Management) or `AdApiFaultDetail` (authentication), and a `TrackingId`.
"""

from __future__ import annotations

import copy
import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response

PLATFORM = "microsoft_ads"
CM = "/CampaignManagement/v13"
CUSTOMER = "/CustomerManagement/v13"
MAX_ITEMS = 100
CAMPAIGN_TYPES = (
    "Search",
    "Shopping",
    "DynamicSearchAds",
    "Audience",
    "Hotel",
    "PerformanceMax",
    "App",
    "ObjectiveBased",
)
STATUSES = ("Active", "Paused", "BudgetPaused", "BudgetAndManualPaused", "Deleted", "Suspended")
BUDGET_TYPES = ("DailyBudgetStandard", "DailyBudgetAccelerated", "LifetimeBudgetStandard")
# Minimum daily budget per currency (the platform's rule; the connector keeps its own table).
MIN_DAILY_BUDGET = {
    "USD": 0.05,
    "EUR": 0.05,
    "GBP": 0.05,
    "CAD": 0.05,
    "AUD": 0.05,
    "INR": 0.82,
    "CNY": 30.0,
}
GENERIC_MIN = 0.01  # currencies outside the table: the stand-in only refuses less than 0.01

# (code, symbolic code, message): documented in the Bing Ads operation error codes
INTERNAL = (0, "InternalError", "An internal error has occurred.")
INVALID_CREDENTIALS = (
    105,
    "InvalidCredentials",
    "Authentication failed. Either supplied credentials are invalid or the account is inactive.",
)
NOT_AUTHORIZED = (106, "UserIsNotAuthorized", "The user does not represent a authorized developer.")
TOKEN_EXPIRED = (109, "AuthenticationTokenExpired", "The OAuth access token has expired.")
MISSING_HEADERS = (
    116,
    "RequestMissingHeaders",
    "One or more required header elements are missing from the request.",
)
CALL_RATE = (
    117,
    "CallRateExceeded",
    "You have exceeded the number of calls that you are "
    "allowed to make in a minute. Please reduce the number of calls that you make per "
    "minute.",
)
INVALID_CAMPAIGN_ID = (
    1100,
    "CampaignServiceInvalidCampaignId",
    "The campaign identifier is not valid.",
)
INVALID_ACCOUNT_ID = (
    1102,
    "CampaignServiceInvalidAccountId",
    "The account identifier is not valid.",
)
INVALID_DAILY_BUDGET = (
    1106,
    "CampaignServiceInvalidDailyBudget",
    "The campaign daily budget is not valid.",
)
DUPLICATE_CAMPAIGN_IDS = (
    1107,
    "CampaignServiceDuplicateCampaignIds",
    "Duplicate identifiers are contained in the array of campaigns.",
)
CAMPAIGNS_EMPTY = (
    1113,
    "CampaignServiceCampaignsArrayShouldNotBeNullOrEmpty",
    "The array of campaigns is null or empty.",
)
CAMPAIGNS_LIMIT = (
    1114,
    "CampaignServiceCampaignsArrayExceedsLimit",
    "The list of campaigns exceeds the limit.",
)
INVALID_STATUS = (
    1120,
    "CampaignServiceInvalidCampaignStatus",
    "The campaign status is not valid for the requested operation.",
)
SHARED_BUDGET = (
    1159,
    "CampaignServiceCannotUpdateSharedBudget",
    "You cannot update shared "
    "budget through Campaign Entity, please use Budget entity to update shared "
    "budget.",
)
# Not found in the published list: the stand-in's own choices, same shape as the rest.
BUDGETS_LIMIT = (1114, "BudgetsArrayExceedsLimit", "The list of budgets exceeds the limit of 100.")
BUDGETS_EMPTY = (
    1113,
    "BudgetsArrayShouldNotBeNullOrEmpty",
    "The array of budgets is null or empty.",
)
INVALID_BUDGET_ID = (1100, "InvalidBudgetId", "The budget identifier is not valid.")


# --------------------------------------------------------------------------------------------
# State


@dataclass
class Campaign:
    id: str
    name: str
    status: str
    campaign_type: str
    budget_type: str
    daily_budget: float | None
    budget_id: str = ""  # set when the campaign uses a shared budget


@dataclass
class Budget:
    id: str
    name: str
    amount: float
    budget_type: str = "DailyBudgetStandard"


@dataclass
class Account:
    account_id: str
    customer_id: str
    name: str
    currency: str
    number: str = ""
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    budgets: dict[str, Budget] = field(default_factory=dict)

    @property
    def min_daily_budget(self) -> float:
        return MIN_DAILY_BUDGET.get(self.currency, GENERIC_MIN)

    def users_of(self, budget_id: str) -> list[Campaign]:
        return [
            c for c in self.campaigns.values() if c.budget_id == budget_id and c.status != "Deleted"
        ]


def _choice(where: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {list(allowed)}")
    return str(value)


def _digits(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,19}", value):
        raise ValueError(f"{where}: must be a quoted string of digits, got {value!r}")
    return value


def _amount(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{where}: must be a positive amount, got {value!r}")
    return float(value)


def load_accounts(section: Mapping[str, Any]) -> dict[str, Account]:
    """The `microsoft_ads:` section of a scenario, validated with precise messages."""
    unknown = set(section) - {"accounts", "expired_tokens"}
    if unknown:
        raise ValueError(f"microsoft_ads: unknown key(s) {sorted(unknown)}")
    accounts: dict[str, Account] = {}
    for i, raw in enumerate(section.get("accounts") or []):
        where = f"microsoft_ads.accounts[{i}]"
        aid = _digits(f"{where}.account_id", raw.get("account_id"))
        account = Account(
            aid,
            _digits(f"{where}.customer_id", raw.get("customer_id")),
            str(raw.get("name") or ""),
            str(raw.get("currency") or "USD"),
            str(raw.get("number") or f"F{aid[-7:]}"),
        )
        for j, b in enumerate(raw.get("budgets") or []):
            bw = f"{where}.budgets[{j}]"
            bid = _digits(f"{bw}.id", b.get("id"))
            account.budgets[bid] = Budget(
                bid,
                str(b.get("name") or f"Shared budget {bid}"),
                _amount(f"{bw}.amount", b.get("amount")),
                _choice(
                    f"{bw}.budget_type", b.get("budget_type", "DailyBudgetStandard"), BUDGET_TYPES
                ),
            )
        for j, c in enumerate(raw.get("campaigns") or []):
            cw = f"{where}.campaigns[{j}]"
            cid = _digits(f"{cw}.id", c.get("id"))
            budget_id = str(c.get("budget_id") or "")
            if budget_id and budget_id not in account.budgets:
                raise ValueError(
                    f"{cw}.budget_id: {budget_id!r} is not one of the account's "
                    f"budgets {sorted(account.budgets)}"
                )
            daily = None if budget_id else _amount(f"{cw}.daily_budget", c.get("daily_budget"))
            account.campaigns[cid] = Campaign(
                cid,
                str(c.get("name") or f"Campaign {cid}"),
                _choice(f"{cw}.status", c.get("status", "Active"), STATUSES),
                _choice(f"{cw}.type", c.get("type", "Search"), CAMPAIGN_TYPES),
                _choice(
                    f"{cw}.budget_type", c.get("budget_type", "DailyBudgetStandard"), BUDGET_TYPES
                ),
                daily,
                budget_id,
            )
        accounts[aid] = account
    return accounts


# --------------------------------------------------------------------------------------------
# Envelopes


def _error(
    code: tuple[int, str, str],
    *,
    index: int | None = None,
    message: str = "",
    field_path: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Code": code[0],
        "ErrorCode": code[1],
        "Message": message or code[2],
        "Details": None,
    }
    if index is not None:
        item.update(Index=index, FieldPath=field_path, Type="BatchError")
    return item


def _tracking() -> str:
    return str(uuid.uuid4())


class _Fault(Exception):
    """A whole-request failure, answered as the API's fault envelope."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("Type", "fault"))
        self.status, self.body = status, body


def _operation_fault(service: str, *errors: dict[str, Any], status: int = 400) -> _Fault:
    kind = "ApiFault" if service == "CustomerManagementService" else "ApiFaultDetail"
    body: dict[str, Any] = {
        "TrackingId": _tracking(),
        "Type": kind,
        "OperationErrors": list(errors),
    }
    if kind == "ApiFaultDetail":
        body["BatchErrors"] = []
    return _Fault(status, body)


def _auth_fault(status: int, code: tuple[int, str, str]) -> Response:
    return Response(
        status,
        {
            "TrackingId": _tracking(),
            "Type": "AdApiFaultDetail",
            "Errors": [{"Code": code[0], "ErrorCode": code[1], "Message": code[2], "Detail": None}],
        },
    )


def _campaign_json(c: Campaign, budgets: Mapping[str, Budget]) -> dict[str, Any]:
    shared = budgets.get(c.budget_id) if c.budget_id else None
    return {
        "Id": c.id,
        "Name": c.name,
        "Status": c.status,
        "CampaignType": c.campaign_type,
        "BudgetType": shared.budget_type if shared else c.budget_type,
        "DailyBudget": shared.amount if shared else c.daily_budget,
        "BudgetId": c.budget_id or None,
        "TimeZone": "CentralTimeUSCanada",
    }


def _requested_types(raw: Any) -> set[str]:
    """`CampaignType` as the SDK sends it ("Search, Shopping, ..."); absent means Search."""
    if raw is None:
        return {"Search"}
    names = {n for n in re.split(r"[,\s]+", str(raw)) if n}
    unknown = names - set(CAMPAIGN_TYPES)
    if unknown:
        raise _operation_fault(
            "CampaignManagementService",
            _error(INTERNAL, message=f"Invalid CampaignType {sorted(unknown)}"),
        )
    return names


# --------------------------------------------------------------------------------------------
# The server


class MicrosoftAdsStandIn(HttpStandIn):
    platform = PLATFORM
    service = "CampaignManagementService"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.accounts = load_accounts(self.section)
        self.expired_tokens = {str(t) for t in self.section.get("expired_tokens") or []}
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
        self.route("PUT", f"{CM}/Campaigns", "UpdateCampaigns", self._update_campaigns)
        self.route("PUT", f"{CM}/Budgets", "UpdateBudgets", self._update_budgets)

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

    def authenticate(self, request: Request) -> Response | None:
        names = ("Authorization", "DeveloperToken", "CustomerId", "CustomerAccountId")
        if any(not self._header(request, n) for n in names):
            return _auth_fault(400, MISSING_HEADERS)
        auth = self._header(request, "Authorization")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        if not token:
            return _auth_fault(401, INVALID_CREDENTIALS)
        if token in self.expired_tokens:
            return _auth_fault(401, TOKEN_EXPIRED)
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
            types = _requested_types(body.get("CampaignType"))
            with self.lock:
                found = [
                    _campaign_json(c, account.budgets)
                    for c in account.campaigns.values()
                    if c.campaign_type in types
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
                budgets = [self._budget_json(account, account.budgets.get(i)) for i in wanted]
            return {"Budgets": budgets, "PartialErrors": []}

        return self._answer(run, request)

    @staticmethod
    def _budget_json(account: Account, b: Budget | None) -> dict[str, Any] | None:
        if b is None:
            return None
        return {
            "Id": b.id,
            "Name": b.name,
            "Amount": b.amount,
            "BudgetType": b.budget_type,
            "AssociationCount": len(account.users_of(b.id)),
        }

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
            with self.lock:
                for i, item in enumerate(items):
                    failure = self._campaign_failure(req, account, item, ids)
                    if failure is not None:
                        errors.append(_error(failure[0], index=i, message=failure[1]))
                        continue
                    self._update_campaign(account, account.campaigns[ids[i]], item)
            return {"PartialErrors": errors}

        return self._answer(run, request)

    def _campaign_failure(
        self, req: Request, account: Account, item: Mapping[str, Any], ids: list[str]
    ) -> tuple[tuple[int, str, str], str] | None:
        cid = str(item.get("Id") or "")
        campaign = account.campaigns.get(cid)
        if campaign is None:
            return INVALID_CAMPAIGN_ID, ""
        if ids.count(cid) > 1:
            return DUPLICATE_CAMPAIGN_IDS, ""
        rule = req.failing(resource="campaign", id=cid)
        if rule is not None:
            return INTERNAL, rule.message
        if campaign.status == "Deleted":
            return INVALID_STATUS, "A deleted campaign cannot be updated."
        status = item.get("Status")
        if status is not None and (
            status not in ("Active", "Paused") or campaign.status == "Suspended"
        ):
            return INVALID_STATUS, ""
        if item.get("DailyBudget") is not None:
            if campaign.budget_id:
                return SHARED_BUDGET, ""
            if float(item["DailyBudget"]) < account.min_daily_budget:
                return INVALID_DAILY_BUDGET, (
                    f"The daily budget must be at least {account.min_daily_budget} "
                    f"{account.currency}."
                )
        if item.get("BudgetType") is not None and item["BudgetType"] not in BUDGET_TYPES:
            return INVALID_DAILY_BUDGET, ""
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
                        errors.append(_error(INVALID_BUDGET_ID, index=i))
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


# --------------------------------------------------------------------------------------------
# Benchmark data


def generate_account(
    n_campaigns: int = 1000,
    *,
    account_id: str = "170000001",
    customer_id: str = "270000001",
    name: str = "Benchmark dealer",
    currency: str = "USD",
    seed: int = 11,
) -> dict[str, Any]:
    """A `microsoft_ads` scenario section with one account of `n_campaigns` campaigns in a
    realistic mix: mostly Search, some Shopping/Audience/PerformanceMax/DynamicSearchAds; ~15%
    Paused, ~5% Deleted, ~3% BudgetPaused; every 10th campaign shares one of five pools."""
    rng = random.Random(seed)
    types = (
        ["Search"] * 60
        + ["Shopping"] * 10
        + ["Audience"] * 10
        + ["PerformanceMax"] * 12
        + ["DynamicSearchAds"] * 8
    )
    budgets = [
        {"id": str(900 + k), "name": f"Shared pool {k + 1}", "amount": float(rng.randint(50, 500))}
        for k in range(5)
    ]
    campaigns = []
    for n in range(1, n_campaigns + 1):
        roll = rng.random()
        status = (
            "Deleted"
            if roll < 0.05
            else "Paused"
            if roll < 0.20
            else "BudgetPaused"
            if roll < 0.23
            else "Active"
        )
        camp: dict[str, Any] = {
            "id": str(500_000 + n),
            "name": f"Campaign {n}",
            "status": status,
            "type": rng.choice(types),
        }
        if n % 10 == 0:
            camp["budget_id"] = budgets[(n // 10) % len(budgets)]["id"]
        else:
            camp["daily_budget"] = float(rng.randint(5, 300))
        campaigns.append(camp)
    return {
        "accounts": [
            {
                "account_id": account_id,
                "customer_id": customer_id,
                "name": name,
                "currency": currency,
                "budgets": budgets,
                "campaigns": copy.deepcopy(campaigns),
            }
        ]
    }
