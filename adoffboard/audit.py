"""The audit trail: who did what, when, through which door and on what basis (migration 0007).

Every action taken for a person (a change request's steps, an attested task, a run, a scheduled
row retried or cancelled) appends one row, in the same transaction as the action where the
action has one, so an action and its record are kept or lost together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, Text, insert, select

from adoffboard.database import metadata

audit_events_t = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("person", String(100), nullable=False),
    Column("via", String(20), nullable=False),  # cli | console | scheduler
    Column("basis", String(20), nullable=False),  # oidc | token | os-user | single-user | service
    Column("action", String(60), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_events_person", "person", "seq"),
    Index("ix_audit_events_subject", "subject", "seq"),
)

VIAS = ("cli", "console", "scheduler")
BASES = ("oidc", "token", "os-user", "single-user", "service")


@dataclass(frozen=True)
class Who:
    """Who acts, through which door, and why we believe it: what an action's audit row says.

    `person` is a key of [people]; `via` one of `VIAS`; `basis` one of `BASES`: the console's
    sign-in ("oidc"), a personal token ("token"), the OS user bound in `os_users` ("os-user"), or
    `--as` taken on trust in a `single_user` workspace ("single-user"), or nobody's: the
    scheduler acting on its own ("service", via "scheduler"; `person` is its lock holder).
    """

    person: str
    via: str
    basis: str

    def __post_init__(self) -> None:
        if self.via not in VIAS or self.basis not in BASES:
            raise ValueError(f"unknown via {self.via!r} or basis {self.basis!r}")


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    person: str
    via: str
    basis: str
    action: str
    subject: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record(
    conn: Connection,
    *,
    at: str,
    person: str,
    via: str,
    basis: str,
    action: str,
    subject: str,
    detail: str = "",
) -> None:
    """Append one event, on the caller's connection (inside the action's own transaction)."""
    Who(person, via, basis)  # refuses an unknown door or basis
    conn.execute(
        insert(audit_events_t).values(
            at=at,
            person=person,
            via=via,
            basis=basis,
            action=action,
            subject=subject[:200],
            detail=detail,
        )
    )


def record_who(
    conn: Connection, who: Who, *, at: str, action: str, subject: str, detail: str = ""
) -> None:
    """`record` for a `Who`."""
    record(
        conn,
        at=at,
        person=who.person,
        via=who.via,
        basis=who.basis,
        action=action,
        subject=subject,
        detail=detail,
    )


def person_of(by: str | Who) -> str:
    """The [people] key of `by`: a service method takes a `Who` (the CLI, the console) or a bare
    key (a library caller with nobody to audit, such as the demo)."""
    return by.person if isinstance(by, Who) else by


def note(
    conn: Connection, by: str | Who, *, at: str, action: str, subject: str, detail: str = ""
) -> None:
    """`record_who` when `by` is a `Who`; a bare key records nothing (see `person_of`)."""
    if isinstance(by, Who):
        record_who(conn, by, at=at, action=action, subject=subject, detail=detail)


def events(
    store: Any, *, limit: int = 100, person: str | None = None, subject: str | None = None
) -> list[Event]:
    """The newest `limit` events, newest first, of one person or one subject if given."""
    query = select(audit_events_t).order_by(audit_events_t.c.seq.desc()).limit(limit)
    if person is not None:
        query = query.where(audit_events_t.c.person == person)
    if subject is not None:
        query = query.where(audit_events_t.c.subject == subject)
    with store.transaction() as conn:
        rows = conn.execute(query).mappings().all()
    return [Event(**{k: row[k] for k in Event.__dataclass_fields__}) for row in rows]
