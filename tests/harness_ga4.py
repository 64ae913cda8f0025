"""Contract-suite harness for the Google Analytics 4 connector (see tests/test_contract.py)."""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox
from adoffboard.workspace_init import workspace_document

AGENCY = workspace_document()["agency"]["identities"]


class GA4Harness:
    platform = "ga4"
    actions = ("remove_access",)
    failing_entity = {"resource": "binding", "id": "p1-analytics"}
    secrets = {"ADOFFBOARD_TEST_GA4_TOKEN": "ya29.ga4-SECRET-5d1e"}

    def manifest(self) -> Manifest:
        # the contract's context carries no [agency] identities: the manifest names them
        return Manifest.model_validate({**DEMO_CLIENT, "remove_identities": AGENCY})

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["ga4"],
            "access_token": "env:ADOFFBOARD_TEST_GA4_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        return [float(retry_delay_s)]


HARNESS = GA4Harness()
