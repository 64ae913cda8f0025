"""Budget addendums: the signed addendum's budgets, planned before -> after, applied, verified.

Here the client advertises on Google Ads only (its Microsoft Advertising and Meta accounts are
taken out of its manifest): a monthly total then spreads over its Google Ads budgets alone.
Addendums over several platforms: tests/test_addendum_platforms.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_INPUT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.connectors.addendum import split_monthly
from adoffboard.sandbox import Sandbox

CID = "1234567890"
CLIENT = "lakeside-powersports"


@pytest.fixture(autouse=True)
def _google_ads_only(workspace: Path) -> None:
    path = workspace / "clients" / f"{CLIENT}.yaml"
    manifest = yaml.safe_load(path.read_text())
    del manifest["microsoft_ads"], manifest["meta"]
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))


def budget_changes(report: dict) -> dict[str, tuple[int, int]]:
    return {
        c["entity_id"]: (c["before"], c["after"]) for s in report["steps"] for c in s["changes"]
    }


def test_monthly_total_is_spread_in_proportion_with_floors(cli: Cli, sandbox: Sandbox) -> None:
    result = cli(
        "--json",
        "plan",
        CLIENT,
        "-r",
        "sem-addendum",
        "--budget-change",
        "monthly=3040",
        "--addendum-ref",
        "DS-ADD-0042",
    )
    assert result.exit_code == EXIT_OK, result.output
    plan = json.loads(result.output)
    # $100/day over Brand 25, shared pool 80 (two campaigns, once), Demand Gen 15; the
    # custom-period budget is not part of a monthly split; paused and removed ones neither
    assert budget_changes(plan) == {
        "5001": (25_000_000, 20_830_000),
        "5002": (80_000_000, 66_660_000),
        "5004": (15_000_000, 12_500_000),
    }
    assert sandbox.log.mutating() == []
    # applying takes the budget change from the approved addendum, not from the command line
    cr = approved_cr(
        cli, CLIENT, "addendum", extra=("--addendum-ref", "DS-ADD-0042", "--monthly-total", "3040")
    )
    refused = cli("run", CLIENT, "-r", "sem-addendum", "--yes", "--budget-change", "monthly=9000")
    assert refused.exit_code == EXIT_INPUT and cr in refused.output
    run = cli("--json", "run", CLIENT, "-r", "sem-addendum", "--yes")
    assert run.exit_code == EXIT_VERIFY_PENDING, run.output  # manual lines remain
    assert sandbox.google_ads.state.budget(CID, "5002").amount_micros == 66_660_000
    check = next(
        c for c in json.loads(run.output)["checks"] if c["step_id"] == "google-ads-set-budgets"
    )
    assert check["status"] == "PASS"
    assert cr in json.dumps(json.loads(run.output)["change_request"])


def test_per_campaign_amounts_respect_the_floor(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(
        cli,
        CLIENT,
        "addendum",
        extra=(
            "--addendum-ref",
            "DS-ADD-0043",
            "--campaign-budget",
            "9001=40",
            "--campaign-budget",
            "Demand Gen - Retargeting=1",
        ),
    )
    result = cli("--json", "run", CLIENT, "-r", "sem-addendum", "--yes")
    assert result.exit_code == EXIT_VERIFY_PENDING, result.output
    state = sandbox.google_ads.state
    assert state.budget(CID, "5001").amount_micros == 40_000_000
    assert state.budget(CID, "5004").amount_micros == 5_000_000  # Demand Gen's $5/day floor
    assert state.budget(CID, "5002").amount_micros == 80_000_000  # not in the addendum


@pytest.mark.parametrize(
    "args,expected",
    [
        ((), "needs the input 'budget_change'"),
        (("--budget-change", "monthly"), "must look like monthly=AMOUNT"),
        (("--budget-change", "monthly=-5"), "positive amount"),
        (("--budget-change", "monthly=abc"), "not an amount"),
        (("--budget-change", "monthly=100", "--budget-change", "9001=5"), "not both"),
        (("--budget-change", "Nope=5"), "not an active campaign"),
        (("--budget-change", "9002=30", "--budget-change", "9003=35"), "sharing budget"),
    ],
)
def test_bad_budget_changes_are_one_line(cli: Cli, sandbox: Sandbox, args, expected) -> None:
    result = cli("plan", CLIENT, "-r", "sem-addendum", *args)
    assert result.exit_code == EXIT_INPUT, result.output
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert sandbox.log.mutating() == []


def test_split_is_proportional_rounded_down_and_floored() -> None:
    assert split_monthly({"a": 3, "b": 1}, 30_400_000, unit=10_000, floor=0) == {
        "a": 750_000,
        "b": 250_000,
    }
    assert split_monthly({"a": 0, "b": 0}, 60_800_000, unit=10_000, floor=0) == {
        "a": 1_000_000,
        "b": 1_000_000,
    }
    assert split_monthly({"a": 99, "b": 1}, 30_400_000, unit=10_000, floor=500_000) == {
        "a": 990_000,
        "b": 500_000,
    }
    assert split_monthly({}, 1, unit=1, floor=0) == {}
