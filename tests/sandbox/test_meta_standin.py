"""The Meta Graph stand-in, exercised through the official facebook-business SDK (26.x).

The client is built as the product builds it: a FacebookSession pointed at the stand-in, a
FacebookAdsApi with api_version v26.0 passed to every object, no global default API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.business import Business
from facebook_business.adobjects.campaign import Campaign
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog, load_scenario
from adoffboard.sandbox.meta import MetaStandIn

DEMO = Path(__file__).resolve().parents[2] / "adoffboard" / "sandbox" / "scenarios" / "demo.yaml"
LAKESIDE, AGENCY = "act_1029384756", "100200300400500"
SECRET, TOKEN = "standin-app-secret", "EAAG-standin-token"


@pytest.fixture
def standin() -> Iterator[MetaStandIn]:
    server = MetaStandIn(
        {**load_scenario(DEMO)["meta"], "app_secret": SECRET}, RequestLog(), FaultPlan()
    )
    server.start()
    yield server
    server.stop()


def graph(standin: MetaStandIn, secret: str = SECRET, token: str = TOKEN) -> FacebookAdsApi:
    session = FacebookSession("880000000000001", secret, token, timeout=10)
    session.GRAPH = standin.url
    return FacebookAdsApi(session, api_version="v26.0")


def error_of(call: Any) -> FacebookRequestError:
    with pytest.raises(FacebookRequestError) as caught:
        call()
    return caught.value


def test_account_node_and_edges(standin: MetaStandIn) -> None:
    account = AdAccount(LAKESIDE, api=graph(standin))
    node = account.api_get(fields=["name", "currency"])
    assert (node["name"], node["currency"]) == ("Lakeside Powersports", "USD")
    active = account.get_campaigns(
        fields=["name", "status"], params={"effective_status": ["ACTIVE"]}
    )
    assert {c["id"] for c in active} == {"120210000000101", "120210000000102", "120210000000103"}
    every = account.get_campaigns(
        fields=["status"], params={"effective_status": ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED"]}
    )
    assert len(list(every)) == 6
    adsets = {
        s["id"]: s["effective_status"]
        for s in account.get_ad_sets(
            fields=["effective_status"], params={"effective_status": ["CAMPAIGN_PAUSED"]}
        )
    }
    assert adsets == {"120210000001105": "CAMPAIGN_PAUSED"}
    rules = list(account.get_ad_rules_library(fields=["name", "execution_spec"]))
    assert rules[1]["execution_spec"]["execution_options"][0]["value"]["amount"] == 20


def test_cursor_paging_has_next_only_when_more(standin: MetaStandIn) -> None:
    account = AdAccount(LAKESIDE, api=graph(standin))
    cursor = account.get_ad_sets(fields=["name"], params={"limit": 4})  # 5 not ARCHIVED
    assert len(cursor) == 4
    assert cursor.load_next_page() and len(cursor) == 1
    assert not cursor.load_next_page()
    raw = graph(standin).call("GET", (LAKESIDE, "adsets"), params={"limit": 4}).json()
    assert "next" in raw["paging"] and raw["paging"]["cursors"]["after"]
    last = graph(standin).call(
        "GET", (LAKESIDE, "adsets"), params={"limit": 4, "after": raw["paging"]["cursors"]["after"]}
    )
    assert "next" not in last.json()["paging"]
    default = graph(standin).call("GET", (LAKESIDE, "campaigns")).json()
    assert {c["id"] for c in default["data"]} == {  # neither ARCHIVED nor DELETED by default
        "120210000000101",
        "120210000000102",
        "120210000000103",
        "120210000000104",
    }


def test_node_update_and_its_refusals(standin: MetaStandIn) -> None:
    api = graph(standin)
    Campaign("120210000000101", api=api).api_update(params={"status": "PAUSED"})
    assert standin.accounts[LAKESIDE].campaigns["120210000000101"].status == "PAUSED"
    archived = error_of(
        lambda: Campaign("120210000000105", api=api).api_update(params={"status": "ACTIVE"})
    )
    assert archived.api_error_code() == 100 and "archived" in archived.api_error_message()
    low = error_of(
        lambda: Campaign("120210000000102", api=api).api_update(params={"daily_budget": 1})
    )
    assert low.api_error_subcode() == 1885272
    assert standin.accounts[LAKESIDE].campaigns["120210000000102"].daily_budget == 2500


def test_batch_items_and_its_limit(standin: MetaStandIn) -> None:
    api = graph(standin)
    answers: list[Any] = []
    batch = api.new_batch()
    for cid in ("120210000000101", "120210000000105"):
        Campaign(cid, api=api).api_update(
            params={"status": "PAUSED"}, batch=batch, success=answers.append, failure=answers.append
        )
    assert batch.execute() is None
    assert [a.status() for a in answers] == [200, 400]
    names = {h["name"] for h in answers[0].headers()}
    assert {"X-Business-Use-Case-Usage", "X-App-Usage", "x-fb-trace-id"} <= names
    too_many = api.new_batch()
    for _ in range(51):
        Campaign("120210000000101", api=api).api_update(params={"status": "PAUSED"}, batch=too_many)
    err = error_of(too_many.execute)
    assert err.api_error_code() == 100 and "Maximum batch size is 50" in err.api_error_message()
    assert [e.method for e in standin.log.entries() if e.service == "graph-batch"] == [
        "update_object"
    ] * 2


def test_batch_without_headers_and_null_items(standin: MetaStandIn) -> None:
    standin.faults.add(
        FaultRule(
            kind="timeout",
            platform="meta",
            method="update_object",
            match={"resource": "adset", "id": "120210000001101"},
            times=1,
        )
    )
    batch = [
        {"method": "POST", "relative_url": f"{sid}/", "body": "status=PAUSED"}
        for sid in ("120210000001101", "120210000001103")
    ]
    raw = graph(standin).call("POST", (), params={"batch": batch, "include_headers": False})
    items = raw.json()
    assert items[0] is None
    assert items[1]["code"] == 200 and "headers" not in items[1]
    assert json.loads(items[1]["body"]) == {"success": True}
    adsets = standin.accounts[LAKESIDE].adsets
    assert (adsets["120210000001101"].status, adsets["120210000001103"].status) == (
        "ACTIVE",
        "PAUSED",
    )


def test_two_ad_sets_of_one_campaign_in_one_batch_are_refused(standin: MetaStandIn) -> None:
    """Meta's batch-requests page: "Batch requests cannot include multiple Adsets under the same
    Campaign". The first ad set of a campaign is written; the next ones get (#100)."""
    batch = [
        {"method": "POST", "relative_url": f"{sid}/", "body": f"status={status}"}
        for sid, status in (
            ("120210000001101", "PAUSED"),  # campaign ...101
            ("120210000001103", "PAUSED"),  # campaign ...102
            ("120210000001102", "ACTIVE"),  # campaign ...101 again
            ("120210000000101", "PAUSED"),  # the campaign itself is not an ad set
        )
    ]
    items = graph(standin).call("POST", (), params={"batch": batch}).json()
    assert [i["code"] for i in items] == [200, 200, 400, 200]
    error = json.loads(items[2]["body"])["error"]
    assert error["code"] == 100 and "multiple Adsets under the same Campaign" in error["message"]
    adsets = standin.accounts[LAKESIDE].adsets
    assert [
        adsets[s].status for s in ("120210000001101", "120210000001103", "120210000001102")
    ] == [
        "PAUSED",
        "PAUSED",
        "PAUSED",  # as it was: the refused item wrote nothing
    ]


