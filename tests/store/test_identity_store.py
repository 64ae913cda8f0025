"""Console sessions, personal tokens and the audit trail in the store, on SQLite and PostgreSQL:
only hashes of secrets are kept; expired, closed and revoked ones sign nobody in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adoffboard.audit import Who, events, record, record_who
from adoffboard.clock import FakeClock
from adoffboard.errors import AuthError
from adoffboard.identity import (
    check_token,
    close_session,
    digest,
    issue_token,
    open_session,
    person_for_token,
    revoke_token,
    session_person,
    tokens_of,
)
from adoffboard.store import Store


def _everything(store: Store) -> str:
    with store.transaction() as conn:
        return repr(
            [
                conn.execute(sa.text(f"SELECT * FROM {t}")).fetchall()
                for t in ("console_sessions", "personal_tokens", "audit_events")
            ]
        )


def test_a_session_lasts_its_minutes_and_ends_when_closed(store: Store, clock: FakeClock) -> None:
    secret = open_session(store, "amy", "amy@agency.example", 30, clock)
    assert session_person(store, secret, clock) == "amy"
    assert session_person(store, secret + "x", clock) is None
    assert session_person(store, "", clock) is None
    assert secret not in _everything(store) and digest(secret) in _everything(store)

    clock.advance(29 * 60)
    assert session_person(store, secret, clock) == "amy"
    clock.advance(61)
    assert session_person(store, secret, clock) is None  # expired

    other = open_session(store, "amy", "amy@agency.example", 30, clock)
    close_session(store, other, clock)
    close_session(store, other, clock)  # twice is fine
    assert session_person(store, other, clock) is None


def test_a_token_until_it_expires_or_is_revoked(store: Store, clock: FakeClock) -> None:
    token_id, secret = issue_token(store, "jeremy", clock, "console", days=2)
    assert secret.startswith("adb_") and token_id.startswith("tok_")
    assert secret not in _everything(store)
    assert person_for_token(store, secret, clock) == "jeremy"
    assert [t.id for t in tokens_of(store, "jeremy")] == [token_id]

    clock.advance(2 * 86400)
    assert person_for_token(store, secret, clock) is None
    with pytest.raises(AuthError, match="expired"):
        check_token(store, secret, clock)

    other_id, other = issue_token(store, "jeremy", clock, "console")
    assert revoke_token(store, other_id, clock)
    assert not revoke_token(store, other_id, clock)  # already revoked
    assert not revoke_token(store, "tok_nothing", clock)
    with pytest.raises(AuthError, match="revoked"):
        check_token(store, other, clock)
    assert person_for_token(store, "adb_" + "x" * 43, clock) is None


def test_audit_events_newest_first_by_person_or_subject(store: Store, clock: FakeClock) -> None:
    with store.transaction(write=True) as conn:
        record(
            conn,
            at=store.now(),
            person="amy",
            via="console",
            basis="oidc",
            action="cr submitted",
            subject="CR-0001",
        )
        record_who(
            conn,
            Who("jeremy", "cli", "token"),
            at=store.now(),
            action="cr approved",
            subject="CR-0001",
            detail="fine",
        )
        record_who(conn, Who("amy", "cli", "os-user"), at=store.now(), action="x", subject="S-0001")
    assert [e.person for e in events(store, limit=10)] == ["amy", "jeremy", "amy"]
    assert [e.action for e in events(store, limit=10, subject="CR-0001")] == [
        "cr approved",
        "cr submitted",
    ]
    assert [e.subject for e in events(store, limit=10, person="amy")] == ["S-0001", "CR-0001"]
    assert len(events(store, limit=1)) == 1
    with pytest.raises(ValueError, match="unknown via"):
        Who("amy", "telepathy", "oidc")
