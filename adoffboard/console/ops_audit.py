"""The audit page's trail: who did what and when, from every record the store already keeps.

Change requests' transitions, attestations of manual tasks, runs and their events, the
schedule's events, and (when the store has it) the audit trail of actions taken for a signed-in
person (`audit_events`), merged newest first. A step both a source and the trail record (a change
request's approval made through the CLI or the console, a scheduled run's outcome) shows once:
the trail's row, which says through which door and on what basis, replaces the source's row with
the same subject, action, person and time; the source's row stays where the trail has none (older
rows, library callers). Each source is read with a limit of its own, so a long history never
loads whole; a filter by person or client is applied to what is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from adoffboard.config import LoadedWorkspace

PER_SOURCE = 500


@dataclass(frozen=True)
class AuditEntry:
    at: str
    who: str
    action: str
    client: str
    subject: str
    detail: str
    source: str  # change request | task | run | schedule | console/cli/scheduler (via)
    # (subject, action, person, at) as the audit trail would name the step; () for none
    step: tuple[str, ...] = field(default=(), compare=False, repr=False)


def audit_entries(
    store: Any,
    ws: LoadedWorkspace,
    *,
    person: str | None = None,
    client: str | None = None,
    limit: int = PER_SOURCE,
) -> list[AuditEntry]:
    """Every source's newest entries, merged newest first and filtered."""
    with store.transaction() as conn:
        trail = _audit_events(conn, limit)
        entries = [
            *_transitions(conn, limit),
            *_attestations(conn, limit),
            *_runs(conn, limit),
            *_run_events(conn, limit),
            *_schedule_events(conn, limit),
        ]
    audited = {e.step for e in trail}
    entries = [e for e in entries if not e.step or e.step not in audited] + trail
    names = _names_of(ws, person) if person else None
    found = [
        e
        for e in entries
        if (client is None or e.client == client) and (names is None or _by(e.who, names))
    ]
    found.sort(key=lambda e: e.at, reverse=True)
    return [_named(ws, e) for e in found[:limit]]


def _named(ws: LoadedWorkspace, entry: AuditEntry) -> AuditEntry:
    """Who by name: records name people by key (change requests, the trail) or by login and
    host with the process id (runs)."""
    who = entry.who
    person = ws.config.people.get(who)
    if person is not None:
        who = person.name
    elif "@" in who and who.rpartition(":")[2].isdigit():
        who = who.rpartition(":")[0]
    return replace(entry, who=who)


def _names_of(ws: LoadedWorkspace, key: str) -> set[str]:
    """What the records call a person: key, name, email, and the OS users the CLI knows them by."""
    entry = ws.config.people.get(key)
    if entry is None:
        return {key.casefold()}
    return {n.casefold() for n in (key, entry.name, entry.email, *entry.os_users)}


def _by(who: str, names: set[str]) -> bool:
    text = who.casefold()
    login = text.removeprefix("scheduler ").partition("@")[0]
    return text in names or login in names


def _transitions(conn: Any, limit: int) -> list[AuditEntry]:
    from adoffboard.cr.tables import change_requests_t, cr_transitions_t

    t, cr = cr_transitions_t, change_requests_t
    query = (
        select(t.c.at, t.c.by, t.c.action, t.c.cr_id, t.c.detail, t.c.status, cr.c.client)
        .join(cr, cr.c.id == t.c.cr_id)
        .order_by(t.c.seq.desc())
        .limit(limit)
    )
    return [
        AuditEntry(
            r.at,
            r.by,
            f"change request {r.action}",
            r.client,
            r.cr_id,
            r.detail or f"now {r.status}",
            "change request",
            (r.cr_id, f"cr {r.action}", r.by, r.at),
        )
        for r in conn.execute(query)
    ]


def _attestations(conn: Any, limit: int) -> list[AuditEntry]:
    from adoffboard.evidence import attestations_t as a

    query = select(a).order_by(a.c.id.desc()).limit(limit)
    return [
        AuditEntry(
            r.at,
            r.by,
            "manual task attested",
            r.client,
            f"{r.client}/{r.runbook}/{r.step_id}",
            r.note,
            "task",
        )
        for r in conn.execute(query)
    ]


