"""Contract-suite harness for the Google Ads connector (see tests/test_contract.py)."""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox


class GoogleAdsHarness:
    platform = "google_ads"
    actions = ("pause_campaigns", "budgets_to_floor", "hide_account")
    failing_entity = {"resource": "campaign", "id": "9002"}

    def manifest(self) -> Manifest:
        return Manifest.model_validate(DEMO_CLIENT)

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["google_ads"],
            "developer_token": "env:ADOFFBOARD_TEST_DEV_TOKEN",
            "access_token": "env:ADOFFBOARD_TEST_ACCESS_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        """What the connector sleeps when the stand-in throttles once with this delay."""
        return [float(retry_delay_s)]


HARNESS = GoogleAdsHarness()
