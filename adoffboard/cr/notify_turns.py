"""Whose turn it is after each action on a change request, and the notice that tells them.

After every action the request's place in the workflow (`adoffboard.cr.rules.pending_step`)
says who acts next; this module only turns that into notices:

- submitted, approved by one step, or sent back through the chain by an edit that voided its
  approvals: the people of the pending step (the first or next approver, the finance team when
  a credit is issued, then the accounting team, who process it);
- approved by the whole chain: the distribution list and the specialists of the request's
  departments (`notify.approval_notice`);
- rejected: whoever submitted it and the Account Manager, with the reason.

Every notice links to the request's page on the web console (`[console] url`). Each is keyed by
the request's version after the action, so a transition is told once: the outbox keeps one
notice per key. Escalations are told by `notify.escalation_notice` (the service queues it when
whom the request is escalated to changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adoffboard.config import ROLES, LoadedWorkspace
from adoffboard.cr import notify
from adoffboard.cr.model import CR_TYPES, ChangeRequest
from adoffboard.cr.notify import NoticeSpec, client_name, console_link, describe, role_emails
from adoffboard.cr.rules import ChainStep, Decision, pending_step


def turn_notices(
    before: ChangeRequest,
    after: ChangeRequest,
    decision: Decision,
    ws: LoadedWorkspace,
    scheduled: Sequence[Any] = (),
) -> list[NoticeSpec]:
    """The notices an action sets off: to whoever acts next, or to whom its outcome matters."""
    if decision.approved_now:
        return [notify.approval_notice(after, ws, after.version, scheduled)]
    if after.status == "rejected" and before.status != "rejected":
        return [rejection_notice(after, ws, decision)]
    step = pending_step(after, ws.config.approval)
    moved = before.status != "submitted" or len(after.approvals) != len(before.approvals)
    if step is None or not moved:
        return []
    spec = step_notice(after, ws, step)
    return [spec] if spec.recipients else []


def step_notice(cr: ChangeRequest, ws: LoadedWorkspace, step: ChainStep) -> NoticeSpec:
    """ "Your turn" to the people of the step the request waits for."""
    c = cr.content
    name = client_name(ws, c.client)
    title = ROLES.get(step.role, step.role)
    verb = "process" if step.action == "processed" else "approve"
    credit = f" (credit ${c.credit_amount:,.2f})" if c.issues_credit else ""
    subject = f"Your turn: {verb} {CR_TYPES[c.type]} {cr.id} for {name}{credit}"
    if cr.approvals:
        last = cr.approvals[-1]
        since = f"{ROLES.get(last.role, last.role)} {notify.who(ws, last.by)} {last.action} it"
    else:
        since = f"{notify.who(ws, cr.submitted_by)} submitted it"
    if step.action == "processed":
        todo = [
            "  - Process it (the credit, billing and the account's records), then mark it "
            "processed on its page: that is the last step, and it is approved.",
            f"  - From the command line: adoffboard cr approve {cr.id} --as YOU",
        ]
    else:
        todo = [
            "  - Read it and approve or reject it on its page (a rejection needs a reason "
            "and ends the request).",
            f"  - From the command line: adoffboard cr approve {cr.id} --as YOU "
            f'(or cr reject {cr.id} --reason "..." --as YOU)',
        ]
    lines = [
        f"Your turn, {title}: change request {cr.id} ({CR_TYPES[c.type]} for {name}) waits "
        f"for you to {verb} it; {since}.",
        "",
        f"Open it: {console_link(ws, f'/cr/{cr.id}')}",
        "",
        *describe(cr, ws),
        *_approvals(cr, ws),
        "",
        "What to do:",
        *todo,
    ]
    people = _eligible(cr, ws, step.role)
    return NoticeSpec(
        f"turn:{cr.id}:{step.role}:v{cr.version}",
        cr.id,
        "turn",
        people,
        subject,
        "\n".join(lines) + "\n",
    )


def rejection_notice(cr: ChangeRequest, ws: LoadedWorkspace, decision: Decision) -> NoticeSpec:
    """To whoever submitted the request and its Account Manager: it was rejected, and why."""
    c = cr.content
    name = client_name(ws, c.client)
    event = decision.events[0]
    by = f"{ROLES.get(event.role, event.role)} {notify.who(ws, event.by)}"
    subject = f"Rejected: {CR_TYPES[c.type]} {cr.id} for {name}"
    lines = [
        f"Change request {cr.id} ({CR_TYPES[c.type]} for {name}) was rejected by {by}.",
        "",
        "Reason:",
        *[f"  {line}" for line in event.detail.splitlines()],
        "",
        f"Open it: {console_link(ws, f'/cr/{cr.id}')}",
        "",
        *describe(cr, ws),
        *_approvals(cr, ws),
        "",
        "What to do:",
        "  - A rejection ends the request. If the client still wants the change, settle the "
        "reason with them, then create a new change request (`adoffboard cr new`).",
    ]
    keys = [k for k in (cr.submitted_by, cr.created_by) if k]
    to = [ws.config.people[k].email for k in keys if k in ws.config.people]
    return NoticeSpec(
        f"rejected:{cr.id}:v{cr.version}",
        cr.id,
        "rejection",
        tuple(dict.fromkeys([*to, *notify.account_manager_email(ws, c.client)])),
        subject,
        "\n".join(lines) + "\n",
    )


def _approvals(cr: ChangeRequest, ws: LoadedWorkspace) -> list[str]:
    if not cr.approvals:
        return []
    return [
        "",
        "Approvals so far:",
        *[
            f"  {ROLES.get(a.role, a.role)}: {notify.who(ws, a.by)}, {a.action} at {a.at}"
            for a in cr.approvals
        ],
    ]


def _eligible(cr: ChangeRequest, ws: LoadedWorkspace, role: str) -> tuple[str, ...]:
    """The emails of the people with `role` who may act on it: nobody acts on a request they
    created or submitted, nor on two steps (`rules`). If that leaves nobody, everyone with the
    role is told (someone must see that the request is stuck)."""
    barred = {cr.created_by, cr.submitted_by, *(a.by for a in cr.approvals)}
    everyone = {k: p for k, p in ws.config.people.items() if role in p.roles}
    allowed = [p.email for k, p in everyone.items() if k not in barred]
    return tuple(dict.fromkeys(allowed)) or role_emails(ws, [role])
