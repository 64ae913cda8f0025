"""The approval chain as pure rules: the `[approval]` table decides the steps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from adoffboard.config import ApprovalSection
from adoffboard.cr import rules
from adoffboard.cr.model import Content
from adoffboard.cr.rules import Actor, NotPermitted

AM = Actor("dana", "Dana", ("account_manager",))
PEOPLE = {
    "ana": Actor("ana", "Ana", ("approver_1",)),
    "ben": Actor("ben", "Ben", ("approver_2",)),
    "cam": Actor("cam", "Cam", ("ma_department_manager",)),
    "fin": Actor("fin", "Fin", ("finance",)),
    "acc": Actor("acc", "Acc", ("accounting",)),
}


def submitted(credit: str | None = None):
    content = Content(
        client="acme",
        type="cancellation",
        departments=("SEM",),
        effective_date=dt.date(2026, 12, 1),
        credit_amount=Decimal(credit) if credit else None,
    )
    cr = rules.create(AM, content, "CR-0001", "t").cr
    return rules.submit(cr, AM).cr


@pytest.mark.parametrize(
    "credit,expected",
    [
        (None, ["approver_1", "approver_2", "ma_department_manager", "accounting"]),
        ("0", ["approver_1", "approver_2", "ma_department_manager", "accounting"]),
        ("10.00", ["approver_1", "approver_2", "ma_department_manager", "finance", "accounting"]),
    ],
    ids=["no-credit", "zero-credit", "credit"],
)
def test_chain_follows_the_approval_table(credit, expected) -> None:
    approval = ApprovalSection(
        chain=["approver_1", "approver_2", "ma_department_manager"],
        finance_role="finance",
        processing_role="accounting",
    )
    cr = submitted(credit)
    assert [s.role for s in rules.chain_for(cr.content, approval)] == expected
    by_role = {p.roles[0]: p for p in PEOPLE.values()}
    for i, role in enumerate(expected):
        assert cr.status == "submitted"
        for other in expected[i + 1 :]:  # every later step is refused until its turn
            with pytest.raises(NotPermitted):
                rules.approve(cr, by_role[other], approval)
        decision = rules.approve(cr, by_role[role], approval, at=f"t{i}")
        assert decision.approved_now == (i == len(expected) - 1)
        cr = decision.cr
    assert cr.status == "approved" and cr.approvals[-1].action == "processed"


def test_an_edit_voids_approvals_and_says_so() -> None:
    approval = ApprovalSection()
    cr = rules.approve(submitted(), PEOPLE["ana"], approval).cr
    edited = rules.edit(cr, AM, cr.content.with_values(notes="new"))
    assert edited.voided and edited.cr.approvals == () and edited.cr.status == "submitted"
    assert [e.action for e in edited.events] == ["edited", "approvals-voided"]
    assert edited.events[1].detail == "1 approval(s) voided by the change: approver_1 by ana"


@pytest.mark.parametrize(
    "table",
    [{"chain": ["aprover_2"]}, {"finance_role": "cfo"}, {"chain": ["approver_1", "approver_1"]}],
    ids=["typo-in-chain", "unknown-finance-role", "repeated-step"],
)
def test_a_chain_nobody_could_follow_is_refused(table) -> None:
    with pytest.raises(ValueError):
        ApprovalSection(**table)
