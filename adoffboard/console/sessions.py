"""Console sessions in the store (`console_sessions`, adoffboard.identity): the cookie holds a
random secret, the store only its sha256, the person, and when it expires or was closed."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import insert, select, update

from adoffboard.clock import Clock
from adoffboard.identity import console_sessions_t


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def open_session(store: Any, person: str, email: str, minutes: int, clock: Clock) -> str:
    """A new session for `person`, valid `minutes`; returns its secret (for the cookie only)."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    with store.transaction(write=True) as conn:
        conn.execute(
            insert(console_sessions_t).values(
                id=_hash(secret),
                person=person,
                email=email,
                created_at=_stamp(now),
                expires_at=_stamp(now + dt.timedelta(minutes=minutes)),
                revoked_at=None,
            )
        )
    return secret


def session_person(store: Any, secret: str, clock: Clock) -> str | None:
    """The person whose open, unexpired session `secret` is; None otherwise."""
    with store.transaction() as conn:
        row = (
            conn.execute(select(console_sessions_t).where(console_sessions_t.c.id == _hash(secret)))
            .mappings()
            .first()
        )
    if row is None or row["revoked_at"]:
        return None
    try:
        expires = dt.datetime.fromisoformat(str(row["expires_at"]))
    except ValueError:
        return None  # not a time this console wrote: no session
    if expires.tzinfo is None or clock.now() >= expires:
        return None
    return str(row["person"])


def close_session(store: Any, secret: str, clock: Clock) -> None:
    """Sign out: the session no longer signs anyone in, even from a copy of the cookie."""
    with store.transaction(write=True) as conn:
        conn.execute(
            update(console_sessions_t)
            .where(console_sessions_t.c.id == _hash(secret))
            .where(console_sessions_t.c.revoked_at.is_(None))
            .values(revoked_at=_stamp(clock.now()))
        )
