"""Contract-suite harness for the Tag Manager connector (see tests/test_contract.py)."""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox
from adoffboard.workspace_init import workspace_document

AGENCY = workspace_document()["agency"]["identities"]


class TagManagerHarness:
    platform = "tag_manager"
    actions = ("remove_access",)
    failing_entity = {"resource": "permission", "id": "102"}
    secrets = {"ADOFFBOARD_TEST_GTM_TOKEN": "ya29.gtm-SECRET-8b20"}

    def manifest(self) -> Manifest:
        # the contract's context carries no [agency] identities: the manifest names them
        return Manifest.model_validate({**DEMO_CLIENT, "remove_identities": AGENCY})

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["tag_manager"],
            "access_token": "env:ADOFFBOARD_TEST_GTM_TOKEN",
            "min_interval_s": 4.0,
        }  # the real quota: 0.25 requests/s per project

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        # accounts.get is throttled once and retried after the delay (longer than the 4 s
        # window, so no extra wait); user_permissions.list then waits its 4 s turn
        return [float(retry_delay_s), 4.0]


HARNESS = TagManagerHarness()
