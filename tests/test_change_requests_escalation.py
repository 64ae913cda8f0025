"""Escalation targets through the CLI against the store and the sandbox's SMTP server: the Retention
team, a Team Lead or the Department Manager (the checklists' "Retention"), who is told, who may
record the save attempt and who submits; and requests stored before the target existed."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from conftest import Cli
from sqlalchemy import select, update

from adoffboard.cli import EXIT_INPUT, EXIT_NOT_PERMITTED, EXIT_OK
from adoffboard.clock import FakeClock
from adoffboard.config import load_workspace
from adoffboard.cr.service import ChangeRequests
from adoffboard.cr.tables import change_requests_t
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.store import Store

LAKESIDE = "lakeside-powersports"  # SEM and MA
HARBOR = "harbor-marine"  # SEM
RETENTION = ["amy@agency.example", "anglee@agency.example"]
DISTRIBUTION = ["dm-leads@agency.example", "dm-managers@agency.example", "dmo-lead@agency.example"]
# Whose turn it is after the submission and each approval; then the approval, to the distribution
# list and the SEM specialist (Harbor Marine is SEM only).
TURNS = [["jeremy.bliesner@agency.example"], ["dustin.hunter@agency.example"]]
TURNS += [["accounting@agency.example"]]
APPROVED = sorted([*DISTRIBUTION, "sam.ortiz@agency.example"])
SAVE = ("--outcome", "not-saved", "--notes", "Offered a month free; declined.")

# Change requests need only the mail server; the plan of the old-row test takes every stand-in.
smtp_only = pytest.mark.standins("smtp")


def ok(result: Any) -> Any:
    assert result.exit_code == EXIT_OK, result.output
    return result


def refused(result: Any, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("adoffboard: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    assert "Traceback" not in result.output


def show(cli: Cli, cr_id: str) -> dict[str, Any]:
    return json.loads(ok(cli("--json", "cr", "show", cr_id)).output)


def new(cli: Cli, *extra: str, client: str = HARBOR, department: str = "SEM") -> dict[str, Any]:
    args = ["--json", "cr", "new", client, "--type", "cancellation", "--as", "dana"]
    args += ["--effective", "2026-12-01", "--department", department, *extra]
    return dict(json.loads(ok(cli(*args)).output))


def told(sandbox: Sandbox) -> list[tuple[str, list[str]]]:
    """Every message so far: its subject and its envelope's recipients."""
    return [
        (" ".join(str(m["Subject"]).split()), sorted(rcpts))  # long subjects are folded
        for m, (_, rcpts) in zip(sandbox.smtp.messages, sandbox.smtp.envelopes, strict=True)
    ]


def approve_all(cli: Cli, cr_id: str) -> None:
    for person in ("jeremy", "dustin", "accounting"):
        ok(cli("cr", "approve", cr_id, "--as", person))


