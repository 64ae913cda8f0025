"""Cases: the runs and scheduled rows of one change request, and who made each run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

The Table objects in `adoffboard.store` and `adoffboard.scheduling.tables` mirror this file (a
test compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Who made the run (a person's login and host, or "scheduler HOST"), and which of the
    # runbook's steps it carried out: "all", or "immediately" (the steps due when the change
    # request is approved, before its effective date). Older rows: unknown, all.
    op.add_column("runs", sa.Column("started_by", sa.String(200), nullable=True))
    op.add_column("runs", sa.Column("stage", sa.String(20), nullable=True))
    # A case is looked up by its change request.
    op.create_index("ix_runs_change_request", "runs", ["change_request", "started_at"])
    # A scheduled row carries out the same stages: "effective_date" (the whole runbook, on its
    # date) or "immediately" (when approved). Older rows: effective_date.
    op.add_column("schedule", sa.Column("stage", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.drop_column("stage")
    op.drop_index("ix_runs_change_request", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("stage")
        batch.drop_column("started_by")
