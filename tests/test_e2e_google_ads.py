"""End to end through the CLI against the Google Ads stand-in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Cli, approved_cr, edit_manifest

from adoffboard.cli import EXIT_DRIFT, EXIT_OK, EXIT_SAFETY, EXIT_VERIFY_PENDING
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

CID, MCC = "1234567890", "1112223333"


def plan_file(
    cli: Cli,
    tmp_path: Path,
    scope: str = "dm",
    client: str = "lakeside-powersports",
    sandbox: Sandbox | None = None,
):
    """Plan (a dry run); with `sandbox`, first have the change request approved, so that the plan
    can be applied (the approval notice is the only traffic, and the log is cleared after it)."""
    if sandbox is not None:
        approved_cr(cli, client, scope=scope, sandbox=sandbox)
    out = tmp_path / f"{client}-{scope}.json"
    result = cli("plan", client, "-r", "sem-cancellation", "--scope", scope, "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    return out, json.loads(out.read_text())


def test_dry_run_sends_zero_mutating_calls(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, plan = plan_file(cli, tmp_path, scope="platform")
    assert sandbox.log.mutating() == []
    reads = sandbox.log.entries("google_ads")
    assert reads and {e.method for e in reads} <= {"Search", "SearchStream"}
    changes = [c for s in plan["steps"] for c in s["changes"]]
    assert {(c["entity_type"], c["entity_id"]) for c in changes if c["entity_type"] == "campaign"}
    assert len(plan["sha256"]) == 64 and plan["manifest_hash"] and plan["runbook_version"] == 2
    manual = [s for s in plan["steps"] if s["kind"] == "manual"]
    assert manual and all(s["manual"]["owner"] for s in manual)
    # nothing changed in the sandbox either
    assert sandbox.google_ads.state.campaign(CID, "9001").status == "ENABLED"


def test_apply_then_verify_then_apply_again(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, plan = plan_file(cli, tmp_path, sandbox=sandbox)
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    state = sandbox.google_ads.state
    assert state.campaign(CID, "9001").status == "PAUSED"
    assert state.campaign(CID, "9006").status == "ENABLED"  # VIDEO: manual
    assert state.campaign(CID, "9007").status == "REMOVED"
    assert state.budget(CID, "5001").amount_micros == 10_000
    assert state.budget(CID, "5003").total_amount_micros == 10_000
    assert state.budget(CID, "5004").amount_micros == 5_000_000  # Demand Gen floor
    assert state.client_link(MCC, CID).hidden is True
    assert state.manager_link(CID, MCC).status == "ACTIVE"  # dm scope keeps the link
    mutates = [e for e in sandbox.log.mutating() if e.method == "Mutate"]
    assert len(mutates) == 1  # one Mutate for the whole account

    verified = cli("--json", "verify", "lakeside-powersports")
    report = json.loads(verified.output)
    by_step = {c["step_id"]: c["status"] for c in report["checks"]}
    assert by_step["google-ads-pause"] == "MANUAL-PENDING"  # the VIDEO campaign is left to people
    assert by_step["google-ads-budgets"] == "PASS"
    assert by_step["google-ads-hide"] == "PASS"
    assert by_step["juniper-google-ads"] == "SKIPPED"
    assert by_step["fluency-hold"] == "MANUAL-PENDING"
    assert verified.exit_code == EXIT_VERIFY_PENDING

    before = len(sandbox.log.mutating())
    again = cli("--json", "apply", str(out))
    assert again.exit_code == EXIT_OK, again.output
    assert len(sandbox.log.mutating()) == before  # nothing sent the second time
    statuses = {
        s["outcome"]["status"]
        for st in json.loads(again.output)["steps"]
        for s in st["changes"]
        if s.get("outcome")
    }
    assert statuses == {"already"}


def test_drift_is_reported_not_overwritten(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, _ = plan_file(cli, tmp_path, sandbox=sandbox)
    sandbox.google_ads.state.set_budget_amount(CID, "5001", 30_000_000)  # someone edits it
    sandbox.google_ads.state.set_campaign_status(CID, "9002", "PAUSED")  # someone pauses it
    result = cli("--json", "apply", str(out))
    assert result.exit_code == EXIT_DRIFT, result.output
    assert sandbox.google_ads.state.budget(CID, "5001").amount_micros == 30_000_000
    report = json.loads(result.output)
    outcomes = {c["id"]: c["outcome"]["status"] for s in report["steps"] for c in s["changes"]}
    assert outcomes[f"google_ads:{CID}:campaign_budget:5001:amount_micros"] == "drift"
    assert outcomes[f"google_ads:{CID}:campaign:9002:status"] == "already"
    assert outcomes[f"google_ads:{CID}:campaign:9001:status"] == "applied"


def test_tenant_guard_refuses_a_mismatched_account(
    cli: Cli, workspace: Path, sandbox: Sandbox
) -> None:
    edit_manifest(workspace, "lakeside-powersports", google_ads__expected_name="Lakeside Marine")
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation")
    assert result.exit_code == EXIT_SAFETY
    assert "named 'Lakeside Powersports'" in result.output
    assert "Traceback" not in result.output
    assert sandbox.log.mutating() == []


def test_tenant_guard_at_apply(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, _ = plan_file(cli, tmp_path, sandbox=sandbox)
    sandbox.google_ads.state.customer(CID).descriptive_name = "Someone Else Motors"
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_SAFETY
    assert "Someone Else Motors" in result.output
    assert sandbox.log.mutating() == []


def test_leaving_the_platform_unlinks_last(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, _ = plan_file(cli, tmp_path, scope="platform", sandbox=sandbox)
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    methods = [e.method for e in sandbox.log.mutating("google_ads")]
    assert methods[-1] == "MutateCustomerManagerLink"
    assert sandbox.google_ads.state.manager_link(CID, MCC).status == "INACTIVE"
    verified = cli("--json", "verify", "lakeside-powersports")
    by_step = {c["step_id"]: c for c in json.loads(verified.output)["checks"]}
    assert by_step["juniper-google-ads"]["status"] == "PASS"
    assert by_step["google-ads-budgets"]["status"] == "PASS"
    assert "before the agency's access was removed" in by_step["google-ads-budgets"]["detail"]


def test_killed_mid_apply_then_resume(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    out, _ = plan_file(cli, tmp_path, sandbox=sandbox)
    # The Mutate is applied, then its answer is held back long enough to kill the client.
    sandbox.faults.add(
        FaultRule(
            kind="latency",
            platform="google_ads",
            method="Mutate",
            latency_ms=20_000,
            times=1,
            match={"phase": "after_apply"},
        )
    )
    env = {**os.environ, "ADOFFBOARD_WORKSPACE": str(workspace)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "adoffboard.cli", "-q", "apply", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while not any(e.method == "Mutate" for e in sandbox.log.mutating()):
        assert time.monotonic() < deadline, "apply never sent its Mutate"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert sandbox.google_ads.state.campaign(CID, "9001").status == "PAUSED"

    history = json.loads(cli("--json", "history", "lakeside-powersports").output)
    run_id = history[0]["id"]
    assert history[0]["status"] == "running"
    resumed = cli("--json", "resume", run_id)
    assert resumed.exit_code == EXIT_OK, resumed.output
    mutates = [e.method for e in sandbox.log.mutating()]
    assert mutates.count("Mutate") == 1  # campaigns and budgets were not sent twice
    assert mutates.count("MutateCustomerClientLink") == 1
    assert sandbox.google_ads.state.client_link(MCC, CID).hidden is True
    report = json.loads(resumed.output)
    outcomes = [c["outcome"]["status"] for s in report["steps"] for c in s["changes"]]
    assert set(outcomes) <= {"applied", "already"}


def test_run_asks_for_the_clients_name(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    result = cli("run", "lakeside-powersports", "-r", "sem-cancellation", input="Wrong Name\n")
    assert result.exit_code == EXIT_SAFETY
    assert sandbox.log.mutating() == []
    result = cli(
        "run", "lakeside-powersports", "-r", "sem-cancellation", input="Lakeside Powersports\n"
    )
    assert result.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING), result.output
    assert sandbox.google_ads.state.campaign(CID, "9001").status == "PAUSED"


@pytest.mark.parametrize("future", ["2099-01-01"])
def test_future_effective_date_is_not_applied_early(
    cli: Cli, tmp_path: Path, sandbox: Sandbox, future: str
) -> None:
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out = tmp_path / "future.json"
    assert (
        cli(
            "plan",
            "lakeside-powersports",
            "-r",
            "sem-cancellation",
            "--effective",
            future,
            "-o",
            str(out),
        ).exit_code
        == EXIT_OK
    )
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_SAFETY and "takes effect on 2099-01-01" in result.output
    assert sandbox.log.mutating() == []


def test_verify_sees_script_activity_after_the_run(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    out, _ = plan_file(cli, tmp_path, sandbox=sandbox)
    assert cli("apply", str(out)).exit_code == EXIT_OK
    checks = {
        c["step_id"]: c
        for c in json.loads(cli("--json", "verify", "lakeside-powersports").output)["checks"]
    }
    assert checks["google-ads-disable-scripts"]["status"] == "MANUAL-PENDING"
    assert "no script or rule activity" in checks["google-ads-disable-scripts"]["detail"]
    sandbox.google_ads.state.add_change_event(
        CID, client_type="GOOGLE_ADS_SCRIPTS", resource_name=f"customers/{CID}/campaigns/9001"
    )
    result = cli("--json", "verify", "lakeside-powersports")
    checks = {c["step_id"]: c for c in json.loads(result.output)["checks"]}
    assert checks["google-ads-disable-scripts"]["status"] == "FAIL"
    assert checks["google-ads-remove-scripts"]["status"] == "FAIL"
    assert result.exit_code == 12


def test_request_ids_are_journaled(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, _ = plan_file(cli, tmp_path, sandbox=sandbox)
    report = json.loads(cli("--json", "apply", str(out)).output)
    ids = {
        c["outcome"]["request_id"]
        for s in report["steps"]
        for c in s["changes"]
        if c.get("outcome") and c["outcome"]["status"] == "applied"
    }
    assert ids and all(ids)


@pytest.mark.parametrize("scope", ["dm", "platform"])
def test_a_run_asks_the_change_history_once_beside_a_read(
    cli: Cli, sandbox: Sandbox, scope: str
) -> None:
    """The scripts check is judged once per run: by the check before the removals (leaving the
    platform) or by the verify pass (digital marketing services only), its query sent with
    that pass's read of the account, never a second one for another window."""
    approved_cr(cli, "lakeside-powersports", scope=scope, sandbox=sandbox)
    result = cli("--json", "run", "lakeside-powersports", "-r", "sem-cancellation", "--yes")
    assert result.exit_code == EXIT_VERIFY_PENDING, result.output
    reads = [e.detail.split(":")[0] for e in sandbox.log.entries("google_ads") if not e.mutating]
    assert reads.count("change_event") == 1