def test_appsecret_proof_and_token_are_checked(standin: MetaStandIn) -> None:
    wrong = error_of(lambda: AdAccount(LAKESIDE, api=graph(standin, secret="other")).api_get())
    assert wrong.api_error_code() == 100
    assert wrong.api_error_message() == "Invalid appsecret_proof provided in the API argument"
    assert set(wrong.body()["error"]) >= {"message", "type", "code", "fbtrace_id"}
    no_token = error_of(lambda: AdAccount(LAKESIDE, api=graph(standin, token="")).api_get())
    assert no_token.api_error_code() in (100, 104)
    assert {e.detail for e in standin.log.entries()} == {"authentication"}
    assert TOKEN not in repr([vars(e) for e in standin.log.entries()])


def test_usage_headers_on_answers_and_errors(standin: MetaStandIn) -> None:
    api = graph(standin)
    ok = api.call("GET", (LAKESIDE,), params={"fields": "name"})
    buc = json.loads(ok.headers()["X-Business-Use-Case-Usage"])
    assert buc["200300400500600"][0]["type"] == "ads_management"
    assert buc["200300400500600"][0]["estimated_time_to_regain_access"] == 0
    err = error_of(lambda: AdAccount("act_999999", api=api).api_get())
    assert "X-App-Usage" in err.http_headers()


@pytest.mark.parametrize(
    "kind,status,code",
    [("resource_exhausted", 400, 80004), ("internal", 500, 1), ("unavailable", 503, 2)],
)
def test_top_level_faults(standin: MetaStandIn, kind: str, status: int, code: int) -> None:
    standin.faults.add(FaultRule(kind=kind, platform="meta", retry_delay_s=90, times=1))
    err = error_of(lambda: AdAccount(LAKESIDE, api=graph(standin)).api_get())
    assert (err.http_status(), err.api_error_code()) == (status, code)
    if kind == "resource_exhausted":
        buc = json.loads(err.http_headers()["X-Business-Use-Case-Usage"])
        assert buc["200300400500600"][0]["estimated_time_to_regain_access"] == 2  # minutes
        assert err.api_transient_error()


def test_removing_the_agency_cuts_its_access(standin: MetaStandIn) -> None:
    api = graph(standin)
    account = AdAccount(LAKESIDE, api=api)
    agencies = list(account.get_agencies(params={"fields": "name,access_status,permitted_tasks"}))
    assert [(a["id"], a["access_status"]) for a in agencies] == [(AGENCY, "CONFIRMED")]
    clients = {a["id"] for a in Business(AGENCY, api=api).get_client_ad_accounts(fields=["id"])}
    assert LAKESIDE in clients
    account.delete_agencies(params={"business": AGENCY})  # the SDK drops the "success" key
    assert standin.log.mutating()[-1].status == "200"
    node = error_of(lambda: account.api_get(fields=["name"]))
    assert (node.api_error_code(), node.api_error_subcode()) == (100, 33)
    edge = error_of(lambda: list(account.get_campaigns()))
    assert edge.api_error_code() == 200
    again = error_of(lambda: account.delete_agencies(params={"business": AGENCY}))
    assert again.api_error_code() == 200
    clients = {a["id"] for a in Business(AGENCY, api=api).get_client_ad_accounts(fields=["id"])}
    assert LAKESIDE not in clients
    assert [e.method for e in standin.log.mutating()] == ["remove_agency", "remove_agency"]


def test_generated_account_for_benchmarks() -> None:
    section = MetaStandIn.generate_account(500)
    account = section["ad_accounts"][0]
    assert len(account["campaigns"]) == 500 and len(account["adsets"]) == 1000
    statuses = {c["status"] for c in account["campaigns"]}
    assert statuses == {"ACTIVE", "PAUSED", "ARCHIVED", "DELETED"}
    assert MetaStandIn.generate_account(500) == section  # seeded: the same every time