def _runs(conn: Any, limit: int) -> list[AuditEntry]:
    from adoffboard.store import runs_t as t

    query = select(
        t.c.id, t.c.client, t.c.runbook, t.c.started_at, t.c.started_by, t.c.status
    ).order_by(t.c.seq.desc())
    return [
        AuditEntry(
            r.started_at,
            r.started_by or "",
            "run started",
            r.client,
            r.id,
            f"{r.runbook}: {r.status}",
            "run",
        )
        for r in conn.execute(query.limit(limit))
    ]


def _run_events(conn: Any, limit: int) -> list[AuditEntry]:
    from adoffboard.evidence import run_events_t as e
    from adoffboard.store import runs_t as t

    query = (
        select(e.c.at, e.c.by, e.c.kind, e.c.run_id, e.c.platform, e.c.detail, t.c.client)
        .join(t, t.c.id == e.c.run_id)
        .order_by(e.c.seq.desc())
        .limit(limit)
    )
    return [
        AuditEntry(
            r.at,
            r.by,
            f"run {r.kind}" + (f" ({r.platform})" if r.platform else ""),
            r.client,
            r.run_id,
            r.detail,
            "run",
        )
        for r in conn.execute(query)
    ]


def _schedule_events(conn: Any, limit: int) -> list[AuditEntry]:
    from adoffboard.scheduling.tables import schedule_events_t as e
    from adoffboard.scheduling.tables import schedule_t as s

    query = (
        select(e.c.at, e.c.by, e.c.event, e.c.schedule_id, e.c.run_id, e.c.detail, s.c.client)
        .join(s, s.c.id == e.c.schedule_id)
        .order_by(e.c.seq.desc())
        .limit(limit)
    )
    return [
        AuditEntry(
            r.at,
            r.by,
            f"scheduled run {r.event}",
            r.client,
            r.schedule_id + (f" [{r.run_id}]" if r.run_id else ""),
            r.detail,
            "schedule",
            (r.schedule_id, f"scheduled run {r.event}", r.by, r.at),
        )
        for r in conn.execute(query)
    ]


def _audit_events(conn: Any, limit: int) -> list[AuditEntry]:
    """The trail of actions taken for a person (`adoffboard.audit`): through which door (cli,
    console, scheduler) and on what basis (oidc, token, os-user, single-user, service)."""
    from adoffboard.audit import audit_events_t as t

    rows = conn.execute(select(t).order_by(t.c.seq.desc()).limit(limit)).all()
    clients = _clients_of(conn, {r.subject for r in rows})
    return [
        AuditEntry(
            r.at,
            r.person,
            _action_named(str(r.action)),
            clients.get(r.subject, ""),
            r.subject,
            f"{r.detail} ({r.via}, {r.basis})" if r.detail else f"({r.via}, {r.basis})",
            str(r.via),
            (r.subject, r.action, r.person, r.at),
        )
        for r in rows
    ]


def _action_named(action: str) -> str:
    """A change request's step as its history names it ("cr approved" is "change request
    approved"), so a step reads the same whichever record shows it."""
    step = action.removeprefix("cr ")
    return f"change request {step}" if step != action else action


def _clients_of(conn: Any, subjects: set[str]) -> dict[str, str]:
    """The client of each subject an audit event names: a change request, a scheduled row, or
    a manual task (`CLIENT/STEP`)."""
    from adoffboard.cr.tables import change_requests_t as cr
    from adoffboard.scheduling.tables import schedule_t as s

    found = {x: x.partition("/")[0] for x in subjects if "/" in x}
    wanted = sorted(subjects - found.keys())
    if wanted:
        found |= dict(conn.execute(select(cr.c.id, cr.c.client).where(cr.c.id.in_(wanted))).all())
        found |= dict(conn.execute(select(s.c.id, s.c.client).where(s.c.id.in_(wanted))).all())
    return found
