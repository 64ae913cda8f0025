"""Reports: one model, three renderings, the layout the readers asked for.

Reports are built directly from model values (no engine, no connectors) so that each test states
exactly what the report says and checks how it is shown.
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import replace

import pytest
from report_samples import (
    ALL_CHANGES,
    ATTESTATION,
    CHECKS,
    FLUENCY_TASK,
    HIDE,
    OUTCOMES,
    SCRIPTS_TASK,
    SHARPSPRING_TASK,
    STEPS,
    all_statuses,
    plan_report,
    run_report,
    verify_report,
)

from adoffboard.models import (
    Check,
    CheckStatus,
    Outcome,
    OutcomeStatus,
    ReportKind,
)
from adoffboard.reports import (
    Summary,
    Verdict,
    render_html,
    render_markdown,
    summarize,
)

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


@pytest.mark.parametrize("render", [render_markdown, render_html], ids=["markdown", "html"])
def test_the_summary_counts_skipped_steps_in_a_plan_and_skipped_lines_in_a_verify(render) -> None:
    def plain(text: str) -> str:
        return " ".join(re.sub(r"<[^>]+>|\*\*", "", text).split())

    planned = plain(render(plan_report()))
    assert "Skipped steps: 1 (each with its reason under" in planned
    verified = plain(render(verify_report()))
    skipped = sum(1 for c in CHECKS if c.status is CheckStatus.SKIPPED)
    assert skipped and f"Skipped lines: {skipped} (each with its reason in the" in verified
    assert "Skipped steps" not in verified
    nothing_skipped = tuple(c for c in CHECKS if c.status is not CheckStatus.SKIPPED)
    assert "Skipped lines: none." in plain(render(verify_report(nothing_skipped)))


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
