"""The "Waiting for you" page after a real run against the sandbox: the specialist's manual
tasks (as `adoffboard tasks` lists them) and the recent runs to check; nothing for the others."""

from __future__ import annotations

from collections.abc import Callable

from conftest import Cli, approved_cr
from console_support import Browser

from adoffboard.cli import EXIT_OK

CLIENT = "lakeside-powersports"
TASK = f"{CLIENT}/google-ads-remove-scripts"


def test_manual_tasks_and_runs_wait_for_their_owners(
    browser: Callable[..., Browser], cli: Cli
) -> None:
    approved_cr(cli, CLIENT, scope="platform")
    result = cli("run", CLIENT, "-r", "sem-cancellation", "--scope", "platform", "--yes")
    assert result.exit_code in (EXIT_OK, 13), result.output
    sam = browser("sam.ortiz@agency.example").get("/")
    assert TASK in sam.text and 'id="recent-runs"' in sam.text and "sem-cancellation" in sam.text
    dana = browser("dana.whitfield@agency.example").get("/")
    assert TASK not in dana.text and 'id="recent-runs"' not in dana.text
    assert "No change request is waiting for you." in dana.text
