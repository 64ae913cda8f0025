"""Contract-suite harness for the Search Console connector (see tests/test_contract.py)."""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox
from adoffboard.workspace_init import workspace_document

AGENCY = workspace_document()["agency"]["identities"]


class SearchConsoleHarness:
    platform = "search_console"
    actions = ("remove_access",)
    failing_entity = {"resource": "site", "id": "https://www.lakesidepowersports.example/"}
    secrets = {"ADOFFBOARD_TEST_SC_TOKEN": "ya29.search_console-SECRET-5d1e"}

    def manifest(self) -> Manifest:
        # the contract's context carries no [agency] identities: the manifest names them
        return Manifest.model_validate({**DEMO_CLIENT, "remove_identities": AGENCY})

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["search_console"],
            "access_token": "env:ADOFFBOARD_TEST_SC_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        return [float(retry_delay_s)]


HARNESS = SearchConsoleHarness()
