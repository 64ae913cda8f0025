"""What the Google Sheets connector tests share: the demo client, a connector on the sandbox with
an injected clock and journal, and a plan of one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import Connector, ConnectorContext, StepContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox

MANIFEST = Manifest.model_validate(DEMO_CLIENT)
CONTEXT = {
    "effective_date": "2026-12-01",
    "process": "cancellation",
    "scope": "dm",
    "department": "SEM",
    "runbook": "sem-cancellation",
}
APPLIED, ALREADY, DRIFT, FAILED = (
    OutcomeStatus.APPLIED,
    OutcomeStatus.ALREADY,
    OutcomeStatus.DRIFT,
    OutcomeStatus.FAILED,
)


@dataclass
class Journal:
    order: list[str] = field(default_factory=list)

    def intend(self, changes: list[Change]) -> None:
        self.order += [f"intent:{c.id}" for c in changes]

    def record(self, outcomes: list[Outcome]) -> None:
        self.order += [f"outcome:{o.change_id}" for o in outcomes]


def connect(
    sandbox: Sandbox,
    tmp_path: Path,
    *,
    read_only: bool,
    clock: FakeClock | None = None,
    uses: tuple[tuple[str, dict[str, Any]], ...] = (),
    **overrides: Any,
) -> Connector:
    settings = {**sandbox.platform_settings()["sheets"], **overrides}
    ctx = ConnectorContext(
        settings=settings,
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=4, timeout=10),
        uses=uses,
    )
    connector = build("sheets", ctx)
    connector.read_state(MANIFEST)
    return connector


def plan(
    connector: Connector, action: str, context: dict[str, Any] | None = None, **params: Any
) -> list[Change]:
    state = connector.read_state(MANIFEST)
    draft = connector.plan(action, params, state, "step", StepContext(**(context or CONTEXT)))
    return list(draft.changes)


def first_column(sandbox: Sandbox, tracker: str) -> list[str]:
    return [r[0] if r else "" for r in sandbox.sheets.rows(tracker)]
