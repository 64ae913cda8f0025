"""Change requests end to end through the CLI: the seeds' retention and approval workflow, the
approval notice over real SMTP, the planner, and the gate in front of `apply`."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli, approved_cr, workspace_today
from cr_support import (
    CID,
    DISTRIBUTION,
    LAKESIDE,
    NOTES,
    SAVE_NOTES,
    new_cr,
    ok,
    refused,
    show,
)

from adoffboard.cli import (
    EXIT_INPUT,
    EXIT_NOT_PERMITTED,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_VERIFY_PENDING,
)
from adoffboard.sandbox import Sandbox

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
    # Nothing is announced before the chain is done: the messages so far told the Retention
    # team, to which the request was escalated, then each step of the chain in its turn.
    escalation, *turns = sandbox.smtp.messages
    assert sorted(sandbox.smtp.envelopes[0][1]) == ["amy@agency.example", "anglee@agency.example"]
    assert escalation["Subject"] == (
        f"Escalated to the Retention team: cancellation {cr_id} for Lakeside Powersports"
    )
    assert [" ".join(str(m["Subject"]).split()) for m in turns] == [
        f"Your turn: approve cancellation {cr_id} for Lakeside Powersports (credit $250.00)"
    ] * 3 + [f"Your turn: process cancellation {cr_id} for Lakeside Powersports (credit $250.00)"]
    assert [rcpts for _, rcpts in sandbox.smtp.envelopes[1:]] == [
        ["jeremy.bliesner@agency.example"],
        ["dustin.hunter@agency.example"],
        ["finance@agency.example"],
        ["accounting@agency.example"],
    ]
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
    # and the specialist of its department (SEM only: not the MA one), who carries it out.
    assert len(sandbox.smtp.messages) == 6
    message = sandbox.smtp.messages[-1]
    _, recipients = sandbox.smtp.envelopes[-1]
    assert sorted(recipients) == sorted([*DISTRIBUTION, "sam.ortiz@agency.example"])
    assert message["Subject"] == (
        f"Approved: cancellation {cr_id} for Lakeside Powersports (effective {today})"
    )
    body = message.get_body(("plain",)).get_content()
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
        # the plan, opened from the request's page on the console, not a path on someone's disk
        f"Plan {json.loads(qa_plan.read_text())['plan_id']} (sem-cancellation) carries it out "
        f"(made for review before the approval; apply takes {cr_id}): "
        f"http://127.0.0.1:8765/cr/{cr_id}",
        "http://127.0.0.1:8765/planner",
    ):
        assert fragment in body, fragment
    assert str(qa_plan) not in body and str(cli.workspace) not in body
    kinds = ["escalation", "turn", "turn", "turn", "turn", "approval"]
    assert [(n["kind"], n["status"]) for n in show(cli, cr_id)["notices"]] == [
        (kind, "sent") for kind in kinds
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
    # and the first approver that it is their turn again
    assert [m["Subject"].split(":")[0] for m in sandbox.smtp.messages] == [
        *["Your turn"] * 3,
        "Approved",
        "Approval voided",
        "Your turn",
    ]
    assert sandbox.smtp.envelopes[-1][1] == ["jeremy.bliesner@agency.example"]
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
    assert {e.platform for e in sandbox.log.mutating()} == {"smtp"}  # its notices only


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
