"""Reports kept in the store: every plan, run and verify report, as the document it was made
from, so that anyone on the team can read it (the web console) without the file.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The Table object in `adoffboard.report_store` mirrors this file (a test compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("runbook", sa.String(200), nullable=False),
        sa.Column("plan_id", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("verification_id", sa.Integer, nullable=True),
        sa.Column("made_at", sa.String(40), nullable=False),
        sa.Column("made_by", sa.String(200), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("mac", sa.String(128), nullable=False),
    )
    op.create_index("ix_reports_run", "reports", ["run_id", "id"])
    op.create_index("ix_reports_verification", "reports", ["verification_id"])
    op.create_index("ix_reports_plan", "reports", ["plan_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_reports_plan", table_name="reports")
    op.drop_index("ix_reports_verification", table_name="reports")
    op.drop_index("ix_reports_run", table_name="reports")
    op.drop_table("reports")
