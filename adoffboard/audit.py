"""The audit trail: who did what, when, through which door and on what basis (migration 0007).

Every action taken for a person (a change request's steps, an attested task, a run, a scheduled
row retried or cancelled) appends one row, in the same transaction as the action where the
action has one, so an action and its record are kept or lost together.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from adoffboard.database import metadata

audit_events_t = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("person", String(100), nullable=False),
    Column("via", String(20), nullable=False),  # cli | console | scheduler
    Column("basis", String(20), nullable=False),  # oidc | token | os-user | single-user
    Column("action", String(60), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_events_person", "person", "seq"),
    Index("ix_audit_events_subject", "subject", "seq"),
)
