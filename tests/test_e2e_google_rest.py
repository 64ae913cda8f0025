"""End to end through the CLI: a client leaving the platform loses the agency's GA4, Search
Console and Tag Manager access last, after the pre-removal verification; client users stay."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.sandbox import Sandbox

GOOGLE_REST = ("ga4", "search_console", "tag_manager")
STEPS = {
    "juniper-google-analytics": "ga4",
    "juniper-search-console": "search_console",
    "juniper-tag-manager": "tag_manager",
}


def plan(cli: Cli, tmp_path: Path, scope: str) -> tuple[Path, dict]:
    out = tmp_path / f"plan-{scope}.json"
    result = cli(
        "plan", "lakeside-powersports", "-r", "sem-cancellation", "--scope", scope, "-o", str(out)
    )
    assert result.exit_code == EXIT_OK, result.output
    return out, json.loads(out.read_text())


def test_services_only_cancellation_leaves_google_access_alone(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    _, body = plan(cli, tmp_path, "dm")
    steps = {s["step_id"]: s for s in body["steps"]}
    assert all(steps[s]["kind"] == "skipped" for s in STEPS)
    assert not any(sandbox.log.entries(p) for p in GOOGLE_REST)  # not even read


def test_leaving_the_platform_removes_the_agency_last(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    approved_cr(cli, "lakeside-powersports", scope="platform", sandbox=sandbox)
    out, body = plan(cli, tmp_path, "platform")
    assert sandbox.log.mutating() == []
    steps = {s["step_id"]: s for s in body["steps"]}
    for step, platform in STEPS.items():
        assert steps[step]["kind"] == "automated" and steps[step]["platform"] == platform
        assert steps[step]["changes"] and {c["phase"] for c in steps[step]["changes"]} == {"access"}
    assert steps["juniper-search-console-users"]["kind"] == "manual"

    result = cli("apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    writes = sandbox.log.mutating()
    last_ads = max(e.seq for e in writes if e.method == "Mutate")
    removals = [e for e in writes if e.platform in GOOGLE_REST]
    assert removals and min(e.seq for e in removals) > last_ads
    # the pre-removal verification read every platform between the ads writes and the removals
    first_removal = min(e.seq for e in removals)
    for platform in GOOGLE_REST:
        assert any(last_ads < e.seq < first_removal for e in sandbox.log.entries(platform))
    assert sandbox.ga4.state.users("accounts/100200300") == ["owner@lakesidepowersports.example"]
    assert sandbox.tag_manager.emails("6001234567") == [
        "owner@lakesidepowersports.example",
        "webmaster@lakesidepowersports.example",
    ]
    site = sandbox.search_console.site("https://www.lakesidepowersports.example/")
    assert site.verified_owners == ["owner@lakesidepowersports.example"]

    verified = cli("--json", "verify", "lakeside-powersports")
    assert verified.exit_code == EXIT_VERIFY_PENDING, verified.output
    checks = {c["step_id"]: c for c in json.loads(verified.output)["checks"]}
    for step in STEPS:
        assert checks[step]["status"] == "PASS", checks[step]
        assert "access is gone" in checks[step]["detail"]
    assert checks["juniper-search-console-users"]["status"] == "MANUAL-PENDING"
