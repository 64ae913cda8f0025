"""A run's verify pass judges from the run's own reads: the check made before the access
removals read every platform after the other writes, so the verify pass that follows reads again
only the platforms where removals were sent since, and says exactly what a standalone verify of
the run says. Through the CLI, against the sandbox."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK
from adoffboard.sandbox import Sandbox

LAKESIDE = "lakeside-powersports"


def lines(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["step_id"], c["status"], c["detail"]) for c in document["checks"]]


def test_a_run_reads_again_to_verify_only_where_removals_were_sent(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    approved_cr(cli, LAKESIDE, scope="platform", departments=("SEM",), sandbox=sandbox)
    plan = tmp_path / "sem.json"
    assert cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(plan)).exit_code == EXIT_OK
    since = len(sandbox.log.entries())
    applied = cli("--json", "apply", str(plan))
    assert applied.exit_code == EXIT_OK, applied.output
    during = sandbox.log.entries()[since:]
    reads = Counter((e.platform, e.method) for e in during if not e.mutating)
    written = {e.platform for e in during if e.mutating}
    assert {"microsoft_ads", "ga4", "meta", "tag_manager"} <= written
    # each read of these platforms' state starts with its account: Microsoft Advertising, with
    # no removal, is read by apply and by the check before the removals, whose read the verify
    # pass judges from; where removals were sent after that check, the verify pass reads again
    assert reads["microsoft_ads", "GetAccount"] == 2
    removed = (("ga4", "GetAccount"), ("tag_manager", "accounts.get"))
    for platform, first in removed:
        assert reads[platform, first] == 3, platform
    # Meta's account is unreadable once the agency is removed: the verify pass reads only the
    # agency business's own list of client ad accounts, which no longer holds it
    assert reads["meta", "get_account"] == reads["meta", "list_campaigns"] == 2
    assert reads["meta", "list_client_accounts"] == 1
    report = json.loads(applied.output)
    alone = json.loads(cli("--json", "verify", LAKESIDE, "--run", report["run_id"]).output)
    assert lines(alone) == lines(report)
    assert alone["summary"]["verdict"] == report["summary"]["verdict"]
