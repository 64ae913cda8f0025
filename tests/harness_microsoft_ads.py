"""Contract-suite harness for the Microsoft Advertising connector (see tests/test_contract.py)."""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox


class MicrosoftAdsHarness:
    platform = "microsoft_ads"
    actions = ("pause_campaigns", "budgets_to_floor")
    # Lakeside's shared budget: one change only (its campaigns' pauses are separate entities)
    failing_entity = {"resource": "budget", "id": "8801"}

    def manifest(self) -> Manifest:
        return Manifest.model_validate(DEMO_CLIENT)

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["microsoft_ads"],
            "developer_token": "env:ADOFFBOARD_TEST_DEV_TOKEN",
            "access_token": "env:ADOFFBOARD_TEST_ACCESS_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        """Error 117 CallRateExceeded carries no delay: the documented wait is 60 s."""
        return [60.0]


HARNESS = MicrosoftAdsHarness()
