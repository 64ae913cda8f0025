"""The journal looked up by run and change: journaling a batch reads only that batch's rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

The Table objects in `adoffboard.journal` mirror this file (a test compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_journal_run_change", "journal", ["run_id", "change_id"])


def downgrade() -> None:
    op.drop_index("ix_journal_run_change", table_name="journal")
