"""The Microsoft Advertising connector meets what the API hides and refuses, through the msads SDK
against the stand-in: experiment campaigns (campaign.md: status and budget are the base's),
CPV/CPM campaigns (campaignadditionalfield.md: returned only when asked for), campaign types the
service refuses, and faults whose Details / FieldPath say which value was wrong.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, approved_cr
from msads_support import DOCUMENTED_TYPES, sdk_client
from openapi_client.models.campaign.get_campaigns_by_account_id_request import (
    GetCampaignsByAccountIdRequest,
)
from test_contract import MemoryJournal

from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import PlatformError
from adoffboard.models import Change, CheckStatus, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import load_scenario
from adoffboard.sandbox.microsoft_ads.accounts import CAMPAIGN_TYPES

LAKESIDE, CUSTOMER = "149876543", "251234567"
EVERY_TYPE = load_scenario(Path(__file__).parent / "scenarios" / "microsoft_ads_every_type.yaml")
EXPERIMENT, BASE = "7711", "7701"
CPV, CPM = "7710", "7712"


def every_type(**extra: Any) -> dict[str, Any]:
    return {**copy.deepcopy(EVERY_TYPE["microsoft_ads"]), **extra}


@pytest.fixture
def box(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    sandbox = Sandbox({"microsoft_ads": getattr(request, "param", None) or every_type()}).start()
    yield sandbox
    sandbox.stop()


def connect(box: Sandbox, tmp_path: Path, *, read_only: bool, progress: Any = None) -> Any:
    ctx = ConnectorContext(
        settings=box.platform_settings()["microsoft_ads"],
        workspace_root=tmp_path,
        read_only=read_only,
        clock=FakeClock(),
        retry=RetryPolicy(attempts=2, timeout=10),
        progress=progress or (lambda message: None),
    )
    return build("microsoft_ads", ctx)


def manifest() -> Manifest:
    return Manifest.model_validate(
        {
            **DEMO_CLIENT,
            "microsoft_ads": {
                "account_id": LAKESIDE,
                "customer_id": CUSTOMER,
                "expected_name": "Lakeside Powersports",
            },
        }
    )


def written_ids(box: Sandbox) -> set[str]:
    return {i for _, _, items in box.microsoft_ads.writes for i, _ in items}


# --- CPV / CPM campaigns ----------------------------------------------------------------------


def test_cpv_and_cpm_campaigns_are_hidden_from_a_read_without_the_additional_field(box, tmp_path):
    """The same read the connector makes, less ReturnAdditionalFields, misses them."""
    svc = sdk_client(box.microsoft_ads.url, LAKESIDE, CUSTOMER)
    bare = svc.GetCampaignsByAccountId(
        GetCampaignsByAccountIdRequest(AccountId=LAKESIDE, CampaignType=DOCUMENTED_TYPES)
    )
    assert {CPV, CPM}.isdisjoint({c.id for c in bare.campaigns})

    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest())
    seen = {c.id: c for c in state.campaigns}
    assert (seen[CPV].bidding, seen[CPM].bidding) == ("ManualCpv", "ManualCpm")
    planned = connector.plan("pause_campaigns", {}, state, "pause").changes
    assert {CPV, CPM} <= {c.entity_id for c in planned}


# --- experiments -----------------------------------------------------------------------------


def test_an_experiment_is_never_planned_and_is_judged_by_its_base(box, tmp_path):
    connector = connect(box, tmp_path, read_only=False)
    state = connector.read_state(manifest())
    experiment = next(c for c in state.campaigns if c.id == EXPERIMENT)
    assert (experiment.experiment_id, experiment.base_id) == ("9901", BASE)
    follows = f"it follows its base campaign {BASE}"
    for action in ("pause_campaigns", "budgets_to_floor"):
        draft = connector.plan(action, {}, state, action)
        assert EXPERIMENT not in {c.entity_id for c in draft.changes}
        assert any(follows in note for note in draft.notes), draft.notes
    assert connector.verify("pause_campaigns", {}, state).status == CheckStatus.FAIL
    lines = state.budget_lines()  # a budget addendum sets the base's budget, never the experiment's
    assert f"campaign:{EXPERIMENT}" not in {line.key for line in lines.lines}
    assert f"campaign:{BASE}" in {line.key for line in lines.lines}
    assert any("is an experiment campaign" in note for note in lines.notes)

    changes = [
        c
        for a in ("pause_campaigns", "budgets_to_floor")
        for c in connector.plan(a, {}, state, a).changes
    ]
    outcomes = connector.apply(changes, MemoryJournal())
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert EXPERIMENT not in written_ids(box)
    after = connect(box, tmp_path, read_only=True).read_state(manifest())
    for action in ("pause_campaigns", "budgets_to_floor"):
        verdict = connector.verify(action, {}, after)
        assert verdict.status == CheckStatus.PASS, verdict
    assert (
        "1 experiment campaign(s) judged by their base"
        in connector.verify("pause_campaigns", {}, after).detail
    )


def test_an_experiment_whose_base_cannot_be_read_is_left_to_a_person(box, tmp_path):
    del box.microsoft_ads.accounts[LAKESIDE].experiments["9901"]  # GetExperimentsByIds: null
    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest())
    draft = connector.plan("pause_campaigns", {}, state, "pause")
    assert EXPERIMENT not in {c.entity_id for c in draft.changes}
    (item,) = draft.manual_items
    assert item.startswith(f"Experiment campaign 'Bing Search - Brand (bid test)' ({EXPERIMENT})")
    assert "pause that base campaign" in item


def test_a_running_base_fails_the_experiment_too(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    state = connector.read_state(manifest())
    verdict = connector.verify("pause_campaigns", {}, state)
    assert (
        f"Bing Search - Brand (bid test) ({EXPERIMENT}): follows base campaign {BASE}, Active"
        in (verdict.evidence)
    )


def test_a_write_to_an_experiment_fails_with_its_field_path(box, tmp_path):
    """A plan from before the experiment existed: the service's 6133 and FieldPath reach the
    outcome the report shows."""
    connector = connect(box, tmp_path, read_only=False)
    connector.read_state(manifest())
    stale = Change(
        id=f"microsoft_ads:{LAKESIDE}:campaign:{EXPERIMENT}:Status",
        step_id="microsoft-ads-pause",
        platform="microsoft_ads",
        account=LAKESIDE,
        entity_type="campaign",
        entity_id=EXPERIMENT,
        name="Bing Search - Brand (bid test)",
        field="Status",
        before="Active",
        after="Paused",
        shown_before="Active",
        shown_after="Paused",
    )
    (outcome,) = connector.apply([stale], MemoryJournal())
    assert outcome.status == OutcomeStatus.FAILED
    assert outcome.message == (
        "6133 ExperimentCampaignCannotBeUpdated: One or more properties of the experiment "
        "campaign cannot be updated. (field: Status)"
    )


# --- campaign types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box", [every_type(rejected_campaign_types=["DynamicSearchAds"])], indirect=True, ids=["dsa"]
)
def test_a_refused_campaign_type_is_dropped_and_the_plan_says_so(box, tmp_path):
    said: list[str] = []
    connector = connect(box, tmp_path, read_only=True, progress=said.append)
    state = connector.read_state(manifest())
    (warning,) = state.warnings
    assert warning.startswith("Microsoft Advertising refused campaign type(s) DynamicSearchAds")
    assert "Invalid enum value 'DynamicSearchAds'" in warning and said == [warning]
    assert "DynamicSearchAds" not in {c.campaign_type for c in state.campaigns}
    assert {"Search", "Shopping", "Audience", "Hotel", "PerformanceMax"} <= {
        c.campaign_type for c in state.campaigns
    }
    reads = [e.method for e in box.log if e.method == "GetCampaignsByAccountId"]
    assert reads == ["GetCampaignsByAccountId"] * 2
    for action in ("pause_campaigns", "budgets_to_floor"):
        assert warning in connector.plan(action, {}, state, action).notes
        assert warning in connector.verify(action, {}, state).evidence


@pytest.mark.parametrize(
    "box",
    [every_type(rejected_campaign_types=["Search", "Shopping"])],
    indirect=True,
    ids=["two"],
)
def test_every_refused_type_is_named_in_one_warning_each_time(box, tmp_path):
    state = connect(box, tmp_path, read_only=True).read_state(manifest())
    assert [w.split(" as invalid")[0] for w in state.warnings] == [
        "Microsoft Advertising refused campaign type(s) Search",
        "Microsoft Advertising refused campaign type(s) Shopping",
    ]
    assert {c.campaign_type for c in state.campaigns} == {
        "Audience",
        "DynamicSearchAds",
        "Hotel",
        "PerformanceMax",
    }


ALL_REFUSED = every_type(
    rejected_campaign_types=[
        "Search",
        "Shopping",
        "DynamicSearchAds",
        "Audience",
        "Hotel",
        "PerformanceMax",
    ]
)


@pytest.mark.parametrize("box", [ALL_REFUSED], indirect=True, ids=["all"])
def test_a_fault_s_details_reach_the_error(box, tmp_path):
    connector = connect(box, tmp_path, read_only=True)
    with pytest.raises(PlatformError) as raised:
        connector.read_state(manifest())
    assert str(raised.value).endswith(
        "100 NullRequest: The request message is null. (details: Invalid enum value "
        "'Shopping' cannot be deserialized into type 'CampaignType'.)"
    )


# --- the SEM cancellation through the CLI ------------------------------------------------------


@pytest.fixture
def scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    """The demo scenario with Lakeside's Microsoft Advertising account of every kind."""
    return {**scenario, "microsoft_ads": every_type()}


