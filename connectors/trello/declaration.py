"""Trello, declared: its action, `[platforms.trello]` and the manifest's `trello`.

FACTS the connector relies on, each with the vendor page it comes from:

- A card is archived with `PUT /1/cards/{id}` `closed=true` (undone with `closed=false`) and read
  back with `GET /1/cards/{id}?fields=closed`; a board's open or archived cards are
  `GET /1/boards/{id}/cards/{filter}`
  (https://developer.atlassian.com/cloud/trello/rest/api-group-cards/,
  https://developer.atlassian.com/cloud/trello/rest/api-group-boards/).
- Rate limits are per 10-second window (300 requests per API key, 100 per token); a throttled call
  answers 429, without Retry-After
  (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/).
- Key and token travel in an `Authorization: OAuth oauth_consumer_key=..., oauth_token=...`
  header, never in the URL, so they never reach a log
  (https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adoffboard.connectors.declare import (
    SECRET,
    ActionSpec,
    Attempts,
    Claim,
    Declaration,
    ManifestSection,
    SettingsModel,
    TimeoutSeconds,
    check_references,
)
from adoffboard.models import Phase


class TrelloSettings(SettingsModel):
    endpoint: str = "https://api.trello.com"
    api_key: str = Field(json_schema_extra=SECRET)  # credential references
    token: str = Field(json_schema_extra=SECRET)
    board_id: str = Field(pattern=r"^[0-9a-fA-F]{24}$")  # the SEM QA board (its 24-hex id)
    auth: Literal["header", "query"] = "header"  # OAuth header keeps key and token out of URLs
    timeout_s: TimeoutSeconds = 30.0
    attempts: Attempts = 5

    @field_validator("api_key", "token")
    @classmethod
    def _refs(cls, value: str) -> str:
        check_references({"reference": value})
        return value


class TrelloCard(SettingsModel):
    # the card's id (24 hex) or short link (8 characters); without it, the card is looked up on
    # the SEM QA board by `card_name` (default: the client's name), and must be the only match
    card_id: str = Field(default="", pattern=r"^$|^[0-9a-fA-F]{24}$|^[A-Za-z0-9]{8}$")
    card_name: str = ""


DECLARATION = Declaration(
    platform="trello",
    title="Trello",
    module="adoffboard.connectors.trello.connector",
    cls="TrelloConnector",
    settings=TrelloSettings,
    actions={
        "archive_card": ActionSpec(
            "archive the client's card on the SEM QA board", Phase.VISIBILITY
        ),
    },
    manifest_key="trello",
    manifest=(ManifestSection("trello", TrelloCard, claims=(Claim("Trello card", "card_id"),)),),
)