@smtp_only
@pytest.mark.parametrize(
    "target,people,notified,title",
    [
        ("retention", ["amy", "anglee"], RETENTION, "the Retention team"),
        ("team-lead", ["sem-lead"], ["sem-lead@agency.example"], "the SEM Team Lead"),
        (
            "department-manager",
            ["sem-manager"],
            ["sem-manager@agency.example"],
            "the SEM Department Manager",
        ),
    ],
)
def test_each_target_is_told_and_decides_who_records_and_submits(
    cli: Cli, sandbox: Sandbox, target: str, people: list[str], notified: list[str], title: str
) -> None:
    created = new(cli, "--escalate-to", target)
    cr_id = created["id"]
    assert created["escalated_to"] == target.replace("-", "_")
    assert created["escalated"] is (target == "retention")  # the older flag: the Retention team
    assert [(n["kind"], sorted(n["recipients"])) for n in created["notices"]] == [
        ("escalation", notified)
    ]
    subject = f"Escalated to {title}: cancellation {cr_id} for Harbor Marine Center"
    assert told(sandbox) == [(subject, notified)]
    body = sandbox.smtp.messages[0].get_body(("plain",)).get_content()
    assert f"Dana Whitfield (dana) escalated change request {cr_id}" in body
    assert f"Escalated to:           {title}" in body
    shown = show(cli, cr_id)
    assert [(n["kind"], n["status"], sorted(n["recipients"])) for n in shown["notices"]] == [
        ("escalation", "sent", notified)
    ]
    assert f"Escalated to:           {title}" in ok(cli("cr", "show", cr_id)).output

    if target == "retention":
        assert "save-attempt" in body and "(not the Account Manager)" in body
        # Only the Retention team records the save attempt and submits, after it.
        refused(
            cli("cr", "submit", cr_id, "--as", "dana"), EXIT_NOT_PERMITTED, "only the Retention"
        )
        refused(
            cli("cr", "submit", cr_id, "--as", "amy"), EXIT_NOT_PERMITTED, "needs the Retention"
        )
        refused(
            cli("cr", "save-attempt", cr_id, "--as", "sem-lead", *SAVE),
            EXIT_NOT_PERMITTED,
            "only the Retention team records a save attempt",
        )
        ok(cli("cr", "save-attempt", cr_id, "--as", "anglee", *SAVE))
        ok(cli("cr", "submit", cr_id, "--as", "amy"))
        submitter = ("amy", "retention")
    else:
        assert "no save attempt is recorded" in body and "Account Manager submits" in body
        assert shown["standing"] == (
            f"is a draft: it must be submitted by the Account Manager (escalated to {title})"
        )
        # Nobody records a save attempt (not even the Retention team, nor the person escalated
        # to), and the Account Manager submits, not the people escalated to or Retention.
        for person in ("amy", *people):
            refused(
                cli("cr", "save-attempt", cr_id, "--as", person, *SAVE),
                EXIT_NOT_PERMITTED,
                f"{cr_id} was escalated to {title}, not the Retention team"
                if person == "amy"
                else "only the Retention team records a save attempt",
            )
            refused(
                cli("cr", "submit", cr_id, "--as", person),
                EXIT_NOT_PERMITTED,
                f"only the Account Manager submits {cr_id}",
            )
        ok(cli("cr", "submit", cr_id, "--as", "dana"))
        submitter = ("dana", "account_manager")
        assert show(cli, cr_id)["save_attempt"] is None
    approve_all(cli, cr_id)
    shown = show(cli, cr_id)
    assert shown["status"] == "approved"
    assert [(t["by"], t["role"]) for t in shown["history"] if t["action"] == "submitted"] == [
        submitter
    ]
    # The approval goes to the distribution list whoever it was escalated to; the people escalated
    # to were told once, and each step of the chain once, in its turn.
    assert [rcpts for _, rcpts in told(sandbox)] == [notified, *TURNS, APPROVED]
    kinds = [n["kind"] for n in shown["notices"]]
    assert kinds == ["escalation", "turn", "turn", "turn", "approval"]


@smtp_only
def test_team_lead_of_each_department_is_told(cli: Cli, sandbox: Sandbox) -> None:
    args = ["--json", "cr", "new", LAKESIDE, "--type", "pause", "--as", "dana"]
    args += ["--effective", "2026-12-01", "--escalate-to", "Team Lead"]  # spelled loosely
    created = json.loads(ok(cli(*args)).output)
    assert created["departments"] == ["SEM", "MA"] and created["escalated_to"] == "team_lead"
    [(subject, rcpts)] = told(sandbox)
    assert rcpts == ["ma-lead@agency.example", "sem-lead@agency.example"]
    assert subject.startswith("Escalated to the SEM Team Lead and the MA Team Lead: contract pause")


