"""Who is acting: console sessions, personal tokens for the CLI, and the audit trail.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

The Table objects in `adoffboard.identity` and `adoffboard.audit` mirror this file (a test
compares the two). Neither a session's secret nor a token's is stored: only their sha256.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A signed-in console session: the cookie holds the secret, the row its sha256 (the id).
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_console_sessions_person", "console_sessions", ["person"])

    # A personal token the CLI signs in with (`adoffboard login`): a short public id people can
    # name to revoke it, and the sha256 of the secret shown once when it was issued.
    op.create_table(
        "personal_tokens",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        sa.Column("created_via", sa.String(20), nullable=False),
    )
    op.create_index("ix_personal_tokens_person", "personal_tokens", ["person"])

    # Append-only: who did what, through which door (cli, console, scheduler), on what basis
    # (oidc, token, os-user, single-user).
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_events_person", "audit_events", ["person", "seq"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_index("ix_audit_events_person", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_personal_tokens_person", table_name="personal_tokens")
    op.drop_table("personal_tokens")
    op.drop_index("ix_console_sessions_person", table_name="console_sessions")
    op.drop_table("console_sessions")
