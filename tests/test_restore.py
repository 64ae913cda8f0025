"""Contract pauses and exact restore, end to end through the CLI against the stand-ins."""

from __future__ import annotations

import datetime as dt
import json

from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import EXIT_DRIFT, EXIT_INPUT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.sandbox import Sandbox

CID, MCC = "1234567890", "1112223333"
CLIENT = "lakeside-powersports"


def google_ads_values(sandbox: Sandbox) -> dict[str, object]:
    state = sandbox.google_ads.state
    values: dict[str, object] = {}
    for cid in state.campaigns[CID]:
        values[f"campaign:{cid}"] = state.campaign(CID, cid).status
    for bid in state.budgets[CID]:
        b = state.budget(CID, bid)
        values[f"budget:{bid}"] = (b.amount_micros, b.total_amount_micros)
    values["hidden"] = state.client_link(MCC, CID).hidden
    return values


def outcomes(report: dict) -> list[dict]:
    return [c for s in report["steps"] for c in s["changes"]]


def run(cli: Cli, *args: str) -> tuple[int, dict]:
    runbook = args[args.index("-r") + 1]
    if runbook == "sem-cancellation":
        scope = args[args.index("--scope") + 1] if "--scope" in args else "dm"
        approved_cr(cli, CLIENT, scope=scope)
    elif runbook == "sem-pause":
        today = dt.date.fromisoformat(workspace_today(cli.workspace))
        approved_cr(
            cli,
            CLIENT,
            "pause",
            effective=str(today - dt.timedelta(days=1)),
            extra=("--pause-end", str(today)),
        )
    result = cli("--json", "run", CLIENT, "--yes", *args)
    assert result.exit_code in (EXIT_OK, EXIT_DRIFT, EXIT_VERIFY_PENDING), result.output
    return result.exit_code, json.loads(result.output)


def test_pause_then_unpause_restores_exactly_and_leaves_others_changes_alone(
    cli: Cli, sandbox: Sandbox
) -> None:
    original = google_ads_values(sandbox)
    _, paused = run(cli, "-r", "sem-pause")
    state = sandbox.google_ads.state
    assert state.campaign(CID, "9001").status == "PAUSED"
    assert state.budget(CID, "5001").amount_micros == 10_000
    assert state.client_link(MCC, CID).hidden is False  # nothing hidden or removed in a pause

    # between the pause and its end, someone raises one budget and pauses another campaign
    state.set_budget_amount(CID, "5004", 7_000_000)
    state.set_campaign_status(CID, "9001", "REMOVED")

    code, unpaused = run(cli, "-r", "sem-unpause")
    assert code == EXIT_DRIFT  # applied, with values left alone
    restored = google_ads_values(sandbox)
    expected = {**original, "budget:5004": (7_000_000, None), "campaign:9001": "REMOVED"}
    assert restored == expected
    check = next(c for c in unpaused["checks"] if c["step_id"] == "restore-pause")
    assert check["status"] == "MANUAL-PENDING"
    assert any("left alone" in e and "Demand Gen" in e for e in check["evidence"])
    drift = [c for c in outcomes(unpaused) if c["outcome"]["status"] == "drift"]
    assert {c["entity_id"] for c in drift} == {"5004", "9001"}


def test_restore_run_puts_back_a_cancellation_and_is_idempotent(cli: Cli, sandbox: Sandbox) -> None:
    original = google_ads_values(sandbox)
    _, cancelled = run(cli, "-r", "sem-cancellation")
    assert sandbox.google_ads.state.client_link(MCC, CID).hidden is True
    result = cli("--json", "restore", cancelled["run_id"], "--as", "sam", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    assert google_ads_values(sandbox) == original
    writes = len(sandbox.log.mutating())
    again = cli("--json", "restore", cancelled["run_id"], "--as", "sam", "--yes")
    assert again.exit_code == EXIT_OK, again.output
    assert {c["outcome"]["status"] for c in outcomes(json.loads(again.output))} == {"already"}
    assert len(sandbox.log.mutating()) == writes


def test_access_removals_are_not_restored(cli: Cli, sandbox: Sandbox, workspace) -> None:
    _, cancelled = run(cli, "-r", "sem-cancellation", "--scope", "platform")
    result = cli("--json", "plan", CLIENT, "-r", "restore")
    assert result.exit_code == EXIT_INPUT and "adoffboard restore RUN" in result.output
    from adoffboard.config import load_workspace
    from adoffboard.restore import inverse_changes
    from adoffboard.store import Store

    with Store.open(load_workspace(workspace).store_url) as store:
        restore = inverse_changes(store, store.run(cancelled["run_id"]), "restore-run")
    assert any("not restored" in n and "agency's access" in n for n in restore.notes)
    # statuses of campaigns (and Meta's ad sets and rules) only: not the manager link's, and
    # not the Meta agency's access
    assert all(
        c.field != "status" or c.entity_type in ("campaign", "adset", "rule")
        for c in restore.changes
    )
    assert not any(c.entity_type == "agency" for c in restore.changes)
    assert any(c.platform == "meta" for c in restore.changes)
    assert any(n.startswith("not restored: Summit Digital Agency access") for n in restore.notes)
    # with the link ended the account cannot be read: one line, nothing sent
    writes = len(sandbox.log.mutating())
    refused = cli("restore", cancelled["run_id"], "--as", "sam", "--yes")
    assert (
        refused.exit_code == 9
        and "access was removed" in refused.output
        and len(refused.output.strip().splitlines()) == 1
    )
    assert len(sandbox.log.mutating()) == writes
    assert sandbox.google_ads.state.manager_link(CID, MCC).status == "INACTIVE"


def test_unpause_without_a_pause_is_refused(cli: Cli, sandbox: Sandbox) -> None:
    result = cli("plan", CLIENT, "-r", "sem-unpause")
    assert result.exit_code == EXIT_INPUT
    assert "no applied sem-pause run to restore" in result.output
    assert sandbox.log.mutating() == []
    unknown = cli("restore", "r-nope", "--as", "sam", "--yes")
    assert unknown.exit_code == EXIT_INPUT and "Traceback" not in unknown.output
