"""The Microsoft Advertising connector against its stand-in, through the unmodified msads SDK."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, approved_cr
from test_contract import MemoryJournal

from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.connectors.microsoft_ads.declaration import MicrosoftAdsSettings
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import AuthError, DryRunViolation, TenantMismatch
from adoffboard.models import Change, CheckStatus, OutcomeStatus, StepKind
from adoffboard.retry import RetryPolicy
from adoffboard.runbook import load_runbook
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import FaultRule, load_scenario
from adoffboard.sandbox.microsoft_ads import MicrosoftAdsStandIn, generate_account

LAKESIDE = "149876543"
CUSTOMER = "251234567"


def section(
    campaigns: list[dict[str, Any]],
    *,
    currency: str = "USD",
    name: str = "Lakeside Powersports",
    budgets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "accounts": [
            {
                "account_id": LAKESIDE,
                "customer_id": CUSTOMER,
                "name": name,
                "currency": currency,
                "budgets": budgets or [],
                "campaigns": campaigns,
            }
        ]
    }


def active(n: int, first: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "id": str(600_000 + i),
            "name": f"C{i}",
            "status": "Active",
            "type": "Search",
            "daily_budget": 20.0,
        }
        for i in range(first, first + n)
    ]


@pytest.fixture
def box(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox with only the Microsoft Advertising stand-in: the demo section unless a test
    is parametrised indirectly with its own section."""
    data = getattr(request, "param", None) or load_scenario(DEMO_SCENARIO)["microsoft_ads"]
    sandbox = Sandbox({"microsoft_ads": data}).start()
    yield sandbox
    sandbox.stop()


def standin(box: Sandbox) -> MicrosoftAdsStandIn:
    found: MicrosoftAdsStandIn = box.microsoft_ads
    return found


def connect(
    box: Sandbox,
    tmp_path: Path,
    *,
    read_only: bool,
    clock: FakeClock | None = None,
    attempts: int = 4,
    **settings: Any,
) -> Any:
    ctx = ConnectorContext(
        settings={**box.platform_settings()["microsoft_ads"], **settings},
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=attempts, timeout=10),
    )
    return build("microsoft_ads", ctx)


def manifest(name: str = "Lakeside Powersports", account: str = LAKESIDE) -> Manifest:
    return Manifest.model_validate(
        {
            **DEMO_CLIENT,
            "microsoft_ads": {
                "account_id": account,
                "customer_id": CUSTOMER,
                "expected_name": name,
            },
        }
    )


def plan(connector: Any, state: Any, *actions: str) -> list[Change]:
    actions = actions or ("pause_campaigns", "budgets_to_floor")
    return [c for a in actions for c in connector.plan(a, {}, state, a).changes]


def writes(box: Sandbox, op: str | None = None) -> list[tuple[str, str, list[Any]]]:
    return [w for w in standin(box).writes if op is None or w[0] == op]


# --- reading ------------------------------------------------------------------------------------


def test_reads_every_campaign_type_the_currency_and_shared_budgets(box, tmp_path):
    state = connect(box, tmp_path, read_only=True).read_state(manifest())
    assert state.name == "Lakeside Powersports" and state.currency == "USD"
    assert {c.campaign_type for c in state.campaigns} == {
        "Search",
        "Shopping",
        "Audience",
        "PerformanceMax",
        "DynamicSearchAds",
    }
    assert state.budgets["8801"].amount == 60.0 and state.budgets["8801"].association_count == 2
    # GetAccount, GetCampaignsByAccountId and the account's whole shared library (GetBudgetsByIds
    # with no ids) together: one round trip
    methods = [e.method for e in box.log]
    assert sorted(methods) == ["GetAccount", "GetBudgetsByIds", "GetCampaignsByAccountId"]


def test_the_state_keeps_the_shared_budgets_its_campaigns_use(box, tmp_path):
    from adoffboard.sandbox.microsoft_ads.accounts import Budget

    unused = Budget("8899", "Nobody's budget", 5.0)
    standin(box).accounts[LAKESIDE].budgets[unused.id] = unused
    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest())
    assert "8899" not in state.budgets and "8801" in state.budgets
    assert [e.method for e in box.log].count("GetBudgetsByIds") == 1
    # a budget the library did not return is read by its id
    before = len(box.log)
    found = connector._read_budgets(state.campaigns, {})  # type: ignore[attr-defined]
    assert found == state.budgets
    assert [e.method for e in box.log][before:] == ["GetBudgetsByIds"]


