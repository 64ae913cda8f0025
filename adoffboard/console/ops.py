"""Runs, reports, planner, schedule, manual tasks and audit pages (registered by `create_app`).

Thin handlers: each page's values come from `ops_data` / `ops_audit`, each action calls the
function the CLI calls (`adoffboard.app.plan_for_request`, `adoffboard.scheduling.manage`,
`adoffboard.tasks.attest`), so the console applies the same rules. A refusal (an
AdoffboardError, or `Refused`) propagates to the app's error page, which names the rule; nothing
was changed. Every action is a POST carrying the form's CSRF token (checked app-wide).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, request

from adoffboard.console import context, ops_audit, ops_data
from adoffboard.console.auth import current_person, who
from adoffboard.console.auth import note as audit_note
from adoffboard.console.pages import render
from adoffboard.errors import InputError
from adoffboard.models import Report, ReportKind
from adoffboard.report_render import html_of
from adoffboard.report_store import keep_report, kept_report, run_plan_report
from adoffboard.report_view import ReportView

bp = Blueprint("ops", __name__)

MAX_NOTE = 2000
# The report files' own policy: a report page runs no script and loads nothing.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _report_response(report: Report) -> Response:
    response = Response(html_of(ReportView.of(report)), mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    return response


def _form_text(name: str, *, required: str = "", limit: int = MAX_NOTE) -> str:
    value = (request.form.get(name) or "").strip()
    if required and not value:
        raise InputError(required)
    if len(value) > limit:
        raise InputError(f"{name} is longer than {limit} characters")
    return value


# --- runs and reports -------------------------------------------------------------------------


@bp.get("/runs")
def runs() -> str:
    return render("runs.html.j2", nav="runs", page=ops_data.runs_page(context.store()))


@bp.get("/runs/<run_id>")
def run_detail(run_id: str) -> str:
    return render("run.html.j2", nav="runs", page=ops_data.run_page(context.store(), run_id))


@bp.get("/runs/<run_id>/report")
def run_report(run_id: str) -> Response:
    return _report_response(kept_report(context.store(), "run", run_id))


@bp.get("/runs/<run_id>/plan")
def run_plan(run_id: str) -> Response:
    return _report_response(run_plan_report(context.store(), run_id))


@bp.get("/plans/<plan_id>/report")
def plan_report(plan_id: str) -> Response:
    return _report_response(kept_report(context.store(), "plan", plan_id))


@bp.get("/verifications/<verification_id>/report")
def verification_report(verification_id: str) -> Response:
    return _report_response(kept_report(context.store(), "verify", verification_id))


@bp.post("/cr/<cr_id>/plan")
def plan_request(cr_id: str) -> Any:
    """QA's one-click dry run of a change request: read live state, plan, keep the plan report.
    The CLI's `plan` takes no role, and a plan writes nothing anywhere: any signed-in person may
    plan."""
    from adoffboard.app import environment, plan_for_request
    from adoffboard.cr.notify import runbooks_for
    from adoffboard.runbook import load_runbook

    person = current_person()
    ws, store = context.workspace(), context.store()
    cr = context.change_requests().get(cr_id)
    books = runbooks_for(cr, ws)
    wanted = _form_text("runbook", limit=200)
    if wanted and wanted not in books:
        raise InputError(
            f"{cr.id} is not carried out by runbook {wanted!r} "
            f"(its runbooks: {', '.join(books) or 'none'})"
        )
    choices = (
        [wanted]
        if wanted
        else [b for b in books if load_runbook(b, ws.root).model.process != "unpause"]
    )
    if not choices:
        raise InputError(f"{cr.label()} has no runbook to plan (a {cr.type} runs none)")
    env = environment(ws, clock=context.clock())
    the_plan = plan_for_request(env, lambda: store, cr.content.client, choices[0], cr_id=cr.id)
    report = Report(
        ReportKind.PLAN, the_plan, calls={p: {"read": n} for p, n in the_plan.reads.items()}
    )
    keep_report(store, report, made_by=person.name)
    audit_note("plan", cr.id, f"dry-run plan {the_plan.plan_id} of {choices[0]}")
    return redirect(f"/plans/{the_plan.plan_id}/report", code=303)


# --- planner, schedule --------------------------------------------------------------------------


@bp.get("/planner")
def planner() -> str:
    today = _today()
    lines = ops_data.planner_page(
        context.change_requests(), context.store(), context.workspace(), today
    )
    return render("planner.html.j2", nav="planner", lines=lines, today=today.isoformat())


@bp.get("/schedule")
def schedule() -> str:
    page = ops_data.schedule_page(context.store(), context.workspace())
    return render("schedule.html.j2", nav="schedule", page=page)


@bp.post("/schedule/<row_id>/retry")
def schedule_retry(row_id: str) -> Any:
    from adoffboard.scheduling.manage import retry

    done = retry(context.store(), context.workspace(), row_id, who())
    flash(f"{done} runs at the next scheduler tick.", "ok")
    return redirect("/schedule", code=303)


@bp.post("/schedule/<row_id>/cancel")
def schedule_cancel(row_id: str) -> Any:
    from adoffboard.scheduling.manage import cancel

    reason = _form_text("reason", required="a reason is required to cancel a scheduled run")
    done = cancel(context.store(), context.workspace(), row_id, who(), reason)
    flash(f"Cancelled {', '.join(done)}.", "ok")
    return redirect("/schedule", code=303)


# --- manual tasks -------------------------------------------------------------------------------


@bp.get("/tasks")
def tasks() -> str:
    ws = context.workspace()
    client = _client_filter(ws)
    pending, done = ops_data.tasks_page(ws, context.store(), current_person().key, client)
    return render(
        "tasks.html.j2",
        nav="tasks",
        pending=pending,
        done=done,
        client=client or "",
        clients=ws.client_slugs(),
    )


@bp.post("/tasks/<path:task_id>/attest")
def attest_task(task_id: str) -> Any:
    from adoffboard.tasks import attest

    text = _form_text("note")
    task = attest(context.workspace(), context.store(), task_id, current_person().key, text)
    audit_note("task attested", task.id, text)
    flash(f"Attested {task.id} by {task.attested_by}.", "ok")
    return redirect("/tasks", code=303)


# --- audit --------------------------------------------------------------------------------------


@bp.get("/audit")
def audit_page() -> str:
    ws = context.workspace()
    client = _client_filter(ws)
    who = (request.args.get("person") or "").strip() or None
    if who is not None and who not in ws.config.people:
        raise InputError(f"unknown person {who!r}: choose one from the list")
    entries = ops_audit.audit_entries(context.store(), ws, person=who, client=client)
    return render(
        "audit.html.j2",
        nav="audit",
        entries=entries,
        client=client or "",
        person_key=who or "",
        clients=ws.client_slugs(),
        people=sorted((k, p.name) for k, p in ws.config.people.items()),
    )


def _client_filter(ws: Any) -> str | None:
    client = (request.args.get("client") or "").strip() or None
    if client is not None and client not in ws.client_slugs():
        raise InputError(f"unknown client {client!r}: choose one from the list")
    return client


def _today() -> Any:
    from adoffboard.engine import Env

    return Env(context.workspace(), clock=context.clock()).today()
