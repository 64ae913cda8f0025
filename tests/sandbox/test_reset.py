"""`Sandbox.reset` is complete: after real traffic through every stand-in (the demo dealer leaves
the platform through the CLI: campaigns paused, links removed, sheet rows written and deleted,
the export emailed), faults injected and fired, and every attribute of every stand-in changed or
added, a reset sandbox cannot be told from a freshly started one. The tests share running
stand-ins on that promise (tests/sandbox_support.py), so the pool's own rules are checked too: a
sandbox is reused only if it still serves where it started and nothing is in flight.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Cli, approved_cr
from sandbox_support import SandboxPool

from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import FaultRule, load_scenario
from adoffboard.workspace_init import init_workspace

CLIENT = str(DEMO_CLIENT["slug"])
# what a stand-in keeps across a reset by design: its server, where it listens, what it shares
SERVING = {"_server", "_thread", "_controller", "host", "port", "log", "faults"}


def fingerprint(value: Any, seen: frozenset[int] = frozenset()) -> Any:
    """Everything observable in a stand-in's state, as plain comparable data. Moments are
    compared by kind only: a scenario's dates are relative to now (change events "3 days ago"),
    so two sandboxes started a second apart hold different ones."""
    if isinstance(value, str | bytes | int | float | bool | type(None)):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return type(value).__name__
    if id(value) in seen:
        return "<cycle>"
    seen = seen | {id(value)}
    if isinstance(value, random.Random):
        return ("Random", value.getstate())
    if isinstance(value, re.Pattern):
        return ("Pattern", value.pattern)
    if isinstance(value, itertools.count):
        return repr(value)
    if isinstance(value, type(threading.Lock()) | type(threading.RLock()) | threading.Condition):
        return "<lock>"
    if isinstance(value, dict):
        return sorted((repr(fingerprint(k, seen)), fingerprint(v, seen)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [fingerprint(v, seen) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(repr(fingerprint(v, seen)) for v in value)
    if callable(value) and hasattr(value, "__func__"):  # a bound method: which one
        return ("method", value.__func__.__qualname__)
    if callable(value) and hasattr(value, "__qualname__") and not hasattr(value, "__dict__"):
        return ("callable", value.__qualname__)
    if is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            [(f.name, fingerprint(getattr(value, f.name), seen)) for f in fields(value)],
        )
    if hasattr(value, "__dict__"):
        state = {k: v for k, v in vars(value).items() if k not in SERVING or len(seen) > 1}
        return (type(value).__qualname__, fingerprint(state, seen))
    return (type(value).__qualname__, repr(value))


def world(box: Sandbox) -> dict[str, Any]:
    return {
        "standins": {key: fingerprint(s) for key, s in box.standins.items()},
        "faults": [asdict(rule) for rule in box.faults.rules],
        "log": len(box.log),
        "mailbox": len(box.smtp.messages),
    }


def scenario_with_a_fault() -> dict[str, Any]:
    data = load_scenario(DEMO_SCENARIO)
    data["faults"] = [{"kind": "latency", "platform": "sheets", "latency_ms": 1, "times": 2}]
    return data


def leave_the_platform(box: Sandbox, root: Path) -> None:
    """The demo dealer's approved leaving-the-platform cancellation, planned and applied."""
    init_workspace(
        root,
        platforms=box.platform_settings(),
        notifications=box.notification_settings(),
        clients=[DEMO_CLIENT],
        single_user=True,
    )
    cli = Cli(root)
    approved_cr(cli, CLIENT, scope="platform", departments=("SEM", "MA"))
    for runbook in ("sem-cancellation", "ma-cancellation"):
        plan = root / f"{runbook}.json"
        made = cli("plan", CLIENT, "-r", runbook, "--scope", "platform", "-o", str(plan))
        assert made.exit_code == 0, made.output
        applied = cli("apply", str(plan))
        assert applied.exit_code in (0, 12, 13), applied.output