def test_tenant_guard_mismatch_raises_and_sends_nothing(box, tmp_path):
    connector = connect(box, tmp_path, read_only=False)
    with pytest.raises(TenantMismatch, match="named 'Lakeside Powersports'"):
        connector.read_state(manifest(name="Lakeside Powersports East"))
    # the campaign and budget reads go out with GetAccount; nothing is sent after the name check
    assert sorted(e.method for e in box.log) == [
        "GetAccount",
        "GetBudgetsByIds",
        "GetCampaignsByAccountId",
    ]
    assert writes(box) == [] and box.log.mutating() == []


def test_an_account_of_another_customer_is_refused(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    m = Manifest.model_validate(
        {
            **DEMO_CLIENT,
            "microsoft_ads": {
                "account_id": LAKESIDE,
                "customer_id": "999999999",
                "expected_name": "Lakeside",
            },
        }
    )
    with pytest.raises(AuthError, match="106 UserIsNotAuthorized"):
        connector.read_state(m)


@pytest.mark.parametrize(
    "box", [{**section(active(2)), "expired_tokens": ["old-token"]}], indirect=True, ids=["expired"]
)
def test_an_expired_access_token_is_an_auth_error_not_a_refresh(box, tmp_path, monkeypatch):
    monkeypatch.setenv("MSADS_TEST_TOKEN", "old-token")
    connector = connect(
        box,
        tmp_path,
        read_only=True,
        access_token="env:MSADS_TEST_TOKEN",
        developer_token="env:MSADS_TEST_TOKEN",
        endpoint=standin(box).url,
    )
    with pytest.raises(AuthError, match="109 AuthenticationTokenExpired") as raised:
        connector.read_state(manifest())
    assert "old-token" not in str(raised.value)
    # the three reads sent together, all refused; no token endpoint was ever contacted
    assert sorted(e.method for e in box.log) == [
        "GetAccount",
        "GetBudgetsByIds",
        "GetCampaignsByAccountId",
    ]


# --- planning -----------------------------------------------------------------------------------


def test_plan_pauses_active_and_budget_paused_and_skips_the_rest(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    draft = connector.plan("pause_campaigns", {}, connector.read_state(manifest()), "s")
    assert {(c.entity_id, c.before) for c in draft.changes} == {
        ("7701", "Active"),
        ("7702", "Active"),
        ("7703", "Active"),
        ("7704", "Active"),
        ("7705", "BudgetPaused"),
        ("7708", "Active"),
        ("7709", "Active"),
    }
    assert {c.after for c in draft.changes} == {"Paused"}
    assert "1 Deleted campaign(s) skipped" in draft.notes
    assert "1 campaign(s) already paused" in draft.notes


def test_plan_budgets_campaign_level_and_shared_once(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    draft = connector.plan("budgets_to_floor", {}, connector.read_state(manifest()), "s")
    by_entity = {(c.entity_type, c.entity_id): c for c in draft.changes}
    # campaign-level budgets of every campaign but the Deleted one (paused ones too)
    assert {k for k in by_entity if k[0] == "campaign"} == {
        ("campaign", i) for i in ("7701", "7702", "7703", "7704", "7705", "7706")
    }
    # the shared budget once, on itself: never through its two campaigns
    shared = by_entity[("budget", "8801")]
    assert (shared.field, shared.before, shared.after) == ("Amount", 60.0, 0.05)
    assert shared.shown_before == "60.00 USD/day" and shared.shown_after == "0.05 USD/day"
    assert ("campaign", "7708") not in by_entity and ("campaign", "7709") not in by_entity
    assert any("used by 2 campaigns: changed once" in n for n in draft.notes)


@pytest.mark.parametrize("box", [section(active(2), currency="BRL")], indirect=True, ids=["BRL"])
def test_unknown_currency_is_a_manual_item(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest())
    draft = connector.plan("budgets_to_floor", {}, state, "s")
    assert draft.changes == () and len(draft.manual_items) == 1
    assert "no documented minimum" in draft.manual_items[0] and "BRL" in draft.manual_items[0]
    assert connector.plan("pause_campaigns", {}, state, "s").changes  # pausing still planned
    assert connector.verify("budgets_to_floor", {}, state).status == CheckStatus.MANUAL_PENDING


def test_harbor_marine_in_cad(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest("Harbor Marine Center", "149876544"))
    draft = connector.plan("budgets_to_floor", {}, state, "s")
    assert state.currency == "CAD"
    assert {c.shown_after for c in draft.changes} == {"0.05 CAD/day"}
    assert len(draft.changes) == 3


# --- applying -----------------------------------------------------------------------------------


@pytest.mark.parametrize("box", [section(active(250))], indirect=True, ids=["250"])
def test_batches_of_at_most_100_campaigns_each_paused_and_floored_in_one_item(box, tmp_path):
    connector = connect(box, tmp_path, read_only=False)
    changes = plan(connector, connector.read_state(manifest()))
    outcomes = connector.apply(changes, MemoryJournal())
    assert len(outcomes) == 500 and {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    calls = writes(box, "UpdateCampaigns")
    # the calls travel together: their order on the wire is not fixed
    assert sorted(len(items) for _, _, items in calls) == [50, 100, 100]
    # each campaign once, with its status and its budget: ceil(250 / 100) calls
    assert [{fields for _, fields in items} for _, _, items in calls] == [
        {("DailyBudget", "Status")}
    ] * 3
    assert sorted(i for _, _, items in calls for i, _ in items) == sorted(
        c["id"] for c in active(250)
    )
    assert connector.calls["write"] == 3
    assert len(box.log.mutating("microsoft_ads")) == 3


def test_a_refused_budget_does_not_hold_back_the_pause(box, tmp_path):
    # the service refuses every campaign item that sets a daily budget
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="microsoft_ads",
            match={"resource": "campaign", "field": "DailyBudget"},
            message="budget refused",
        )
    )
    clock = FakeClock()
    connector = connect(box, tmp_path, read_only=False, clock=clock, attempts=2)
    changes = plan(connector, connector.read_state(manifest()))
    outcomes = {o.change_id: o for o in connector.apply(changes, MemoryJournal())}
    for ch in changes:
        expected = OutcomeStatus.FAILED if ch.field == "DailyBudget" else OutcomeStatus.APPLIED
        assert outcomes[ch.id].status == expected, ch.id
        if expected == OutcomeStatus.FAILED:
            assert "budget refused" in outcomes[ch.id].message
    accounts = standin(box).accounts[LAKESIDE]
    assert accounts.campaigns["7701"].status == "Paused"
    assert accounts.campaigns["7701"].daily_budget == 20.0
    assert accounts.budgets["8801"].amount == 0.05  # UpdateBudgets went through on its own
    assert clock.sleeps == []  # a refused item is not retried blindly: it is sent again split
    # the campaigns paused and floored in one call, refused, then one call per field
    calls = writes(box, "UpdateCampaigns")
    assert [sorted({f for _, fields in items for f in fields}) for _, _, items in calls] == [
        ["DailyBudget", "Status"],
        ["Status"],
        ["DailyBudget"],
    ]


@pytest.mark.parametrize("box", [section(active(150))], indirect=True, ids=["150"])
def test_partial_errors_map_to_their_entity_by_index(box, tmp_path):
    failing = "600130"  # index 29 of the second call
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="microsoft_ads",
            match={"resource": "campaign", "id": failing},
            message="injected refusal",
        )
    )
    connector = connect(box, tmp_path, read_only=False)
    changes = plan(connector, connector.read_state(manifest()), "pause_campaigns")
    outcomes = connector.apply(changes, MemoryJournal())
    failed = [o for o in outcomes if o.status == OutcomeStatus.FAILED]
    assert [o.change_id for o in failed] == [f"microsoft_ads:{LAKESIDE}:campaign:{failing}:Status"]
    assert "0 InternalError: injected refusal" in failed[0].message and failed[0].request_id
    assert sum(o.status == OutcomeStatus.APPLIED for o in outcomes) == 149
    assert standin(box).accounts[LAKESIDE].campaigns[failing].status == "Active"


