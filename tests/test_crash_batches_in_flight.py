"""A leaving-the-platform run killed while several Meta batches are on the wire at once, then
resumed: every batch was journaled (intent) before it left, so the resume reads the account again,
settles what landed, sends only the rest, and the run ends as an uninterrupted one does. Through the
CLI, in a subprocess the Meta stand-in SIGKILLs when the second batch arrives (the first and third
are in flight beside it and may or may not land)."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, approved_cr
from meta_support import many_campaigns

from adoffboard.config import load_workspace
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.store import Store

LAKESIDE = "lakeside-powersports"
CAMPAIGNS = 150  # three batches of 50, on the wire together (batches_in_flight: 10)


@pytest.fixture
def scenario(_demo_scenario: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(_demo_scenario)
    data["meta"] = many_campaigns(CAMPAIGNS)
    return data


@pytest.mark.parametrize("phase", ["before_apply", "after_apply"])
def test_a_kill_with_batches_in_flight_is_finished_by_resume(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox, phase: str
) -> None:
    approved_cr(cli, LAKESIDE, scope="platform", sandbox=sandbox)
    plan = tmp_path / "sem.json"
    made = cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(plan))
    assert made.exit_code == 0, made.output
    argv = [sys.executable, "-m", "adoffboard.cli", "-w", str(workspace), "-q"]
    apply = subprocess.Popen(
        [*argv, "apply", str(plan)],
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sandbox.faults.add(
        FaultRule(
            kind="kill",
            platform="meta",
            method="batch",
            after=1,
            times=1,
            pid=apply.pid,
            mutating_only=True,
            match={"phase": phase},
        )
    )
    try:
        apply.communicate(timeout=240)
    finally:
        sandbox.faults.clear()
    assert apply.returncode == -signal.SIGKILL
    batches = [e for e in sandbox.log.mutating("meta") if e.method == "batch"]
    assert len(batches) >= 2  # the kill came with a batch beside another

    with Store.open(load_workspace(workspace).store_url) as store:
        run_id = store.runs(LAKESIDE)[0].id
    resumed = cli("--json", "resume", run_id)
    assert resumed.exit_code in (0, 13), resumed.output  # 13: manual lines pending

    account = sandbox.meta.accounts["act_1029384756"]
    statuses = Counter(c.status for c in account.campaigns.values())
    assert statuses == Counter({"PAUSED": CAMPAIGNS})
    report = json.loads(resumed.output)
    meta_lines = [c for c in report["checks"] if c["step_id"].startswith("meta")]
    assert meta_lines and all(c["status"] == "PASS" for c in meta_lines), meta_lines
    # a status update is idempotent: a batch in doubt at the kill may be sent again, never more
    per_campaign = Counter(
        entity
        for e in sandbox.log.mutating("meta")
        if e.service == "graph-batch"
        for entity in e.entities
    )
    assert len(per_campaign) >= CAMPAIGNS and max(per_campaign.values()) <= 2