@smtp_only
def test_escalating_later_and_changing_the_target(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = new(cli)["id"]
    assert told(sandbox) == [] and show(cli, cr_id)["escalated_to"] == ""
    out = ok(cli("cr", "edit", cr_id, "--escalate-to", "department-manager", "--as", "dana"))
    assert "escalated to the SEM Department Manager (sem-manager@agency.example told)" in (
        out.output
    )
    ok(cli("cr", "edit", cr_id, "--notes", "Asked for a call.", "--as", "dana"))
    assert len(told(sandbox)) == 1  # an edit that keeps the target tells nobody again
    ok(cli("cr", "edit", cr_id, "--escalate-to", "retention", "--as", "dana"))
    assert [rcpts for _, rcpts in told(sandbox)] == [["sem-manager@agency.example"], RETENTION]
    history = show(cli, cr_id)["history"]
    assert [(t["action"], t["detail"]) for t in history] == [
        ("created", "cancellation for harbor-marine"),
        ("edited", "escalated_to"),
        ("edited", "notes"),
        ("edited", "escalated_to"),
    ]
    assert history[1]["data"]["changed"] == {"escalated_to": ["", "department_manager"]}
    # The Retention team now updates it; a recorded save attempt keeps it with the Retention team.
    ok(cli("cr", "save-attempt", cr_id, "--as", "amy", *SAVE))
    refused(
        cli("cr", "edit", cr_id, "--escalate-to", "team-lead", "--as", "dana"),
        EXIT_INPUT,
        "escalated_to: a save attempt was recorded: the request stays escalated to the "
        "Retention team",
    )
    # Clearing: `--escalate-to ""`, or the older `--not-escalated`, before a save attempt.
    other = new(cli, "--escalate-to", "team-lead")["id"]
    ok(cli("cr", "edit", other, "--escalate-to", "", "--as", "dana"))
    assert show(cli, other)["escalated_to"] == ""
    ok(cli("cr", "edit", other, "--escalated", "--as", "dana"))  # the deprecated alias
    assert show(cli, other)["escalated_to"] == "retention"
    ok(cli("cr", "edit", other, "--not-escalated", "--as", "dana"))
    assert show(cli, other)["escalated_to"] == ""


@smtp_only
@pytest.mark.parametrize(
    "args,fragment",
    [
        (
            ["--escalate-to", "boss"],
            "escalated_to: 'boss' is not an escalation target: retention, team-lead, "
            "department-manager",
        ),
        (
            ["--escalate-to", "team-lead", "--escalated"],
            "escalated: yes contradicts escalated_to team_lead: give escalated_to alone",
        ),
        (
            ["--escalate-to", "team-lead", "--type", "save-attempt"],
            "escalated_to: a save attempt is escalated to the Retention team",
        ),
    ],
    ids=["unknown-target", "contradicting-alias", "save-attempt-to-team-lead"],
)
def test_bad_targets_are_refused_and_nothing_is_written(
    cli: Cli, sandbox: Sandbox, args: list[str], fragment: str
) -> None:
    base = ["cr", "new", HARBOR, "--as", "dana", "--effective", "2026-12-01"]
    if "--type" not in args:
        base += ["--type", "cancellation"]
    refused(cli(*base, *args), EXIT_INPUT, fragment)
    assert json.loads(ok(cli("--json", "cr", "list")).output) == []
    assert sandbox.smtp.messages == []


@smtp_only
def test_addendum_goes_to_a_team_lead_but_never_to_retention(cli: Cli, sandbox: Sandbox) -> None:
    base = ["--json", "cr", "new", HARBOR, "--type", "addendum", "--as", "dana"]
    base += ["--effective", "2026-12-01", "--addendum-ref", "DS-7", "--monthly-total", "900"]
    refused(
        cli(*base[1:], "--escalate-to", "retention"), EXIT_INPUT, "addendums carry no save attempt"
    )
    created = json.loads(ok(cli(*base, "--escalate-to", "team-lead")).output)
    ok(cli("cr", "submit", created["id"], "--as", "dana"))
    assert [rcpts for _, rcpts in told(sandbox)] == [["sem-lead@agency.example"], TURNS[0]]


@smtp_only
def test_a_target_nobody_holds_is_refused(cli: Cli, sandbox: Sandbox) -> None:
    path = cli.workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    del data["people"]["sem-manager"]
    path.write_text(tomli_w.dumps(data))
    refused(
        cli(
            "cr",
            "new",
            HARBOR,
            "--as",
            "dana",
            "--type",
            "cancellation",
            "--effective",
            "2026-12-01",
            "--escalate-to",
            "department-manager",
        ),  # fmt: skip
        EXIT_INPUT,
        "escalated_to: nobody in [people] has the role sem_department_manager (SEM Department "
        "Manager): add them to adoffboard.toml",
    )
    cr_id = new(cli)["id"]
    refused(
        cli("cr", "edit", cr_id, "--escalate-to", "department-manager", "--as", "dana"),
        EXIT_INPUT,
        "nobody in [people] has the role sem_department_manager",
    )
    assert show(cli, cr_id)["escalated_to"] == "" and sandbox.smtp.messages == []


@smtp_only
def test_crm_import_column(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    header = "client,type,departments,effective_date,escalated_to,escalated,crm_ref\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header
        + f"{HARBOR},cancellation,SEM,2026-12-01,team-lead,,A-1\n"
        + f"{HARBOR},cancellation,SEM,2026-12-01,supervisor,,A-2\n"
        + f"{HARBOR},cancellation,SEM,2026-12-01,department-manager,yes,A-3\n"
    )
    result = cli("cr", "import", str(bad), "--as", "dana")
    assert result.exit_code == EXIT_INPUT, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(f"{bad}:row")]
    assert lines == [
        f"{bad}:row 2: escalated_to: 'supervisor' is not an escalation target: retention, "
        "team-lead, department-manager",
        f"{bad}:row 3: escalated: yes contradicts escalated_to department_manager: give "
        "escalated_to alone",
    ]
    assert json.loads(ok(cli("--json", "cr", "list")).output) == []
    assert sandbox.smtp.messages == []

    good = tmp_path / "good.csv"
    good.write_text(
        header
        + f"{HARBOR},cancellation,SEM,2026-12-01,team-lead,,B-1\n"
        + f"{HARBOR},pause,SEM,2026-12-01,Department Manager,,B-2\n"
        + f"{HARBOR},cancellation,SEM,2026-12-01,,yes,B-3\n"
        + f"{HARBOR},cancellation,SEM,2026-12-01,,,B-4\n"
    )
    ok(cli("cr", "import", str(good), "--as", "dana"))
    listed = json.loads(ok(cli("--json", "cr", "list")).output)
    assert [(c["crm_ref"], c["escalated_to"]) for c in listed] == [
        ("B-1", "team_lead"),
        ("B-2", "department_manager"),
        ("B-3", "retention"),
        ("B-4", ""),
    ]
    assert sorted(rcpts for _, rcpts in told(sandbox)) == [
        RETENTION,
        ["sem-lead@agency.example"],
        ["sem-manager@agency.example"],
    ]


