"""End to end through the CLI: the Meta lines of the SEM cancellation against the Graph stand-in."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import tomli_w
from conftest import Cli, approved_cr
from test_e2e_google_ads import plan_file
from test_meta_throttle import headerless_throttle

from adoffboard.cli import EXIT_OK, EXIT_TRANSIENT
from adoffboard.sandbox import Sandbox

LAKESIDE, AGENCY = "act_1029384756", "100200300400500"
META_STEPS = ("meta-pause", "meta-disable-rules", "meta-remove-agency")


def test_plan_is_a_dry_run_with_the_budget_note(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    _, plan = plan_file(cli, tmp_path, scope="platform")
    assert sandbox.log.mutating() == []
    assert {e.method for e in sandbox.log.entries("meta")} <= {
        "get_account",
        "list_campaigns",
        "list_adsets",
        "list_rules",
        "list_agencies",
    }
    steps = {s["step_id"]: s for s in plan["steps"]}
    assert all(steps[i]["kind"] == "automated" for i in META_STEPS)
    assert any("budgets are left as they are" in n for n in steps["meta-pause"]["notes"])
    assert all(c["field"] == "status" for c in steps["meta-pause"]["changes"])
    assert [c["phase"] for c in steps["meta-remove-agency"]["changes"]] == ["access"]


def test_dm_scope_keeps_the_agency(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out, plan = plan_file(cli, tmp_path)
    steps = {s["step_id"]: s for s in plan["steps"]}
    assert steps["meta-remove-agency"]["kind"] == "skipped"
    assert cli("apply", str(out)).exit_code == EXIT_OK
    account = sandbox.meta.accounts[LAKESIDE]
    assert {c.status for c in account.campaigns.values()} == {"PAUSED", "ARCHIVED", "DELETED"}
    assert AGENCY in account.agencies
    verified = json.loads(cli("--json", "verify", "lakeside-powersports").output)
    by_step = {c["step_id"]: c for c in verified["checks"]}
    assert by_step["meta-pause"]["status"] == "PASS"
    assert by_step["meta-disable-rules"]["status"] == "PASS"


def test_leaving_the_platform_removes_the_agency_last(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    approved_cr(cli, "lakeside-powersports", scope="platform", sandbox=sandbox)
    out, _ = plan_file(cli, tmp_path, scope="platform")
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    meta_writes = [e.method for e in sandbox.log.mutating("meta")]
    assert meta_writes[-1] == "remove_agency" and meta_writes.count("remove_agency") == 1
    assert AGENCY not in sandbox.meta.accounts[LAKESIDE].agencies
    verified = json.loads(cli("--json", "verify", "lakeside-powersports").output)
    by_step = {c["step_id"]: c for c in verified["checks"]}
    assert by_step["meta-remove-agency"]["status"] == "PASS"
    assert by_step["meta-pause"]["status"] == "PASS"
    assert "before the agency's access was removed" in by_step["meta-pause"]["detail"]


def test_a_throttle_past_the_wait_allowed_stops_the_run_until_resumed(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    config = cli.workspace / "adoffboard.toml"
    data = tomllib.loads(config.read_text())
    data["platforms"]["meta"]["max_throttle_wait_s"] = 0  # no wait at all: stop at once
    config.write_text(tomli_w.dumps(data))
    out, _ = plan_file(cli, tmp_path, sandbox=sandbox)
    throttle = sandbox.faults.add(headerless_throttle("batch", "80004"))
    stopped = cli("apply", str(out))
    assert stopped.exit_code == EXIT_TRANSIENT, stopped.output
    said = " ".join(stopped.output.split())  # the report's "Stopped by" line, unwrapped
    assert "no usage header: Meta documents 5 min for the ad account's call limit" in said
    assert "max_throttle_wait_s (0 s in all, 0 s waited): resume the run after" in said
    account = sandbox.meta.accounts[LAKESIDE]
    assert "ACTIVE" in {c.status for c in account.campaigns.values()}

    sandbox.faults.rules.remove(throttle)
    [run] = json.loads(cli("--json", "history", "lakeside-powersports").output)
    resumed = cli("resume", run["id"])
    assert resumed.exit_code == EXIT_OK, resumed.output
    assert "ACTIVE" not in {c.status for c in account.campaigns.values()}
