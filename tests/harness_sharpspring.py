"""Contract-suite harness for the SharpSpring connector (see tests/test_contract.py).

Its one write is the final export: a CSV file and an email to the Account Manager, made from the
same `getLeads` pages its plan counts. So it uses the contract's two optional hooks: the
`[notifications]` settings of the sandbox's SMTP server, and a partial failure that lets the
plan's three counting pages (1,234 contacts) through and fails the export's first page.
"""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest, NotificationsSection
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox

ACCOUNT = "7A3F9C21D0"


class SharpSpringHarness:
    platform = "sharpspring"
    standins = ("sharpspring", "smtp")  # the export is mailed
    actions = ("export_contacts",)
    failing_entity = {"resource": "contact_list", "id": ACCOUNT}
    partial_failure_after = 3  # read_state's pages: offsets 0, 500, 1000
    secrets = {"ADOFFBOARD_TEST_SHARPSPRING_SECRET": "ss-secret-8f2e77a1-SECRET"}

    def manifest(self) -> Manifest:
        return Manifest.model_validate(DEMO_CLIENT)

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["sharpspring"],
            "secret_key": "env:ADOFFBOARD_TEST_SHARPSPRING_SECRET",
        }

    def notifications(self, sandbox: Sandbox) -> NotificationsSection:
        return NotificationsSection(
            sender="adoffboard@agency.example", **sandbox.notification_settings()
        )

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        """Error 107 (per-second limit) carries no delay: the connector waits one second."""
        return [1.0]


HARNESS = SharpSpringHarness()
