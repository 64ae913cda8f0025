"""`read_after_removal`: the read a run's verify pass makes of a platform where the agency's access
was just removed. Where the removal took, Google Ads and Meta read only the agency's side of the
access (one call) and answer what their full read answers (the account is unreachable); where it
did not, every connector reads everything, exactly as `read_state`. Against the stand-ins."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from test_contract import HARNESSES, MemoryJournal, all_secrets, connect

from adoffboard.connectors.base import Connector
from adoffboard.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in all_secrets().items():
        monkeypatch.setenv(key, value)


def _timeless(state: Any) -> Any:
    """The state without when it was read (what differs between two reads of the same data)."""
    if dataclasses.is_dataclass(state) and any(
        f.name == "read_at" for f in dataclasses.fields(state)
    ):
        return dataclasses.replace(state, read_at=None)  # type: ignore[type-var]
    return state


@pytest.mark.parametrize("harness", HARNESSES, ids=lambda h: h.platform)
def test_with_the_access_still_there_everything_is_read_again(
    harness: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    connector = connect(harness, sandbox, tmp_path, read_only=True)
    before = connector.read_state(harness.manifest())
    first = len(sandbox.log.entries(harness.platform))
    again = connector.read_after_removal(harness.manifest(), before)
    assert _timeless(again) == _timeless(before)
    assert len(sandbox.log.entries(harness.platform)) >= 2 * first - 1  # a full read again


def _remove(harness: Any, sandbox: Sandbox, tmp_path: Path, action: str) -> tuple[Connector, Any]:
    """Read, then send the step that removes the agency's access; the state read before."""
    writer = connect(harness, sandbox, tmp_path, read_only=False)
    state = writer.read_state(harness.manifest())
    changes = writer.plan(action, {}, state, action).changes
    assert changes
    assert all(o.status.value == "applied" for o in writer.apply(changes, MemoryJournal()))
    return writer, state


@pytest.mark.parametrize(
    ("platform", "action", "read"),
    [
        ("meta", "remove_agency", "list_client_accounts"),
        ("google_ads", "unlink_account", "SearchStream"),
    ],
)
def test_once_the_access_is_removed_one_call_says_so(
    platform: str, action: str, read: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    harness = next(h for h in HARNESSES if h.platform == platform)
    writer, before = _remove(harness, sandbox, tmp_path, action)
    since = len(sandbox.log.entries(platform))
    after = writer.read_after_removal(harness.manifest(), before)
    calls = [e.method for e in sandbox.log.entries(platform)[since:]]
    assert calls == [read]
    assert after.reachable is False
    # what a full read by a fresh connector answers now
    full = connect(harness, sandbox, tmp_path, read_only=True).read_state(harness.manifest())
    assert full.reachable is False
    assert _timeless(after) == _timeless(full)
