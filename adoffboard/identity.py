"""Who is acting: personal tokens, console sessions, and the person the CLI acts as.

Neither a session's secret (the console's cookie holds it) nor a personal token's (`adoffboard
login` saves it, 0600, in the user's own folder) is stored: only its sha256, so a copy of the
store signs nobody in. Tables: migration 0007.

The CLI acts as (`resolve`), in this order: the person of a valid personal token
(`ADOFFBOARD_TOKEN`, else the token `adoffboard login` saved for this workspace's store); else
the person whose `os_users` lists the operating-system account running it. `--as` naming that
same person is accepted; naming anyone else is refused (NotPermitted), unless the workspace is
`[identity] single_user = true`, where `--as` is taken on trust and audited as such.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, String, Table, insert, select, update

from adoffboard.audit import Who
from adoffboard.clock import Clock, SystemClock
from adoffboard.config import LoadedWorkspace
from adoffboard.database import metadata
from adoffboard.errors import AuthError, InputError, NotPermitted

TOKEN_ENV = "ADOFFBOARD_TOKEN"
TOKEN_PREFIX = "adb_"  # a personal token's secret: "adb_" and 43 URL-safe characters

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


def digest(secret: str) -> str:
    """What the store keeps of a secret: its sha256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _past(stamp: str, now: dt.datetime) -> bool:
    try:
        return dt.datetime.fromisoformat(stamp) <= now
    except (TypeError, ValueError):
        return True  # an unreadable time is no proof of validity


# --- personal tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    id: str
    person: str
    created_at: str
    expires_at: str
    revoked_at: str | None
    created_via: str


def issue_token(
    store: Any, person: str, clock: Clock, via: str, *, days: int = 90
) -> tuple[str, str]:
    """A new personal token for `person`, valid `days`: (its public id, its secret). The secret is
    returned once, to be shown once; the store keeps only its hash."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = "tok_" + secrets.token_hex(4)
    now = clock.now()
    with store.transaction(write=True) as conn:
        conn.execute(
            insert(personal_tokens_t).values(
                id=token_id,
                token_hash=digest(secret),
                person=person,
                created_at=_stamp(now),
                expires_at=_stamp(now + dt.timedelta(days=days)),
                revoked_at=None,
                created_via=via,
            )
        )
    return token_id, secret


def check_token(store: Any, secret: str, clock: Clock) -> Token:
    """The token whose secret this is, if it is still valid; else AuthError saying why."""
    secret = secret.strip()
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise AuthError(
            f"that is not a personal token (they start {TOKEN_PREFIX!r}): copy it whole from "
            "the console's /cli-token page"
        )
    with store.transaction() as conn:
        row = (
            conn.execute(
                select(personal_tokens_t).where(personal_tokens_t.c.token_hash == digest(secret))
            )
            .mappings()
            .first()
        )
    if row is None:
        raise AuthError("the personal token is unknown to this workspace's store")
    token = Token(**{k: row[k] for k in Token.__dataclass_fields__})
    if token.revoked_at:
        raise AuthError(f"the personal token {token.id} was revoked at {token.revoked_at}")
    if _past(token.expires_at, clock.now()):
        raise AuthError(f"the personal token {token.id} expired at {token.expires_at}")
    return token


def person_for_token(store: Any, secret: str, clock: Clock) -> str | None:
    """The person a valid token signs in; None if it is unknown, expired or revoked."""
    try:
        return check_token(store, secret, clock).person
    except AuthError:
        return None


def revoke_token(store: Any, token_id: str, clock: Clock) -> bool:
    """Revoke a token by its public id; False if there is no such token still unrevoked."""
    table = personal_tokens_t
    with store.transaction(write=True) as conn:
        done = conn.execute(
            update(table)
            .where(table.c.id == token_id, table.c.revoked_at.is_(None))
            .values(revoked_at=_stamp(clock.now()))
        )
    return bool(done.rowcount)


def tokens_of(store: Any, person: str) -> list[Token]:
    """A person's tokens, newest first (for the console's /cli-token page)."""
    table = personal_tokens_t
    with store.transaction() as conn:
        rows = (
            conn.execute(
                select(table).where(table.c.person == person).order_by(table.c.created_at.desc())
            )
            .mappings()
            .all()
        )
    return [Token(**{k: r[k] for k in Token.__dataclass_fields__}) for r in rows]


# --- console sessions ---------------------------------------------------------------------------


def open_session(store: Any, person: str, email: str, minutes: int, clock: Clock) -> str:
    """A new console session; returns its secret (for the cookie), the store keeps the hash."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    with store.transaction(write=True) as conn:
        conn.execute(
            insert(console_sessions_t).values(
                id=digest(secret),
                person=person,
                email=email,
                created_at=_stamp(now),
                expires_at=_stamp(now + dt.timedelta(minutes=minutes)),
                revoked_at=None,
            )
        )
    return secret


def session_person(store: Any, secret: str, clock: Clock) -> str | None:
    """The person of an open session; None if unknown, expired or closed."""
    if not secret or len(secret) > 200:
        return None
    table = console_sessions_t
    with store.transaction() as conn:
        row = conn.execute(select(table).where(table.c.id == digest(secret))).mappings().first()
    if row is None or row["revoked_at"] or _past(row["expires_at"], clock.now()):
        return None
    return str(row["person"])


