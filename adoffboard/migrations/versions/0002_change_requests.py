"""Change requests: the requests, their transition history, the planner, and the notice outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The Table objects in `adoffboard.cr.tables` mirror this file (a test
compares the two). A request's content is JSON (TEXT) whose sha256 is kept beside it and in every
transition, so an approval stays bound to what was approved.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per change request; `version` is a compare-and-swap counter, so two people acting
    # on the same request at once cannot both win. `id` is what people type ("CR-0003").
    op.create_table(
        "change_requests",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(20), nullable=False, unique=True),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("content_json", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index(
        "ix_change_requests_client_type", "change_requests", ["client", "type", "status"]
    )

    # Append-only: every transition (created, edited, save attempt, submitted, approved,
    # processed, rejected, approvals voided) with who, when, in which role, on which content.
    op.create_table(
        "cr_transitions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cr_id", sa.String(20), sa.ForeignKey("change_requests.id"), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("role", sa.String(60), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("data_json", sa.Text, nullable=False),
    )
    op.create_index("ix_cr_transitions_cr_seq", "cr_transitions", ["cr_id", "seq"])

    # The Digital Marketing Operations Lead's planner of approved cancellations and pauses.
    op.create_table(
        "planner",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "cr_id", sa.String(20), sa.ForeignKey("change_requests.id"), nullable=False, unique=True
        ),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("departments", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=True),
        sa.Column("pause_end_date", sa.String(10), nullable=True),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_planner_effective", "planner", ["effective_date"])

    # Outbox of notices and reminders: the unique `key` makes each one go out once; a row is
    # queued in the same transaction as what caused it, then sent and marked.
    op.create_table(
        "notices",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("cr_id", sa.String(20), sa.ForeignKey("change_requests.id"), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("recipients_json", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("claimed_at", sa.String(40), nullable=True),
        sa.Column("sent_at", sa.String(40), nullable=True),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_notices_status", "notices", ["status", "seq"])


def downgrade() -> None:
    for table in ("notices", "planner", "cr_transitions", "change_requests"):
        op.drop_table(table)
