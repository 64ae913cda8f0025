"""One verdict true to the end state, a client's case judged whole, and the change request's own
lines settled from its history: through the CLI, against the sandbox."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import EXIT_OK
from adoffboard.runbook import SETTLED_BY, load_runbook, parse_runbook
from adoffboard.sandbox import Sandbox
from adoffboard.workspace_init import PEOPLE

LAKESIDE = "lakeside-powersports"
HARBOR = "harbor-marine"
EXIT_VERIFY_FAIL, EXIT_VERIFY_PENDING = 12, 13
# the change request lines of a cancellation runbook, all settled by the request's history
SETTLED = {
    "am-create-change-request",
    "am-submit-change-request",
    "retention-submit-change-request",
    "approval-first",
    "approval-second",
    "approval-finance",
    "approval-accounting",
    "dmo-approval-email",
    "dmo-remind-team",
}


def ok(result: Any, *codes: int) -> Any:
    assert result.exit_code in (codes or (EXIT_OK,)), result.output
    return result


def checks_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["step_id"]: c for c in document["checks"]}


def person_with(role: str) -> str:
    return next(key for key, p in PEOPLE.items() if role in p["roles"])


# --- A: the run's report says what verify says ----------------------------------------------


def test_leaving_the_platform_reports_one_verdict_and_verify_judges_the_whole_case(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    approved_cr(cli, LAKESIDE, scope="platform", departments=("SEM", "MA"), sandbox=sandbox)
    plan = tmp_path / "sem.json"
    ok(cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(plan)))
    applied = json.loads(ok(cli("--json", "apply", str(plan))).output)
    run_id = applied["run_id"]
    assert applied["summary"]["totals"]["applied"] == applied["summary"]["totals"]["planned"] > 40
    # every access removal ran: the agency can no longer read several accounts, as expected
    assert sandbox.google_ads.state  # the stand-in is up: the removals below were real calls
    verdict = applied["summary"]["verdict"]
    assert verdict != "FAILED" and verdict != "FAIL"
    assert not applied["summary"]["failures"]
    report = checks_of(applied)
    for removal in ("juniper-google-ads", "meta-remove-agency", "juniper-google-analytics"):
        assert report[removal]["status"] == "PASS", report[removal]
    assert "before the agency's access was removed" in report["meta-pause"]["detail"]

    # a standalone verify of the same run, at once, says the same
    again = cli("--json", "verify", LAKESIDE, "--run", run_id)
    alone = json.loads(again.output)
    assert alone["summary"]["verdict"] == verdict
    assert {k: v["status"] for k, v in checks_of(alone).items()} == {
        k: v["status"] for k, v in report.items()
    }
    assert again.exit_code == EXIT_VERIFY_PENDING  # manual lines are left, none fails
    html = Path(applied["report_files"]["html"]).read_text()
    assert 'class="verdict v-pass-manual-tasks-pending"' in html
    assert 'class="verdict v-fail' not in html  # no FAILED (or FAIL) badge

    # the MA half of the case, then `verify CLIENT` judges both runbooks together
    plan = tmp_path / "ma.json"
    ok(cli("plan", LAKESIDE, "-r", "ma-cancellation", "-o", str(plan)))
    ma_run = json.loads(ok(cli("--json", "apply", str(plan))).output)["run_id"]
    case = cli("--json", "verify", LAKESIDE)
    assert case.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING), case.output
    document = json.loads(case.output)
    assert document["kind"] == "case" and document["change_request"] == "CR-0001"
    assert {(r["runbook"], r["run_id"]) for r in document["runbooks"]} == {
        ("sem-cancellation", run_id),
        ("ma-cancellation", ma_run),
    }
    lines = {(c["runbook"], c["step_id"]): c for c in document["checks"]}
    assert lines["sem-cancellation", "juniper-google-ads"]["status"] == "PASS"
    assert lines["ma-cancellation", "sharpspring-final-export"]["runbook"] == "ma-cancellation"
    assert document["summary"]["verdict"] == "PASS - MANUAL TASKS PENDING"
    markdown = Path(document["report_files"]["md"]).read_text()
    assert "## sem-cancellation v" in markdown and "## ma-cancellation v" in markdown
    # one run can still be judged alone
    one = json.loads(cli("--json", "verify", LAKESIDE, "--run", ma_run).output)
    assert one["runbook"] == "ma-cancellation" and one["run_id"] == ma_run


# --- C: the change request's own lines --------------------------------------------------------


def test_the_request_history_settles_its_lines_and_a_done_case_exits_zero(cli: Cli) -> None:
    approved_cr(cli, HARBOR)  # Dana creates and submits; Jeremy, Dustin, Accounting approve
    ok(cli("run", HARBOR, "-r", "sem-cancellation", "--yes"), EXIT_VERIFY_PENDING)

    listed = json.loads(ok(cli("--json", "tasks", HARBOR, "--all")).output)
    assert not {t["step_id"] for t in listed} & SETTLED, listed
    text = ok(cli("tasks", HARBOR)).output
    assert not [step for step in SETTLED if f"{HARBOR}/{step}" in text], text

    lines = checks_of(json.loads(cli("--json", "verify", HARBOR).output))
    for step, who in (
        ("am-create-change-request", "Dana Whitfield"),
        ("am-submit-change-request", "Dana Whitfield"),
        ("approval-first", "Jeremy Bliesner"),
        ("approval-second", "Dustin Hunter"),
        ("approval-accounting", "Accounting Team"),
    ):
        assert lines[step]["status"] == "PASS", lines[step]
        # who, and the moment of the request's history (an ISO time with its offset, minutes ago)
        found = re.match(rf"by {who} at (\S+): ", lines[step]["detail"])
        assert found, lines[step]["detail"]
        at = dt.datetime.fromisoformat(found.group(1))
        assert dt.timedelta(0) <= dt.datetime.now(dt.UTC) - at < dt.timedelta(hours=1)
    assert lines["approval-finance"]["status"] == "SKIPPED"
    assert "no credit" in lines["approval-finance"]["detail"]
    assert lines["retention-submit-change-request"]["status"] == "SKIPPED"
    assert "not escalated" in lines["retention-submit-change-request"]["detail"]
    assert lines["dmo-approval-email"]["status"] == "PASS"
    assert "dmo-lead@agency.example" in lines["dmo-approval-email"]["detail"]
    assert lines["dmo-remind-team"]["status"] == "SKIPPED"  # approved on its effective date

    # the people do the rest; then running the case again finds it done: exit 0
    for task in listed:
        if not task["done"]:
            by = "dana" if task["owner"] == "account_manager" else person_with(task["owner"])
            ok(cli("tasks", "done", task["id"], "--by", by, "--note", "done"))
    assert json.loads(ok(cli("--json", "tasks", HARBOR)).output) == []
    again = cli("run", HARBOR, "-r", "sem-cancellation", "--yes")
    assert again.exit_code == EXIT_OK, again.output
    assert ok(cli("verify", HARBOR)).exit_code == EXIT_OK


def test_a_credit_is_settled_by_the_finance_approver(cli: Cli) -> None:
    created = cli(
        "--json",
        "cr",
        "new",
        HARBOR,
        "--type",
        "cancellation",
        "--effective",
        workspace_today(cli.workspace),
        "--credit",
        "250",
        "--department",
        "SEM",
        "--as",
        "dana",
    )
    cr_id = json.loads(ok(created).output)["id"]
    for step in (
        ("submit", cr_id, "--as", "dana"),
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "finance"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        ok(cli("cr", *step))
    run = ok(cli("--json", "run", HARBOR, "-r", "sem-cancellation", "--yes"), EXIT_VERIFY_PENDING)
    finance = checks_of(json.loads(run.output))["approval-finance"]
    assert finance["status"] == "PASS"
    assert finance["detail"].startswith("by Finance Team at ")
    assert "credit of $250.00 approved" in finance["detail"]


@pytest.mark.standins("google_ads", "sheets", "smtp")
def test_an_escalated_request_is_submitted_by_retention(cli: Cli) -> None:
    created = cli(
        "--json",
        "cr",
        "new",
        HARBOR,
        "--type",
        "cancellation",
        "--effective",
        workspace_today(cli.workspace),
        "--department",
        "SEM",
        "--escalated",
        "--as",
        "dana",
    )
    cr_id = json.loads(ok(created).output)["id"]
    ok(cli("cr", "save-attempt", cr_id, "--as", "amy", "--outcome", "not-saved", "--notes", "no"))
    for step in (
        ("submit", cr_id, "--as", "amy"),
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        ok(cli("cr", *step))
    run = cli("--json", "run", HARBOR, "-r", "sem-cancellation", "--yes")
    lines = checks_of(json.loads(run.output))
    assert lines["retention-submit-change-request"]["status"] == "PASS"
    assert lines["retention-submit-change-request"]["detail"].startswith("by Amy at ")
    assert lines["am-submit-change-request"]["status"] == "SKIPPED"
    assert "escalated to the Retention team" in lines["am-submit-change-request"]["detail"]


@pytest.mark.standins("google_ads", "sheets", "smtp")
def test_a_request_escalated_to_a_team_lead_is_submitted_by_the_account_manager(
    cli: Cli,
) -> None:
    approved_cr(cli, HARBOR, extra=("--escalate-to", "team-lead"))  # Dana submits
    run = cli("--json", "run", HARBOR, "-r", "sem-cancellation", "--yes")
    lines = checks_of(json.loads(run.output))
    assert lines["am-submit-change-request"]["status"] == "PASS"
    assert lines["am-submit-change-request"]["detail"].startswith("by Dana Whitfield at ")
    retention = lines["retention-submit-change-request"]
    assert retention["status"] == "SKIPPED"
    assert retention["detail"].startswith("not escalated to the Retention team"), retention


def test_the_demo_settles_every_change_request_line(tmp_path: Path) -> None:
    from adoffboard.demo import run_demo

    outcome = run_demo(tmp_path / "demo")
    assert outcome.ok and len(outcome.reports) == 2
    for report in outcome.reports:
        book = load_runbook(report.plan.runbook, None).model
        settled = {s.id for s in book.steps if s.settled_by}
        assert settled
        for check in report.checks:
            if check.step_id in settled:
                assert check.status in ("PASS", "SKIPPED"), check
        statuses = {c.step_id: c.status for c in report.checks}
        assert statuses["approval-first"] == "PASS" and statuses["approval-finance"] == "SKIPPED"


# --- the runbook field ------------------------------------------------------------------------


def test_settled_by_is_validated_and_every_event_has_a_judge() -> None:
    from adoffboard.verdicts import _JUDGES

    assert set(_JUDGES) == set(SETTLED_BY)
    base = (
        "name: x\nversion: 1\ntitle: X\ndepartment: SEM\nprocess: cancellation\nsource: s\n"
        "steps:\n  - id: one\n    title: One\n    department: SEM\n    owner: dmo_lead\n"
        "    timing: immediately\n    verify: v\n"
    )
    manual = "    manual: {instructions: do it}\n"
    book, problems = parse_runbook((base + manual + "    settled_by: created\n").encode(), "x.yaml")
    assert book is not None and book.model.steps[0].settled_by == "created", problems
    _, problems = parse_runbook((base + manual + "    settled_by: approved\n").encode(), "x.yaml")
    assert problems and "settled_by" in problems[0].field
    action = "    action: {connector: sheets, name: append_row, params: {tracker: planner}}\n"
    _, problems = parse_runbook((base + action + "    settled_by: created\n").encode(), "x.yaml")
    assert problems and "manual step" in problems[0].message


@pytest.mark.standins("google_ads", "sheets", "smtp")
def test_an_approved_pause_end_date_settles_its_confirmation(cli: Cli) -> None:
    end = "2099-01-31"
    cr_id = approved_cr(cli, HARBOR, "pause", extra=("--pause-end", end))
    run = cli("--json", "run", HARBOR, "-r", "sem-pause", "--yes")
    lines = checks_of(json.loads(run.output))
    confirmed = lines["confirm-pause-end-date"]
    assert confirmed["status"] == "PASS", confirmed
    assert confirmed["detail"].startswith("by Dana Whitfield at ")
    assert f"the pause ends on {end}, approved with the request" in confirmed["detail"]
    assert lines["am-create-change-request"]["status"] == "PASS"
    assert cr_id in lines["am-create-change-request"]["detail"]
    tasks = json.loads(ok(cli("--json", "tasks", HARBOR)).output)
    assert not {t["step_id"] for t in tasks} & {
        "confirm-pause-end-date",
        "am-create-change-request",
    }


# --- the engine's judgment of an account it can no longer read --------------------------------


@pytest.mark.standins("smtp")
def test_an_account_whose_access_the_run_removed_passes_when_it_cannot_be_read(
    workspace: Path,
) -> None:
    """Reading an account can fail outright once the agency's access is gone (credentials
    refused): the run's own removal of it is then the expected end state, not a failure."""
    from adoffboard.config import load_workspace
    from adoffboard.engine import step_context
    from adoffboard.engine.verifying import NOTHING_YET, EndState, _check_step
    from adoffboard.models import Check, CheckStatus

    manifest = load_workspace(workspace).load_client(LAKESIDE)
    book = load_runbook("sem-cancellation", None)
    steps = {s.id: s for s in book.model.steps}
    refused = {"meta": "Meta refused the credentials (code 190)"}

    def judged(step_id: str, end: EndState, fallback: dict[str, Check] | None = None) -> Check:
        return _check_step(
            steps[step_id],
            "platform",
            manifest,
            {},
            {},
            refused,
            {},
            None,
            fallback or {},
            step_context(book, "platform", None),
            {},
            end,
        )

    removed = EndState(frozenset({"meta"}), frozenset({"meta-pause"}))
    removal = judged("meta-remove-agency", removed)
    assert removal.status == CheckStatus.PASS and "no longer read" in removal.detail
    pause = judged("meta-pause", removed)
    assert pause.status == CheckStatus.PASS and "its changes took effect" in pause.detail
    # read before the removal: that check is carried over, marked so
    before = Check("meta-pause", "t", "p", CheckStatus.PASS, "no ACTIVE campaign")
    carried = judged("meta-pause", removed, {"meta-pause": before})
    assert carried.status == CheckStatus.PASS
    assert carried.detail == "no ACTIVE campaign (checked before the agency's access was removed)"
    # without a removal by the run, an account that cannot be read is a failure
    assert judged("meta-remove-agency", NOTHING_YET).status == CheckStatus.FAIL
    assert judged("meta-pause", EndState(frozenset({"meta"}))).status == CheckStatus.FAIL


