"""Scheduled runs: approved change requests carried out on their dates, and every attempt.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The Table objects in `adoffboard.scheduling.tables` mirror this file (a test
compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per runbook a change request runs, on one date. `key` (request, runbook, the
    # request's content hash) makes scheduling idempotent: an edited and re-approved request gets
    # new rows, and a cancelled row is never scheduled again. `version` is a compare-and-swap
    # counter, so two schedulers cannot both claim a run. `after_id` names the run this one waits
    # for (an un-pause waits for its pause).
    op.create_table(
        "schedule",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(20), nullable=False, unique=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("cr_id", sa.String(20), sa.ForeignKey("change_requests.id"), nullable=False),
        sa.Column("cr_hash", sa.String(64), nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("runbook", sa.String(200), nullable=False),
        sa.Column("process", sa.String(40), nullable=False),
        sa.Column("department", sa.String(10), nullable=False),
        sa.Column("run_date", sa.String(10), nullable=False),
        sa.Column("due_at", sa.String(40), nullable=False),
        sa.Column("after_id", sa.String(20), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.String(40), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", sa.String(40), nullable=True),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("verdict", sa.String(20), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_schedule_status_next", "schedule", ["status", "next_attempt_at"])

    # Append-only: every attempt at a scheduled run and how it ended, and who acted on the row
    # (cancelled, retried).
    op.create_table(
        "schedule_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.String(20), sa.ForeignKey("schedule.id"), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_schedule_events_schedule", "schedule_events", ["schedule_id", "seq"])


def downgrade() -> None:
    for table in ("schedule_events", "schedule"):
        op.drop_table(table)
