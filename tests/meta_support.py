"""What the Meta connector tests share: the demo ad account, a connector on the Graph stand-in with
an injected clock, and helpers to plan and to read the batches sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import Connector, ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.models import Change, Outcome
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.meta import MetaStandIn

LAKESIDE = "act_1029384756"
AGENCY = "100200300400500"
PROSPECTING, RETARGETING = "120210000000101", "120210000000102"


def many_campaigns(n: int) -> dict[str, Any]:
    section = MetaStandIn.generate_account(0, account_id=LAKESIDE, name="Lakeside Powersports")
    section["ad_accounts"][0]["campaigns"] = [
        {"id": str(120_500_000_000_000 + i), "name": f"Campaign {i}", "status": "ACTIVE"}
        for i in range(n)
    ]
    section["ad_accounts"][0]["rules"] = []
    return section


def connect(
    box: Sandbox,
    tmp_path: Path,
    *,
    read_only: bool = False,
    clock: FakeClock | None = None,
    progress: Callable[[str], None] = lambda line: None,
    **settings: Any,
) -> Connector:
    ctx = ConnectorContext(
        settings={**box.platform_settings()["meta"], **settings},
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=4, timeout=10),
        progress=progress,
    )
    return build("meta", ctx)


def manifest(**meta: str) -> Manifest:
    return Manifest.model_validate({**DEMO_CLIENT, "meta": {**DEMO_CLIENT["meta"], **meta}})


def plan(connector: Connector, state: Any, *actions: str) -> list[Any]:
    return [c for a in actions for c in connector.plan(a, {}, state, a).changes]


def batches(box: Sandbox) -> list[Any]:
    return [e for e in box.log.entries("meta") if e.method == "batch"]


def items(box: Sandbox) -> list[Any]:
    return [e for e in box.log.entries("meta") if e.service == "graph-batch"]


def campaign_fault(kind: str, campaign_id: str, **rule: Any) -> FaultRule:
    """A fault aimed at one campaign's update inside a Graph batch."""
    return FaultRule(
        kind=kind,
        platform="meta",
        method="update_object",
        match={"resource": "campaign", "id": campaign_id},
        **rule,
    )


def pause_all(box: Sandbox, tmp_path: Path) -> tuple[FakeClock, list[Change], list[Outcome]]:
    """Read, plan `pause_campaigns` and apply it with a fresh connector on an injected clock."""
    from test_contract import MemoryJournal

    clock = FakeClock()
    writer = connect(box, tmp_path, clock=clock)
    changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
    return clock, changes, writer.apply(changes, MemoryJournal())
