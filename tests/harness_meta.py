"""Contract-suite harness for the Meta connector (see tests/test_contract.py)."""

from __future__ import annotations

import math
from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox

APP_SECRET = "meta-app-secret-SECRET-5d21"
TOKEN = "EAAGmeta-token-SECRET-0c7e"


class MetaHarness:
    platform = "meta"
    actions = ("pause_campaigns", "disable_rules")
    failing_entity = {"resource": "campaign", "id": "120210000000102"}
    secrets = {"ADOFFBOARD_TEST_META_APP_SECRET": APP_SECRET, "ADOFFBOARD_TEST_META_TOKEN": TOKEN}

    def manifest(self) -> Manifest:
        return Manifest.model_validate(DEMO_CLIENT)

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        sandbox.meta.app_secret = APP_SECRET  # the stand-in checks appsecret_proof with it
        return {
            **sandbox.platform_settings()["meta"],
            "app_secret": "env:ADOFFBOARD_TEST_META_APP_SECRET",
            "access_token": "env:ADOFFBOARD_TEST_META_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        """Meta states throttles in whole minutes (estimated_time_to_regain_access)."""
        return [60.0 * math.ceil(retry_delay_s / 60)]


HARNESS = MetaHarness()
