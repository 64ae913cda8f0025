"""Leaving the platform: the agency's access is removed last, never while an account still spends,
and a run always reaches its removals, whatever subset of platforms has changes left.

All through the CLI against the sandbox: a Meta pause the platform refuses holds the removal of
the agency from that ad account only; the other accounts' removals go ahead; `resume` once the
refusal clears finishes it, or a team lead releases it explicitly (recorded with the run).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_FAILED_CHANGES, EXIT_NOT_PERMITTED, EXIT_OK, EXIT_TRANSIENT
from adoffboard.config import load_workspace
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.store import Store

CLIENT, ACT, AGENCY = "lakeside-powersports", "act_1029384756", "100200300400500"
REFUSED_CAMPAIGN = "120210000000101"


def _plan(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> Path:
    approved_cr(cli, CLIENT, scope="platform", sandbox=sandbox)
    out = tmp_path / "plan.json"
    made = cli("plan", CLIENT, "-r", "sem-cancellation", "-o", str(out))
    assert made.exit_code == EXIT_OK, made.output
    return out


def _refuse_one_meta_pause(sandbox: Sandbox) -> FaultRule:
    return sandbox.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="meta",
            method="batch",
            match={"resource": "campaign", "id": REFUSED_CAMPAIGN},
            message="(#100) Cannot pause a campaign with an active lead form",
        )
    )


def _removals(sandbox: Sandbox) -> dict[str, int]:
    """Mutating requests that remove the agency's access, per platform."""
    names = {
        "remove_agency",
        "BatchDeleteAccessBindings",
        "DeleteAccessBinding",
        "MutateCustomerManagerLink",
        "delete_user_permission",
        "sites.delete",
        "webResource.delete",
    }
    found: dict[str, int] = {}
    for entry in sandbox.log.mutating():
        if (
            entry.method in names
            or "delete" in entry.method.lower()
            and entry.platform in ("ga4", "tag_manager", "search_console")
        ):
            found[entry.platform] = found.get(entry.platform, 0) + 1
    return found


def _history(cli: Cli) -> list[dict[str, Any]]:
    return json.loads(cli("--json", "history", CLIENT).output)


def _events(cli: Cli, run_id: str) -> list[Any]:
    with Store.open(load_workspace(cli.workspace).store_url) as store:
        return store.run_events(run_id)


