"""What the Digital Marketing Operations Lead and the teams are told, and when.

Every notice links to the request's page on the web console (`[console] url`); the command
line that does the same stays as a second line. Whose turn it is after a submission, an
approval or a rejection is in `adoffboard.cr.notify_turns`.

- On escalation (a request created escalated, or escalated by an edit), one notice to the people
  it is escalated to: the Retention team, or the Team Lead(s) or Department Manager(s) of its
  departments, with what they do next.
- On final approval, one notice to the distribution list and the specialists of the request's
  departments, consolidating the request (type, scope, dates, departments, credit, signed
  addendum, notes, the save attempt), the runbooks that carry it out and when they run.
- Before the effective date (and a pause's end date), reminders to the department's team, N days
  ahead (`[notifications] reminder_days`); a pause without an end date asks the specialist to set
  one with the Account Manager.

Only composition here: queuing (the store's outbox, once per key) and delivery are in
`adoffboard.cr.service`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adoffboard.clock import local_time
from adoffboard.config import ROLES, LoadedWorkspace
from adoffboard.cr.model import CR_TYPES, SAVE_OUTCOMES, SCOPES, ChangeRequest
from adoffboard.cr.rules import escalation_roles, escalation_title

SPECIALIST = {"SEM": "sem_specialist", "MA": "ma_specialist"}
# Which runbook processes carry out a change request of each type.
PROCESSES = {
    "cancellation": ("cancellation",),
    "pause": ("pause", "unpause"),
    "addendum": ("addendum",),
}


@dataclass(frozen=True)
class NoticeSpec:
    key: str
    cr_id: str
    kind: str
    recipients: tuple[str, ...]
    subject: str
    body: str


# --- the escalation notice --------------------------------------------------------------------


def escalation_notice(cr: ChangeRequest, ws: LoadedWorkspace, version: int, by: str) -> NoticeSpec:
    """The notice to the people a request was just escalated to (`by` escalated it)."""
    c = cr.content
    name = client_name(ws, c.client)
    target = escalation_title(c)
    subject = f"Escalated to {target}: {CR_TYPES[c.type]} {cr.id} for {name}"
    lines = [
        f"Your turn: {who(ws, by)} escalated change request {cr.id} "
        f"({CR_TYPES[c.type]} for {name}) to {target}.",
        "",
        f"Open it: {console_link(ws, f'/cr/{cr.id}')}",
        "",
        *describe(cr, ws),
        "",
        "What to do:",
    ]
    if c.escalated:
        lines += [
            "  - Hold the retention call (the specialist has any details it needs).",
            "  - Record its outcome on the request's page (or: adoffboard cr save-attempt "
            f'{cr.id} --outcome saved|not-saved --notes "..." --as YOU).',
            "  - Update the request if the call changed it, then submit it for approval "
            f"yourself (not the Account Manager), on its page or: adoffboard cr submit {cr.id} "
            "--as YOU",
        ]
    else:
        lines += [
            "  - Work it out with the Account Manager; no save attempt is recorded (that is "
            "the Retention team's).",
            "  - The Account Manager submits it for approval on its page "
            f"(or: adoffboard cr submit {cr.id}).",
        ]
    return NoticeSpec(
        f"escalated:{cr.id}:{c.escalated_to}:v{version}",
        cr.id,
        "escalation",
        role_emails(ws, list(escalation_roles(c))),
        subject,
        "\n".join(lines) + "\n",
    )


# --- the approval notice ----------------------------------------------------------------------


def approval_notice(
    cr: ChangeRequest, ws: LoadedWorkspace, version: int, scheduled: Sequence[Any] = ()
) -> NoticeSpec:
    """The notice of a final approval; `scheduled` are the runs it scheduled, if any."""
    c = cr.content
    name = client_name(ws, c.client)
    when = f" (effective {c.effective_date})" if c.effective_date else ""
    subject = f"Approved: {CR_TYPES[c.type]} {cr.id} for {name}{when}"
    page = console_link(ws, f"/cr/{cr.id}")
    lines = [
        f"Change request {cr.id} is approved: {CR_TYPES[c.type]} for {name} ({c.client}). "
        "Your turn: carry it out.",
        "",
        f"Open it: {page}",
        "",
        *describe(cr, ws),
        "",
        "Approvals:",
    ]
    lines += [
        f"  {ROLES.get(a.role, a.role)}: {who(ws, a.by)}, {a.action} at {a.at}"
        for a in cr.approvals
    ]
    lines += ["", "What to do:"]
    specialists = " and ".join(f"the {ROLES[SPECIALIST[d]]}" for d in c.departments)
    if c.type == "addendum":
        lines.append(f"  - The signed addendum ({c.addendum_ref}) goes to {specialists}.")
    if c.type in ("cancellation", "pause"):
        lines.append(
            "  - The client is on the planner of cancellations and pauses, "
            f"{console_link(ws, '/planner')} (or: adoffboard planner); reminders go out "
            "before the dates."
        )
    lines += [f"  - {line}" for line in plan_hints(cr, ws)]
    if scheduled:
        lines.append(
            "  - Scheduled: the scheduler carries it out on its dates "
            f"({console_link(ws, '/schedule')}, or: adoffboard schedule list):"
        )
        zone = ws.config.workspace.timezone
        lines += [
            f"      {row.id} {row.runbook}: the steps due at approval, at the scheduler's next tick"
            if getattr(row, "stage", "") == "immediately"
            else f"      {row.id} {row.runbook} at {local_time(row.due_at, zone)}"
            for row in scheduled
        ]
    lines.append(f"  - Update the account status in the CRM to reflect the {CR_TYPES[c.type]}.")
    to = [*ws.config.notifications.distribution_list, *specialist_emails(ws, c.departments)]
    return NoticeSpec(
        f"approved:{cr.id}:v{version}",
        cr.id,
        "approval",
        tuple(dict.fromkeys(to)),
        subject,
        "\n".join(lines) + "\n",
    )


def specialist_emails(ws: LoadedWorkspace, departments: Sequence[str]) -> tuple[str, ...]:
    """The SEM and MA specialists of the departments concerned."""
    return role_emails(ws, [SPECIALIST[d] for d in departments if d in SPECIALIST])


def voided_notice(
    cr: ChangeRequest, ws: LoadedWorkspace, version: int, by: str, changed: str
) -> NoticeSpec:
    c = cr.content
    subject = f"Approval voided: {CR_TYPES[c.type]} {cr.id} for {client_name(ws, c.client)}"
    body = (
        f"{cr.id} was approved, then changed by {who(ws, by)} ({changed}). Every approval "
        "is void: it goes through the approval chain again, and nothing runs for it until "
        "then. It is off the planner meanwhile.\n\n"
        f"Open it: {console_link(ws, f'/cr/{cr.id}')}\n\n" + "\n".join(describe(cr, ws)) + "\n"
    )
    return NoticeSpec(
        f"voided:{cr.id}:v{version}",
        cr.id,
        "voided",
        tuple(ws.config.notifications.distribution_list),
        subject,
        body,
    )


def describe(cr: ChangeRequest, ws: LoadedWorkspace) -> list[str]:
    """The request's fields as lines, for notices and `cr show`."""
    c = cr.content
    rows = [
        ("Type", CR_TYPES[c.type]),
        ("Client", f"{client_name(ws, c.client)} ({c.client})"),
        ("Scope", f"{SCOPES.get(c.scope, c.scope)} ({c.scope})"),
        ("Departments", ", ".join(c.departments)),
        ("Effective date", str(c.effective_date or "not set")),
    ]
    if c.type == "pause":
        rows.append(
            (
                "Pause ends",
                str(c.pause_end_date)
                if c.pause_end_date
                else "NOT SET: the specialist sets one with the Account Manager",
            )
        )
    rows.append(("Credit", f"${c.credit_amount:,.2f}" if c.issues_credit else "none"))
    if c.type == "addendum":
        rows.append(("Signed addendum", c.addendum_ref))
        budget = []
        if c.monthly_total is not None:
            budget.append(f"new monthly total ${c.monthly_total:,.2f}")
        budget += [f"{n}: ${v:,.2f}" for n, v in c.campaign_budgets]
        rows.append(("Budget change", "; ".join(budget)))
    rows.append(("Escalated to", escalation_title(c) if c.escalated_to else "nobody"))
    if c.save_attempt is not None:
        sa = c.save_attempt
        rows.append(("Save attempt", f"{SAVE_OUTCOMES[sa.outcome]}, by {who(ws, sa.by)}"))
    if c.crm_ref:
        rows.append(("CRM reference", c.crm_ref))
    rows.append(("Created by", who(ws, cr.created_by)))
    if cr.submitted_by:
        rows.append(("Submitted by", who(ws, cr.submitted_by)))
    out = [f"{k + ':':<24}{v}" for k, v in rows]
    if c.notes:
        out += ["", "Notes:", *[f"  {line}" for line in c.notes.splitlines()]]
    if c.save_attempt is not None and c.save_attempt.notes:
        out += [
            "",
            "Save attempt notes:",
            *[f"  {line}" for line in c.save_attempt.notes.splitlines()],
        ]
    return out