# --- the scheduler reports the same verdict ---------------------------------------------------


@pytest.mark.standins("google_ads", "sheets", "trello", "smtp")
def test_the_scheduler_reports_the_lines_the_request_settled(cli: Cli, workspace: Path) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from adoffboard.app import environment
    from adoffboard.clock import FakeClock
    from adoffboard.config import load_workspace
    from adoffboard.report_summary import summarize
    from adoffboard.scheduling.runner import Scheduler
    from adoffboard.store import Store
    from adoffboard.verdicts import judge_run

    ws = load_workspace(workspace)
    zone = ZoneInfo(ws.config.workspace.timezone)
    effective = dt.date.fromisoformat(workspace_today(workspace)) + dt.timedelta(days=2)
    approved_cr(cli, HARBOR, effective=str(effective))
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    with Store.open(ws.store_url, clock=clock) as store:
        scheduler = Scheduler(ws, store, clock=clock)
        for day in (effective - dt.timedelta(days=1), effective):  # the reminder, then the run
            at = dt.datetime.combine(day, dt.time(6, 0), zone)
            clock.advance((at - clock.now()).total_seconds())
            results = scheduler.tick().results
        [result] = results
        # what a standalone verify of the run says, at once (on the scheduler's clock)
        alone = judge_run(environment(ws, clock=clock), store, HARBOR, str(result.run_id))
    assert result.outcome == "done", result.detail
    document = json.loads(Path(str(result.report)).with_suffix(".json").read_text())
    lines = checks_of(document)
    assert lines["approval-second"]["status"] == "PASS"
    assert lines["approval-second"]["detail"].startswith("by Dustin Hunter at ")
    assert lines["approval-finance"]["status"] == "SKIPPED"
    assert lines["dmo-approval-email"]["status"] == "PASS"
    # the day before, the scheduler's tick sent the one-day reminder: it settles the line
    assert lines["dmo-remind-team"]["status"] == "PASS", lines["dmo-remind-team"]
    assert str(summarize(alone).verdict) == document["summary"]["verdict"]
    assert {c.step_id: str(c.status) for c in alone.checks} == {
        k: v["status"] for k, v in lines.items()
    }