def test_throttling_waits_60_seconds_on_the_injected_clock_and_retries(box, tmp_path):
    box.faults.add(
        FaultRule(
            kind="resource_exhausted", platform="microsoft_ads", method="UpdateCampaigns", times=2
        )
    )
    clock = FakeClock()
    connector = connect(box, tmp_path, read_only=False, clock=clock)
    changes = plan(connector, connector.read_state(manifest()), "pause_campaigns")
    outcomes = connector.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert clock.sleeps == [60.0, 60.0]
    throttled = [e for e in box.log if e.method == "UpdateCampaigns"]
    assert [(e.status, e.detail) for e in throttled] == [
        ("400", "resource_exhausted"),
        ("400", "resource_exhausted"),
        ("200", ""),
    ]


def test_budget_paused_is_paused_and_a_second_apply_sends_nothing(box, tmp_path):
    connector = connect(box, tmp_path, read_only=False)
    changes = plan(connector, connector.read_state(manifest()))
    connector.apply(changes, MemoryJournal())
    assert standin(box).accounts[LAKESIDE].campaigns["7705"].status == "BudgetAndManualPaused"
    updates = writes(box, "UpdateBudgets")
    assert [items for _, _, items in updates] == [[("8801", ("Amount",))]]  # once, on itself
    sent = len(writes(box))
    again = connector.apply(changes, MemoryJournal())
    assert {o.status for o in again} == {OutcomeStatus.ALREADY}
    assert len(writes(box)) == sent
    fresh = connect(box, tmp_path, read_only=True).read_state(manifest())
    for action in ("pause_campaigns", "budgets_to_floor"):
        assert connector.verify(action, {}, fresh).status == CheckStatus.PASS


