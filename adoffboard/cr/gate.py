"""The gate: nothing of a cancellation, pause or addendum runs without its approved change request.

Planning is always allowed (QA reviews dry runs before anything is approved); when an approved
request exists, or one is named, the plan carries it ({id, type, content hash}, covered by the
plan's hash) and takes its scope and dates. Applying (apply, run, resume, and the scheduler through
the engine) requires, for the runbook's process:

- an approved change request of the matching type for that client, covering the runbook's
  department (un-pausing is covered by the pause's request);
- whose content is what was approved (its hash equals the one each approval recorded) and, when
  the plan named it, what the plan was made from;
- whose scope is the plan's (a cancellation of digital marketing only never removes access), and
  whose date the plan does not precede.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adoffboard.config import LoadedWorkspace
from adoffboard.cr.model import CR_TYPES, ChangeRequest
from adoffboard.cr.service import ChangeRequests
from adoffboard.errors import ApprovalRequired, InputError, NotFound

# Runbook process -> the change request type that authorises it.
PROCESS_TYPE = {
    "cancellation": "cancellation",
    "pause": "pause",
    "unpause": "pause",
    "addendum": "addendum",
}


def plan_reference(cr: ChangeRequest) -> dict[str, str]:
    """What a plan carries of its change request (covered by the plan's hash): a pause's end
    date too, which steps render (the planner row)."""
    ref = {"id": cr.id, "type": cr.type, "content_hash": cr.content_hash}
    if cr.content.pause_end_date is not None:
        ref["pause_end_date"] = cr.content.pause_end_date.isoformat()
    return ref


def for_plan(
    store: Any,
    ws: LoadedWorkspace,
    client: str,
    book: Any,
    cr_id: str | None,
    scope: str | None,
    effective: dt.date | None,
) -> tuple[dict[str, str] | None, str, dt.date | None]:
    """The change request a new plan carries (or None), and the plan's scope and date.

    Scope and date default to the request's; given ones that contradict it are refused, since
    the plan could never be applied under it.
    """
    process = book.model.process
    kind = PROCESS_TYPE.get(process)
    if kind is None:
        return None, scope or "dm", effective
    service = ChangeRequests(store, ws)
    if cr_id:
        cr: ChangeRequest | None = service.get(cr_id)
        assert cr is not None
        problem = _mismatch(cr, client, kind, book)
        if problem:
            raise InputError(problem)
        if cr.status == "rejected":
            raise InputError(
                f"{cr.label()} was rejected by {cr.rejected_by}: it cannot be carried out"
            )
    else:
        cr = _latest(service, client, kind, book, approved_only=True)
    if cr is None:
        return None, scope or "dm", effective
    own_scope = cr.content.scope if kind == "cancellation" else None
    if scope and own_scope and scope != own_scope:
        raise InputError(
            f"--scope {scope} differs from {cr.id}'s scope ({own_scope}): plan with "
            f"--scope {own_scope}, or edit the change request"
        )
    target = _date(cr, process)
    if effective and target and effective < target:
        raise InputError(f"--effective {effective} is before {cr.id}'s date ({target})")
    return plan_reference(cr), scope or own_scope or "dm", effective or target


def require_approved(
    store: Any, ws: LoadedWorkspace, plan: Any, book: Any, cr_id: str | None = None
) -> str:
    """The id of the approved change request that authorises applying `plan`, or a refusal
    (`ApprovalRequired`) saying what is missing."""
    process = book.model.process
    kind = PROCESS_TYPE.get(process)
    if kind is None:
        return ""
    service = ChangeRequests(store, ws)
    ref = plan.change_request
    wanted = (ref or {}).get("id") or cr_id
    if wanted:
        try:
            cr: ChangeRequest | None = service.get(wanted)
        except NotFound:
            raise ApprovalRequired(
                f"plan {plan.plan_id} carries out {wanted}, which this state store does not know"
            ) from None
        assert cr is not None
        problem = _mismatch(cr, plan.client, kind, book)
        if problem:
            raise ApprovalRequired(problem)
    else:
        cr = _latest(service, plan.client, kind, book, approved_only=True)
        if cr is None:
            pending = _latest(service, plan.client, kind, book, approved_only=False)
            if pending is not None:
                raise ApprovalRequired(
                    f"{pending.label()} {service.standing(pending)}: "
                    f"{book.name} cannot run until it is approved"
                )
            dept = book.model.department
            raise ApprovalRequired(
                f"no approved {CR_TYPES[kind]} change request for {plan.client} ({dept}): an "
                f"Account Manager creates one (`adoffboard cr new {plan.client} --type {kind}`) "
                "and it goes through the approval chain"
            )
    if cr.status != "approved":
        raise ApprovalRequired(
            f"{cr.label()} {service.standing(cr)}: {book.name} cannot run until it is approved"
        )
    changed = [a for a in cr.approvals if a.content_hash != cr.content_hash]
    if changed or not cr.approvals:
        raise ApprovalRequired(
            f"{cr.label()} changed since it was approved (content hash "
            f"{cr.content_hash[:12]}): it must be approved again"
        )
    if ref and ref.get("content_hash") != cr.content_hash:
        raise ApprovalRequired(
            f"{cr.label()} changed since plan {plan.plan_id} was made: re-plan and review again"
        )
    if kind == "cancellation" and plan.scope != cr.content.scope:
        raise ApprovalRequired(
            f"plan {plan.plan_id} has scope {plan.scope} but {cr.id} was "
            f"approved for scope {cr.content.scope}: re-plan"
        )
    uses_budget = any(
        step.action is not None and "$budget_change" in step.action.params.values()
        for step in book.model.steps
    )
    if (
        kind == "addendum"
        and uses_budget
        and plan.inputs.get("budget_change") != addendum_inputs(store, ws, cr.id)["budget_change"]
    ):
        raise ApprovalRequired(
            f"plan {plan.plan_id}'s budget change is not the one {cr.id} "
            "approved: re-plan from the change request"
        )
    target = _date(cr, process)
    planned = dt.date.fromisoformat(plan.effective_date) if plan.effective_date else None
    if target and planned and planned < target:
        raise ApprovalRequired(
            f"plan {plan.plan_id} takes effect on {planned}, before "
            f"{cr.id}'s date {target}: re-plan"
        )
    return cr.id


def _latest(
    service: ChangeRequests, client: str, kind: str, book: Any, *, approved_only: bool
) -> ChangeRequest | None:
    found = [
        cr
        for cr in service.find(client=client, type_=kind)
        if book.model.department in cr.content.departments
        and cr.status != "rejected"
        and (cr.status == "approved" or not approved_only)
    ]
    return found[-1] if found else None


def _mismatch(cr: ChangeRequest, client: str, kind: str, book: Any) -> str:
    if cr.client != client or cr.type != kind:
        return (
            f"{cr.id} is a {cr.type} for {cr.client}; runbook {book.name} needs a "
            f"{CR_TYPES[kind]} change request for {client}"
        )
    dept = book.model.department
    if dept not in cr.content.departments:
        return (
            f"{cr.id} covers {', '.join(cr.content.departments)}; runbook {book.name} is for {dept}"
        )
    return ""


def _date(cr: ChangeRequest, process: str) -> dt.date | None:
    """The date a plan of this process must not precede: a pause's end for un-pausing."""
    if process == "unpause":
        return cr.content.pause_end_date
    return cr.content.effective_date


def addendum_inputs(store: Any, ws: LoadedWorkspace, cr_id: str) -> dict[str, Any]:
    """The plan inputs of an addendum runbook, from its change request's budget change."""
    cr = ChangeRequests(store, ws).get(cr_id)
    assert cr is not None
    content = cr.content
    change: dict[str, Any] = {"reference": content.addendum_ref}
    if content.monthly_total is not None:
        change["monthly_total"] = str(content.monthly_total)
    if content.campaign_budgets:
        change["campaigns"] = {name: str(v) for name, v in content.campaign_budgets}
    return {"budget_change": change}


def request_inputs(
    store: Any, ws: LoadedWorkspace, ref: dict[str, str] | None, inputs: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A plan's inputs: an approved addendum's budget change comes from the request itself."""
    if not ref or ref["type"] != "addendum":
        return inputs
    if inputs:
        raise InputError(
            f"the budget change comes from {ref['id']}, the approved addendum: drop "
            "--budget-change (or edit the change request)"
        )
    return addendum_inputs(store, ws, ref["id"])
