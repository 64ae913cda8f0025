"""The change requests' tables (migration 0002), on the store's one `metadata`; read and written
by `adoffboard.cr.repo`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from adoffboard.database import metadata

change_requests_t = Table(
    "change_requests",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(20), nullable=False, unique=True),
    Column("client", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("content_json", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("submitted_by", String(100), nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_change_requests_client_type", "client", "type", "status"),
)

cr_transitions_t = Table(
    "cr_transitions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=False),
    Column("action", String(40), nullable=False),
    Column("by", String(100), nullable=False),
    Column("role", String(60), nullable=False),
    Column("at", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("data_json", Text, nullable=False),
    Index("ix_cr_transitions_cr_seq", "cr_id", "seq"),
)

planner_t = Table(
    "planner",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=False, unique=True),
    Column("client", String(200), nullable=False),
    Column("type", String(20), nullable=False),
    Column("departments", String(20), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("effective_date", String(10), nullable=True),
    Column("pause_end_date", String(10), nullable=True),
    Column("added_at", String(40), nullable=False),
    Index("ix_planner_effective", "effective_date"),
)

notices_t = Table(
    "notices",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("cr_id", String(20), ForeignKey("change_requests.id"), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("recipients_json", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("claimed_at", String(40), nullable=True),
    Column("sent_at", String(40), nullable=True),
    Column("message_id", String(300), nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_notices_status", "status", "seq"),
)
