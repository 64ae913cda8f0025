"""Contract-suite harness for the Google Sheets trackers connector (see tests/test_contract.py).

Its actions need a tracker, so it lists `steps`; the demo client is written differently in the
Belize Tracker (the manifest's `trackers` override), which is the row the partial failure hits.
"""

from __future__ import annotations

from typing import Any

from adoffboard.config import Manifest
from adoffboard.connectors.base import StepContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import Sandbox

CONTEXT = StepContext(
    effective_date="2026-12-01",
    process="cancellation",
    scope="platform",
    department="SEM",
    runbook="sem-cancellation",
)


class SheetsHarness:
    platform = "sheets"
    actions = ("remove_row", "append_row", "set_cell")
    steps = (
        ("client-tracker", "remove_row", {"tracker": "client_tracker"}),
        ("belize", "remove_row", {"tracker": "belize_tracker"}),
        ("planner", "append_row", {"tracker": "planner"}),
        ("offboarding", "append_row", {"tracker": "digms_offboarding"}),
        ("ma-date", "set_cell", {"tracker": "ma_client_tracker", "cell": "cancellation_date"}),
        ("ma-paused", "set_cell", {"tracker": "ma_client_sheet", "cell": "paused"}),
    )
    context = CONTEXT  # the plan-wide facts its rows are written from
    failing_entity = {"resource": "row", "id": "Lakeside Powersports LLC"}
    secrets = {"ADOFFBOARD_TEST_SHEETS_TOKEN": "ya29.sheets-SECRET-9d0e"}

    def manifest(self) -> Manifest:
        return Manifest.model_validate(DEMO_CLIENT)

    def settings(self, sandbox: Sandbox) -> dict[str, Any]:
        return {
            **sandbox.platform_settings()["sheets"],
            "access_token": "env:ADOFFBOARD_TEST_SHEETS_TOKEN",
        }

    def sleeps_for(self, retry_delay_s: float) -> list[float]:
        """The stand-in's 429 carries a RetryInfo delay: the connector waits exactly that."""
        return [float(retry_delay_s)]


HARNESS = SheetsHarness()
