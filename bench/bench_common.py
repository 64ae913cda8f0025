"""What every benchmark's workspace needs besides the platform it measures: the runbook's tracker
steps (the demo's Google Sheets trackers) and the approved change request `apply` requires."""

from __future__ import annotations

from typing import Any

from adoffboard.engine import Env
from adoffboard.sandbox import DEMO_SCENARIO
from adoffboard.sandbox.core import load_scenario
from adoffboard.store import Store

CLIENT = "bench-client"


def with_trackers(scenario: dict[str, Any]) -> dict[str, Any]:
    return {**scenario, "sheets": load_scenario(DEMO_SCENARIO)["sheets"]}


def approve_cancellation(env: Env, store: Store, client: str = CLIENT) -> None:
    """The change request `apply` requires, through the agency's chain (not timed)."""
    from adoffboard.cr.service import ChangeRequests

    service = ChangeRequests(store, env.workspace)
    cr = service.create(
        "dana",
        {"client": client, "type": "cancellation", "effective_date": env.today().isoformat()},
    )
    service.submit(cr.id, "dana")
    for person in ("jeremy", "dustin", "accounting"):
        service.approve(cr.id, person)