def close_session(store: Any, secret: str, clock: Clock) -> None:
    """Sign a session out (idempotent)."""
    table = console_sessions_t
    with store.transaction(write=True) as conn:
        conn.execute(
            update(table)
            .where(table.c.id == digest(secret), table.c.revoked_at.is_(None))
            .values(revoked_at=_stamp(clock.now()))
        )


# --- the person the CLI acts as -----------------------------------------------------------------


@dataclass(frozen=True)
class Acting:
    """Who the CLI acts as (`who`), and how that was established, in words (`how`)."""

    who: Who
    how: str
    token_id: str = ""


def os_user() -> str:
    """The operating-system account running this process: the password database's name for the
    real user id, which no environment variable can change (unlike LOGNAME or USER)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no password database (Windows, a bare container)
        import getpass

        return getpass.getuser()


def token_file(ws: LoadedWorkspace) -> Path:
    """Where `adoffboard login` keeps this user's token for this workspace's store: one file per
    store (its URL's hash), in the user's own configuration folder."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    name = digest(ws.store_url)[:32]
    return Path(base) / "adoffboard" / "tokens" / name


def saved_token(ws: LoadedWorkspace) -> str | None:
    """The token `adoffboard login` saved, if any; a file anyone else may read is not used."""
    path = token_file(ws)
    try:
        if path.stat().st_mode & 0o077:
            raise AuthError(
                f"{path} may be read by other accounts: `chmod 600 {path}`, or "
                "`adoffboard logout` and sign in again"
            )
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthError(f"cannot read the saved personal token {path}: {exc}") from None


def person_key(ws: LoadedWorkspace, who: str) -> str:
    """The [people] key `who` names: a key, or a person's name or email."""
    people = ws.config.people
    if who in people:
        return who
    wanted = who.strip().casefold()
    for key, person in people.items():
        if wanted in (key.casefold(), person.name.casefold(), person.email.casefold()):
            return key
    known = ", ".join(sorted(people)) or "none"
    raise InputError(
        f"unknown person {who!r}: use a key, name or email from [people] in adoffboard.toml "
        f"(known: {known})"
    )


def bound(
    ws: LoadedWorkspace, store: Any, *, clock: Clock | None = None, user: str | None = None
) -> Acting | None:
    """The person this process is bound to, by personal token or OS user, or None."""
    clock = clock or SystemClock()
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    secret = from_env or saved_token(ws)
    if secret:
        where = TOKEN_ENV if from_env else "the token saved by `adoffboard login`"
        try:
            token = check_token(store, secret, clock)
        except AuthError as exc:
            fix = "unset it" if from_env else "`adoffboard logout`, then `adoffboard login`"
            raise AuthError(f"{where}: {exc}: {fix}") from None
        if token.person not in ws.config.people:
            raise AuthError(
                f"{where}: the personal token {token.id} is {token.person!r}'s, who is no longer "
                "in [people] of adoffboard.toml"
            )
        return Acting(Who(token.person, "cli", "token"), f"personal token {token.id}", token.id)
    user = user if user is not None else os_user()
    keys = [k for k, p in ws.config.people.items() if user in p.os_users]
    if len(keys) > 1:
        raise InputError(
            f"the OS user {user!r} is in the os_users of {', '.join(sorted(keys))} in "
            "adoffboard.toml: an account belongs to one person"
        )
    if keys:
        return Acting(Who(keys[0], "cli", "os-user"), f"OS user {user!r}")
    return None


def resolve(
    ws: LoadedWorkspace,
    store: Any,
    as_person: str | None,
    *,
    clock: Clock | None = None,
    user: str | None = None,
) -> Acting:
    """The person the CLI acts as (see the module's docstring), or the refusal saying why not."""
    user = user if user is not None else os_user()
    found = bound(ws, store, clock=clock, user=user)
    single = ws.config.identity.single_user
    if as_person is None:
        if found is not None:
            return found
        if single:
            raise InputError(
                "say who acts with --as PERSON (a key from [people] in adoffboard.toml)"
            )
        raise NotPermitted(f"refused: {_unbound(user)}")
    key = person_key(ws, as_person)
    if found is not None and found.who.person == key:
        return found
    if single:
        return Acting(
            Who(key, "cli", "single-user"),
            "--as, taken on trust ([identity] single_user = true)",
        )
    if found is not None:
        raise NotPermitted(
            f"refused: you are signed in as {found.who.person} ({found.how}); --as {as_person} "
            "acts for someone else, which this workspace does not allow "
            "([identity] single_user = false)"
        )
    raise NotPermitted(f"refused: --as {as_person} cannot be checked: {_unbound(user)}")


def _unbound(user: str) -> str:
    return (
        f"the OS user {user!r} is in nobody's os_users and no personal token is saved: add "
        f"{user!r} to your [people.KEY] os_users in adoffboard.toml, or sign in with "
        "`adoffboard login` (a token from the console's /cli-token page)"
    )