def runbooks_for(cr: ChangeRequest, ws: LoadedWorkspace) -> list[str]:
    """The runbooks (by name) that carry out this request in its departments."""
    from adoffboard.runbook import available, load_runbook

    found = []
    for name in available(ws.root):
        try:
            book = load_runbook(name, ws.root).model
        except Exception:  # noqa: BLE001 - a broken runbook is reported where it is used
            continue
        if book.process in PROCESSES.get(cr.type, ()) and book.department in cr.content.departments:
            found.append(name)
    return found


def plan_hints(cr: ChangeRequest, ws: LoadedWorkspace) -> list[str]:
    """The plan that carries out the request, or a review plan made before the approval (apply
    takes the approved request), newest first; else how to make one. Plans are opened from the
    request's page on the console; the command is the second way."""
    page = console_link(ws, f"/cr/{cr.id}")
    plans = _plans_for(cr, ws.root / "plans", runbooks_for(cr, ws))
    if plans:
        _, body = plans[0]
        before = (
            ""
            if body.get("change_request")
            else f" (made for review before the approval; apply takes {cr.id})"
        )
        return [f"Plan {body['plan_id']} ({body['runbook']}) carries it out{before}: {page}"]
    scope = f" --scope {cr.content.scope}" if cr.content.scope != "dm" else ""
    return [f"No plan yet: make one from {page}"] + [
        f"  or: adoffboard plan {cr.client} -r {name}{scope} --cr {cr.id}"
        for name in runbooks_for(cr, ws)
    ]