def test_sem_cancellation_with_experiments_cpv_cpm_and_every_type(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
):
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out = tmp_path / "lakeside.json"
    planned = cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out))
    assert planned.exit_code == 0, planned.output
    steps = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    pause, budgets = steps["microsoft-ads-pause"], steps["microsoft-ads-budgets"]
    paused = {c["entity_id"] for c in pause["changes"]}
    assert paused == {"7701", "7702", "7703", "7704", "7705", "7706", "7708", "7709", CPV, CPM}
    assert EXPERIMENT not in {c["entity_id"] for c in budgets["changes"]}
    for step in (pause, budgets):
        assert any(f"it follows its base campaign {BASE}" in n for n in step["notes"])

    applied = cli("apply", str(out))
    assert applied.exit_code == 0, applied.output
    account = sandbox.microsoft_ads.accounts[LAKESIDE]
    assert {account.campaigns[i].status for i in (CPV, CPM, BASE)} == {"Paused"}
    assert EXPERIMENT not in written_ids(sandbox)

    report = json.loads(cli("--json", "verify", "lakeside-powersports").output)
    checks = {c["step_id"]: c for c in report["checks"]}
    assert checks["microsoft-ads-pause"]["status"] == "PASS"
    assert checks["microsoft-ads-budgets"]["status"] == "PASS"
    assert "judged by their base" in checks["microsoft-ads-pause"]["detail"]


def test_a_refused_type_is_said_in_the_plan_and_details_reach_the_error_line(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
):
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    standin = sandbox.microsoft_ads
    standin.rejected_types = frozenset({"Hotel"})
    out = tmp_path / "lakeside.json"
    planned = cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out))
    assert planned.exit_code == 0, planned.output
    steps = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    for step in ("microsoft-ads-pause", "microsoft-ads-budgets"):
        notes = steps[step]["notes"]
        assert any(
            n.startswith("Microsoft Advertising refused campaign type(s) Hotel") for n in notes
        )
    assert "7706" not in {c["entity_id"] for c in steps["microsoft-ads-pause"]["changes"]}

    standin.rejected_types = frozenset(CAMPAIGN_TYPES)
    failed = cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out))
    assert failed.exit_code == 6  # PlatformError, one line, the value in error named
    assert failed.output == (
        "adoffboard: error: Microsoft Advertising: 100 NullRequest: The request message is null. "
        "(details: Invalid enum value 'Shopping' cannot be deserialized into type "
        "'CampaignType'.)\n"
    )
