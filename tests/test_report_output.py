"""Reports as JSON, their escaping of untrusted text, and the files written (with large runs).

Reports are built directly from model values (see `report_samples`)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import (
    ATTESTATION,
    CHECKS,
    EVIL,
    PLAN,
    SCRIPT_NAME,
    STEPS,
    change,
    plan_report,
    run_report,
    step,
    verify_report,
)

from adoffboard.errors import InputError
from adoffboard.models import (
    Check,
    CheckStatus,
    ManualTask,
    Outcome,
    OutcomeStatus,
    Report,
    ReportKind,
    StepKind,
)
from adoffboard.reports import (
    render_html,
    render_json,
    render_markdown,
    summarize,
    write_reports,
)

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
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">" in page
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
