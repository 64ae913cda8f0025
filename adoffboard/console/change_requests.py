"""The change-request pages: list, detail, create, edit, save attempt, submit, approve, reject.

Every action calls `adoffboard.cr.service.ChangeRequests` (the CLI's service, with the schedule
following approvals) as the signed-in person: the service decides with the workflow's rules and
refuses (`NotPermitted`, `InputError`) before anything is written. A refusal is shown on the page
with the rule's message and the status that says so (403, 400); nothing changed. Buttons appear
only when it is the person's turn, but the server never relies on that.

Form fields are named as the change request's fields are in the CLI's `--json` output and in CRM
imports (`type`, `departments`, `scope`, `effective_date`, `pause_end_date`, `credit_amount`,
`monthly_total`, `campaign_budgets`, `addendum_ref`, `notes`, `escalated_to`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for

from adoffboard.console import context
from adoffboard.console.auth import current_person, who
from adoffboard.console.home import permits
from adoffboard.console.pages import render
from adoffboard.cr import rules
from adoffboard.cr.model import (
    CR_TYPES,
    DEPARTMENTS,
    EDITABLE_FIELDS,
    ESCALATION_NAMES,
    ESCALATION_TARGETS,
    SAVE_OUTCOMES,
    SCOPES,
    STATUSES,
    ChangeRequest,
)
from adoffboard.errors import AdoffboardError, InputError, NotFound, NotPermitted

bp = Blueprint("cr", __name__)

FIELDS = EDITABLE_FIELDS  # the fields `cr new` and `cr edit` take, in display order
LIST_FIELDS = ("departments",)
CHOICES = {
    "types": CR_TYPES,
    "departments": DEPARTMENTS,
    "scopes": SCOPES,
    "escalations": {ESCALATION_NAMES[k]: v for k, v in ESCALATION_TARGETS.items()},
    "outcomes": SAVE_OUTCOMES,
}


def _status_of(exc: AdoffboardError) -> int:
    if isinstance(exc, NotPermitted):
        return 403
    if isinstance(exc, NotFound):
        return 404
    return 400


def form_fields() -> dict[str, Any]:
    """The change request's fields from the posted form, as the service takes them."""
    raw: dict[str, Any] = {}
    for name in FIELDS:
        if name in LIST_FIELDS:
            if name in request.form or f"{name}_given" in request.form:
                raw[name] = request.form.getlist(name)
            continue
        if name not in request.form:
            continue
        value = request.form[name]
        if name == "campaign_budgets":
            value = ";".join(line for line in value.splitlines() if line.strip())
        raw[name] = value
    return raw


def form_values(cr: ChangeRequest | None) -> dict[str, Any]:
    """What the create/edit form shows: the posted values again after a refusal, else the
    request's own (or nothing for a new one)."""
    values: dict[str, Any]
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        values["departments"] = request.form.getlist("departments")
        values["client"] = request.form.get("client", "")
        return values
    if cr is None:
        return {name: "" for name in ("client", *FIELDS)} | {"departments": [], "scope": "dm"}
    data = cr.content.to_dict()
    values = {name: data.get(name) or "" for name in FIELDS}
    values["departments"] = list(cr.content.departments)
    values["escalated_to"] = ESCALATION_NAMES.get(cr.content.escalated_to, "")
    values["campaign_budgets"] = "\n".join(f"{n}={a}" for n, a in data["campaign_budgets"].items())
    values["client"] = cr.client
    return values


# --- reading ----------------------------------------------------------------------------------


@bp.get("/cr")
def cr_list() -> str:
    service = context.change_requests()
    status = request.args.get("status") or None
    client = request.args.get("client") or None
    if status is not None and status not in STATUSES:
        status = None
        flash(f"unknown status filter: choose one of {', '.join(STATUSES)}", "error")
    found = service.find(client=client, status=status)
    return render(
        "cr_list.html.j2",
        nav="cr",
        requests=[(cr, service.standing(cr)) for cr in found],
        statuses=STATUSES,
        clients=context.workspace().client_slugs(),
        status=status or "",
        client=client or "",
        may_create=current_person().has("account_manager"),
    )


def _detail(cr_id: str, *, error: str = "", status: int = 200) -> tuple[str, int]:
    from adoffboard.cr.notify import describe

    service = context.change_requests()
    cr = service.get(cr_id)
    person = current_person()
    actor = person.actor()
    approval = service.ws.config.approval
    step = service.pending_step(cr)
    can = {
        "approve": step is not None and permits(lambda: rules.approve(cr, actor, approval)),
        "submit": permits(lambda: rules.submit(cr, actor)),
        "save_attempt": cr.status == "draft"
        and permits(lambda: rules.record_save_attempt(cr, actor, "not-saved", "-")),
        "edit": cr.status != "rejected"
        and (person.has("account_manager") or (person.has("retention") and cr.content.escalated)),
    }
    page = render(
        "cr_detail.html.j2",
        nav="cr",
        cr=cr,
        standing=service.standing(cr),
        step=step,
        lines=describe(cr, service.ws),
        history=service.history(cr.id),
        notices=service.notices(cr.id),
        can=can,
        approve_label="Mark processed" if step and step.action == "processed" else "Approve",
        choices=CHOICES,
        error=error,
    )
    return page, status


