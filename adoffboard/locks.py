"""The per-client lock: a row keyed by client in the store, so that two people or two schedulers
never run the same client at once, across processes and machines (`Store.client_lock`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, String, Table, delete, insert, select, update

from adoffboard.clock import Clock
from adoffboard.database import metadata
from adoffboard.errors import ClientLocked, StoreConflict
from adoffboard.holder import holder_is_gone

Transaction = Callable[..., AbstractContextManager[Connection]]  # Store._transaction

locks_t = Table(
    "locks",
    metadata,
    Column("client", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", String(40), nullable=False),
    Column("acquired_at", String(40), nullable=False),
)


@dataclass
class Lock:
    """One holding of a client: the token tells our row from a takeover's."""

    client: str
    holder: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


def acquire(
    transaction: Transaction, clock: Clock, lock: Lock, ttl: dt.timedelta, now: str
) -> None:
    """Insert our row; if one is there, take it over only if stale, else name its holder.

    Each race lost (the row vanished or changed between our two statements) is retried with
    fresh reads; three rounds cover any realistic interleaving.
    """
    row = {"holder": lock.holder, "token": lock.token, "acquired_at": now}
    current: Any = None
    for _ in range(3):
        try:
            with transaction(write=True) as conn:
                conn.execute(insert(locks_t).values(client=lock.client, **row))
            return
        except StoreConflict:
            pass
        with transaction(write=True) as conn:
            current = (
                conn.execute(select(locks_t).where(locks_t.c.client == lock.client))
                .mappings()
                .first()
            )
            if current is None:
                continue  # released meanwhile: insert again
            age = clock.now() - dt.datetime.fromisoformat(current["acquired_at"])
            if age < ttl and not holder_is_gone(current["holder"]):
                break
            swapped = conn.execute(
                update(locks_t)
                .where(locks_t.c.client == lock.client, locks_t.c.token == current["token"])
                .values(**row)
            )
            if swapped.rowcount == 1:
                return
    if current is None:
        raise ClientLocked(f"client {lock.client} is locked by another holder; try again")
    raise ClientLocked(
        f"client {lock.client} is locked by {current['holder']} since {current['acquired_at']}",
        holder=current["holder"],
        since=current["acquired_at"],
    )


def release(transaction: Transaction, lock: Lock) -> None:
    """Delete our own row only: if a stale-lock takeover replaced it, that lock stays."""
    with transaction(write=True) as conn:
        conn.execute(
            delete(locks_t).where(locks_t.c.client == lock.client, locks_t.c.token == lock.token)
        )