def test_drift_and_already_are_settled_without_a_write(box, tmp_path):
    connector = connect(box, tmp_path, read_only=False)
    changes = plan(connector, connector.read_state(manifest()))
    account = standin(box).accounts[LAKESIDE]
    account.campaigns["7701"].status = "Paused"  # someone paused it: ALREADY
    account.campaigns["7702"].daily_budget = 40.0  # someone raised it: DRIFT, left alone
    account.campaigns["7703"].status = "BudgetPaused"  # the platform did: still to pause
    account.campaigns["7706"].status = "Deleted"  # deleted since the plan: DRIFT, not sent
    connector.read_state(manifest())  # the apply phase's read, as the engine makes it
    journal = MemoryJournal()
    outcomes = {o.change_id: o for o in connector.apply(changes, journal)}
    key = f"microsoft_ads:{LAKESIDE}:campaign:"
    assert outcomes[key + "7701:Status"].status == OutcomeStatus.ALREADY
    assert outcomes[key + "7702:DailyBudget"].status == OutcomeStatus.DRIFT
    assert outcomes[key + "7703:Status"].status == OutcomeStatus.APPLIED
    assert outcomes[key + "7706:DailyBudget"].status == OutcomeStatus.DRIFT
    assert outcomes[key + "7706:DailyBudget"].live == "Deleted"
    assert account.campaigns["7702"].daily_budget == 40.0
    sent_ids = {i for _, _, items in writes(box) for i, _ in items}
    assert "7701" not in {i for op, _, items in writes(box) for i, f in items if "Status" in f}
    assert "7702" not in {
        i for _, _, items in writes(box, "UpdateCampaigns") for i, f in items if "DailyBudget" in f
    }
    assert "7703" in sent_ids and "7706" not in sent_ids
    # intents are journaled before their outcomes
    for ch_id in (key + "7703:Status", key + "7704:DailyBudget"):
        assert journal.order.index(f"intent:{ch_id}") < journal.order.index(f"outcome:{ch_id}")


