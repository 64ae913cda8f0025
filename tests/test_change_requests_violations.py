"""Change requests through the CLI: every violation of the workflow is refused in one line with its
documented code and changes nothing; bad fields and unknown people at creation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, workspace_today
from cr_support import (
    LAKESIDE,
    add_person,
    new_cr,
    ok,
    refused,
    store_state,
)

from adoffboard.cli import (
    EXIT_INPUT,
    EXIT_NOT_PERMITTED,
    EXIT_USAGE,
)
from adoffboard.sandbox import Sandbox

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
