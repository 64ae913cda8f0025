"""The schedule's tables (migration 0003), on the store's one `metadata`; read and written by
`adoffboard.scheduling.repo`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from adoffboard.database import metadata

schedule_t = Table(
    "schedule",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(20), nullable=False, unique=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=False),
    Column("cr_hash", String(64), nullable=False),
    Column("client", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("process", String(40), nullable=False),
    Column("department", String(10), nullable=False),
    Column("run_date", String(10), nullable=False),
    Column("due_at", String(40), nullable=False),
    Column("after_id", String(20), nullable=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40), nullable=False),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", String(40), nullable=True),
    Column("run_id", String(40), nullable=True),
    Column("verdict", String(20), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("note", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("stage", String(20), nullable=True),  # migration 0005: effective_date | immediately
    Index("ix_schedule_status_next", "status", "next_attempt_at"),
)

schedule_events_t = Table(
    "schedule_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("schedule_id", String(20), ForeignKey("schedule.id"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("event", String(40), nullable=False),
    Column("by", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("run_id", String(40), nullable=True),
    Column("detail", Text, nullable=False),
    Index("ix_schedule_events_schedule", "schedule_id", "seq"),
)
