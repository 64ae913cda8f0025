"""The Graph stand-in takes exactly the budget writes Graph takes: `daily_budget` as an integer in
the currency's minor units, on the object that holds the budget (the campaign under campaign
budget optimization, else its ad sets), at or above the minimum; through the official SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from facebook_business.adobjects.adset import AdSet
from facebook_business.adobjects.campaign import Campaign
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

from adoffboard.sandbox.core import FaultPlan, RequestLog, load_scenario
from adoffboard.sandbox.meta import MetaStandIn

DEMO = Path(__file__).resolve().parents[1] / "adoffboard" / "sandbox" / "scenarios" / "demo.yaml"
LAKESIDE = "act_1029384756"
SECRET, TOKEN = "standin-app-secret", "EAAG-standin-token"
CBO, ABO, LIFETIME = "120210000000101", "120210000000103", "120210000000105"
CBO_ADSET, ABO_ADSET = "120210000001101", "120210000001104"


@pytest.fixture
def standin() -> Iterator[MetaStandIn]:
    server = MetaStandIn(
        {**load_scenario(DEMO)["meta"], "app_secret": SECRET}, RequestLog(), FaultPlan()
    )
    server.start()
    yield server
    server.stop()


def graph(standin: MetaStandIn) -> FacebookAdsApi:
    session = FacebookSession("880000000000001", SECRET, TOKEN, timeout=10)
    session.GRAPH = standin.url
    return FacebookAdsApi(session, api_version="v26.0")


def refusal(call: Any) -> FacebookRequestError:
    with pytest.raises(FacebookRequestError) as caught:
        call()
    return caught.value


def test_budgets_go_where_the_campaign_holds_them(standin: MetaStandIn) -> None:
    api = graph(standin)
    acct = standin.accounts[LAKESIDE]
    Campaign(CBO, api=api).api_update(params={"daily_budget": 1800})
    AdSet(ABO_ADSET, api=api).api_update(params={"daily_budget": 2200})
    assert acct.campaigns[CBO].daily_budget == 1800
    assert acct.adsets[ABO_ADSET].daily_budget == 2200

    under_cbo = refusal(lambda: AdSet(CBO_ADSET, api=api).api_update(params={"daily_budget": 900}))
    assert under_cbo.api_error_code() == 100
    assert "campaign budget optimization" in under_cbo.api_error_message()
    on_abo = refusal(lambda: Campaign(ABO, api=api).api_update(params={"daily_budget": 5000}))
    assert on_abo.api_error_code() == 100 and "ad sets" in on_abo.api_error_message()
    lifetime = refusal(
        lambda: Campaign(LIFETIME, api=api).api_update(params={"daily_budget": 5000})
    )
    assert lifetime.api_error_code() == 100
    assert acct.adsets[CBO_ADSET].daily_budget is None
    assert acct.campaigns[ABO].daily_budget is None
    assert acct.campaigns[LIFETIME].daily_budget is None


@pytest.mark.parametrize("value", ["12.50", "-100", "abc", ""])
def test_budgets_are_integers_in_minor_units(standin: MetaStandIn, value: str) -> None:
    api = graph(standin)
    with pytest.warns(UserWarning, match="daily_budget"):  # the SDK warns, and sends it
        refused = refusal(lambda: Campaign(CBO, api=api).api_update(params={"daily_budget": value}))
    assert refused.api_error_code() == 100 and "integer" in refused.api_error_message()
    assert standin.accounts[LAKESIDE].campaigns[CBO].daily_budget == 4000


def test_budgets_below_the_minimum_are_refused(standin: MetaStandIn) -> None:
    api = graph(standin)
    low = refusal(lambda: AdSet(ABO_ADSET, api=api).api_update(params={"daily_budget": 99}))
    assert low.api_error_subcode() == 1885272
    AdSet(ABO_ADSET, api=api).api_update(params={"daily_budget": 100})  # USD 1.00: accepted
    assert standin.accounts[LAKESIDE].adsets[ABO_ADSET].daily_budget == 100