def test_apply_settles_against_its_phase_read_and_reads_again_when_it_is_stale(box, tmp_path):
    clock = FakeClock()
    connector = connect(box, tmp_path, read_only=False, clock=clock)
    changes = plan(connector, connector.read_state(manifest()), "pause_campaigns")
    reads = [e.method for e in box.log].count("GetCampaignsByAccountId")
    standin(box).accounts[LAKESIDE].campaigns["7701"].status = "Paused"  # after the phase read
    clock.advance(61)  # a read older than a minute is not trusted
    outcomes = {o.change_id: o.status for o in connector.apply(changes, MemoryJournal())}
    assert [e.method for e in box.log].count("GetCampaignsByAccountId") == reads + 1
    assert outcomes[f"microsoft_ads:{LAKESIDE}:campaign:7701:Status"] == OutcomeStatus.ALREADY


def test_verify_lists_the_offenders(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest())
    pause = connector.verify("pause_campaigns", {}, state)
    budgets = connector.verify("budgets_to_floor", {}, state)
    assert pause.status == CheckStatus.FAIL and "7 campaign(s) still running" in pause.detail
    assert "Bing Search - Service (7705): BudgetPaused" in pause.evidence
    assert budgets.status == CheckStatus.FAIL
    assert "Shared - Inventory pool: 60.00 USD/day" in budgets.evidence


def test_dry_run_guard_refuses_writes_before_they_leave_the_process(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    changes = plan(connector, connector.read_state(manifest()))
    with pytest.raises(DryRunViolation, match="PUT /CampaignManagement/v13/Campaigns"):
        connector.apply(changes, MemoryJournal())
    # the reads (POSTs) reached the server; no Update* request ever did
    methods = [e.method for e in box.log]
    # apply settled the changes against the read just made: the account is read once
    assert methods.count("GetCampaignsByAccountId") == 1
    assert not {"UpdateCampaigns", "UpdateBudgets"} & set(methods)
    assert writes(box) == [] and box.log.mutating() == []


# --- settings, runbook, import cost ---------------------------------------------------------------


def test_settings_take_references_only():
    ok = MicrosoftAdsSettings.model_validate(
        {"developer_token": "env:MSADS_DEV", "access_token": "keyring:msads/agency"}
    )
    assert ok.timeout_s == 60.0 and ok.environment == "production"
    with pytest.raises(ValueError, match="must be a reference"):
        MicrosoftAdsSettings.model_validate({"developer_token": "plain-token-value"})


def test_runbook_automates_the_microsoft_line_in_two_steps():
    book = load_runbook("sem-cancellation", None)
    steps = {
        s.id: s for s in book.model.steps if s.action and s.action.connector == "microsoft_ads"
    }
    assert {k: s.action.name for k, s in steps.items()} == {
        "microsoft-ads-pause": "pause_campaigns",
        "microsoft-ads-budgets": "budgets_to_floor",
    }
    line = "Pause and change budgets to $.01 in Microsoft Ads (Bing), if applicable"
    assert all(s.title == line and s.if_manifest == "microsoft_ads" for s in steps.values())


def test_clients_without_microsoft_ads_skip_its_steps(cli: Cli, tmp_path: Path):
    out = tmp_path / "harbor.json"
    assert cli("plan", "harbor-marine", "-r", "sem-cancellation", "-o", str(out)).exit_code == 0
    steps = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    for sid in ("microsoft-ads-pause", "microsoft-ads-budgets"):
        assert steps[sid]["kind"] == StepKind.SKIPPED
        assert "no microsoft_ads account" in steps[sid]["reason"]


def test_the_cli_never_imports_the_sdk(tmp_path):
    code = (
        "import sys, adoffboard.cli, adoffboard.engine, adoffboard.connectors.microsoft_ads, "
        "adoffboard.sandbox.microsoft_ads; print('bingads' in sys.modules, "
        "'openapi_client' in sys.modules)"
    )
    # run outside the checkout: its source folders must not shadow the installed package
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()
    assert out == ["False", "False"]


def test_generate_account_for_benchmarks():
    data = generate_account(1000)
    camps = data["accounts"][0]["campaigns"]
    assert len(camps) == 1000 and len({c["id"] for c in camps}) == 1000
    assert {c["status"] for c in camps} == {"Active", "Paused", "Deleted", "BudgetPaused"}
    assert sum("budget_id" in c for c in camps) == 100


def test_plan_apply_verify_through_the_cli(cli: Cli, tmp_path: Path, sandbox: Sandbox):
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out = tmp_path / "lakeside.json"
    assert (
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out)).exit_code == 0
    )
    assert sandbox.log.mutating("microsoft_ads") == []
    planned = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    assert len(planned["microsoft-ads-pause"]["changes"]) == 7
    assert len(planned["microsoft-ads-budgets"]["changes"]) == 7
    applied = cli("apply", str(out))
    assert applied.exit_code == 0, applied.output
    # pauses and budgets of the same campaigns in one call; the shared budget in its own
    assert sorted(e.method for e in sandbox.log.mutating("microsoft_ads")) == [
        "UpdateBudgets",
        "UpdateCampaigns",
    ]
    account = standin(sandbox).accounts[LAKESIDE]
    assert account.campaigns["7704"].status == "Paused"
    assert account.campaigns["7707"].status == "Deleted"
    assert account.budgets["8801"].amount == 0.05
    report = json.loads(cli("--json", "verify", "lakeside-powersports").output)
    by_step = {c["step_id"]: c["status"] for c in report["checks"]}
    assert by_step["microsoft-ads-pause"] == by_step["microsoft-ads-budgets"] == "PASS"


