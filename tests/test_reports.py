"""Reports: one model, three renderings, the layout the readers asked for.

Reports are built directly from model values (no engine, no connectors) so that each test states
exactly what the report says and checks how it is shown.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adoffboard.errors import InputError
from adoffboard.models import (
    Change,
    Check,
    CheckStatus,
    ManualTask,
    Outcome,
    OutcomeStatus,
    Phase,
    Plan,
    Report,
    ReportKind,
    StepKind,
    StepPlan,
)
from adoffboard.reports import (
    Summary,
    Verdict,
    render_html,
    render_json,
    render_markdown,
    summarize,
    write_reports,
)

SCRIPT_NAME = "<script>alert(1)</script>"
ATTESTATION = "by Dana Lee at 2025-03-01T10:00:00Z"


# --- building reports ----------------------------------------------------------------------------


def change(
    step_id: str, platform: str, entity_type: str, entity_id: str, name: str, **kw: Any
) -> Change:
    values = {
        "field": "status",
        "before": "ENABLED",
        "after": "PAUSED",
        "shown_before": "ENABLED",
        "shown_after": "PAUSED",
        **kw,
    }
    return Change(
        id=f"{platform}:111:{entity_type}:{entity_id}:{values['field']}",
        step_id=step_id,
        platform=platform,
        account="111-222-3333",
        entity_type=entity_type,
        entity_id=entity_id,
        name=name,
        **values,
    )


def step(step_id: str, title: str, kind: StepKind, **kw) -> StepPlan:
    return StepPlan(
        step_id=step_id,
        title=title,
        part="Cancellation",
        section="On the effective date",
        department="SEM",
        owner=kw.pop("owner", "SEM Specialist"),
        timing="effective_date",
        kind=kind,
        **kw,
    )


BRAND = change("pause", "google_ads", "campaign", "901", "Brand Search")
EVIL = change("pause", "google_ads", "campaign", "902", SCRIPT_NAME)
BUDGET = change(
    "budgets",
    "google_ads",
    "campaign_budget",
    "77",
    "Main budget",
    field="amount_micros",
    before=25_000_000,
    after=10_000,
    shown_before="25.00 USD/day",
    shown_after="0.01 USD/day",
)
MS_ONE = change("ms_pause", "microsoft_ads", "campaign", "5001", "Used Cars | Exact")
MS_TWO = change("ms_pause", "microsoft_ads", "campaign", "5002", "New Cars")
HIDE = change(
    "hide",
    "google_ads",
    "manager_link",
    "999~1",
    "link to manager 999",
    field="hidden",
    before=False,
    after=True,
    shown_before="visible",
    shown_after="hidden",
    phase=Phase.VISIBILITY,
)
ALL_CHANGES = (BRAND, EVIL, BUDGET, MS_ONE, MS_TWO, HIDE)

SCRIPTS_TASK = ManualTask(
    step_id="scripts",
    title="Disable all scripts in Google Ads",
    owner="SEM Specialist",
    instructions="Tools > Scripts: disable each script.\nNote the names in the ticket.",
    items=("Script: Daily budget guard", "Script: Weather bids"),
)
FLUENCY_TASK = ManualTask(
    step_id="fluency",
    title="Put the Fluency account on hold",
    owner="SEM Specialist",
    instructions="Fluency > Account > Hold.",
)
SHARPSPRING_TASK = ManualTask(
    step_id="sharpspring",
    title="Deactivate the SharpSpring account",
    owner="MA Specialist",
    instructions="Send the final export to the Account Manager first.",
    items=("Export the dealer's email list",),
)

STEPS = (
    step(
        "pause",
        "Pause all ads on Google Ads",
        StepKind.AUTOMATED,
        platform="google_ads",
        action="pause_campaigns",
        changes=(BRAND, EVIL),
    ),
    step(
        "budgets",
        "Set all budgets to $.01",
        StepKind.AUTOMATED,
        platform="google_ads",
        action="budgets_to_floor",
        changes=(BUDGET,),
        notes=("'Main budget' is shared by 2 campaigns: changed once",),
    ),
    step(
        "ms_pause",
        "Pause all ads on Microsoft Advertising",
        StepKind.AUTOMATED,
        platform="microsoft_ads",
        action="pause_campaigns",
        changes=(MS_ONE, MS_TWO),
    ),
    step(
        "ga_access",
        "Remove our access from Google Analytics",
        StepKind.SKIPPED,
        platform="ga4",
        action="remove_users",
        reason="only when the client leaves the platform; scope is services-only",
    ),
    step("scripts", "Disable scripts", StepKind.MANUAL, manual=SCRIPTS_TASK),
    step(
        "hide",
        "Hide the account in the manager",
        StepKind.AUTOMATED,
        platform="google_ads",
        action="hide_account",
        changes=(HIDE,),
    ),
    step("fluency", "Fluency: put on hold", StepKind.MANUAL, manual=FLUENCY_TASK),
    step(
        "sharpspring",
        "Deactivate SharpSpring",
        StepKind.MANUAL,
        owner="MA Specialist",
        manual=SHARPSPRING_TASK,
    ),
)

PLAN = Plan(
    plan_id="plan-0001",
    client="acme-motors",
    client_name="Acme Motors",
    runbook="sem-cancellation",
    runbook_version=3,
    scope="services-only",
    effective_date="2025-03-01",
    created_at="2025-02-28T09:00:00Z",
    manifest_hash="m" * 64,
    runbook_hash="r" * 64,
    steps=STEPS,
    reads={"google_ads": 2, "microsoft_ads": 1},
)

OUTCOMES = (
    Outcome(BRAND.id, OutcomeStatus.APPLIED, request_id="req-1"),
    Outcome(EVIL.id, OutcomeStatus.ALREADY, live="PAUSED"),
    Outcome(BUDGET.id, OutcomeStatus.DRIFT, live=30_000_000, message="changed since the plan"),
    Outcome(MS_ONE.id, OutcomeStatus.FAILED, message="CampaignStatusInvalid", request_id="ms-42"),
    Outcome(MS_TWO.id, OutcomeStatus.NOT_SENT, message="batch stopped by an earlier failure"),
    Outcome(HIDE.id, OutcomeStatus.APPLIED),
)

CHECKS = (
    Check(
        "pause",
        "Pause all ads on Google Ads",
        "Cancellation",
        CheckStatus.PASS,
        "0 enabled campaigns",
        "SEM Specialist",
    ),
    Check(
        "budgets",
        "Set all budgets to $.01",
        "Cancellation",
        CheckStatus.FAIL,
        "1 budget above the floor",
        "SEM Specialist",
        ("Main budget: 30.00 USD/day",),
    ),
    Check(
        "ga_access",
        "Remove our access from Google Analytics",
        "Cancellation",
        CheckStatus.SKIPPED,
        "not for this scope",
    ),
    Check("scripts", "Disable scripts", "Cancellation", CheckStatus.ATTESTED, "", "SEM Specialist"),
    Check(
        "fluency",
        "Fluency: put on hold",
        "Cancellation",
        CheckStatus.MANUAL_PENDING,
        "nobody has attested it yet",
        "SEM Specialist",
    ),
)


def plan_report() -> Report:
    return Report(kind=ReportKind.PLAN, plan=PLAN)


def run_report(outcomes: tuple[Outcome, ...] = OUTCOMES) -> Report:
    return Report(
        kind=ReportKind.RUN,
        plan=PLAN,
        run_id="run-0007",
        started_at="2025-03-01T06:00:00Z",
        finished_at="2025-03-01T06:00:09Z",
        outcomes=outcomes,
        calls={"google_ads": {"read": 3, "write": 1}, "microsoft_ads": {"read": 1, "write": 1}},
    )


def verify_report(checks: tuple[Check, ...] = CHECKS) -> Report:
    return Report(
        kind=ReportKind.VERIFY,
        plan=PLAN,
        run_id="run-0007",
        checks=checks,
        calls={"google_ads": {"read": 4}},
        attestations={"scripts": ATTESTATION},
    )


def all_statuses(status: OutcomeStatus) -> tuple[Outcome, ...]:
    return tuple(Outcome(c.id, status) for c in ALL_CHANGES)


# --- the summary ---------------------------------------------------------------------------------


def counts(summary: Summary) -> dict[tuple[str, str], dict[str, int]]:
    return {(a.platform, a.action): a.to_dict() for a in summary.actions}


def test_plan_summary_counts_changes_per_platform_and_action() -> None:
    summary = summarize(plan_report())

    assert summary.verdict == "PLAN"
    by_action = counts(summary)
    assert list(by_action) == [
        ("google_ads", "pause_campaigns"),
        ("google_ads", "budgets_to_floor"),
        ("microsoft_ads", "pause_campaigns"),
        ("google_ads", "hide_account"),
    ]
    assert by_action["google_ads", "pause_campaigns"]["planned"] == 2
    assert by_action["microsoft_ads", "pause_campaigns"]["planned"] == 2
    assert by_action["google_ads", "budgets_to_floor"] == {
        "platform": "google_ads",
        "action": "budgets_to_floor",
        "planned": 1,
        "applied": 0,
        "already": 0,
        "drift": 0,
        "failed": 0,
        "not-sent": 0,
    }
    assert summary.totals.planned == 6
    assert (summary.manual_pending, summary.manual_attested) == (3, 0)
    assert summary.steps_skipped == 1
    assert summary.drift == summary.failures == ()
    assert summary.calls == {"google_ads": {"read": 2}, "microsoft_ads": {"read": 1}}


def test_run_summary_counts_every_outcome_and_lists_drift_and_failures() -> None:
    summary = summarize(run_report())

    assert summary.verdict == "FAILED"
    t = summary.totals
    assert (t.planned, t.applied, t.already, t.drift, t.failed, t.not_sent) == (6, 2, 1, 1, 1, 1)
    ms = counts(summary)["microsoft_ads", "pause_campaigns"]
    assert (ms["failed"], ms["not-sent"], ms["applied"]) == (1, 1, 0)
    assert [(p.name, p.expected, p.found) for p in summary.drift] == [
        ("Main budget", "25.00 USD/day", "30000000")
    ]
    assert [(p.kind, p.name) for p in summary.failures] == [("failed", "Used Cars | Exact")]
    assert "ms-42" in summary.failures[0].message
    assert summary.calls["microsoft_ads"] == {"read": 1, "write": 1}


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        pytest.param(all_statuses(OutcomeStatus.APPLIED), Verdict.APPLIED, id="all-applied"),
        pytest.param(all_statuses(OutcomeStatus.ALREADY), Verdict.APPLIED, id="all-already"),
        pytest.param(
            all_statuses(OutcomeStatus.APPLIED)[:-1] + (Outcome(HIDE.id, OutcomeStatus.DRIFT),),
            Verdict.APPLIED_WITH_DRIFT,
            id="one-drift",
        ),
        pytest.param(OUTCOMES, Verdict.FAILED, id="failed-wins-over-drift"),
        pytest.param(all_statuses(OutcomeStatus.APPLIED)[:-1], Verdict.FAILED, id="no-outcome"),
    ],
)
def test_run_verdict(outcomes: tuple[Outcome, ...], verdict: Verdict) -> None:
    assert summarize(run_report(outcomes)).verdict == verdict


@pytest.mark.parametrize(
    ("checks", "verdict"),
    [
        pytest.param(CHECKS[:1], Verdict.APPLIED, id="checks-pass"),
        pytest.param(CHECKS[:2], Verdict.FAILED, id="a-check-fails"),
    ],
)
def test_a_run_carrying_checks_keeps_a_run_verdict(
    checks: tuple[Check, ...], verdict: Verdict
) -> None:
    report = replace(run_report(all_statuses(OutcomeStatus.APPLIED)), checks=checks)
    assert summarize(report).verdict == verdict


def test_a_verify_merged_with_its_run_shows_outcomes_and_checks() -> None:
    report = replace(verify_report(), outcomes=OUTCOMES)
    summary = summarize(report)
    assert summary.verdict == "FAIL"
    assert summary.totals.drift == 1 and summary.checks["PASS"] == 1
    md = render_markdown(report)
    assert "### Drift (1)" in md and "| Outcome | Message |" in md and "## Checklist" in md


def test_verify_summary_counts_checks_per_status_and_attestations() -> None:
    summary = summarize(verify_report())

    assert summary.checks == {
        "PASS": 1,
        "FAIL": 1,
        "MANUAL-PENDING": 1,
        "ATTESTED": 1,
        "SKIPPED": 1,
    }
    assert summary.verdict == "FAIL"
    assert [(p.kind, p.step_id) for p in summary.failures] == [("check", "budgets")]
    # scripts is attested; fluency and sharpspring are not.
    assert (summary.manual_pending, summary.manual_attested) == (2, 1)


def test_a_task_verify_marked_attested_counts_as_attested_even_without_who_and_when() -> None:
    report = replace(verify_report(), attestations={})
    summary = summarize(report)
    assert (summary.manual_pending, summary.manual_attested) == (2, 1)
    md = render_markdown(report)
    assert "(scripts): attested (who and when not recorded in this report)" in md


@pytest.mark.parametrize(
    ("drop", "attest_all", "verdict"),
    [
        pytest.param({"budgets"}, False, Verdict.PASS_MANUAL_PENDING, id="manual-pending"),
        pytest.param({"budgets", "fluency"}, True, Verdict.PASS, id="all-done"),
        pytest.param(set(), True, Verdict.FAIL, id="fail-wins"),
    ],
)
def test_verify_verdict(drop: set[str], attest_all: bool, verdict: Verdict) -> None:
    report = verify_report(tuple(c for c in CHECKS if c.step_id not in drop))
    if attest_all:
        report = replace(
            report,
            attestations={t: ATTESTATION for t in ("scripts", "fluency", "sharpspring")},
        )
    assert summarize(report).verdict == verdict


# --- layout --------------------------------------------------------------------------------------


def positions(text: str, *markers: str) -> list[int]:
    found = [text.find(m) for m in markers]
    assert -1 not in found, dict(zip(markers, found, strict=True))
    return found


@pytest.mark.parametrize("make", [plan_report, run_report, verify_report], ids=lambda f: f.__name__)
def test_markdown_puts_summary_first_then_changes_then_manual_then_checklist(make) -> None:
    report = make()
    text = render_markdown(report)
    markers = ["## Summary", "## Changes, step by step", "## Manual tasks"]
    if report.kind is ReportKind.VERIFY:
        markers.append("## Checklist")
    found = positions(text, *markers)
    assert found == sorted(found)
    assert text.count("## Summary") == 1


@pytest.mark.parametrize("make", [plan_report, run_report, verify_report], ids=lambda f: f.__name__)
def test_html_puts_summary_first_then_changes_then_manual_then_checklist(make) -> None:
    report = make()
    text = render_html(report)
    markers = ['id="summary"', 'id="changes"', 'id="manual"']
    if report.kind is ReportKind.VERIFY:
        markers.append('id="checklist"')
    found = positions(text, *markers)
    assert found == sorted(found)


def test_summary_shows_verdict_counts_and_calls() -> None:
    md = render_markdown(run_report())
    summary = md[: md.index("## Changes, step by step")]
    assert "**Verdict: FAILED**" in summary
    assert "| google_ads | budgets_to_floor | 1 | 0 | 0 | 1 | 0 | 0 |" in summary
    assert "| all | all | 6 | 2 | 1 | 1 | 1 | 1 |" in summary
    assert "| Platform | Reads | Writes |" in summary
    assert "| microsoft_ads | 1 | 1 |" in summary
    assert "### Drift (1)" in summary and "### Failures (1)" in summary
    assert "Main budget" in summary and "CampaignStatusInvalid" in summary


def test_calls_table_adds_the_seconds_waited_for_throttles() -> None:
    report = dataclasses.replace(
        run_report(), calls={"meta": {"read": 5, "write": 2, "throttled_s": 300}}
    )
    md = render_markdown(report)
    assert "| Platform | Reads | Writes | Throttle wait (s) |" in md
    assert "| meta | 5 | 2 | 300 |" in md


def test_plan_report_says_it_is_a_dry_run_without_outcome_columns() -> None:
    md = render_markdown(plan_report())
    assert "Dry run: nothing was changed" in md
    assert "| Outcome |" not in md
    assert "**Verdict: PLAN**" in md


@pytest.mark.parametrize("render", [render_markdown, render_html], ids=["markdown", "html"])
@pytest.mark.parametrize("make", [plan_report, run_report], ids=["plan", "run"])
def test_every_change_shows_before_and_after(render, make) -> None:
    text = render(make())
    for c in ALL_CHANGES:
        assert c.entity_id in text
        for shown in (c.shown_before, c.shown_after):
            assert (html.escape(shown) if render is render_html else shown) in text
    assert "25.00 USD/day" in text and "0.01 USD/day" in text


def test_run_markdown_shows_each_outcome_with_its_message_in_runbook_order() -> None:
    md = render_markdown(run_report())
    changes = md[md.index("## Changes, step by step") : md.index("## Manual tasks")]
    rows = [line for line in changes.splitlines() if line.startswith("| ") and "ENABLED" in line]
    assert [r.split(" | ")[-2] for r in rows] == ["applied", "already", "failed", "not-sent"]
    budget_row = next(line for line in changes.splitlines() if "Main budget" in line)
    assert "drift" in budget_row and "changed since the plan" in budget_row
    assert "live value: 30000000" in budget_row
    titles = [s.title for s in STEPS]
    found = positions(changes, *titles)
    assert found == sorted(found)


def test_markdown_table_keeps_its_columns_when_a_name_contains_a_pipe() -> None:
    md = render_markdown(plan_report())
    row = next(line for line in md.splitlines() if "Used Cars" in line)
    assert "Used Cars \\| Exact" in row
    assert row.replace("\\|", "").count("|") == 8  # 7 columns


@pytest.mark.parametrize("render", [render_markdown, render_html], ids=["markdown", "html"])
def test_skipped_step_is_listed_with_its_reason(render) -> None:
    text = render(plan_report())
    assert "Remove our access from Google Analytics" in text
    assert "only when the client leaves the platform; scope is services-only" in text


def test_manual_tasks_are_grouped_under_their_owner() -> None:
    md = render_markdown(plan_report())
    manual = md[md.index("## Manual tasks") :]
    sem, ma = positions(manual, "### SEM Specialist", "### MA Specialist")
    assert manual.count("### SEM Specialist") == 1
    scripts, fluency, sharpspring = positions(
        manual, SCRIPTS_TASK.title, FLUENCY_TASK.title, SHARPSPRING_TASK.title
    )
    assert sem < scripts < fluency < ma < sharpspring
    assert "> Tools \\> Scripts: disable each script." in manual
    assert "- [ ] Script: Daily budget guard" in manual
    assert "- [ ] Export the dealer's email list" in manual


def test_html_manual_tasks_are_grouped_under_their_owner() -> None:
    page = render_html(plan_report())
    manual = page[page.index('id="manual"') :]
    sem, scripts, fluency, ma, sharpspring = positions(
        manual,
        "<h3>SEM Specialist</h3>",
        SCRIPTS_TASK.title,
        FLUENCY_TASK.title,
        "<h3>MA Specialist</h3>",
        SHARPSPRING_TASK.title,
    )
    assert sem < scripts < fluency < ma < sharpspring
    assert "<li>Script: Weather bids</li>" in manual


@pytest.mark.parametrize("render", [render_markdown, render_html], ids=["markdown", "html"])
def test_verify_shows_attested_tasks_with_who_and_when_and_every_check(render) -> None:
    text = render(verify_report())
    start = "## Manual tasks" if render is render_markdown else 'id="manual"'
    end = "## Checklist" if render is render_markdown else 'id="checklist"'
    manual = text[text.index(start) : text.index(end)]
    assert "attested" in manual and ATTESTATION in manual
    assert "attested" not in manual[manual.index(FLUENCY_TASK.title) :].split("\n")[0]
    checklist = text[text.index(end) :]
    for status in CheckStatus:
        assert status.value in checklist
    assert "1 budget above the floor" in checklist
    assert "Main budget: 30.00 USD/day" in checklist


# --- JSON ----------------------------------------------------------------------------------------


def test_json_round_trips_with_the_documented_fields() -> None:
    report = run_report()
    data = json.loads(render_json(report))

    for key in (
        "kind",
        "client",
        "client_name",
        "runbook",
        "runbook_version",
        "scope",
        "effective_date",
        "plan_id",
        "plan_sha256",
        "run_id",
        "summary",
        "steps",
        "manual_tasks",
        "checks",
    ):
        assert key in data, key
    assert data["kind"] == "run"
    assert (data["client"], data["client_name"]) == ("acme-motors", "Acme Motors")
    assert (data["runbook"], data["runbook_version"]) == ("sem-cancellation", 3)
    assert data["plan_sha256"] == PLAN.content_hash
    assert data["run_id"] == "run-0007"
    assert data["summary"]["verdict"] == "FAILED"
    assert data["summary"]["totals"]["not-sent"] == 1
    assert data["summary"]["drift"][0]["entity_id"] == "77"
    assert [s["step_id"] for s in data["steps"]] == [s.step_id for s in STEPS]
    budget = data["steps"][1]["changes"][0]
    assert (budget["shown_before"], budget["shown_after"]) == ("25.00 USD/day", "0.01 USD/day")
    assert (budget["before"], budget["after"]) == (25_000_000, 10_000)
    assert budget["outcome"]["status"] == "drift"
    assert data["steps"][3]["kind"] == "skipped" and data["steps"][3]["reason"]
    assert [(t["owner"], t["step_id"]) for t in data["manual_tasks"]] == [
        ("SEM Specialist", "scripts"),
        ("SEM Specialist", "fluency"),
        ("MA Specialist", "sharpspring"),
    ]
    assert list(data)[:3] == ["report_format", "kind", "client"]
    assert render_json(report) == render_json(run_report())  # stable


def test_json_of_a_plan_has_no_outcomes_and_of_a_verify_has_checks() -> None:
    plan = json.loads(render_json(plan_report()))
    assert all(c["outcome"] is None for s in plan["steps"] for c in s["changes"])
    assert plan["checks"] == [] and plan["run_id"] == ""

    verify = json.loads(render_json(verify_report()))
    assert [c["status"] for c in verify["checks"]] == [c.status.value for c in CHECKS]
    scripts = next(t for t in verify["manual_tasks"] if t["step_id"] == "scripts")
    assert (scripts["status"], scripts["attestation"]) == ("attested", ATTESTATION)
    assert verify["summary"]["checks"]["ATTESTED"] == 1


# --- safety --------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [plan_report, run_report, verify_report], ids=lambda f: f.__name__)
def test_html_escapes_untrusted_names_and_runs_no_script(make) -> None:
    page = render_html(make())
    assert SCRIPT_NAME not in page
    assert html.escape(SCRIPT_NAME) in page
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page  # self-contained
    assert "<style>" in page


def test_markdown_escapes_untrusted_names() -> None:
    md = render_markdown(plan_report())
    assert SCRIPT_NAME not in md
    assert "\\<script\\>alert(1)\\</script\\>" in md


def untrusted_everywhere() -> Report:
    """A verify merged with its run where every text a platform, runbook or person supplies is
    the same hostile string: no template may show any of them unescaped."""
    evil_change = replace(
        EVIL,
        account=SCRIPT_NAME,
        field=SCRIPT_NAME,
        shown_before=SCRIPT_NAME,
        shown_after=SCRIPT_NAME,
        entity_type=SCRIPT_NAME,
    )
    task = ManualTask(SCRIPT_NAME, SCRIPT_NAME, SCRIPT_NAME, SCRIPT_NAME, (SCRIPT_NAME,))
    steps = (
        step(
            SCRIPT_NAME,
            SCRIPT_NAME,
            StepKind.AUTOMATED,
            owner=SCRIPT_NAME,
            platform=SCRIPT_NAME,
            action=SCRIPT_NAME,
            changes=(evil_change,),
            notes=(SCRIPT_NAME,),
            manual=task,
        ),
        step("skipped", SCRIPT_NAME, StepKind.SKIPPED, reason=SCRIPT_NAME),
    )
    plan = replace(
        PLAN,
        steps=steps,
        client_name=SCRIPT_NAME,
        scope=SCRIPT_NAME,
        runbook=SCRIPT_NAME,
        effective_date=SCRIPT_NAME,
    )
    return Report(
        kind=ReportKind.VERIFY,
        plan=plan,
        run_id=SCRIPT_NAME,
        started_at=SCRIPT_NAME,
        outcomes=(
            Outcome(
                evil_change.id,
                OutcomeStatus.DRIFT,
                live=SCRIPT_NAME,
                message=SCRIPT_NAME,
                request_id=SCRIPT_NAME,
            ),
        ),
        checks=(
            Check(
                SCRIPT_NAME,
                SCRIPT_NAME,
                SCRIPT_NAME,
                CheckStatus.FAIL,
                SCRIPT_NAME,
                SCRIPT_NAME,
                (SCRIPT_NAME, SCRIPT_NAME),
            ),
        ),
        calls={SCRIPT_NAME: {SCRIPT_NAME: 1}},
        attestations={SCRIPT_NAME: SCRIPT_NAME},
        change_request=SCRIPT_NAME,
        errors=(SCRIPT_NAME,),
    )


def test_html_escapes_every_untrusted_text_and_keeps_its_content_security_policy() -> None:
    page = render_html(untrusted_everywhere())
    assert "<script" not in page.lower()
    assert page.count(html.escape(SCRIPT_NAME, quote=False)) >= 40
    assert (
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">" in page
    )


def test_markdown_escapes_every_untrusted_text() -> None:
    md = render_markdown(untrusted_everywhere())
    assert not re.search(r"(?<!\\)<", md)  # every < is backslashed: no raw HTML
    assert md.count("\\<script\\>alert(1)\\</script\\>") >= 40


# --- files and size ------------------------------------------------------------------------------


def test_write_reports_writes_three_files(tmp_path: Path) -> None:
    report = run_report()
    paths = write_reports(report, tmp_path / "reports")

    assert set(paths) == {"md", "json", "html"}
    assert paths["md"] == tmp_path / "reports" / "acme-motors-run-run-0007.md"
    assert paths["md"].read_text(encoding="utf-8") == render_markdown(report)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["run_id"] == "run-0007"
    assert paths["html"].read_text(encoding="utf-8") == render_html(report)
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        p.name for p in paths.values()
    )


def test_write_reports_uses_the_plan_id_for_a_plan_and_accepts_a_stem(tmp_path: Path) -> None:
    assert write_reports(plan_report(), tmp_path)["json"].name == "acme-motors-plan-plan-0001.json"
    assert write_reports(plan_report(), tmp_path, stem="qa")["html"] == tmp_path / "qa.html"
    odd = replace(run_report(), run_id="run 7/../x")
    assert write_reports(odd, tmp_path)["md"].parent == tmp_path
    with pytest.raises(InputError):
        write_reports(plan_report(), tmp_path, stem="../elsewhere")


def big_report(n: int) -> Report:
    """A run over `n` campaign pauses across 5 steps, every outcome status represented."""
    statuses = list(OutcomeStatus)
    steps, outcomes = [], []
    per_step = n // 5
    for s in range(5):
        step_id = f"pause-{s}"
        changes = tuple(
            change(step_id, "google_ads", "campaign", f"{s}-{i}", f"Campaign {s}-{i}")
            for i in range(per_step)
        )
        outcomes += [Outcome(c.id, statuses[i % len(statuses)]) for i, c in enumerate(changes)]
        steps.append(
            step(
                step_id,
                f"Pause part {s}",
                StepKind.AUTOMATED,
                platform="google_ads",
                action="pause_campaigns",
                changes=changes,
            )
        )
    return Report(
        kind=ReportKind.RUN,
        plan=replace(PLAN, steps=tuple(steps)),
        run_id="big",
        outcomes=tuple(outcomes),
    )


@pytest.mark.parametrize(
    "render", [render_markdown, render_html, render_json], ids=["markdown", "html", "json"]
)
def test_a_5000_change_run_shows_its_last_change_once(render) -> None:
    # How long this takes is measured by bench/bench_reports.py, not asserted here.
    text = render(big_report(5000))

    assert text.count("Campaign 4-999") == 1


def test_a_5000_change_run_shows_every_change() -> None:
    report = big_report(5000)
    assert summarize(report).totals.planned == 5000
    assert render_markdown(report).count("| Campaign ") == 5000
    assert render_html(report).count("<tr><td>Campaign ") == 5000
    assert len(json.loads(render_json(report))["steps"][4]["changes"]) == 1000
