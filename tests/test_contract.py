"""The connector contract, run over every connector against its stand-in on loopback.

Adding a connector means adding `tests/harness_<platform>.py` with a `HARNESS`: it buys every
test below. A harness may list extra secrets (`secrets`: env name -> value) its settings use, and,
when its actions need params (e.g. which tracker), `steps`: (step id, action, params) tuples
planned instead of each of `actions` with no params.
Optional hooks, for connectors whose writes are not platform calls (SharpSpring's export is a file
and an email, made from the same reads as its plan): `notifications(sandbox)` gives the
connector the `[notifications]` settings it mails with, and `partial_failure_after` lets that
many matching requests (read_state's own reads) through before the partial failure fires.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adoffboard.clock import FakeClock
from adoffboard.connectors import build
from adoffboard.connectors.base import Connector, ConnectorContext, StepContext
from adoffboard.errors import DryRunViolation
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox.core import FaultRule

SECRETS = {
    "ADOFFBOARD_TEST_DEV_TOKEN": "devtok-7f3a9-SECRET",
    "ADOFFBOARD_TEST_ACCESS_TOKEN": "ya29.access-SECRET-41c2",
}


@dataclass
class MemoryJournal:
    intents: list[Change] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def intend(self, changes):
        self.intents += changes
        self.order += [f"intent:{c.id}" for c in changes]

    def record(self, outcomes):
        self.outcomes += outcomes
        self.order += [f"outcome:{o.change_id}" for o in outcomes]


def _harnesses() -> list[Any]:
    """Every `tests/harness_*.py` module's HARNESS: one per connector."""
    found = []
    for path in sorted(Path(__file__).parent.glob("harness_*.py")):
        found.append(importlib.import_module(path.stem).HARNESS)
    return found


HARNESSES = _harnesses()


def all_secrets() -> dict[str, str]:
    merged = dict(SECRETS)
    for h in HARNESSES:
        merged.update(getattr(h, "secrets", {}))
    return merged


@pytest.fixture(params=HARNESSES, ids=lambda h: h.platform)
def harness(request):
    return request.param


@pytest.fixture(autouse=True)
def _secrets(monkeypatch):
    for key, value in all_secrets().items():
        monkeypatch.setenv(key, value)


def connect(
    harness,
    sandbox,
    tmp_path: Path,
    *,
    read_only: bool,
    clock: FakeClock | None = None,
    uses: tuple[tuple[str, Any], ...] = (),
) -> Connector:
    notifications = getattr(harness, "notifications", None)
    ctx = ConnectorContext(
        settings=harness.settings(sandbox),
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=4, timeout=10),
        notifications=notifications(sandbox) if notifications else None,
        uses=uses,
    )
    return build(harness.platform, ctx)


def steps_of(harness) -> list[tuple[str, str, dict[str, Any]]]:
    steps = getattr(harness, "steps", None)
    return list(steps) if steps is not None else [(a, a, {}) for a in harness.actions]


def context_of(harness) -> StepContext:
    return getattr(harness, "context", StepContext())


def plan_all(connector, harness, state) -> list[Change]:
    return [
        c
        for step_id, action, params in steps_of(harness)
        for c in connector.plan(action, params, state, step_id, context_of(harness)).changes
    ]


def test_read_state_sends_only_reads(harness, sandbox, tmp_path):
    connector = connect(harness, sandbox, tmp_path, read_only=True)
    connector.read_state(harness.manifest())
    assert len(sandbox.log.entries(harness.platform)) > 0
    assert sandbox.log.mutating() == []


def test_plan_is_pure(harness, sandbox, tmp_path):
    connector = connect(harness, sandbox, tmp_path, read_only=True)
    state = connector.read_state(harness.manifest())
    seen = len(sandbox.log)
    first = plan_all(connector, harness, state)
    second = plan_all(connector, harness, state)
    assert first == second and first
    assert len(sandbox.log) == seen  # planning made no call at all


def test_read_only_transport_refuses_writes(harness, sandbox, tmp_path):
    connector = connect(harness, sandbox, tmp_path, read_only=True)
    state = connector.read_state(harness.manifest())
    with pytest.raises(DryRunViolation):
        connector.apply(plan_all(connector, harness, state), MemoryJournal())
    assert sandbox.log.mutating() == []


def test_apply_verify_converge_and_idempotence(harness, sandbox, tmp_path):
    writer = connect(harness, sandbox, tmp_path, read_only=False)
    state = writer.read_state(harness.manifest())
    changes = plan_all(writer, harness, state)
    journal = MemoryJournal()
    outcomes = writer.apply(changes, journal)
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert {o.change_id for o in outcomes} == {c.id for c in changes}
    # every write was journaled as an intent before its outcome
    for change in changes:
        assert journal.order.index(f"intent:{change.id}") < journal.order.index(
            f"outcome:{change.id}"
        )

    reader = connect(harness, sandbox, tmp_path, read_only=True)
    fresh = reader.read_state(harness.manifest())
    for _, action, params in steps_of(harness):
        assert reader.verify(action, params, fresh, context_of(harness)).status in (
            CheckStatus.PASS,
            CheckStatus.MANUAL_PENDING,
        )
    assert plan_all(reader, harness, fresh) == []  # converged state plans no change

    writes = len(sandbox.log.mutating())
    again = writer.apply(changes, MemoryJournal())
    assert {o.status for o in again} == {OutcomeStatus.ALREADY}
    assert len(sandbox.log.mutating()) == writes  # a second apply sends nothing


def test_transient_errors_wait_on_the_injected_clock(harness, sandbox, tmp_path):
    sandbox.faults.add(
        FaultRule(kind="resource_exhausted", platform=harness.platform, retry_delay_s=7, times=1)
    )
    clock = FakeClock()
    connector = connect(harness, sandbox, tmp_path, read_only=True, clock=clock)
    connector.read_state(harness.manifest())
    assert clock.sleeps == harness.sleeps_for(7)


def test_partial_failure_maps_to_its_entity(harness, sandbox, tmp_path):
    sandbox.faults.add(
        FaultRule(
            kind="partial_failure",
            platform=harness.platform,
            match=harness.failing_entity,
            after=getattr(harness, "partial_failure_after", 0),
        )
    )
    writer = connect(harness, sandbox, tmp_path, read_only=False)
    state = writer.read_state(harness.manifest())
    outcomes = writer.apply(plan_all(writer, harness, state), MemoryJournal())
    failed = [o for o in outcomes if o.status == OutcomeStatus.FAILED]
    assert len(failed) == 1 and harness.failing_entity["id"] in failed[0].change_id
    assert failed[0].message
    assert all(o.status == OutcomeStatus.APPLIED for o in outcomes if o not in failed)


def test_no_secret_in_any_output(harness, sandbox, tmp_path):
    writer = connect(harness, sandbox, tmp_path, read_only=False)
    state = writer.read_state(harness.manifest())
    changes = plan_all(writer, harness, state)
    journal = MemoryJournal()
    outcomes = writer.apply(changes, journal)
    blob = json.dumps([c.to_dict() for c in changes] + [o.to_dict() for o in outcomes], default=str)
    blob += repr(state) + repr(writer.ctx) + repr([vars(e) for e in sandbox.log])
    for secret in all_secrets().values():
        assert secret not in blob