def _old_hash(content: dict[str, Any]) -> str:
    """How a request's hash was computed before `escalated_to` existed."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("escalated", [True, False])
def test_requests_stored_with_the_yes_no_flag(cli: Cli, escalated: bool, tmp_path: Path) -> None:
    """A request stored before `escalated_to` (content JSON with `escalated` only) reads as the
    Retention team (or nobody), keeps its hash and so its approvals, and is acted on as before."""
    flag = ("--escalated",) if escalated else ()
    cr_id = new(cli, *flag)["id"]
    if escalated:
        ok(cli("cr", "save-attempt", cr_id, "--as", "amy", *SAVE))
    ok(cli("cr", "submit", cr_id, "--as", "amy" if escalated else "dana"))
    ok(cli("cr", "approve", cr_id, "--as", "jeremy"))
    ws = load_workspace(cli.workspace)
    with Store.open(ws.store_url) as store, store.transaction(write=True) as conn:
        t = change_requests_t
        stored = json.loads(conn.execute(select(t.c.content_json).where(t.c.id == cr_id)).scalar())
        old = {k: v for k, v in stored.items() if k != "escalated_to"}
        assert old["escalated"] is escalated
        conn.execute(update(t).where(t.c.id == cr_id).values(content_json=json.dumps(old)))
        stored_hash = conn.execute(select(t.c.content_hash).where(t.c.id == cr_id)).scalar()
    assert stored_hash == _old_hash(old)
    shown = show(cli, cr_id)
    assert shown["escalated_to"] == ("retention" if escalated else "")
    assert shown["content_hash"] == stored_hash
    assert [a["content_hash"] for a in shown["approvals"]] == [stored_hash]  # still standing
    assert shown["standing"] == "is waiting for the second approver (approver_2)"
    ok(cli("cr", "approve", cr_id, "--as", "dustin"))
    ok(cli("cr", "approve", cr_id, "--as", "accounting"))
    shown = show(cli, cr_id)
    assert shown["status"] == "approved" and shown["content_hash"] == stored_hash
    # The gate takes it: a plan for it names it, with the hash approved before the field existed.
    plan_file = tmp_path / "plan.json"
    ok(cli("plan", HARBOR, "-r", "sem-cancellation", "--cr", cr_id, "-o", str(plan_file)))
    assert json.loads(plan_file.read_text())["change_request"]["content_hash"] == stored_hash


@smtp_only
def test_escalated_to_is_covered_by_the_hash(cli: Cli) -> None:
    hashes = set()
    cr_id = new(cli)["id"]
    hashes.add(show(cli, cr_id)["content_hash"])
    for target in ("team-lead", "department-manager", "retention"):
        ok(cli("cr", "edit", cr_id, "--escalate-to", target, "--as", "dana"))
        hashes.add(show(cli, cr_id)["content_hash"])
    assert len(hashes) == 4


@smtp_only
def test_an_unsent_notice_to_a_former_target_is_dropped(cli: Cli, sandbox: Sandbox) -> None:
    ws = load_workspace(cli.workspace)
    clock = FakeClock()
    with Store.open(ws.store_url, clock=clock) as store:
        service = ChangeRequests(store, ws, clock=clock)
        raw = {"client": HARBOR, "type": "cancellation", "effective_date": "2026-12-01"}
        cr = service.create("dana", {**raw, "escalated_to": "team-lead"})
        sandbox.faults.add(FaultRule(kind="unavailable", platform="smtp", times=4))
        [failed] = service.deliver(cr.id)
        assert failed.kind == "escalation" and "421" in failed.error
        service.edit(cr.id, "dana", {"escalated_to": "retention"})
        notices = service.notices(cr.id)
        assert [(n["recipients"], n["status"]) for n in notices] == [
            (["sem-lead@agency.example"], "cancelled"),
            (RETENTION, "pending"),
        ]
        assert notices[0]["error"] == "escalated to someone else since"
        [sent] = service.deliver()
        assert sent.error == "" and sorted(sent.recipients) == RETENTION
    assert told(sandbox) == [
        (
            "Escalated to the Retention team: cancellation CR-0001 for Harbor Marine Center",
            RETENTION,
        )
    ]
