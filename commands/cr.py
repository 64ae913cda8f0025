"""The `cr` commands: parse, call `adoffboard.cr.service`, render (`planner` and `reminders`:
`commands/planner.py`, importable from here too).

Registered on the main group by `adoffboard.cli`; they receive its context object
(`adoffboard.commands.common.Ctx`: the workspace, the store, `--json`) through
`click.pass_obj`. Errors propagate to the main group, which turns them into one line and a
documented exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from adoffboard.commands.common import local, said_once
from adoffboard.commands.identity import acting, as_option
from adoffboard.commands.planner import planner as planner  # registered by adoffboard.cli
from adoffboard.commands.planner import reminders as reminders


def _service(c: Any) -> Any:
    from adoffboard.scheduling.book import change_requests

    return change_requests(c.store, c.workspace)


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _field_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The editable fields, shared by `cr new` and `cr edit`."""
    options = [
        click.option(
            "--type", "type_", metavar="TYPE", help="save-attempt, cancellation, pause or addendum."
        ),
        click.option(
            "--department",
            "departments",
            multiple=True,
            metavar="SEM|MA",
            help="Department (repeat for both; default: the client's).",
        ),
        click.option(
            "--scope",
            metavar="dm|platform",
            help="dm: digital marketing services only; platform: leaving the platform.",
        ),
        click.option("--effective", metavar="YYYY-MM-DD", help="Effective date."),
        click.option(
            "--pause-end",
            metavar="YYYY-MM-DD",
            help='End of a contract pause (pauses only; "" clears it).',
        ),
        click.option("--credit", metavar="AMOUNT", help="Credit issued, e.g. 250.00."),
        click.option("--monthly-total", metavar="AMOUNT", help="Addendums: new monthly total."),
        click.option(
            "--campaign-budget",
            "campaign_budgets",
            multiple=True,
            metavar="CAMPAIGN=AMOUNT",
            help="Addendums: a campaign's new budget.",
        ),
        click.option(
            "--addendum-ref",
            metavar="REF",
            help="Addendums: reference of the signed addendum (e.g. DocuSign id).",
        ),
        click.option("--notes", help="Notes for approvers and the operations team."),
        click.option(
            "--escalate-to",
            "escalate_to",
            metavar="retention|team-lead|department-manager",
            help="Escalate to the Retention team (it records the save attempt and submits), "
            "a Team Lead or the Department Manager of the request's departments (no save "
            'attempt; the Account Manager submits). They are told by email; "" clears it.',
        ),
        click.option(
            "--escalated/--not-escalated",
            default=None,
            help="Deprecated: --escalated is --escalate-to retention, --not-escalated "
            '--escalate-to "".',
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _raw_fields(kw: dict[str, Any]) -> dict[str, Any]:
    names = {
        "type_": "type",
        "departments": "departments",
        "scope": "scope",
        "effective": "effective_date",
        "pause_end": "pause_end_date",
        "credit": "credit_amount",
        "monthly_total": "monthly_total",
        "campaign_budgets": "campaign_budgets",
        "addendum_ref": "addendum_ref",
        "notes": "notes",
        "escalate_to": "escalated_to",
        "escalated": "escalated",
    }
    raw: dict[str, Any] = {}
    for option, fld in names.items():
        value = kw.get(option)
        if value is None or value == ():
            continue
        raw[fld] = list(value) if isinstance(value, tuple) else value
    return raw


def _summary(service: Any, cr: Any) -> dict[str, Any]:
    step = service.pending_step(cr)
    return {
        **cr.to_dict(),
        "standing": service.standing(cr),
        "pending_step": step.role if step else None,
        "pause_end_missing": cr.type == "pause" and cr.content.pause_end_date is None,
    }


def _done(c: Any, service: Any, cr: Any, what: str, deliveries: list[Any] | None = None) -> None:
    if c.as_json:
        data = _summary(service, cr)
        if deliveries is not None:
            data["notices"] = [d.__dict__ for d in deliveries]
        _emit(data)
        return
    click.echo(f"{cr.id} ({cr.type} for {cr.client}): {said_once(what, service.standing(cr))}.")


# --- cr ---------------------------------------------------------------------------------------


@click.group("cr")
def cr_group() -> None:
    """Change requests: create, record the save attempt, submit, approve in order.

    \b
    Typical flow (roles from adoffboard.toml):
      adoffboard cr new CLIENT --type cancellation --effective 2026-12-01 \\
          --escalate-to retention                      (as dana, the Account Manager)
      adoffboard cr save-attempt CR-0001 --outcome not-saved --notes "..."   (as amy)
      adoffboard cr submit CR-0001                     (as amy)
      adoffboard cr approve CR-0001                    (as jeremy, then dustin, finance if
                                                        credited, accounting)

    Each acts as the person you are (`adoffboard whoami`); --as PERSON names them explicitly, and
    names someone else only in a [identity] single_user = true workspace.
    """


@cr_group.command("new")
@click.argument("client")
@_field_options
@as_option()
@click.pass_obj
def cr_new(c: Any, client: str, as_person: str | None, **kw: Any) -> None:
    """Create a change request (a draft) for CLIENT. Account Managers only."""
    if kw.get("type_") is None:
        raise click.UsageError("--type is required: save-attempt, cancellation, pause or addendum")
    service = _service(c)
    who = acting(c, as_person).who
    cr = service.create(who, {"client": client, **_raw_fields(kw)})
    deliveries = service.deliver(cr.id) if cr.content.escalated_to else []
    what = f"created by {who.person}"
    _done(c, service, cr, what + _escalation(cr, deliveries), deliveries)
    _warn_unsent(deliveries)


def _escalation(cr: Any, deliveries: list[Any]) -> str:
    """What `cr new`/`cr edit` add when the request was escalated just now."""
    from adoffboard.cr.rules import escalation_title

    notices = [d for d in deliveries if d.kind == "escalation"]
    if not notices:
        return ""
    told = sorted({r for d in notices if not d.error for r in d.recipients})
    how = f"{', '.join(told)} told" if told else "the notice is queued, not sent"
    return f", escalated to {escalation_title(cr.content)} ({how})"


@cr_group.command("edit")
@click.argument("cr_id", metavar="ID")
@_field_options
@as_option()
@click.pass_obj
def cr_edit(c: Any, cr_id: str, as_person: str | None, **kw: Any) -> None:
    """Change fields of a request. After an approval, every approval is void and the request goes
    through the chain again."""
    raw = _raw_fields(kw)
    if not raw:
        raise click.UsageError("nothing to change: give at least one field option")
    service = _service(c)
    who = acting(c, as_person).who
    before = service.get(cr_id)
    cr = service.edit(cr_id, who, raw)
    what = f"edited by {who.person}"
    voided = bool(before.approvals and not cr.approvals)
    if voided:
        what += f" ({len(before.approvals)} approval(s) voided)"
    from adoffboard.cr.rules import escalation_roles

    told = escalation_roles(cr.content)
    escalated = bool(told) and told != escalation_roles(before.content)
    deliveries = service.deliver(cr.id) if voided or escalated else []
    _done(c, service, cr, what + _escalation(cr, deliveries), deliveries)
    _warn_unsent(deliveries)


@cr_group.command("save-attempt")
@click.argument("cr_id", metavar="ID")
@click.option("--outcome", required=True, type=click.Choice(["saved", "not-saved"]))
@click.option("--notes", required=True, help="What was offered and what the client said.")
@as_option()
@click.pass_obj
def cr_save_attempt(c: Any, cr_id: str, outcome: str, notes: str, as_person: str | None) -> None:
    """Record the retention call's outcome: the Retention team, on a request escalated to it."""
    service = _service(c)
    who = acting(c, as_person).who
    cr = service.save_attempt(cr_id, who, outcome, notes)
    _done(c, service, cr, f"save attempt ({outcome}) recorded by {who.person}")


@cr_group.command("submit")
@click.argument("cr_id", metavar="ID")
@as_option()
@click.pass_obj
def cr_submit(c: Any, cr_id: str, as_person: str | None) -> None:
    """Submit a draft for approval: the Retention team when escalated to it (after its save
    attempt), else the Account Manager."""
    service = _service(c)
    who = acting(c, as_person).who
    cr = service.submit(cr_id, who)
    deliveries = service.deliver(cr.id)  # the first approver's turn
    _done(c, service, cr, f"submitted by {who.person}", deliveries)
    _told(c, deliveries)


@cr_group.command("approve")
@click.argument("cr_id", metavar="ID")
@click.option("--note", default="", help="A note kept with the approval.")
@as_option()
@click.pass_obj
def cr_approve(c: Any, cr_id: str, note: str, as_person: str | None) -> None:
    """Approve the pending step (or, for the accounting team, mark it processed)."""
    service = _service(c)
    who = acting(c, as_person).who
    cr = service.approve(cr_id, who, note)
    deliveries = service.deliver(cr.id)  # the next step's turn, or the approval
    if c.as_json:
        _emit({**_summary(service, cr), "notices": [d.__dict__ for d in deliveries]})
    else:
        last = cr.approvals[-1] if cr.approvals else None
        action = last.action if last else "approved"
        done = said_once(f"{action} by {who.person}", service.standing(cr))
        click.echo(f"{cr.id} ({cr.type} for {cr.client}): {done}.")
    _told(c, deliveries)


def _told(c: Any, deliveries: list[Any]) -> None:
    """Who was emailed (in text mode: JSON carries `notices`), and what stays queued."""
    if not c.as_json:
        for d in deliveries:
            if not d.error:
                click.echo(f"Notice sent to {', '.join(d.recipients)}: {d.subject}")
    _warn_unsent(deliveries)


def _warn_unsent(deliveries: list[Any]) -> None:
    for d in deliveries:
        if d.error:
            click.echo(
                f"adoffboard: warning: the notice {d.subject!r} was not sent ({d.error}); "
                "it stays queued: `adoffboard reminders send` retries it",
                err=True,
            )


@cr_group.command("reject")
@click.argument("cr_id", metavar="ID")
@click.option("--reason", required=True, help="Why: kept in the history.")
@as_option()
@click.pass_obj
def cr_reject(c: Any, cr_id: str, reason: str, as_person: str | None) -> None:
    """Reject at the pending step; a rejection ends the request."""
    service = _service(c)
    who = acting(c, as_person).who
    cr = service.reject(cr_id, who, reason)
    deliveries = service.deliver(cr.id)  # the submitter and the Account Manager
    _done(c, service, cr, f"rejected by {who.person}", deliveries)
    _told(c, deliveries)


@cr_group.command("show")
@click.argument("cr_id", metavar="ID")
@as_option("Optional here; checked as for the commands that act (see `adoffboard whoami`).")
@click.pass_obj
def cr_show(c: Any, cr_id: str, as_person: str | None) -> None:
    """A request's fields, where it stands, and its full history."""
    from adoffboard.cr.notify import describe

    service = _service(c)
    if as_person:
        acting(c, as_person)
    cr = service.get(cr_id)
    history = service.history(cr.id)
    notices = service.notices(cr.id)
    if c.as_json:
        _emit(
            {
                **_summary(service, cr),
                "history": [t.to_dict() for t in history],
                "notices": [
                    {
                        k: n[k]
                        for k in (
                            "kind",
                            "status",
                            "subject",
                            "recipients",
                            "created_at",
                            "sent_at",
                            "error",
                        )
                    }
                    for n in notices
                ],
            }
        )
        return
    click.echo(f"{cr.id}: {cr.type} for {cr.client}, {said_once(cr.status, service.standing(cr))}")
    click.echo(f"Content hash: {cr.content_hash}")
    for line in describe(cr, c.workspace):
        click.echo(line)
    if cr.type == "pause" and cr.content.pause_end_date is None:
        click.echo(
            "WARNING: this pause has no end date: set one with the Account Manager "
            f"(`adoffboard cr edit {cr.id} --pause-end YYYY-MM-DD`)."
        )
    click.echo(f"\nHistory (times in {c.workspace.config.workspace.timezone}):")
    for t in history:
        detail = f": {t.detail}" if t.detail else ""
        click.echo(
            f"  {local(c, t.at)}  {t.action:<17} by {t.by} ({t.role}) -> {t.status}  "
            f"[{t.content_hash[:12]}]{detail}"
        )
    if notices:
        click.echo("\nNotices:")
        for n in notices:
            when = local(c, n["sent_at"] or n["created_at"])
            error = f" ({n['error']})" if n["error"] else ""
            click.echo(
                f"  {when}  {n['status']:<9} {n['subject']} -> {', '.join(n['recipients'])}{error}"
            )


@cr_group.command("list")
@click.option("--client", help="Only this client's requests.")
@click.option("--status", type=click.Choice(["draft", "submitted", "approved", "rejected"]))
@click.option(
    "--type", "type_", type=click.Choice(["save-attempt", "cancellation", "pause", "addendum"])
)
@as_option("Optional here; checked as for the commands that act (see `adoffboard whoami`).")
@click.pass_obj
def cr_list(
    c: Any, client: str | None, status: str | None, type_: str | None, as_person: str | None
) -> None:
    """Change requests, oldest first, filtered by client, status or type."""
    service = _service(c)
    if as_person:
        acting(c, as_person)
    if client:
        c.workspace.load_client(client)
    found = service.find(client=client, status=status, type_=type_)
    if c.as_json:
        _emit([_summary(service, cr) for cr in found])
        return
    if not found:
        click.echo("No change requests.")
        return
    from rich.table import Table

    table = Table("id", "client", "type", "departments", "effective", "status", "standing")
    for cr in found:
        table.add_row(
            cr.id,
            cr.client,
            cr.type,
            ",".join(cr.content.departments),
            str(cr.content.effective_date or ""),
            cr.status,
            service.standing(cr),
        )
    c.print_table(table)


@cr_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@as_option()
@click.pass_obj
def cr_import(c: Any, file: Path, as_person: str | None) -> None:
    """Import change requests exported from the CRM (CSV or JSON) as drafts: all rows or none.

    Columns: client, type, departments, scope, effective_date, pause_end_date, credit_amount,
    monthly_total, campaign_budgets (NAME=AMOUNT;...), addendum_ref, notes, escalated_to
    (as --escalate-to; the older yes/no escalated: retention), crm_ref, created_by (default:
    who imports).
    """
    from adoffboard.cr.importer import read_rows
    from adoffboard.errors import ImportProblems

    service = _service(c)
    who = acting(c, as_person).who
    rows = read_rows(file)
    try:
        created = service.import_rows(who, str(file), rows)
    except ImportProblems as exc:
        for line in exc.lines:
            click.echo(line, err=True)
        raise
    deliveries = [d for cr in created if cr.content.escalated_to for d in service.deliver(cr.id)]
    if c.as_json:
        _emit([_summary(service, cr) for cr in created])
    else:
        listed = ", ".join(f"{cr.id} ({cr.type} for {cr.client})" for cr in created)
        click.echo(f"Imported {len(created)} change request(s) as drafts: {listed}")
    _warn_unsent(deliveries)