@bp.get("/cr/<cr_id>")
def cr_detail(cr_id: str) -> tuple[str, int]:
    return _detail(cr_id)


# --- acting -----------------------------------------------------------------------------------


def _act(cr_id: str, action: Any, done: str) -> Any:
    """Run one service action as the signed-in person; the page again with the refusal, or a
    redirect to the request with what was done."""
    service = context.change_requests()
    try:
        cr, deliver = action(service, who())
    except NotFound:
        raise
    except (NotPermitted, InputError) as exc:
        return _detail(cr_id, error=str(exc), status=_status_of(exc))
    flash(f"{cr.id}: {done}.", "ok")
    if deliver:
        _deliver(service, cr.id)
    return redirect(url_for("cr.cr_detail", cr_id=cr.id), 303)


def _deliver(service: Any, cr_id: str) -> None:
    for d in service.deliver(cr_id):
        if d.error:
            flash(f"The notice {d.subject!r} was not sent ({d.error}); it stays queued.", "error")
        else:
            flash(f"Notice sent to {', '.join(d.recipients)}: {d.subject}", "info")


@bp.post("/cr/<cr_id>/submit")
def cr_submit(cr_id: str) -> Any:
    # the first approver's turn
    return _act(cr_id, lambda s, by: (s.submit(cr_id, by), True), "submitted for approval")


@bp.post("/cr/<cr_id>/approve")
def cr_approve(cr_id: str) -> Any:
    note = request.form.get("note", "")

    def approve(s: Any, by: Any) -> tuple[ChangeRequest, bool]:
        return s.approve(cr_id, by, note), True  # the next step's turn, or the approval

    return _act(cr_id, approve, "approved")


@bp.post("/cr/<cr_id>/reject")
def cr_reject(cr_id: str) -> Any:
    reason = request.form.get("reason", "")
    # the submitter and the Account Manager are told
    return _act(cr_id, lambda s, by: (s.reject(cr_id, by, reason), True), "rejected")


@bp.post("/cr/<cr_id>/save-attempt")
def cr_save_attempt(cr_id: str) -> Any:
    outcome = request.form.get("outcome", "")
    notes = request.form.get("notes", "")
    return _act(
        cr_id,
        lambda s, by: (s.save_attempt(cr_id, by, outcome, notes), False),
        "save attempt recorded",
    )


# --- creating and editing ---------------------------------------------------------------------


def _form_page(cr: ChangeRequest | None, *, error: str = "", status: int = 200) -> tuple[str, int]:
    page = render(
        "cr_form.html.j2",
        nav="cr",
        cr=cr,
        values=form_values(cr),
        clients=context.workspace().client_slugs(),
        choices=CHOICES,
        error=error,
    )
    return page, status


@bp.get("/cr/new")
def cr_new() -> tuple[str, int]:
    return _form_page(None)


@bp.post("/cr/new")
def cr_create() -> Any:
    service = context.change_requests()
    raw = {k: v for k, v in form_fields().items() if v not in ("", [])}
    raw["client"] = request.form.get("client", "")
    try:
        cr = service.create(who(), raw)
    except (NotPermitted, InputError) as exc:
        return _form_page(None, error=str(exc), status=_status_of(exc))
    flash(f"{cr.id}: created ({service.standing(cr)}).", "ok")
    if cr.content.escalated_to:
        _deliver(service, cr.id)
    return redirect(url_for("cr.cr_detail", cr_id=cr.id), 303)


@bp.get("/cr/<cr_id>/edit")
def cr_edit(cr_id: str) -> tuple[str, int]:
    return _form_page(context.change_requests().get(cr_id))


@bp.post("/cr/<cr_id>/edit")
def cr_save(cr_id: str) -> Any:
    service = context.change_requests()
    before = service.get(cr_id)
    try:
        cr = service.edit(cr_id, who(), form_fields())
    except (NotPermitted, InputError) as exc:
        return _form_page(before, error=str(exc), status=_status_of(exc))
    voided = bool(before.approvals and not cr.approvals)
    told = rules.escalation_roles(cr.content)
    escalated = bool(told) and told != rules.escalation_roles(before.content)
    done = "saved" + (f" ({len(before.approvals)} approval(s) voided)" if voided else "")
    flash(f"{cr.id}: {done}.", "ok")
    if voided or escalated:
        _deliver(service, cr.id)
    return redirect(url_for("cr.cr_detail", cr_id=cr.id), 303)
