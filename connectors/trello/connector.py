"""Trello: archive the client's card on the SEM QA board (REST over `requests`).

The card is named in the manifest (`trello.card_id`), or looked up on the board by the client's
name (or `trello.card_name`) among its open cards; more than one match is left to people. Before
anything else the card must be on the configured SEM QA board and carry the client's name (the
tenant guard). Archiving
is `PUT /1/cards/{id}?closed=true` (undone by closed=false); the outcome records the id of the
`updateCard` action Trello logs for it. Key and token travel in an `Authorization: OAuth ...`
header by default, so they never appear in a URL.

Throttling is HTTP 429 without Retry-After; the limits are per 10-second window (100 requests per
token), so the client keeps under them itself and, when refused, waits for the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adoffboard.config import Manifest
from adoffboard.connectors.base import (
    NO_CONTEXT,
    Connector,
    ConnectorContext,
    Journal,
    StepContext,
    StepDraft,
    Verdict,
    settle,
)
from adoffboard.connectors.declare import section
from adoffboard.connectors.transport import Calls, Throttle
from adoffboard.connectors.transport.rest import (
    GuardedSession,
    HttpStatusError,
    check_sandbox_refs,
    error_for,
    send,
)
from adoffboard.connectors.trello.declaration import DECLARATION, TrelloCard, TrelloSettings
from adoffboard.credentials import resolve
from adoffboard.errors import (
    AuthError,
    InputError,
    PlatformError,
    TenantMismatch,
)
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus, Phase

WINDOW_S = 10.0  # Trello's rate limits are per 10-second window
TOKEN_LIMIT = 100  # requests per window and token
CARD_FIELDS = "name,closed,idBoard,shortLink"


@dataclass(frozen=True)
class Card:
    id: str
    name: str
    closed: bool
    board_id: str
    short_link: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Card:
        return cls(
            str(data["id"]),
            str(data.get("name", "")),
            bool(data.get("closed")),
            str(data.get("idBoard", "")),
            str(data.get("shortLink", "")),
        )


@dataclass(frozen=True)
class BoardState:
    board_id: str
    looked_for: str  # the name a card must carry
    card: Card | None  # the client's card, when exactly one is known
    open_matches: tuple[Card, ...] = ()  # found by name: every open card that matches
    archived_matches: tuple[Card, ...] = ()  # found by name, none open: the archived ones
    by_id: bool = True
    read_at: dt.datetime | None = None


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def names_client(card_name: str, client: str) -> bool:
    return _norm(client) in _norm(card_name)


class TrelloConnector(Connector[BoardState]):
    declaration = DECLARATION
    reads_before_writing = True  # each change's live value, right before it is sent

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = TrelloSettings.model_validate(dict(ctx.settings))
        self.base = self.settings.endpoint.rstrip("/")
        self._session: GuardedSession | None = None
        self._secrets: tuple[str, ...] = ()
        self._call = Calls(
            ctx, self.calls, "Trello", throttle=Throttle(TOKEN_LIMIT, WINDOW_S, ctx.clock)
        )

    # --- transport ----------------------------------------------------------------------------

    def _http(self) -> GuardedSession:
        if self._session is None:
            s, root = self.settings, self.ctx.workspace_root
            check_sandbox_refs({"api_key": s.api_key, "token": s.token}, self.base)
            key, token = resolve(s.api_key, base=root).value, resolve(s.token, base=root).value
            self._secrets = (key, token)
            session = GuardedSession(
                "Trello", read_only=self.ctx.read_only, timeout=self.ctx.retry.timeout
            )
            if s.auth == "header":
                session.headers["Authorization"] = (
                    f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
                )
            else:
                session.params = {"key": key, "token": token}
            self._session = session
        return self._session

    def _request(
        self, kind: str, method: str, path: str, params: Mapping[str, str] | None = None
    ) -> Any:
        session = self._http()

        def attempt() -> Any:
            response = send(
                session, "Trello", method, self.base + path, self._secrets, params=params
            )
            if response.status_code >= 400:
                interval = response.headers.get("x-rate-limit-api-token-interval-ms")
                wait = float(interval) / 1000 if interval and interval.isdigit() else WINDOW_S
                raise error_for(
                    f"Trello {method} {path}", response, self._secrets, throttle_wait=wait
                )
            try:
                return response.json()
            except ValueError:
                raise PlatformError(f"Trello {method} {path}: answer is not JSON") from None

        return self._call(kind, attempt)

    def _read_card(self, card_id: str) -> Card | None:
        try:
            data = self._request("read", "GET", f"/1/cards/{card_id}", {"fields": CARD_FIELDS})
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise
        return Card.from_json(data)

    def _board_cards(self, which: str) -> list[Card]:
        data = self._request(
            "read",
            "GET",
            f"/1/boards/{self.settings.board_id}/cards/{which}",
            {"fields": CARD_FIELDS},
        )
        return [Card.from_json(c) for c in data]

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> BoardState:
        entry = section(manifest, "trello", TrelloCard)
        board = self.settings.board_id
        wanted = (entry.card_name if entry else "") or manifest.name
        now = self.ctx.clock.now()
        if entry is not None and entry.card_id:
            card = self._read_card(entry.card_id)
            if card is None:
                raise InputError(
                    f"Trello card {entry.card_id} does not exist "
                    "(check trello.card_id in the manifest)"
                )
            if card.board_id != board:
                raise TenantMismatch(
                    f"Trello card {card.id} ({card.name!r}) is on board "
                    f"{card.board_id}, not on the SEM QA board {board}: "
                    "refusing to touch it"
                )
            if not names_client(card.name, wanted):
                raise TenantMismatch(
                    f"Trello card {card.id} is named {card.name!r}, which does "
                    f"not name {wanted!r}: refusing to touch it"
                )
            return BoardState(board, wanted, card, read_at=now)
        matches = tuple(c for c in self._board_cards("open") if names_client(c.name, wanted))
        if len(matches) == 1:
            return BoardState(board, wanted, matches[0], matches, by_id=False, read_at=now)
        archived: tuple[Card, ...] = ()
        if not matches:
            archived = tuple(c for c in self._board_cards("closed") if names_client(c.name, wanted))
        return BoardState(board, wanted, None, matches, archived, by_id=False, read_at=now)

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: BoardState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        if action != "archive_card":
            return StepDraft()
        return plan_archive(state, step_id)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for ch in changes:
            card = self._read_card(ch.entity_id)
            live: Any = None
            if card is not None:
                live = card.closed if card.board_id == ch.account else f"board {card.board_id}"
            settled = settle(ch, live)
            if settled is not None:
                journal.record([settled])
                outcomes.append(settled)
                continue
            journal.intend([ch])
            outcome = self._set_closed(ch)
            journal.record([outcome])
            outcomes.append(outcome)
        return outcomes

    def _set_closed(self, ch: Change) -> Outcome:
        value = "true" if ch.after else "false"
        try:
            self._request("write", "PUT", f"/1/cards/{ch.entity_id}", {"closed": value})
        except PlatformError as exc:
            return Outcome(ch.id, OutcomeStatus.FAILED, message=str(exc))
        return Outcome(
            ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=self._action_id(ch.entity_id)
        )

    def _action_id(self, card_id: str) -> str:
        """The id of the `updateCard` action Trello logged for the change: the audit trail."""
        try:
            actions = self._request(
                "read",
                "GET",
                f"/1/cards/{card_id}/actions",
                {"filter": "updateCard:closed", "limit": "1"},
            )
        except (PlatformError, AuthError):
            return ""
        return str(actions[0]["id"]) if actions else ""

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: BoardState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        if action != "archive_card":
            raise InputError(f"trello has no action {action!r}")
        return verify_archive(state)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


# --- pure planning and judging -----------------------------------------------------------------


def _listing(cards: Sequence[Card]) -> str:
    return "; ".join(f"{c.name!r} ({c.id})" for c in cards[:10])


def plan_archive(state: BoardState, step_id: str) -> StepDraft:
    card = state.card
    if card is None:
        if len(state.open_matches) > 1:
            return StepDraft(
                manual_items=(
                    f"{len(state.open_matches)} open cards on the SEM QA board match "
                    f"{state.looked_for!r}: archive the client's card by hand, or name it in the "
                    f"manifest (trello.card_id): {_listing(state.open_matches)}",
                )
            )
        if state.archived_matches:
            return StepDraft(notes=(f"already archived: {_listing(state.archived_matches)}",))
        return StepDraft(
            manual_items=(
                f"no card named like {state.looked_for!r} on the SEM QA board: check the board "
                "by hand (or set trello.card_id / trello.card_name in the manifest)",
            )
        )
    if card.closed:
        return StepDraft(notes=(f"card {card.name!r} is already archived",))
    return StepDraft(
        (
            Change(
                id=f"trello:{state.board_id}:card:{card.id}:closed",
                step_id=step_id,
                platform="trello",
                account=state.board_id,
                entity_type="card",
                entity_id=card.id,
                name=card.name,
                field="closed",
                before=False,
                after=True,
                shown_before="open",
                shown_after="archived",
                phase=Phase.VISIBILITY,
                resource=f"/1/cards/{card.id}",
            ),
        ),
        notes=() if state.by_id else (f"card found on the board by name: {card.name!r}",),
    )


def verify_archive(state: BoardState) -> Verdict:
    card = state.card
    if card is not None:
        if card.closed:
            return Verdict(CheckStatus.PASS, f"card {card.name!r} is archived")
        return Verdict(
            CheckStatus.FAIL,
            f"card {card.name!r} is still open on the board",
            (f"/1/cards/{card.id}",),
        )
    if len(state.open_matches) > 1:
        return Verdict(
            CheckStatus.MANUAL_PENDING,
            f"{len(state.open_matches)} open cards match {state.looked_for!r}",
            tuple(f"{c.name} ({c.id})" for c in state.open_matches),
        )
    if state.archived_matches:
        return Verdict(
            CheckStatus.PASS,
            f"no open card named like {state.looked_for!r}; archived: "
            f"{_listing(state.archived_matches)}",
        )
    return Verdict(
        CheckStatus.MANUAL_PENDING,
        f"no card named like {state.looked_for!r} on the board: check by hand",
    )