def _plans_for(
    cr: ChangeRequest, folder: Path, runbooks: list[str]
) -> list[tuple[Path, dict[str, Any]]]:
    """Plans naming the request first, then review plans naming none that it could carry out."""
    named, review = [], []
    if not folder.is_dir():
        return []
    for path in folder.glob("*.json"):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(body, dict):
            continue
        ref = body.get("change_request")
        if isinstance(ref, dict) and ref.get("id") == cr.id:
            named.append((path, body))
        elif (
            ref is None
            and body.get("client") == cr.client
            and body.get("runbook") in runbooks
            and (cr.type != "cancellation" or body.get("scope") == cr.content.scope)
        ):
            review.append((path, body))
    for found in (named, review):
        found.sort(key=lambda pb: str(pb[1].get("created_at", "")), reverse=True)
    return named + review


# --- reminders --------------------------------------------------------------------------------


def reminders_due(
    cr: ChangeRequest, ws: LoadedWorkspace, today: dt.date
) -> tuple[list[NoticeSpec], list[str]]:
    """Reminders due today for an approved cancellation or pause, and problems (nobody to tell).

    For each date (effective, and a pause's end) only the most imminent due reminder is given: a
    scheduler that missed the 7-day one does not send it the day before, next to the 1-day one.
    """
    c = cr.content
    settings = ws.config.notifications
    name = client_name(ws, c.client)
    specs: list[NoticeSpec] = []
    problems: list[str] = []
    dates = [("effective", c.effective_date)]
    if c.type == "pause":
        dates.append(("pause-end", c.pause_end_date))
    for dept in c.departments:
        team = role_emails(ws, settings.reminder_roles.get(dept, []))
        if not team:
            problems.append(
                f"{cr.id}: nobody in [people] has the roles of the {dept} team "
                f"({', '.join(settings.reminder_roles.get(dept, []))})"
            )
            continue
        for kind, target in dates:
            if target is None:
                continue
            due = [
                n
                for n in settings.reminder_days
                if target - dt.timedelta(days=n) <= today <= target
            ]
            if not due:
                continue
            n = min(due)
            what = "takes effect" if kind == "effective" else "ends (un-pause)"
            subject = (
                f"Reminder: {CR_TYPES[c.type]} {cr.id} for {name} {what} "
                f"{_in_days((target - today).days)}, on {target} ({dept})"
            )
            lines = [
                subject.removeprefix("Reminder: ") + ".",
                "",
                f"Open it: {console_link(ws, f'/cr/{cr.id}')}",
                f"The planner: {console_link(ws, '/planner')}",
                "",
                *describe(cr, ws),
                "",
                *[
                    f"Runbook: adoffboard run {c.client} -r {r}"
                    for r in runbooks_for(cr, ws)
                    if _runbook_dept(ws, r) == dept
                ],
            ]
            specs.append(
                NoticeSpec(
                    f"reminder:{cr.id}:{kind}:{dept}:{target}:{n}",
                    cr.id,
                    f"reminder-{kind}",
                    team,
                    subject,
                    "\n".join(lines) + "\n",
                )
            )
        if c.type == "pause" and c.pause_end_date is None:
            specialist = role_emails(ws, [SPECIALIST[dept]])
            manager = account_manager_email(ws, c.client)
            to = specialist or team
            subject = f"Set an end date: contract pause {cr.id} for {name} has none ({dept})"
            body = (
                f"The contract pause {cr.id} for {name} starts on {c.effective_date} and has "
                "no end date. Confirm one with the Account Manager and set it on the request's "
                f"page, {console_link(ws, f'/cr/{cr.id}')} (or: adoffboard cr edit {cr.id} "
                "--pause-end YYYY-MM-DD), with a reminder for un-pausing.\n\n"
                + "\n".join(describe(cr, ws))
                + "\n"
            )
            specs.append(
                NoticeSpec(
                    f"reminder:{cr.id}:pause-end-missing:{dept}:v{cr.version}",
                    cr.id,
                    "reminder-pause-end-missing",
                    tuple(dict.fromkeys([*to, *manager])),
                    subject,
                    body,
                )
            )
    return specs, problems


def _in_days(n: int) -> str:
    return "today" if n == 0 else "tomorrow" if n == 1 else f"in {n} days"


def _runbook_dept(ws: LoadedWorkspace, name: str) -> str:
    from adoffboard.runbook import load_runbook

    return load_runbook(name, ws.root).model.department


def role_emails(ws: LoadedWorkspace, roles: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.email for role in roles for p in ws.people_with_role(role)))


def account_manager_email(ws: LoadedWorkspace, client: str) -> list[str]:
    try:
        return [ws.load_client(client).model.account_manager.email]
    except Exception:  # noqa: BLE001 - a broken manifest must not stop the reminder
        return []


def console_link(ws: LoadedWorkspace, path: str) -> str:
    """The web console's address of `path` ("/cr/CR-0001", "/planner"), from `[console] url`."""
    return ws.config.console.url.rstrip("/") + path


def client_name(ws: LoadedWorkspace, client: str) -> str:
    try:
        return ws.load_client(client).name
    except Exception:  # noqa: BLE001 - the notice still goes out, under the slug
        return client


def who(ws: LoadedWorkspace, key: str) -> str:
    person = ws.config.people.get(key)
    return f"{person.name} ({key})" if person else key
