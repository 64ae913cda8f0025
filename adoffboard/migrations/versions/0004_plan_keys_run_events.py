"""Plan signing keys, each run's plan signature, and the run events people act on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

The Table objects in `adoffboard.store` and `adoffboard.evidence` mirror this file (a test
compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The workspace's secret for signing plans (adoffboard.signing). One row per purpose; the
    # first process that needs it creates it, the unique name settles a race.
    op.create_table(
        "plan_keys",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("secret_hex", sa.String(128), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    # The signature of the plan a run applies, so `resume` can trust the stored copy.
    op.add_column("runs", sa.Column("plan_mac", sa.String(128), nullable=True))
    # What a saved verify pass was: the check before the agency's access removals
    # ("pre-removal", evidence for verify once access is gone) or a verify ("verify"). Older rows
    # have none: a run's first pass was its pre-removal check.
    op.add_column("verifications", sa.Column("kind", sa.String(20), nullable=True))
    # Append-only: what happened to a run besides its journal of writes: an error that stopped
    # it, access removals held because an account still spends, a person releasing them, who
    # authorised a restore.
    op.create_table(
        "run_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(60), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_run_events_run", "run_events", ["run_id", "seq"])


def downgrade() -> None:
    op.drop_table("run_events")
    with op.batch_alter_table("verifications") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("plan_mac")
    op.drop_table("plan_keys")
