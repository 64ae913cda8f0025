"""Trello REST stand-in: the SEM QA board's cards, archived with `PUT /1/cards/{id} closed=true`.

Follows Trello's documented behaviour where the connector depends on it: credentials as `key` and
`token` query parameters or an `Authorization: OAuth oauth_consumer_key="...", oauth_token="..."`
header; `fields` narrows what a card returns; `/1/boards/{id}/cards/{filter}` lists open, closed
or all cards; every change is recorded as an action (`updateCard`) readable from
`/1/cards/{id}/actions`; errors other than throttling come back as plain text ("invalid id",
"The requested resource was not found."). Throttling is HTTP 429 without Retry-After: the rate
limits are per 10-second window. The 429 body is JSON per the rate-limit guide
(`{"error": "API_TOKEN_LIMIT_EXCEEDED", ...}`); `rate_limit_body: text` makes it plain text.

Scenario section:

    trello:
      token: ...            # optional: the only token accepted (else any non-empty one)
      rate_limit_body: json # or text
      boards:
        - id: <24 hex>
          name: SEM QA
          cards: [{id: <24 hex>, shortLink: <8 chars>, name: ..., closed: false}]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response

ID = r"[0-9A-Za-z]{1,32}"
_OAUTH = re.compile(r'oauth_consumer_key="([^"]*)".*?oauth_token="([^"]*)"')
CARD_FIELDS = ("id", "name", "closed", "idBoard", "idList", "shortLink", "desc", "dateLastActivity")


@dataclass
class Card:
    id: str
    name: str
    board: str
    short_link: str = ""
    closed: bool = False
    list_id: str = ""
    desc: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self, fields: list[str] | None) -> dict[str, Any]:
        full = {
            "id": self.id,
            "name": self.name,
            "closed": self.closed,
            "idBoard": self.board,
            "idList": self.list_id,
            "shortLink": self.short_link,
            "desc": self.desc,
            "dateLastActivity": "2026-11-01T12:00:00.000Z",
        }
        if not fields or fields == ["all"]:
            return full
        return {k: v for k, v in full.items() if k == "id" or k in fields}


class TrelloStandIn(HttpStandIn):
    platform = "trello"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.boards: dict[str, str] = {}
        self.cards: dict[str, Card] = {}
        self._action_ids = itertools.count(1)
        for board in self.section.get("boards") or []:
            self.boards[str(board["id"])] = str(board.get("name", ""))
            for raw in board.get("cards") or []:
                self.add_card(str(board["id"]), **raw)
        self.route(
            "GET",
            rf"/1/boards/(?P<board>{ID})/cards/(?P<filter>open|closed|all|visible)",
            "boards.cards",
            self._board_cards,
        )
        self.route("GET", rf"/1/boards/(?P<board>{ID})/cards", "boards.cards", self._board_cards)
        self.route("GET", rf"/1/cards/(?P<card>{ID})/actions", "cards.actions", self._actions)
        self.route("GET", rf"/1/cards/(?P<card>{ID})", "cards.get", self._get_card)
        self.route("PUT", rf"/1/cards/(?P<card>{ID})", "cards.update", self._update_card)

    # --- state helpers (tests use them to play "someone else") --------------------------------

    def add_card(
        self,
        board: str,
        *,
        id: str,
        name: str,
        shortLink: str = "",  # noqa: A002, N803
        closed: bool = False,
        idList: str = "",
        desc: str = "",
    ) -> Card:  # noqa: N803
        card = Card(str(id), name, board, shortLink, bool(closed), idList, desc)
        self.cards[card.id] = card
        return card

    def card(self, key: str) -> Card | None:
        with self.lock:
            if key in self.cards:
                return self.cards[key]
            return next((c for c in self.cards.values() if c.short_link == key), None)

    # --- hooks ----------------------------------------------------------------------------------

    def account_of(self, request: Request) -> str | None:
        return request.params.get("card") or request.params.get("board")

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        found = _OAUTH.search(header) if header.startswith("OAuth ") else None
        key, token = (
            found.groups() if found else (request.arg("key") or "", request.arg("token") or "")
        )
        if not key:
            return Response(401, "invalid key", content_type="text/plain")
        expected = self.section.get("token")
        if not token or (expected and token != expected):
            return Response(401, "invalid token", content_type="text/plain")
        return None

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        if rule.kind == "resource_exhausted":
            headers = {
                "x-rate-limit-api-token-interval-ms": "10000",
                "x-rate-limit-api-token-max": "100",
                "x-rate-limit-api-token-remaining": "0",
            }
            if self.section.get("rate_limit_body") == "text":
                return Response(429, "API_TOKEN_LIMIT_EXCEEDED", headers, content_type="text/plain")
            return Response(
                429,
                {
                    "error": "API_TOKEN_LIMIT_EXCEEDED",
                    "message": rule.message or "Rate limit exceeded",
                },
                headers,
            )
        if rule.kind == "unavailable":
            return Response(503, "Service Unavailable", content_type="text/plain")
        return Response(500, rule.message or "Internal Server Error", content_type="text/plain")

    def not_found(self, request: Request) -> Response:
        return Response(
            404, "Cannot " + request.method + " " + request.path, content_type="text/plain"
        )

    def settings(self) -> dict[str, Any]:
        board = next(iter(self.boards), "0" * 24)
        return {
            "endpoint": self.url,
            "api_key": "sandbox:",
            "token": "sandbox:",
            "board_id": board,
            "timeout_s": 30.0,
            "attempts": 5,
        }

    # --- routes ---------------------------------------------------------------------------------

    @staticmethod
    def _fields(request: Request) -> list[str] | None:
        raw = request.arg("fields")
        return [f for f in raw.split(",") if f] if raw else None

    def _board_cards(self, request: Request) -> Response:
        board = request.params["board"]
        if board not in self.boards:
            return _text(404, "The requested resource was not found.")
        wanted = request.params.get("filter", "visible")
        with self.lock:
            cards = [
                c
                for c in self.cards.values()
                if c.board == board and (wanted == "all" or (wanted == "closed") == c.closed)
            ]
            return Response(200, [c.as_json(self._fields(request)) for c in cards])

    def _get_card(self, request: Request) -> Response:
        card = self.card(request.params["card"])
        if card is None:
            return _missing(request.params["card"])
        with self.lock:
            return Response(200, card.as_json(self._fields(request)))

    def _update_card(self, request: Request) -> Response:
        key = request.params["card"]
        card = self.card(key)
        if card is None:
            return _missing(key)
        rule = request.failing(resource="card", id=card.id)
        if rule is not None:
            return _text(400, rule.message or "invalid value for closed")
        body = request.json() if "json" in request.headers.get("Content-Type", "") else None
        closed = request.arg("closed") if body is None else body.get("closed")
        if closed is None:
            return Response(200, card.as_json(None))  # nothing to change
        value = str(closed).lower()
        if value not in ("true", "false"):
            return _text(400, "invalid value for closed")
        with self.lock:
            old, card.closed = card.closed, value == "true"
            if old != card.closed:
                card.actions.insert(
                    0,
                    {
                        "id": f"{next(self._action_ids):024x}",
                        "type": "updateCard",
                        "data": {
                            "card": {"id": card.id, "closed": card.closed},
                            "old": {"closed": old},
                        },
                    },
                )
            return Response(200, card.as_json(None))

    def _actions(self, request: Request) -> Response:
        card = self.card(request.params["card"])
        if card is None:
            return _missing(request.params["card"])
        wanted = request.arg("filter") or "all"
        limit = int(request.arg("limit") or 50)
        with self.lock:
            actions = [
                a for a in card.actions if wanted in ("all", a["type"], f"{a['type']}:closed")
            ]
            return Response(200, actions[:limit])


def _text(status: int, text: str) -> Response:
    return Response(status, text, content_type="text/plain")


def _missing(key: str) -> Response:
    if not re.fullmatch(r"[0-9a-fA-F]{24}|[0-9A-Za-z]{8}", key):
        return _text(400, "invalid id")
    return _text(404, "The requested resource was not found.")