@pytest.mark.standins("sheets", "smtp")
def test_a_pause_case_once_unpaused_is_judged_by_its_unpause(cli: Cli) -> None:
    import datetime as dt

    today = dt.date.fromisoformat(workspace_today(cli.workspace))
    approved_cr(
        cli,
        LAKESIDE,
        "pause",
        effective=str(today - dt.timedelta(days=1)),
        departments=("MA",),
        extra=("--pause-end", str(today)),
    )
    paused = json.loads(ok(cli("--json", "run", LAKESIDE, "-r", "ma-pause", "--yes"), 13).output)
    assert checks_of(paused)["confirm-pause-end-date"]["status"] == "PASS"
    case = json.loads(cli("--json", "verify", LAKESIDE).output)
    assert case["runbook"] == "ma-pause" and case["run_id"] == paused["run_id"]
    # the un-pause undoes the pause on purpose: the case stands by the un-pause's end state
    unpaused = json.loads(
        ok(cli("--json", "run", LAKESIDE, "-r", "ma-unpause", "--yes"), 13).output
    )
    verified = cli("--json", "verify", LAKESIDE)
    assert verified.exit_code == EXIT_VERIFY_PENDING, verified.output
    case = json.loads(verified.output)
    assert case["runbook"] == "ma-unpause" and case["run_id"] == unpaused["run_id"]
    assert case["change_request"] == paused["change_request"]
