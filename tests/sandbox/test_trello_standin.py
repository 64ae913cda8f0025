"""The Trello stand-in, spoken to with plain `requests` as Trello's REST API is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from adoffboard.sandbox import DEMO_SCENARIO
from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog, load_scenario
from adoffboard.sandbox.trello import TrelloStandIn

BOARD, LAKESIDE = "5f3c0a9e2b1d4c6e8a7f0b12", "64b7f0c2a1d3e4f5a6b7c801"
OAUTH = {"Authorization": 'OAuth oauth_consumer_key="k", oauth_token="t"'}


@pytest.fixture
def trello() -> Iterator[TrelloStandIn]:
    standin = TrelloStandIn(load_scenario(DEMO_SCENARIO)["trello"], RequestLog(), FaultPlan())
    standin.start()
    yield standin
    standin.stop()


def get(trello: TrelloStandIn, path: str, **params: str) -> requests.Response:
    return requests.get(trello.url + path, params=params, headers=OAUTH, timeout=5)


def test_credentials_by_header_or_query(trello):
    assert get(trello, f"/1/cards/{LAKESIDE}").status_code == 200
    by_query = requests.get(
        f"{trello.url}/1/cards/{LAKESIDE}", params={"key": "k", "token": "t"}, timeout=5
    )
    assert by_query.status_code == 200
    missing = requests.get(f"{trello.url}/1/cards/{LAKESIDE}", timeout=5)
    assert (missing.status_code, missing.text) == (401, "invalid key")
    assert missing.headers["Content-Type"] == "text/plain"


def test_fields_narrow_a_card_and_short_links_resolve(trello):
    card = get(trello, f"/1/cards/{LAKESIDE}", fields="closed,name").json()
    assert card == {"id": LAKESIDE, "name": "Lakeside Powersports", "closed": False}
    assert get(trello, "/1/cards/LkPw8x2Q", fields="name").json()["id"] == LAKESIDE


@pytest.mark.parametrize(
    "key,status,text",
    [
        ("64b7f0c2a1d3e4f5a6b7c999", 404, "The requested resource was not found."),
        ("nope", 400, "invalid id"),
    ],
    ids=["unknown", "malformed"],
)
def test_errors_are_plain_text(trello, key, status, text):
    response = get(trello, f"/1/cards/{key}")
    assert (response.status_code, response.text) == (status, text)


def test_board_lists_cards_by_filter(trello):
    open_names = {c["name"] for c in get(trello, f"/1/boards/{BOARD}/cards/open").json()}
    closed = get(trello, f"/1/boards/{BOARD}/cards/closed", fields="name").json()
    assert "Lakeside Powersports" in open_names and len(open_names) == 3
    assert [c["name"] for c in closed] == ["Lakeside Powersports (2024 launch)"]


def test_archive_is_logged_as_an_action_and_as_a_write(trello):
    response = requests.put(
        f"{trello.url}/1/cards/{LAKESIDE}", params={"closed": "true"}, headers=OAUTH, timeout=5
    )
    assert response.status_code == 200 and response.json()["closed"] is True
    [action] = get(trello, f"/1/cards/{LAKESIDE}/actions", filter="updateCard:closed").json()
    assert action["data"]["old"] == {"closed": False}
    [write] = trello.log.mutating()
    assert (write.method, write.account) == ("cards.update", LAKESIDE)


def test_throttling_is_429_without_retry_after(trello):
    trello.faults.add(FaultRule(kind="resource_exhausted", platform="trello", times=1))
    response = get(trello, f"/1/cards/{LAKESIDE}")
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert response.json()["error"] == "API_TOKEN_LIMIT_EXCEEDED"
    trello.section["rate_limit_body"] = "text"
    trello.faults.add(FaultRule(kind="resource_exhausted", platform="trello", times=1))
    assert get(trello, f"/1/cards/{LAKESIDE}").text == "API_TOKEN_LIMIT_EXCEEDED"


def test_partial_failure_fails_the_matching_card_only(trello):
    trello.faults.add(
        FaultRule(
            kind="partial_failure", platform="trello", match={"resource": "card", "id": LAKESIDE}
        )
    )
    response = requests.put(
        f"{trello.url}/1/cards/{LAKESIDE}", params={"closed": "true"}, headers=OAUTH, timeout=5
    )
    assert response.status_code == 400 and trello.card(LAKESIDE).closed is False
