"""Change requests end to end through the CLI: the seeds' retention and approval workflow, the
approval notice over real SMTP, the planner, and the gate in front of `apply`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from conftest import Cli, approved_cr, workspace_today

from adoffboard.cli import (
    EXIT_INPUT,
    EXIT_NOT_PERMITTED,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_USAGE,
    EXIT_VERIFY_PENDING,
)
from adoffboard.sandbox import Sandbox

LAKESIDE = "lakeside-powersports"
CID = "1234567890"
DISTRIBUTION = ["dmo-lead@agency.example", "dm-leads@agency.example", "dm-managers@agency.example"]
NOTES = "Dealer is moving SEM in-house after the winter season."
SAVE_NOTES = "Offered two months at half the management fee; the dealer declined."


def ok(result: Any) -> Any:
    assert result.exit_code == EXIT_OK, result.output
    return result


def refused(result: Any, code: int, fragment: str) -> None:
    """One line on stderr starting `adoffboard: error:`, the documented code, no traceback."""
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("adoffboard: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    assert "Traceback" not in result.output


def show(cli: Cli, cr_id: str) -> dict[str, Any]:
    return json.loads(ok(cli("--json", "cr", "show", cr_id)).output)


def store_state(cli: Cli) -> str:
    """Everything the store holds about change requests, as the CLI shows it."""
    listed = json.loads(ok(cli("--json", "cr", "list")).output)
    shown = [show(cli, cr["id"]) for cr in listed]
    planner = json.loads(ok(cli("--json", "planner")).output)
    return json.dumps([listed, shown, planner], sort_keys=True)


def add_person(workspace: Path, key: str, roles: list[str]) -> None:
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    data["people"][key] = {"name": key.title(), "email": f"{key}@agency.example", "roles": roles}
    path.write_text(tomli_w.dumps(data))


def new_cr(
    cli: Cli, *extra: str, client: str = LAKESIDE, type_: str = "cancellation", person: str = "dana"
) -> str:
    result = ok(
        cli(
            "--json",
            "cr",
            "new",
            client,
            "--type",
            type_,
            "--as",
            person,
            "--department",
            "SEM",
            *extra,
        )
    )
    return json.loads(result.output)["id"]


# --- the acceptance flow ----------------------------------------------------------------------


def test_cancellation_from_request_to_apply(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    today = workspace_today(cli.workspace)
    # QA plans before anything is approved: always allowed, and it carries no change request.
    planned = ok(cli("plan", LAKESIDE, "-r", "sem-cancellation", "--scope", "platform"))
    assert "No approved change request yet" in planned.output
    qa_plan = Path(planned.output.split("Plan saved: ")[1].split()[0])
    assert "change_request" not in json.loads(qa_plan.read_text())
    refused(
        cli("apply", str(qa_plan)),
        EXIT_SAFETY,
        "no approved cancellation change request for lakeside-powersports",
    )

    # The Account Manager creates it, escalated to the Retention team, with a credit.
    cr_id = new_cr(
        cli,
        "--scope",
        "platform",
        "--effective",
        today,
        "--credit",
        "250.00",
        "--escalated",
        "--notes",
        NOTES,
    )
    assert cr_id == "CR-0001" and show(cli, cr_id)["status"] == "draft"
    refused(
        cli("cr", "submit", cr_id, "--as", "dana"),
        EXIT_NOT_PERMITTED,
        "only the Retention team submits it",
    )

    # The Retention team records the save attempt and submits.
    ok(
        cli(
            "cr",
            "save-attempt",
            cr_id,
            "--as",
            "amy",
            "--outcome",
            "not-saved",
            "--notes",
            SAVE_NOTES,
        )
    )
    ok(cli("cr", "submit", cr_id, "--as", "amy"))
    refused(
        cli("apply", str(qa_plan)),
        EXIT_SAFETY,
        f"cancellation {cr_id} for lakeside-powersports is waiting for the first approver "
        "(approver_1)",
    )

    # Approvals strictly in order: first and second approvers, finance (a credit), accounting.
    ok(cli("cr", "approve", cr_id, "--as", "jeremy"))
    refused(
        cli("apply", str(qa_plan)),
        EXIT_SAFETY,
        f"cancellation {cr_id} for lakeside-powersports is waiting for the second approver "
        "(approver_2)",
    )
    ok(cli("cr", "approve", cr_id, "--as", "dustin"))
    refused(cli("apply", str(qa_plan)), EXIT_SAFETY, "is waiting for the finance team (finance)")
    ok(cli("cr", "approve", cr_id, "--as", "finance"))
    refused(
        cli("apply", str(qa_plan)), EXIT_SAFETY, "is waiting for the accounting team (accounting)"
    )
    # Nothing is announced before the chain is done: the one message so far told the Retention
    # team, to which the request was escalated, and nobody else.
    [escalation] = sandbox.smtp.messages
    assert sorted(sandbox.smtp.envelopes[0][1]) == ["amy@agency.example", "anglee@agency.example"]
    assert escalation["Subject"] == (
        f"Escalated to the Retention team: cancellation {cr_id} for Lakeside Powersports"
    )
    ok(cli("cr", "approve", cr_id, "--as", "accounting"))

    shown = show(cli, cr_id)
    assert shown["status"] == "approved" and shown["pending_step"] is None
    assert [(t["action"], t["by"], t["role"]) for t in shown["history"]] == [
        ("created", "dana", "account_manager"),
        ("save-attempt", "amy", "retention"),
        ("submitted", "amy", "retention"),
        ("approved", "jeremy", "approver_1"),
        ("approved", "dustin", "approver_2"),
        ("approved", "finance", "finance"),
        ("processed", "accounting", "accounting"),
    ]
    assert all(t["content_hash"] == shown["content_hash"] for t in shown["history"][1:])
    assert all(t["at"] for t in shown["history"])

    # The notice reached the local SMTP server: the distribution list, the consolidated request.
    [_, message] = sandbox.smtp.messages
    _, recipients = sandbox.smtp.envelopes[1]
    assert sorted(recipients) == sorted(DISTRIBUTION)
    assert message["Subject"] == (
        f"Approved: cancellation {cr_id} for Lakeside Powersports (effective {today})"
    )
    body = message.get_content()
    for fragment in (
        NOTES,
        SAVE_NOTES,
        "cancellation",
        "leaving the platform entirely",
        f"Effective date:         {today}",
        "Departments:            SEM",
        "$250.00",
        "not saved",
        "Jeremy Bliesner",
        "Dustin Hunter",
        f"Plan to open: {qa_plan} (made for review before the approval; apply takes {cr_id})",
        f"-plan-{json.loads(qa_plan.read_text())['plan_id']}.md",
    ):
        assert fragment in body, fragment
    assert [(n["kind"], n["status"]) for n in shown["notices"]] == [
        ("escalation", "sent"),
        ("approval", "pending"),
    ] or [(n["kind"], n["status"]) for n in show(cli, cr_id)["notices"]] == [
        ("escalation", "sent"),
        ("approval", "sent"),
    ]

    # The planner lists it.
    [row] = json.loads(ok(cli("--json", "planner")).output)
    assert (row["cr_id"], row["client"], row["type"], row["effective_date"]) == (
        cr_id,
        LAKESIDE,
        "cancellation",
        today,
    )
    assert cr_id in ok(cli("planner", "--from", today, "--to", today)).output

    # Now apply is accepted: the QA plan (no request in it) takes the approved one.
    sandbox.log.clear()
    result = ok(cli("--json", "apply", str(qa_plan)))
    assert json.loads(result.output)["change_request"] == cr_id
    assert sandbox.google_ads.state.campaign(CID, "9001").status == "PAUSED"
    [run] = json.loads(ok(cli("--json", "history", LAKESIDE)).output)
    assert run["change_request"] == cr_id


def test_plan_carries_the_request_and_its_hash(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    cr_id = approved_cr(cli, LAKESIDE, scope="platform", sandbox=sandbox)
    out = tmp_path / "plan.json"
    result = ok(cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(out)))
    assert f"Change request: {cr_id}" in result.output
    plan = json.loads(out.read_text())
    assert plan["scope"] == "platform"  # the request's scope, not the default
    assert plan["effective_date"] == workspace_today(cli.workspace)
    assert plan["change_request"]["id"] == cr_id
    assert plan["change_request"]["content_hash"] == show(cli, cr_id)["content_hash"]
    report = json.loads(ok(cli("--json", "apply", str(out))).output)
    assert report["change_request"] == cr_id
    md = Path(report["report_files"]["md"]).read_text()  # the run's report, verify included
    assert f"**Change request:** {cr_id}" in md


# --- every violation: refused, one line, documented code, nothing changed ---------------------


@pytest.fixture
def people(workspace: Path) -> None:
    add_person(workspace, "riley", ["retention", "approver_1"])  # may submit and approve
    add_person(workspace, "morgan", ["approver_1", "approver_2"])


def _stage(cli: Cli, stage: str) -> str:
    """A request taken to a stage of its life, through the CLI."""
    today = workspace_today(cli.workspace)
    credit = ("--credit", "100") if stage.endswith("credit") else ()
    escalated = stage.startswith(("escalated", "riley"))
    cr_id = new_cr(cli, "--effective", today, *credit, *(("--escalated",) if escalated else ()))
    if stage == "escalated-draft":
        return cr_id
    if escalated:
        ok(
            cli(
                "cr",
                "save-attempt",
                cr_id,
                "--as",
                "amy",
                "--outcome",
                "not-saved",
                "--notes",
                "declined",
            )
        )
        if stage == "escalated-saved":
            return cr_id
    submitter = "riley" if stage.startswith("riley") else "amy" if escalated else "dana"
    ok(cli("cr", "submit", cr_id, "--as", submitter))
    if stage in ("submitted", "riley-submitted"):
        return cr_id
    if stage == "rejected":
        ok(cli("cr", "reject", cr_id, "--as", "jeremy", "--reason", "numbers are wrong"))
        return cr_id
    if stage == "morgan-approved":  # morgan holds both approver roles
        ok(cli("cr", "approve", cr_id, "--as", "morgan"))
        return cr_id
    ok(cli("cr", "approve", cr_id, "--as", "jeremy"))
    if stage == "first-approved":
        return cr_id
    ok(cli("cr", "approve", cr_id, "--as", "dustin"))
    return cr_id  # "both-approved" / "both-approved-credit"


VIOLATIONS = [
    (
        "escalated-saved",
        ["submit", "{id}", "--as", "dana"],
        EXIT_NOT_PERMITTED,
        "only the Retention team submits it",
    ),
    (
        "escalated-draft",
        ["submit", "{id}", "--as", "amy"],
        EXIT_NOT_PERMITTED,
        "needs the Retention team's save attempt",
    ),
    (
        "escalated-draft",
        ["save-attempt", "{id}", "--as", "dana", "--outcome", "saved", "--notes", "x"],
        EXIT_NOT_PERMITTED,
        "only the Retention team records a save attempt",
    ),
    ("submitted", ["submit", "{id}", "--as", "dana"], EXIT_NOT_PERMITTED, "already submitted"),
    (
        "escalated-draft",
        ["approve", "{id}", "--as", "jeremy"],
        EXIT_NOT_PERMITTED,
        "is a draft: it must be submitted",
    ),
    (
        "submitted",
        ["approve", "{id}", "--as", "dustin"],
        EXIT_NOT_PERMITTED,
        "out of order: {id} is waiting for the first approver (approver_1)",
    ),
    (
        "submitted",
        ["approve", "{id}", "--as", "accounting"],
        EXIT_NOT_PERMITTED,
        "is waiting for the first approver (approver_1)",
    ),
    (
        "submitted",
        ["approve", "{id}", "--as", "dana"],
        EXIT_NOT_PERMITTED,
        "dana does not have that role",
    ),
    (
        "riley-submitted",
        ["approve", "{id}", "--as", "riley"],
        EXIT_NOT_PERMITTED,
        "riley submitted {id}: nobody may approve a change request they created or submitted",
    ),
    (
        "morgan-approved",
        ["approve", "{id}", "--as", "morgan"],
        EXIT_NOT_PERMITTED,
        "morgan already approved {id} as approver_1: each step of the chain needs a different "
        "person",
    ),
    (
        "both-approved-credit",
        ["approve", "{id}", "--as", "accounting"],
        EXIT_NOT_PERMITTED,
        "it issues a credit of $100.00: {id} is waiting for the finance team (finance)",
    ),
    (
        "both-approved",
        ["approve", "{id}", "--as", "finance"],
        EXIT_NOT_PERMITTED,
        "issues no credit, so the finance team does not approve it",
    ),
    (
        "rejected",
        ["approve", "{id}", "--as", "dustin"],
        EXIT_NOT_PERMITTED,
        "was rejected by jeremy: a rejection ends it",
    ),
    (
        "rejected",
        ["edit", "{id}", "--as", "dana", "--notes", "again"],
        EXIT_NOT_PERMITTED,
        "a rejection ends it",
    ),
    ("rejected", ["submit", "{id}", "--as", "dana"], EXIT_NOT_PERMITTED, "a rejection ends it"),
    (
        "submitted",
        ["reject", "{id}", "--as", "dustin", "--reason", "no"],
        EXIT_NOT_PERMITTED,
        "out of order",
    ),
    ("submitted", ["approve", "{id}", "--as", "bob"], EXIT_INPUT, "unknown person 'bob'"),
    (
        "submitted",
        ["edit", "{id}", "--as", "jeremy", "--notes", "x"],
        EXIT_NOT_PERMITTED,
        "jeremy cannot edit {id}",
    ),
    (
        "submitted",
        ["edit", "{id}", "--as", "dana", "--type", "pause", "--pause-end", "2020-01-01"],
        EXIT_INPUT,
        "pause_end_date: 2020-01-01 must be after",
    ),
    (
        "submitted",
        ["approve", "CR-0099", "--as", "jeremy"],
        EXIT_INPUT,
        "unknown change request 'CR-0099'",
    ),
]


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    "stage,args,code,fragment",
    VIOLATIONS,
    ids=[
        "am-submits-escalated",
        "submit-without-save-attempt",
        "save-attempt-by-am",
        "submit-twice",
        "approve-a-draft",
        "second-approver-first",
        "accounting-first",
        "approve-without-role",
        "self-approval",
        "same-person-two-steps",
        "missing-finance-with-credit",
        "finance-without-credit",
        "approve-rejected",
        "edit-rejected",
        "submit-rejected",
        "reject-out-of-order",
        "unknown-person",
        "edit-by-approver",
        "bad-dates-on-edit",
        "unknown-request",
    ],
)
def test_violations_are_refused_and_change_nothing(
    cli: Cli, sandbox: Sandbox, stage: str, args: list[str], code: int, fragment: str
) -> None:
    cr_id = _stage(cli, stage)
    before = store_state(cli)
    mails = len(sandbox.smtp.messages)
    refused(cli("cr", *[a.format(id=cr_id) for a in args]), code, fragment.format(id=cr_id))
    assert store_state(cli) == before
    assert len(sandbox.smtp.messages) == mails


@pytest.mark.parametrize(
    "args,fragment",
    [
        (
            ["--type", "pause", "--effective", "2026-12-10", "--pause-end", "2026-12-01"],
            "pause_end_date: 2026-12-01 must be after the effective date 2026-12-10",
        ),
        (
            ["--type", "cancellation", "--effective", "2026-13-01"],
            "effective_date: '2026-13-01' is not a date",
        ),
        (["--type", "cancellation"], "effective_date: required for a cancellation"),
        (
            ["--type", "addendum", "--effective", "2026-12-01", "--monthly-total", "1500"],
            "addendum_ref: required for an addendum",
        ),
        (
            ["--type", "addendum", "--effective", "2026-12-01", "--addendum-ref", "DS-1"],
            "an addendum needs the budget change",
        ),
        (
            [
                "--type",
                "addendum",
                "--effective",
                "2026-12-01",
                "--addendum-ref",
                "DS-1",
                "--monthly-total",
                "900",
                "--escalated",
            ],
            "addendums carry no save attempt",
        ),
        (
            ["--type", "cancellation", "--effective", "2026-12-01", "--credit", "-5"],
            "credit_amount: '-5' is negative",
        ),
        (
            ["--type", "cancellation", "--effective", "2026-12-01", "--credit", "ten"],
            "credit_amount: 'ten' is not an amount",
        ),
        (
            ["--type", "pause", "--effective", "2026-12-01", "--scope", "platform"],
            "scope: only a cancellation leaves the platform",
        ),
        (
            ["--type", "cancellation", "--effective", "2026-12-01", "--pause-end", "2027-01-01"],
            "only a contract pause has an end date",
        ),
        (
            ["--type", "refund", "--effective", "2026-12-01"],
            "type: 'refund' is not a change request type",
        ),
        (
            ["--type", "cancellation", "--effective", "2026-12-01", "--department", "SEO"],
            "unknown department(s) SEO",
        ),
    ],
    ids=[
        "pause-end-before-effective",
        "impossible-date",
        "missing-effective",
        "addendum-without-reference",
        "addendum-without-budget",
        "addendum-escalated",
        "negative-credit",
        "credit-not-a-number",
        "pause-leaving-platform",
        "end-date-on-cancellation",
        "unknown-type",
        "unknown-department",
    ],
)
def test_bad_fields_are_refused_at_creation(cli: Cli, args: list[str], fragment: str) -> None:
    refused(cli("cr", "new", LAKESIDE, "--as", "dana", *args), EXIT_INPUT, fragment)
    assert json.loads(ok(cli("--json", "cr", "list")).output) == []


@pytest.mark.parametrize(
    "args,code,fragment",
    [
        (
            [
                "cr",
                "new",
                LAKESIDE,
                "--type",
                "cancellation",
                "--effective",
                "2026-12-01",
                "--as",
                "jeremy",
            ],
            EXIT_NOT_PERMITTED,
            "only an Account Manager creates",
        ),
        (
            [
                "cr",
                "new",
                "nobody",
                "--type",
                "cancellation",
                "--effective",
                "2026-12-01",
                "--as",
                "dana",
            ],
            EXIT_INPUT,
            "unknown client 'nobody'",
        ),
        (
            [
                "cr",
                "new",
                "harbor-marine",
                "--type",
                "cancellation",
                "--effective",
                "2026-12-01",
                "--department",
                "MA",
                "--as",
                "dana",
            ],
            EXIT_INPUT,
            "MA is not a department of harbor-marine",
        ),
        (
            [
                "cr",
                "new",
                LAKESIDE,
                "--type",
                "cancellation",
                "--effective",
                "2026-12-01",
                "--as",
                "ghost",
            ],
            EXIT_INPUT,
            "unknown person 'ghost'",
        ),
    ],
    ids=[
        "not-an-account-manager",
        "unknown-client",
        "department-not-in-manifest",
        "unknown-person",
    ],
)
def test_who_and_what_at_creation(cli: Cli, args: list[str], code: int, fragment: str) -> None:
    refused(cli(*args), code, fragment)
    assert json.loads(ok(cli("--json", "cr", "list")).output) == []


def test_missing_type_is_a_usage_error(cli: Cli) -> None:
    assert cli("cr", "new", LAKESIDE, "--as", "dana").exit_code == EXIT_USAGE


# --- edits after approval, rejection, the gate's bindings -------------------------------------


def test_edit_after_approval_voids_every_approval(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    cr_id = approved_cr(cli, LAKESIDE, sandbox=sandbox)
    out = tmp_path / "plan.json"
    ok(cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(out)))
    result = ok(cli("cr", "edit", cr_id, "--as", "dana", "--notes", "Dealer asked to add MA."))
    assert "3 approval(s) voided" in result.output
    shown = show(cli, cr_id)
    assert shown["status"] == "submitted" and shown["approvals"] == []
    assert shown["pending_step"] == "approver_1"
    actions = [t["action"] for t in shown["history"]]
    assert actions[-2:] == ["edited", "approvals-voided"]
    assert shown["history"][-1]["detail"].startswith("3 approval(s) voided")
    assert json.loads(ok(cli("--json", "planner")).output) == []
    # the operations team hears that the approval it acted on is void
    assert [m["Subject"].split(":")[0] for m in sandbox.smtp.messages] == [
        "Approved",
        "Approval voided",
    ]
    refused(
        cli("apply", str(out)),
        EXIT_SAFETY,
        f"cancellation {cr_id} for {LAKESIDE} is waiting for the first approver",
    )
    assert sandbox.log.mutating("google_ads") == []
    # approved again, the plan made from the older content is still refused: re-plan
    for person in ("jeremy", "dustin", "accounting"):
        ok(cli("cr", "approve", cr_id, "--as", person))
    refused(cli("apply", str(out)), EXIT_SAFETY, f"{cr_id} for {LAKESIDE} changed since plan")
    ok(cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(out)))
    ok(cli("apply", str(out)))


def test_content_changed_behind_the_stores_back_is_refused(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from adoffboard.config import load_workspace

    cr_id = approved_cr(cli, LAKESIDE, sandbox=sandbox)
    out = tmp_path / "plan.json"
    ok(cli("plan", LAKESIDE, "-r", "sem-cancellation", "-o", str(out)))
    engine = sa.create_engine(load_workspace(cli.workspace).store_url)
    with engine.begin() as conn:
        raw = conn.execute(sa.text("SELECT content_json FROM change_requests")).scalar_one()
        data = json.loads(raw)
        data["credit_amount"] = "5000.00"  # a credit nobody in finance approved
        conn.execute(
            sa.text("UPDATE change_requests SET content_json = :c"), {"c": json.dumps(data)}
        )
    engine.dispose()
    refused(
        cli("apply", str(out)), EXIT_SAFETY, f"{cr_id} for {LAKESIDE} changed since it was approved"
    )
    assert sandbox.log.mutating() == []


def test_scope_and_type_must_match(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    approved_cr(cli, LAKESIDE, scope="dm", sandbox=sandbox)
    refused(
        cli("plan", LAKESIDE, "-r", "sem-cancellation", "--scope", "platform"),
        EXIT_INPUT,
        "--scope platform differs from CR-0001's scope (dm)",
    )
    pause = approved_cr(cli, LAKESIDE, "pause", extra=("--pause-end", "2099-01-01"))
    refused(
        cli("plan", LAKESIDE, "-r", "sem-cancellation", "--cr", pause),
        EXIT_INPUT,
        f"{pause} is a pause for {LAKESIDE}; runbook sem-cancellation needs a cancellation",
    )
    ma_only = approved_cr(cli, LAKESIDE, departments=("MA",))
    refused(
        cli("plan", LAKESIDE, "-r", "sem-cancellation", "--cr", ma_only),
        EXIT_INPUT,
        f"{ma_only} covers MA; runbook sem-cancellation is for SEM",
    )
    assert sandbox.log.mutating("google_ads") == []


def test_rejected_request_cannot_be_carried_out(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = new_cr(cli, "--effective", workspace_today(cli.workspace))
    ok(cli("cr", "submit", cr_id, "--as", "dana"))
    ok(cli("cr", "reject", cr_id, "--as", "jeremy", "--reason", "client stays"))
    assert show(cli, cr_id)["history"][-1]["detail"] == "client stays"
    refused(
        cli("plan", LAKESIDE, "-r", "sem-cancellation", "--cr", cr_id),
        EXIT_INPUT,
        "was rejected by jeremy",
    )
    refused(
        cli("run", LAKESIDE, "-r", "sem-cancellation", "-y"),
        EXIT_SAFETY,
        "no approved cancellation change request",
    )
    assert sandbox.log.mutating() == []


def test_run_is_refused_before_the_confirmation(cli: Cli, sandbox: Sandbox) -> None:
    new_cr(cli, "--effective", workspace_today(cli.workspace))
    result = cli("run", LAKESIDE, "-r", "sem-cancellation", input="Lakeside Powersports\n")
    refused(result, EXIT_SAFETY, "CR-0001 for lakeside-powersports is a draft")
    assert "Type the client's name" not in result.output
    assert sandbox.log.mutating("google_ads") == []
    approved_cr(cli, LAKESIDE)
    result = cli("run", LAKESIDE, "-r", "sem-cancellation", input="Lakeside Powersports\n")
    assert result.exit_code in (EXIT_OK, EXIT_VERIFY_PENDING), result.output
    assert sandbox.google_ads.state.campaign(CID, "9001").status == "PAUSED"


# --- reading: list, show, the demo --------------------------------------------------------------


def test_list_filters_and_human_output(cli: Cli, sandbox: Sandbox) -> None:
    done = approved_cr(cli, LAKESIDE)
    draft = new_cr(cli, "--effective", "2026-12-01", type_="pause", client="harbor-marine")
    ids = lambda *a: [c["id"] for c in json.loads(ok(cli("--json", "cr", "list", *a)).output)]  # noqa: E731
    assert ids() == [done, draft]
    assert ids("--client", "harbor-marine") == [draft]
    assert ids("--status", "approved") == [done]
    assert ids("--type", "pause", "--status", "draft") == [draft]
    assert ids("--type", "addendum") == []
    refused(cli("cr", "list", "--client", "nobody"), EXIT_INPUT, "unknown client 'nobody'")
    table = ok(cli("cr", "list")).output
    assert done in table and draft in table and "approved" in table
    text = ok(cli("cr", "show", done)).output
    assert text.startswith(f"{done}: cancellation for {LAKESIDE}, approved\n")
    for line in (
        "created           by dana (account_manager) -> draft",
        "approved          by jeremy (approver_1) -> submitted",
        "processed         by accounting (accounting) -> approved",
        "sent      Approved: cancellation",
    ):
        assert line in text, line


def test_the_demo_approves_its_change_request_first(tmp_path: Path) -> None:
    from adoffboard.demo import run_demo

    outcome = run_demo(tmp_path / "demo")
    assert outcome.ok and outcome.plan_writes == 0
    assert outcome.report.change_request == "CR-0001"
    assert outcome.report.plan.change_request["id"] == "CR-0001"