def tamper(standin: Any) -> None:
    """Change every attribute a test could change, and add one."""
    for name, value in list(vars(standin).items()):
        if name in SERVING or name == "lock":
            continue
        if isinstance(value, bool):
            setattr(standin, name, not value)
        elif isinstance(value, int | float):
            setattr(standin, name, value + 7)
        elif isinstance(value, str):
            setattr(standin, name, value + "-tampered")
        elif isinstance(value, dict):
            value["tampered"] = object()
        elif isinstance(value, list):
            value.append("tampered")
        elif isinstance(value, set):
            value.add("tampered")
    standin.added_by_a_test = True


@pytest.fixture
def pair() -> Iterator[tuple[Sandbox, Sandbox]]:
    used = Sandbox(scenario_with_a_fault()).start()
    try:
        with Sandbox(scenario_with_a_fault()) as fresh:
            yield used, fresh
    finally:
        used.stop()


def test_a_reset_sandbox_is_a_fresh_one(pair: tuple[Sandbox, Sandbox], tmp_path: Path) -> None:
    used, fresh = pair
    pristine = world(fresh)
    assert world(used) == pristine  # the comparison itself: two fresh sandboxes agree

    used.faults.add(FaultRule(kind="unavailable", platform="trello", method="never-called"))
    leave_the_platform(used, tmp_path / "ws")
    first_run = sorted((e.platform, e.method, e.entities) for e in used.log.mutating())
    changed = world(used)
    assert used.log.mutating(), "the run wrote nothing: nothing to reset"
    written = {e.platform for e in used.log.mutating()}
    assert {"google_ads", "sheets", "smtp"} <= written
    for key in written:
        assert changed["standins"][key] != pristine["standins"][key], key
    assert changed["faults"] != pristine["faults"]  # the scenario's fault fired, one was added
    assert len(changed["faults"]) == 2 and used.faults.rules[0].fired == 2
    assert changed["mailbox"] > 0
    for standin in used.standins.values():
        tamper(standin)
    assert all(world(used)["standins"][key] != pristine["standins"][key] for key in used.standins)

    endpoints = dict(used.endpoints)
    used.reset()
    assert world(used) == pristine
    assert used.endpoints == endpoints and used.serving() and used.idle()
    assert not hasattr(used.google_ads, "added_by_a_test")

    # and it serves the scenario again: the same run lands the same writes
    leave_the_platform(used, tmp_path / "again")
    # (platforms are applied side by side: the order across platforms varies)
    assert sorted((e.platform, e.method, e.entities) for e in used.log.mutating()) == first_run


def test_reset_to_another_scenario_of_the_same_standins() -> None:
    data = load_scenario(DEMO_SCENARIO)
    with Sandbox.only(data, ["trello", "smtp"]) as box:
        other = copy.deepcopy({k: data[k] for k in ("trello", "smtp")})
        other["faults"] = [{"kind": "internal", "platform": "trello"}]
        box.reset(other)
        with Sandbox(other) as fresh:
            assert world(box) == world(fresh)
        with pytest.raises(ValueError, match="cannot reset stand-ins"):
            box.reset({"sheets": data["sheets"]})


def test_the_pool_reuses_only_a_sandbox_that_still_serves_and_is_quiet() -> None:
    data = load_scenario(DEMO_SCENARIO)
    pool = SandboxPool()
    try:
        first = pool.acquire(data, {"trello"})
        pool.release(first)
        assert pool.acquire(copy.deepcopy(data), {"trello"}) is first
        assert pool.started == 1

        first.trello.stop()  # a test stopped a server: the next test gets its own
        pool.release(first)
        second = pool.acquire(data, {"trello"})
        assert second is not first and second.serving()

        # a client gave up on a reply the stand-in still holds: not reused while it is held
        second.faults.add(FaultRule(kind="late_reply", platform="trello", latency_ms=3000))
        url = second.trello.url
        late = threading.Thread(target=_gives_up, args=(url,), daemon=True)
        late.start()
        late.join()
        pool.release(second)
        third = pool.acquire(data, {"trello"})
        assert third is not second and pool.started == 3
        pool.release(third)
    finally:
        pool.close()


def _gives_up(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{url}/1/cards/64b7f0c2a1d3e4f5a6b7c801",
            params={"key": "k", "token": "t"},
            timeout=0.5,
        )
    assert time.monotonic() - started < 3
