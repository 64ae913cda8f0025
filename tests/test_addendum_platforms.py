"""Budget addendums on Google Ads, Microsoft Advertising and Meta together, through the CLI against
the stand-ins: per-campaign amounts, a monthly total spread over every platform, floors, names
refused, and the exact restore of what an addendum changed.

Lakeside's active daily budgets in the demo scenario: Google Ads 25 (Search - Brand), 80 (Shared
pool, two campaigns) and 15 (Demand Gen, floor 5/day): 120; Microsoft Advertising 20, 15, 10, 30,
8 (BudgetPaused) and the shared Inventory pool 60: 143; Meta 40.00 and 25.00 on two campaigns
(campaign budget optimization) and 30.00 on the one ad set that holds the Inventory catalog
campaign's budget: 95. In all 358 USD a day.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from conftest import Cli, approved_cr

from adoffboard.cli import (
    EXIT_DRIFT,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_VERIFY_FAIL,
    EXIT_VERIFY_PENDING,
)
from adoffboard.connectors.addendum import BudgetLine, spread_with_floors
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"
CID, MS, META = "1234567890", "149876543", "act_1029384756"
STEPS = ("google-ads-set-budgets", "microsoft-ads-set-budgets", "meta-set-budgets")


def budgets(sandbox: Sandbox) -> dict[str, Any]:
    """Every budget an addendum may change, as each stand-in holds it."""
    google = sandbox.google_ads.state
    ms = sandbox.microsoft_ads.accounts[MS]
    meta = sandbox.meta.accounts[META]
    values: dict[str, Any] = {
        f"google:{b}": google.budget(CID, b).amount_micros for b in ("5001", "5002", "5004")
    }
    values |= {f"ms:{c.id}": c.daily_budget for c in ms.campaigns.values()}
    values |= {f"ms-budget:{b.id}": b.amount for b in ms.budgets.values()}
    values |= {f"meta:{c.id}": c.daily_budget for c in meta.campaigns.values()}
    values |= {f"meta-adset:{s.id}": s.daily_budget for s in meta.adsets.values()}
    return values


def changes(report: dict) -> dict[tuple[str, str], dict]:
    return {(c["platform"], c["entity_id"]): c for s in report["steps"] for c in s["changes"]}


def notes(report: dict, step_id: str) -> list[str]:
    return next(s for s in report["steps"] if s["step_id"] == step_id)["notes"]


def checks(report: dict) -> dict[str, dict]:
    return {c["step_id"]: c for c in report["checks"]}


def daily_micros(change: dict) -> int:
    """A planned daily amount in micros, whatever unit its platform speaks."""
    value = Decimal(str(change["after"]))
    scale = {"google_ads": 1, "microsoft_ads": 1_000_000, "meta": 10_000}[change["platform"]]
    return int(value * scale)


def run_addendum(cli: Cli, *extra: str) -> tuple[int, dict]:
    approved_cr(cli, CLIENT, "addendum", extra=("--addendum-ref", "DS-ADD-0100", *extra))
    result = cli("--json", "run", CLIENT, "-r", "sem-addendum", "--yes")
    assert result.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING, EXIT_DRIFT), result.output
    return result.exit_code, json.loads(result.output)


def test_monthly_total_is_spread_over_every_platform(cli: Cli, sandbox: Sandbox) -> None:
    # 5,441.60 a month is 179.00 a day: half of the 358.00 the three platforms spend today
    planned = cli(
        "--json", "plan", CLIENT, "-r", "sem-addendum", "--budget-change", "monthly=5441.60"
    )
    assert planned.exit_code == EXIT_OK, planned.output
    assert sandbox.log.mutating() == []  # a plan writes nothing anywhere
    plan = json.loads(planned.output)
    assert plan["runbook_version"] == 2
    assert {k: (c["before"], c["after"]) for k, c in changes(plan).items()} == {
        ("google_ads", "5001"): (25_000_000, 12_500_000),
        ("google_ads", "5002"): (80_000_000, 40_000_000),
        ("google_ads", "5004"): (15_000_000, 7_500_000),
        ("microsoft_ads", "7701"): (20.0, 10.0),
        ("microsoft_ads", "7702"): (15.0, 7.5),
        ("microsoft_ads", "7703"): (10.0, 5.0),
        ("microsoft_ads", "7704"): (30.0, 15.0),
        ("microsoft_ads", "7705"): (8.0, 4.0),  # BudgetPaused still runs: part of the spread
        ("microsoft_ads", "8801"): (60.0, 30.0),  # the shared budget, once, on itself
        ("meta", "120210000000101"): (4000, 2000),  # minor units (cents)
        ("meta", "120210000000102"): (2500, 1250),
        ("meta", "120210000001104"): (3000, 1500),  # the ad set holds its campaign's budget
    }
    shared = changes(plan)[("microsoft_ads", "8801")]
    assert (shared["entity_type"], shared["field"]) == ("budget", "Amount")
    meta_adset = changes(plan)[("meta", "120210000001104")]
    assert (meta_adset["entity_type"], meta_adset["field"]) == ("adset", "daily_budget")

    _, report = run_addendum(cli, "--monthly-total", "5441.60")
    after = budgets(sandbox)
    assert after["google:5002"] == 40_000_000
    assert after["ms:7704"] == 15.0 and after["ms-budget:8801"] == 30.0
    assert after["ms:7708"] is None  # shared-budget campaigns keep no budget of their own
    assert after["meta:120210000000101"] == 2000 and after["meta-adset:120210000001104"] == 1500
    assert after["meta:120210000000104"] == 1500  # PAUSED: not part of the addendum
    assert after["meta:120210000000103"] is None  # still no campaign budget (no CBO switch)
    for step in STEPS:
        assert checks(report)[step]["status"] == "PASS", checks(report)[step]
    # the Graph writes were integers in minor units, on the objects that hold the budgets
    meta_writes = [e for e in sandbox.log.mutating("meta") if e.service == "graph-batch"]
    written = {x for e in meta_writes for x in e.entities}
    for oid in ("120210000000101", "120210000000102", "120210000001104"):
        assert f"POST /v26.0/{oid}/ daily_budget" in written


def test_a_share_below_a_floor_is_raised_and_the_rest_keeps_the_total(
    cli: Cli, sandbox: Sandbox
) -> None:
    # 1,088.32 a month is 35.80 a day: a tenth of today's; Demand Gen's tenth (1.50) is below
    # its 5.00/day floor, so it gets 5.00 and the other budgets share the remaining 30.80
    result = cli(
        "--json", "plan", CLIENT, "-r", "sem-addendum", "--budget-change", "monthly=1088.32"
    )
    assert result.exit_code == EXIT_OK, result.output
    plan = json.loads(result.output)
    planned = changes(plan)
    assert planned[("google_ads", "5004")]["after"] == 5_000_000
    assert any(
        "'Demand Gen daily' raised to the platform floor" in n
        for n in notes(plan, "google-ads-set-budgets")
    )
    total = sum(daily_micros(c) for c in planned.values())
    assert len(planned) == 12
    assert 35_800_000 - 12 * 10_000 <= total <= 35_800_000  # the monthly total, rounded down
    # the others in proportion: Search - Brand 25 of the 343 that are not at a floor
    assert planned[("google_ads", "5001")]["after"] == 2_240_000  # 30.80 * 25 / 343 = 2.2449
    assert planned[("meta", "120210000000101")]["after"] == 359  # 30.80 * 40 / 343 = 3.5918
    assert all(c["after"] >= 0.05 for k, c in planned.items() if k[0] == "microsoft_ads")
    assert all(c["after"] >= 100 for k, c in planned.items() if k[0] == "meta")
    assert sandbox.log.mutating() == []


def test_per_campaign_amounts_on_each_platform_respect_the_floors(
    cli: Cli, sandbox: Sandbox
) -> None:
    before = budgets(sandbox)
    _, report = run_addendum(
        cli,
        "--campaign-budget",
        "Search - Brand=40",
        "--campaign-budget",
        "Bing Search - Brand=0.01",  # below Microsoft's USD 0.05 minimum
        "--campaign-budget",
        "Bing DSA - Inventory=45",  # uses the shared budget: the shared budget is set
        "--campaign-budget",
        "Lakeside - Retargeting=0.5",  # below Meta's USD 1.00 minimum
        "--campaign-budget",
        "120210000000103=12.34",  # by id: its ad set holds the budget
    )
    after = budgets(sandbox)
    assert after["google:5001"] == 40_000_000
    assert after["ms:7701"] == 0.05
    assert after["ms-budget:8801"] == 45.0
    assert after["meta:120210000000102"] == 100
    assert after["meta-adset:120210000001104"] == 1234
    changed = {
        "google:5001",
        "ms:7701",
        "ms-budget:8801",
        "meta:120210000000102",
        "meta-adset:120210000001104",
    }
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert any(
        "'Bing Search - Brand' raised to the platform floor (0.05 USD)" in n
        for n in notes(report, "microsoft-ads-set-budgets")
    )
    assert any(
        "'Lakeside - Retargeting' raised to the platform floor (1.00 USD)" in n
        for n in notes(report, "meta-set-budgets")
    )
    for step in STEPS:
        assert checks(report)[step]["status"] == "PASS", checks(report)[step]


@pytest.mark.parametrize(
    "names,expected",
    [
        (("Nope=5",), "'Nope', which is not an active campaign of"),
        (("Bing Search - Winter=5",), "'Bing Search - Winter', which is not an active campaign"),
        (("Search - Brand=5",), "'Search - Brand', which matches 2 active campaigns"),
    ],
)
def test_unknown_or_ambiguous_names_are_refused_with_nothing_written(
    cli: Cli, sandbox: Sandbox, names: tuple[str, ...], expected: str
) -> None:
    # a Meta campaign named like a Google Ads one: the name no longer says which is meant
    sandbox.meta.accounts[META].campaigns["120210000000102"].name = "Search - Brand"
    before = budgets(sandbox)
    args = [a for n in names for a in ("--budget-change", n)]
    planned = cli(
        "plan", CLIENT, "-r", "sem-addendum", *args, "--budget-change", "Bing Search - Brand=9"
    )
    assert planned.exit_code == EXIT_INPUT, planned.output
    assert expected in planned.output and len(planned.output.strip().splitlines()) == 1
    assert "Google Ads account 1234567890" in planned.output
    assert "Traceback" not in planned.output
    # the same addendum, approved and run: refused before anything is written anywhere
    sandbox.log.clear()
    approved_cr(
        cli,
        CLIENT,
        "addendum",
        sandbox=sandbox,
        extra=(
            "--addendum-ref",
            "DS-ADD-0101",
            *[a for n in names for a in ("--campaign-budget", n)],
        ),
    )
    ran = cli("run", CLIENT, "-r", "sem-addendum", "--yes")
    assert ran.exit_code == EXIT_INPUT, ran.output
    assert expected in ran.output
    assert sandbox.log.mutating() == [] and budgets(sandbox) == before


def test_restore_puts_back_the_exact_budgets_and_leaves_changed_ones_alone(
    cli: Cli, sandbox: Sandbox
) -> None:
    original = budgets(sandbox)
    _, applied = run_addendum(cli, "--monthly-total", "5441.60")
    assert budgets(sandbox) != original
    # between the addendum and its restore, someone changes one budget on each platform
    sandbox.google_ads.state.set_budget_amount(CID, "5004", 9_000_000)
    sandbox.microsoft_ads.accounts[MS].campaigns["7702"].daily_budget = 9.99
    sandbox.meta.accounts[META].adsets["120210000001104"].daily_budget = 2222
    # verify sees each of them differ from the addendum
    verified = cli("--json", "verify", CLIENT)
    assert verified.exit_code == EXIT_VERIFY_FAIL, verified.output
    found = checks(json.loads(verified.output))
    for step, who in zip(
        STEPS, ("Demand Gen daily", "Bing Shopping - Parts", "Catalog - ATVs"), strict=True
    ):
        assert found[step]["status"] == "FAIL", found[step]
        assert any(who in e for e in found[step]["evidence"]), found[step]

    restored = cli("--json", "restore", applied["run_id"], "--as", "sam", "--yes")
    assert restored.exit_code == EXIT_DRIFT, restored.output
    report = json.loads(restored.output)
    expected = {
        **original,
        "google:5004": 9_000_000,
        "ms:7702": 9.99,
        "meta-adset:120210000001104": 2222,
    }
    assert budgets(sandbox) == expected
    outcomes = {
        (c["platform"], c["entity_id"]): c["outcome"]["status"]
        for s in report["steps"]
        for c in s["changes"]
    }
    assert len(outcomes) == 12
    assert {k for k, v in outcomes.items() if v == "drift"} == {
        ("google_ads", "5004"),
        ("microsoft_ads", "7702"),
        ("meta", "120210000001104"),
    }
    assert {v for k, v in outcomes.items() if v != "drift"} == {"applied"}
    check = next(c for c in report["checks"] if c["step_id"] == "restore-run")
    assert check["status"] == "MANUAL-PENDING"
    for who in ("Demand Gen daily", "Bing Shopping - Parts", "Catalog - ATVs"):
        assert any("left alone" in e and who in e for e in check["evidence"]), check["evidence"]

    again = cli("--json", "restore", applied["run_id"], "--as", "sam", "--yes")
    assert again.exit_code in (EXIT_OK, EXIT_DRIFT), again.output
    assert budgets(sandbox) == expected  # nothing more to put back, nothing overwritten


def line(key: str, micros: int, floor: int, platform: str = "google_ads") -> BudgetLine:
    return BudgetLine(platform, "x", key, key, ((key, key),), micros, floor, 10_000, "USD")


def test_the_spread_raises_floors_until_every_share_holds() -> None:
    # 30.40 a month is 1.00 a day over weights 90 / 6 / 4: c's 0.04 is below its 0.30 floor;
    # then b's share of the 0.70 left (6/96 = 0.044) falls below its 0.05 floor as well
    lines = [line("a", 90, 10_000), line("b", 6, 50_000), line("c", 4, 300_000)]
    amounts, raised, short = spread_with_floors(lines, 30_400_000)
    assert amounts == {
        ("google_ads", "a"): 650_000,
        ("google_ads", "b"): 50_000,
        ("google_ads", "c"): 300_000,
    }
    assert [x.key for x in raised] == ["c", "b"] and short == 0
    # floors alone above the total: every budget at its floor, and by how much it is exceeded
    amounts, raised, short = spread_with_floors(lines, 3_040_000)  # 0.10 a day
    assert set(amounts.values()) == {10_000, 50_000, 300_000}
    assert short == 260_000
    # no current budget anywhere: equal shares
    zero = [line("a", 0, 10_000), line("b", 0, 10_000, "meta")]
    assert spread_with_floors(zero, 60_800_000)[0] == {
        ("google_ads", "a"): 1_000_000,
        ("meta", "b"): 1_000_000,
    }
