"""Contract-suite harness for the Trello connector (see tests/test_contract.py)."""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox

LAKESIDE_CARD = "64b7f0c2a1d3e4f5a6b7c801"


class TrelloHarness:
    platform = "trello"
    actions = ("archive_card",)
    failing_entity = {"resource": "card", "id": LAKESIDE_CARD}
    secrets = {
        "ADOFFBOARD_TEST_TRELLO_KEY": "trello-key-5b1f0e-SECRET",
        "ADOFFBOARD_TEST_TRELLO_TOKEN": "ATTA-trello-token-9c7d-SECRET",
    }

    def manifest(self) -> Manifest:
        return Manifest.model_validate(DEMO_CLIENT)

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["trello"],
            "api_key": "env:ADOFFBOARD_TEST_TRELLO_KEY",
            "token": "env:ADOFFBOARD_TEST_TRELLO_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        """Trello's 429 has no Retry-After: the connector waits for the 10-second window."""
        return [10.0]


HARNESS = TrelloHarness()
