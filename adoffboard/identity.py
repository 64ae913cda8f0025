"""Who is acting: console sessions and personal tokens (migration 0007).

Neither a session's secret (the console's cookie holds it) nor a personal token's (the CLI's
token file holds it) is stored: only its sha256, so a copy of the store signs nobody in.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from adoffboard.database import metadata

console_sessions_t = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of the session secret
    Column("person", String(100), nullable=False),
    Column("email", String(320), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Index("ix_console_sessions_person", "person"),
)

personal_tokens_t = Table(
    "personal_tokens",
    metadata,
    Column("id", String(20), primary_key=True),  # short public id, e.g. "tok_3f9a2c1d"
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the secret
    Column("person", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("created_via", String(20), nullable=False),  # console | cli
    Index("ix_personal_tokens_person", "person"),
)
