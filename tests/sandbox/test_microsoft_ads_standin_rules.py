"""The Microsoft Advertising stand-in's documented rules for what a read returns and what an
update may touch, met through the unmodified msads SDK:

- campaigntype.md: six documented CampaignType values; the SDK's others (App, ObjectiveBased)
  are not values the service reads, so the request fails (100 NullRequest, `Details` naming it);
- campaignadditionalfield.md: ManualCpv / ManualCpm campaigns only with CpvCpmBiddingScheme,
  the LifetimeBudgetStandard budget type only with LifetimeBudgetFields;
- campaign.md / experiment.md: an experiment campaign carries ExperimentId, shows its base
  campaign's status and budget, and refuses Status / DailyBudget / BudgetType (6133).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from msads_support import DOCUMENTED_TYPES as DOCUMENTED
from msads_support import sdk_client
from openapi_client.exceptions import BadRequestException
from openapi_client.models.campaign.campaign import Campaign
from openapi_client.models.campaign.campaign_additional_field import CampaignAdditionalField
from openapi_client.models.campaign.campaign_status import CampaignStatus
from openapi_client.models.campaign.campaign_type import CampaignType
from openapi_client.models.campaign.get_campaigns_by_account_id_request import (
    GetCampaignsByAccountIdRequest,
)
from openapi_client.models.campaign.get_experiments_by_ids_request import (
    GetExperimentsByIdsRequest,
)
from openapi_client.models.campaign.update_campaigns_request import UpdateCampaignsRequest

from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.microsoft_ads import MicrosoftAdsStandIn, load_accounts

ACCOUNT, CUSTOMER = "149876543", "251234567"
CPV_CPM = CampaignAdditionalField.CPVCPMBIDDINGSCHEME
LIFETIME = CampaignAdditionalField.LIFETIMEBUDGETFIELDS


def section(**extra: Any) -> dict[str, Any]:
    camp = {"status": "Active", "daily_budget": 10.0}
    return {
        **extra,
        "accounts": [
            {
                "account_id": ACCOUNT,
                "customer_id": CUSTOMER,
                "name": "Lakeside Powersports",
                "campaigns": [
                    {"id": "1", "name": "Base", "type": "Search", **camp},
                    {"id": "2", "name": "Base - test bids", "type": "Search"},
                    {
                        "id": "3",
                        "name": "Video",
                        "type": "Audience",
                        "bidding": "ManualCpv",
                        **camp,
                    },
                    {
                        "id": "4",
                        "name": "Display",
                        "type": "Audience",
                        "bidding": "ManualCpm",
                        **camp,
                    },
                    {"id": "5", "name": "Hotels", "type": "Hotel", **camp},
                    {
                        "id": "6",
                        "name": "Spring event",
                        "type": "Audience",
                        "status": "Active",
                        "budget_type": "LifetimeBudgetStandard",
                        "daily_budget": 300.0,
                    },
                ],
                "experiments": [{"id": "31", "base_campaign_id": "1", "campaign_id": "2"}],
            }
        ],
    }


class Box:
    def __init__(self, data: dict[str, Any]) -> None:
        self.standin = MicrosoftAdsStandIn(data, RequestLog(), FaultPlan())
        self.standin.start()
        self.svc = sdk_client(self.standin.url, ACCOUNT, CUSTOMER)

    def campaigns(self, types: Any = DOCUMENTED, fields: Any = None) -> dict[str, Any]:
        request = GetCampaignsByAccountIdRequest(
            AccountId=ACCOUNT, CampaignType=types, ReturnAdditionalFields=fields
        )
        return {c.id: c for c in self.svc.GetCampaignsByAccountId(request).campaigns}

    def update(self, *campaigns: Campaign) -> Any:
        return self.svc.UpdateCampaigns(
            UpdateCampaignsRequest(AccountId=ACCOUNT, Campaigns=list(campaigns))
        )


@pytest.fixture
def box(request: pytest.FixtureRequest) -> Iterator[Box]:
    b = Box(getattr(request, "param", None) or section())
    yield b
    b.standin.stop()


def fault(raised: pytest.ExceptionInfo[BadRequestException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raised.value.body)
    return body


@pytest.mark.parametrize("extra", [CampaignType.APP, CampaignType.OBJECTIVEBASED], ids=str)
def test_a_type_the_sdk_defines_but_the_api_does_not_fails_the_read(box, extra):
    with pytest.raises(BadRequestException) as raised:
        box.campaigns(DOCUMENTED | extra)
    error = fault(raised)["OperationErrors"][0]
    assert (error["Code"], error["ErrorCode"]) == (100, "NullRequest")
    assert error["Details"] == (
        f"Invalid enum value '{extra}' cannot be deserialized into type 'CampaignType'."
    )


@pytest.mark.parametrize("box", [section(rejected_campaign_types=["Hotel"])], indirect=True)
def test_a_scenario_can_have_the_service_refuse_a_documented_type(box):
    with pytest.raises(BadRequestException) as raised:
        box.campaigns()
    assert "'Hotel'" in fault(raised)["OperationErrors"][0]["Details"]
    assert set(box.campaigns(DOCUMENTED & ~CampaignType.HOTEL)) == {"1", "2", "6"}


def test_cpv_and_cpm_campaigns_are_returned_only_when_asked_for(box):
    assert set(box.campaigns()) == {"1", "2", "5", "6"}
    found = box.campaigns(fields=CPV_CPM)
    assert set(found) == {"1", "2", "3", "4", "5", "6"}
    assert (found["3"].bidding_scheme.type, found["4"].bidding_scheme.type) == (
        "ManualCpv",
        "ManualCpm",
    )


def test_a_lifetime_budget_reads_as_such_only_with_lifetime_budget_fields(box):
    assert box.campaigns()["6"].budget_type is None
    assert box.campaigns(fields=CPV_CPM | LIFETIME)["6"].budget_type.value == (
        "LifetimeBudgetStandard"
    )


def test_an_experiment_campaign_shows_its_base_and_refuses_status_and_budget(box):
    experiment = box.campaigns()["2"]
    assert experiment.experiment_id == "31" and box.campaigns()["1"].experiment_id is None
    assert (str(experiment.status.value), experiment.daily_budget) == ("Active", 10.0)
    budget = box.update(Campaign(Id="2", DailyBudget=0.05))
    pause = box.update(
        Campaign(Id="2", Status=CampaignStatus.PAUSED),
        Campaign(Id="1", Status=CampaignStatus.PAUSED),
    )
    assert [(e.index, e.code, e.error_code, e.field_path) for e in budget.partial_errors] == [
        (0, 6133, "ExperimentCampaignCannotBeUpdated", "DailyBudget")
    ]
    assert [(e.index, e.code, e.field_path) for e in pause.partial_errors] == [(0, 6133, "Status")]
    # pausing the base pauses the experiment (experiment.md)
    assert str(box.campaigns()["2"].status.value) == "Paused"
    box.update(Campaign(Id="2", Name="Base - test bids v2"))  # its other settings are its own
    assert box.campaigns()["2"].name == "Base - test bids v2"


def test_get_experiments_by_ids_gives_the_base_campaign(box):
    data = box.svc.GetExperimentsByIds(GetExperimentsByIdsRequest(ExperimentIds=["31", "99"]))
    first, unknown = data.experiments
    assert (first.base_campaign_id, first.experiment_campaign_id) == ("1", "2")
    assert unknown is None
    assert [(e.index, e.code) for e in data.partial_errors] == [(1, 6110)]
    every = box.svc.GetExperimentsByIds(GetExperimentsByIdsRequest())
    assert [e.id for e in every.experiments] == ["31"]


@pytest.mark.parametrize(
    "change,message",
    [
        ({"base_campaign_id": "7"}, "must be two of the account's campaigns"),
        ({"traffic_split_percent": 100}, "traffic_split_percent: must be 1..99"),
    ],
    ids=["unknown-base", "split"],
)
def test_experiment_scenario_errors_name_the_field(change, message):
    data = section()
    data["accounts"][0]["experiments"][0].update(change)
    with pytest.raises(ValueError, match=message):
        load_accounts(data)


def test_an_experiment_campaign_takes_no_status_or_budget_in_a_scenario():
    data = section()
    data["accounts"][0]["campaigns"][1]["daily_budget"] = 5.0
    with pytest.raises(ValueError, match=r"campaigns\[1\]: an experiment campaign's status"):
        load_accounts(data)
