"""The SharpSpring stand-in, spoken to as SharpSpring's JSON-RPC API is: one POST URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.sharpspring import SharpSpringStandIn

ACCOUNT = "7A3F9C21D0"


@pytest.fixture
def ss() -> Iterator[SharpSpringStandIn]:
    standin = SharpSpringStandIn(
        {"accounts": [{"account_id": ACCOUNT, "leads": 1234, "daily_limit": 6}]},
        RequestLog(),
        FaultPlan(),
    )
    standin.start()
    yield standin
    standin.stop()


def call(ss, method="getLeads", params=None, *, account=ACCOUNT, secret="k", rid="r1"):
    body = {
        "method": method,
        "params": {"where": {}, "limit": 500, "offset": 0} if params is None else params,
    }
    if rid is not None:
        body["id"] = rid
    query = {k: v for k, v in (("accountID", account), ("secretKey", secret)) if v}
    response = requests.post(ss.url + "/pubapi/v1.2/", params=query, json=body, timeout=5)
    assert response.status_code == 200  # errors travel inside the body
    return response.json()


def test_get_leads_pages_with_limit_and_offset(ss):
    first = call(ss)
    assert first["error"] is None and first["id"] == "r1"
    assert len(first["result"]["lead"]) == 500
    last = call(ss, params={"where": {}, "limit": 500, "offset": 1000})["result"]["lead"]
    assert len(last) == 234 and last[0]["accountID"] == ACCOUNT


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"account": None}, 103),
        ({"secret": None}, 104),
        ({"account": "NOPE"}, 105),
        ({"rid": None}, 102),
        ({"method": "deleteEverything"}, 204),
        ({"params": {"where": {}, "limit": 501, "offset": 0}}, 205),
    ],
    ids=["no-account", "no-secret", "unknown-account", "no-id", "unknown-method", "limit>500"],
)
def test_errors_come_inside_http_200(ss, kwargs, code):
    answer = call(ss, **kwargs)
    assert answer["result"] is None and answer["error"]["code"] == code


def test_daily_limit_answers_106(ss):
    codes = [(call(ss)["error"] or {}).get("code") for _ in range(7)]
    assert codes == [None] * 6 + [106]


def test_throttle_fault_is_107_and_partial_failure_hits_one_page(ss):
    ss.faults.add(FaultRule(kind="resource_exhausted", platform="sharpspring", times=1))
    assert call(ss)["error"]["code"] == 107
    ss.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="sharpspring",
            match={"resource": "contact_list", "id": ACCOUNT, "offset": "500"},
        )
    )
    assert call(ss)["error"] is None
    assert call(ss, params={"where": {}, "limit": 500, "offset": 500})["error"]["code"] == 999


def test_log_names_the_rpc_method_and_never_the_key(ss):
    call(ss, secret="very-secret-key")
    call(ss, method="deleteLeads", params={"objects": []})
    [read, write] = ss.log.entries()
    assert (read.method, read.mutating, read.account) == ("getLeads", False, ACCOUNT)
    assert (write.method, write.mutating) == ("deleteLeads", True)
    assert "very-secret-key" not in repr(ss.log.entries())