# --- the stand-in -------------------------------------------------------------------------------


def _update_campaigns(url: str, ids: list[str]) -> Any:
    from msads_support import sdk_client
    from openapi_client.models.campaign.campaign import Campaign
    from openapi_client.models.campaign.campaign_status import CampaignStatus
    from openapi_client.models.campaign.update_campaigns_request import UpdateCampaignsRequest

    svc = sdk_client(url, LAKESIDE, CUSTOMER)
    campaigns = [Campaign(Id=i, Status=CampaignStatus("Paused"), DailyBudget=0.05) for i in ids]
    return svc.UpdateCampaigns(UpdateCampaignsRequest(AccountId=LAKESIDE, Campaigns=campaigns))


@pytest.mark.parametrize("box", [section(active(500))], indirect=True, ids=["500"])
def test_standin_refuses_more_than_100_items_and_takes_concurrent_calls(box, tmp_path):
    from openapi_client.exceptions import ApiException
    from openapi_client.models.campaign.budget import Budget as SdkBudget
    from openapi_client.models.campaign.get_budgets_by_ids_request import (
        GetBudgetsByIdsRequest,
    )
    from openapi_client.models.campaign.update_budgets_request import UpdateBudgetsRequest

    from adoffboard.connectors.microsoft_ads.client import translate
    from adoffboard.errors import PlatformError

    ids = [c["id"] for c in active(500)]
    svc = standin(box)
    url = svc.url
    refusals = {
        "CampaignsArrayExceedsLimit": lambda: _update_campaigns(url, ids[:101]),
        "BudgetsArrayExceedsLimit": lambda: msads_call(
            url,
            "UpdateBudgets",
            UpdateBudgetsRequest(Budgets=[SdkBudget(Id=str(i), Amount=1.0) for i in range(101)]),
        ),
        "BudgetIdsArrayExceedsLimit|BudgetsArrayExceedsLimit": lambda: msads_call(
            url,
            "GetBudgetsByIds",
            GetBudgetsByIdsRequest(BudgetIds=[str(i) for i in range(1, 102)]),
        ),
    }
    for code, call in refusals.items():
        with pytest.raises(ApiException) as raised:
            call()
        error = translate(raised.value)
        assert isinstance(error, PlatformError) and re.search(code, str(error)), str(error)
    assert svc.writes == []  # a refused call changes nothing
    # five calls of 100 at once: every campaign paused and floored, none lost
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(
            pool.map(lambda k: _update_campaigns(url, ids[k : k + 100]), range(0, 500, 100))
        )
    assert all(not a.partial_errors for a in answers)
    account = svc.accounts[LAKESIDE]
    assert {(c.status, c.daily_budget) for c in account.campaigns.values()} == {("Paused", 0.05)}
    assert sorted(len(items) for _, _, items in svc.writes) == [100] * 5


def msads_call(url: str, operation: str, request: Any) -> Any:
    from msads_support import sdk_client

    return getattr(sdk_client(url, LAKESIDE, CUSTOMER), operation)(request)