def test_a_refused_pause_holds_that_accounts_removal_only(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    out = _plan(cli, tmp_path, sandbox)
    fault = _refuse_one_meta_pause(sandbox)
    applied = cli("--json", "apply", str(out))
    assert applied.exit_code == EXIT_FAILED_CHANGES, applied.output
    account = sandbox.meta.accounts[ACT]
    assert account.campaigns[REFUSED_CAMPAIGN].status == "ACTIVE"
    assert AGENCY in account.agencies  # the only access that can still stop it
    assert "remove_agency" not in [e.method for e in sandbox.log.mutating("meta")]
    removed = _removals(sandbox)
    assert {"ga4", "tag_manager", "search_console", "google_ads"} <= set(removed), removed
    assert sandbox.google_ads.state.manager_link("1234567890", "1112223333").status == "INACTIVE"

    report = json.loads(applied.output)
    held = [
        c
        for s in report["steps"]
        for c in s["changes"]
        if c["outcome"] and c["outcome"]["status"] == "not-sent"
    ]
    assert [c["entity_type"] for c in held] == ["agency"]
    assert "held: the agency keeps this access" in held[0]["outcome"]["message"]
    assert "meta-pause" in held[0]["outcome"]["message"]
    [run] = _history(cli)
    assert run["status"] == "failed"
    assert [e.kind for e in _events(cli, run["id"])] == ["access-held"]

    # the platform still refuses: resume retries the pause, and still holds the removal
    writes = len(sandbox.log.mutating("meta"))
    again = cli("resume", run["id"])
    assert again.exit_code == EXIT_FAILED_CHANGES, again.output
    assert "remove_agency" not in [e.method for e in sandbox.log.mutating("meta")[writes:]]

    sandbox.faults.rules.remove(fault)
    finished = cli("--json", "resume", run["id"])
    assert finished.exit_code == EXIT_OK, finished.output
    assert account.campaigns[REFUSED_CAMPAIGN].status == "PAUSED"
    assert AGENCY not in account.agencies
    assert [e.method for e in sandbox.log.mutating("meta")].count("remove_agency") == 1
    assert _history(cli)[0]["status"] == "applied"
    assert _removals(sandbox)["ga4"] >= 1
    assert _removals(sandbox) == {**removed, "meta": 1}  # nothing removed twice
    verified = cli("verify", CLIENT)
    assert verified.exit_code in (EXIT_OK, 13), verified.output


def test_a_team_lead_can_release_a_held_removal(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out = _plan(cli, tmp_path, sandbox)
    _refuse_one_meta_pause(sandbox)
    assert cli("apply", str(out)).exit_code == EXIT_FAILED_CHANGES
    [run] = _history(cli)
    meta_writes = len(sandbox.log.mutating("meta"))
    no_reason = cli("resume", run["id"], "--release-access", "meta", "--as", "sem-lead")
    assert no_reason.exit_code == 3 and "--reason" in no_reason.output
    specialist = cli(
        "resume",
        run["id"],
        "--release-access",
        "meta",
        "--as",
        "sam",
        "--reason",
        "client confirmed",
    )
    assert specialist.exit_code == EXIT_NOT_PERMITTED, specialist.output
    assert "may not release access removals" in specialist.output
    assert len(sandbox.log.mutating("meta")) == meta_writes  # refused before anything ran

    released = cli(
        "resume",
        run["id"],
        "--release-access",
        "meta",
        "--as",
        "sem-lead",
        "--reason",
        "the client stops the lead-form campaign itself today",
    )
    assert released.exit_code == EXIT_FAILED_CHANGES, released.output  # the pause still fails
    assert AGENCY not in sandbox.meta.accounts[ACT].agencies
    events = [(e.kind, e.by, e.platform) for e in _events(cli, run["id"])]
    assert ("access-released", "sem-lead", "meta") in events
    assert "the client stops the lead-form campaign" in _events(cli, run["id"])[-1].detail


def test_a_platform_with_nothing_left_to_change_still_reaches_the_removals(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    """The Trello card already archived: its platform has no change, yet its line is checked
    before the removals, which all go ahead."""
    card = sandbox.trello.cards["64b7f0c2a1d3e4f5a6b7c801"]
    card.closed = True
    out = _plan(cli, tmp_path, sandbox)
    plan = json.loads(out.read_text())
    trello = next(s for s in plan["steps"] if s["step_id"] == "juniper-trello")
    assert trello["changes"] == []
    applied = cli("apply", str(out))
    assert applied.exit_code == EXIT_OK, applied.output
    assert AGENCY not in sandbox.meta.accounts[ACT].agencies
    assert {"ga4", "tag_manager", "search_console", "google_ads", "meta"} <= set(_removals(sandbox))


def _set_platform(workspace: Path, platform: str, **values: Any) -> None:
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    data["platforms"][platform].update(values)
    path.write_text(tomli_w.dumps(data))


def test_a_platform_out_of_retries_leaves_a_report_and_a_status(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    out = _plan(cli, tmp_path, sandbox)
    _set_platform(cli.workspace, "ga4", attempts=2)
    # Google Analytics stays unavailable through every attempt of apply's read
    fault = sandbox.faults.add(
        FaultRule(kind="unavailable", platform="ga4", method="ListAccessBindings")
    )
    applied = cli("--json", "apply", str(out))
    assert applied.exit_code == EXIT_TRANSIENT, applied.output
    report = json.loads(applied.output)
    assert report["errors"] and report["errors"][0].startswith("Google Analytics:")
    assert Path(report["report_files"]["md"]).is_file()
    assert "Stopped by" in Path(report["report_files"]["md"]).read_text()
    [run] = _history(cli)
    assert run["status"] == "failed"
    assert any(e.kind == "error" and e.platform == "ga4" for e in _events(cli, run["id"]))
    assert AGENCY not in sandbox.meta.accounts[ACT].agencies  # the others went ahead
    assert "ga4" not in _removals(sandbox)
    sandbox.faults.rules.remove(fault)
    finished = cli("resume", run["id"])
    assert finished.exit_code == EXIT_OK, finished.output
    assert _history(cli)[0]["status"] == "applied"
    assert _removals(sandbox)["ga4"] >= 1
