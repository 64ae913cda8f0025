"""The Microsoft Advertising stand-in, exercised only through the official SDK (msads 13.0.30.1).

The SDK's ServiceClients are given what the connector gives its clients (a fixed OAuth access
token that is never refreshed, `location=` pointing at the stand-in) and send what it sends
(tests/test_microsoft_ads_sdk.py compares the two on the wire), so what passes here is what the
connector meets: the SDK's own request bodies, headers and fault parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from msads_support import DOCUMENTED_TYPES, sdk_client
from openapi_client.exceptions import ApiException, BadRequestException, ServiceException
from openapi_client.models.campaign.budget import Budget
from openapi_client.models.campaign.campaign import Campaign
from openapi_client.models.campaign.campaign_status import CampaignStatus
from openapi_client.models.campaign.get_budgets_by_ids_request import GetBudgetsByIdsRequest
from openapi_client.models.campaign.get_campaigns_by_account_id_request import (
    GetCampaignsByAccountIdRequest,
)
from openapi_client.models.campaign.update_budgets_request import UpdateBudgetsRequest
from openapi_client.models.campaign.update_campaigns_request import UpdateCampaignsRequest
from openapi_client.models.customer.get_account_request import GetAccountRequest

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.microsoft_ads import MicrosoftAdsStandIn, load_accounts

LAKESIDE, CUSTOMER, INDIA = "149876543", "251234567", "149876545"
T = 10.0
ALL_TYPES = DOCUMENTED_TYPES

SECTION: dict[str, Any] = {
    "expired_tokens": ["expired-token"],
    "accounts": [
        {
            "account_id": LAKESIDE,
            "customer_id": CUSTOMER,
            "name": "Lakeside Powersports",
            "currency": "USD",
            "budgets": [{"id": "8801", "name": "Pool", "amount": 60.0}],
            "campaigns": [
                {
                    "id": "1",
                    "name": "Search",
                    "status": "Active",
                    "type": "Search",
                    "daily_budget": 20.0,
                },
                {
                    "id": "2",
                    "name": "Shopping",
                    "status": "BudgetPaused",
                    "type": "Shopping",
                    "daily_budget": 15.0,
                },
                {
                    "id": "3",
                    "name": "Gone",
                    "status": "Deleted",
                    "type": "Search",
                    "daily_budget": 9.0,
                },
                {
                    "id": "4",
                    "name": "Shared A",
                    "status": "Active",
                    "type": "Audience",
                    "budget_id": "8801",
                },
                {
                    "id": "5",
                    "name": "Shared B",
                    "status": "Active",
                    "type": "PerformanceMax",
                    "budget_id": "8801",
                },
                *(
                    {
                        "id": str(100 + i),
                        "name": f"Bulk {i}",
                        "status": "Active",
                        "type": "Search",
                        "daily_budget": 5.0,
                    }
                    for i in range(120)
                ),
            ],
        },
        {
            "account_id": INDIA,
            "customer_id": CUSTOMER,
            "name": "Mumbai Motors",
            "currency": "INR",
            "campaigns": [
                {
                    "id": "900",
                    "name": "Search",
                    "status": "Active",
                    "type": "Search",
                    "daily_budget": 500.0,
                }
            ],
        },
    ],
}


class Box:
    def __init__(self) -> None:
        self.log, self.faults = RequestLog(), FaultPlan()
        self.standin = MicrosoftAdsStandIn(SECTION, self.log, self.faults)
        self.standin.start()

    def client(
        self,
        service: str = "CampaignManagementService",
        account: str = LAKESIDE,
        customer: str = CUSTOMER,
        token: str = "access-token",
        developer_token: str = "dev-token",
    ) -> Any:
        return sdk_client(
            self.standin.url,
            account,
            customer,
            service=service,
            token=token,
            developer_token=developer_token,
        )

    def campaign(self, cid: str, account: str = LAKESIDE) -> Any:
        return self.standin.accounts[account].campaigns[cid]


@pytest.fixture
def box() -> Iterator[Box]:
    b = Box()
    yield b
    b.standin.stop()


def fault_body(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def pause(*ids: str) -> UpdateCampaignsRequest:
    return UpdateCampaignsRequest(
        AccountId=LAKESIDE, Campaigns=[Campaign(Id=i, Status=CampaignStatus.PAUSED) for i in ids]
    )


# --- reads ------------------------------------------------------------------------------------


def test_get_account_gives_name_and_currency(box):
    data = box.client("CustomerManagementService").GetAccount(
        GetAccountRequest(AccountId=LAKESIDE), _request_timeout=T
    )
    assert data.account.name == "Lakeside Powersports"
    assert data.account.currency_code.value == "USD"


def test_only_search_campaigns_unless_every_type_is_asked_for(box):
    svc = box.client()
    only = svc.GetCampaignsByAccountId(GetCampaignsByAccountIdRequest(AccountId=LAKESIDE))
    every = svc.GetCampaignsByAccountId(
        GetCampaignsByAccountIdRequest(AccountId=LAKESIDE, CampaignType=ALL_TYPES)
    )
    assert {str(c.campaign_type) for c in only.campaigns} == {"Search"}
    assert {str(c.campaign_type) for c in every.campaigns} == {
        "Search",
        "Shopping",
        "Audience",
        "PerformanceMax",
    }
    shared = next(c for c in every.campaigns if c.id == "4")
    assert shared.budget_id == "8801" and shared.daily_budget == 60.0


def test_the_string_form_of_campaign_type_crashes_in_the_sdk():
    with pytest.raises(AttributeError):
        GetCampaignsByAccountIdRequest(AccountId=LAKESIDE, CampaignType="Search, Shopping")


def test_get_budgets_by_ids(box):
    svc = box.client()
    found = svc.GetBudgetsByIds(GetBudgetsByIdsRequest(BudgetIds=["8801", "777"]))
    assert found.budgets[0].amount == 60.0 and found.budgets[0].association_count == 2
    assert found.budgets[1] is None  # unknown ids come back as null, at their index
    assert [b.id for b in svc.GetBudgetsByIds(GetBudgetsByIdsRequest()).budgets] == ["8801"]
    with pytest.raises(BadRequestException) as raised:
        svc.GetBudgetsByIds(GetBudgetsByIdsRequest(BudgetIds=[str(i) for i in range(101)]))
    assert fault_body(raised.value)["OperationErrors"][0]["ErrorCode"] == "BudgetsArrayExceedsLimit"


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,status,code",
    [
        (dict(developer_token=""), 400, 116),
        (dict(token="expired-token"), 401, 109),
        (dict(customer="999999"), 403, 106),
        (dict(account="555"), 403, 106),
    ],
    ids=["no-developer-token", "expired", "other-customer", "unknown-account"],
)
def test_auth_headers_are_checked(box, kwargs, status, code):
    with pytest.raises(ApiException) as raised:
        box.client(**kwargs).GetCampaignsByAccountId(
            GetCampaignsByAccountIdRequest(AccountId=LAKESIDE)
        )
    body = fault_body(raised.value)
    assert raised.value.status == status
    assert body["Type"] == "AdApiFaultDetail" and body["Errors"][0]["Code"] == code
    assert box.log.entries()[-1].detail == "authentication"


# --- writes ------------------------------------------------------------------------------------


def test_at_most_100_campaigns_per_call(box):
    ids = [str(100 + i) for i in range(101)]
    with pytest.raises(BadRequestException) as raised:
        box.client().UpdateCampaigns(pause(*ids))
    body = fault_body(raised.value)
    assert body["Type"] == "ApiFaultDetail"
    assert body["OperationErrors"][0]["Code"] == 1114
    assert type(raised.value.data).__name__ == "ApiFaultDetail"  # the SDK parsed the envelope
    assert box.campaign("100").status == "Active"  # nothing applied
    box.client().UpdateCampaigns(pause(*ids[:100]))
    assert box.campaign("199").status == "Paused"


def test_partial_errors_carry_the_index_of_the_failed_item(box):
    data = box.client().UpdateCampaigns(pause("1", "3", "404", "2"))
    errors = {e.index: (e.code, e.error_code) for e in data.partial_errors}
    assert errors == {
        1: (1120, "CampaignServiceInvalidCampaignStatus"),
        2: (1100, "CampaignServiceInvalidCampaignId"),
    }
    assert box.campaign("1").status == "Paused"
    assert box.campaign("2").status == "BudgetAndManualPaused"  # BudgetPaused + paused by us
    assert box.campaign("3").status == "Deleted"


def test_reenabling_a_budget_and_manual_paused_campaign(box):
    box.client().UpdateCampaigns(pause("2"))
    box.client().UpdateCampaigns(
        UpdateCampaignsRequest(
            AccountId=LAKESIDE, Campaigns=[Campaign(Id="2", Status=CampaignStatus.ACTIVE)]
        )
    )
    assert box.campaign("2").status == "BudgetPaused"


@pytest.mark.parametrize(
    "amount,accepted", [(0.04, False), (0.05, True), (0.01, False)], ids=["0.04", "0.05", "0.01"]
)
def test_minimum_daily_budget_in_usd(box, amount, accepted):
    data = box.client().UpdateCampaigns(
        UpdateCampaignsRequest(AccountId=LAKESIDE, Campaigns=[Campaign(Id="1", DailyBudget=amount)])
    )
    codes = [e.code for e in data.partial_errors]
    assert codes == ([] if accepted else [1106])
    assert box.campaign("1").daily_budget == (amount if accepted else 20.0)


def test_minimum_daily_budget_follows_the_currency(box):
    svc = box.client(account=INDIA)
    refused = svc.UpdateCampaigns(
        UpdateCampaignsRequest(AccountId=INDIA, Campaigns=[Campaign(Id="900", DailyBudget=0.81)])
    )
    assert [e.code for e in refused.partial_errors] == [1106]
    assert (
        svc.UpdateCampaigns(
            UpdateCampaignsRequest(
                AccountId=INDIA, Campaigns=[Campaign(Id="900", DailyBudget=0.82)]
            )
        ).partial_errors
        == []
    )


def test_a_shared_budget_changes_only_through_update_budgets(box):
    svc = box.client()
    data = svc.UpdateCampaigns(
        UpdateCampaignsRequest(AccountId=LAKESIDE, Campaigns=[Campaign(Id="4", DailyBudget=0.05)])
    )
    assert [(e.index, e.code) for e in data.partial_errors] == [(0, 1159)]
    assert box.standin.accounts[LAKESIDE].budgets["8801"].amount == 60.0
    done = svc.UpdateBudgets(UpdateBudgetsRequest(Budgets=[Budget(Id="8801", Amount=0.05)]))
    assert done.partial_errors == []
    assert box.standin.accounts[LAKESIDE].budgets["8801"].amount == 0.05
    below = svc.UpdateBudgets(UpdateBudgetsRequest(Budgets=[Budget(Id="8801", Amount=0.02)]))
    assert [e.code for e in below.partial_errors] == [1106]


def test_reads_and_writes_are_logged_by_operation_never_by_verb(box):
    svc = box.client()
    svc.GetCampaignsByAccountId(GetCampaignsByAccountIdRequest(AccountId=LAKESIDE))
    svc.UpdateCampaigns(pause("1"))
    assert [(e.method, e.mutating, e.account) for e in box.log] == [
        ("GetCampaignsByAccountId", False, LAKESIDE),
        ("UpdateCampaigns", True, LAKESIDE),
    ]
    assert "access-token" not in repr([vars(e) for e in box.log])


# --- faults ------------------------------------------------------------------------------------


def test_throttling_is_error_117_in_each_service_s_envelope(box):
    box.faults.add(FaultRule(kind="resource_exhausted", platform="microsoft_ads", times=2))
    with pytest.raises(BadRequestException) as campaign:
        box.client().UpdateCampaigns(pause("1"))
    with pytest.raises(BadRequestException) as customer:
        box.client("CustomerManagementService").GetAccount(GetAccountRequest(AccountId=LAKESIDE))
    for raised, kind in ((campaign, "ApiFaultDetail"), (customer, "ApiFault")):
        body = fault_body(raised.value)
        assert body["Type"] == kind
        assert (body["OperationErrors"][0]["Code"], body["OperationErrors"][0]["ErrorCode"]) == (
            117,
            "CallRateExceeded",
        )
    assert box.campaign("1").status == "Active"


@pytest.mark.parametrize("kind,status", [("internal", 500), ("unavailable", 503)])
def test_server_errors(box, kind, status):
    box.faults.add(FaultRule(kind=kind, platform="microsoft_ads", times=1))
    with pytest.raises(ServiceException) as raised:
        box.client().GetCampaignsByAccountId(GetCampaignsByAccountIdRequest(AccountId=LAKESIDE))
    assert raised.value.status == status


def test_partial_failure_fault_fails_the_matched_budget(box):
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="microsoft_ads",
            match={"resource": "budget", "id": "8801"},
            message="boom",
        )
    )
    data = box.client().UpdateBudgets(
        UpdateBudgetsRequest(Budgets=[Budget(Id="8801", Amount=0.05)])
    )
    assert [(e.index, e.message) for e in data.partial_errors] == [(0, "boom")]


# --- scenario files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accounts,message",
    [
        (
            [
                {
                    "account_id": "1",
                    "customer_id": "2",
                    "campaigns": [{"id": "3", "status": "On", "daily_budget": 5.0}],
                }
            ],
            r"campaigns\[0\].status: 'On' is not one of",
        ),
        ([{"account_id": 12, "customer_id": "2"}], "account_id: must be a quoted string"),
        (
            [{"account_id": "1", "customer_id": "2", "campaigns": [{"id": "3", "budget_id": "9"}]}],
            "budget_id: '9' is not one of",
        ),
    ],
    ids=["status", "unquoted-id", "unknown-budget"],
)
def test_scenario_errors_name_the_field(accounts, message):
    with pytest.raises(ValueError, match=message):
        load_accounts({"accounts": accounts})
