"""Running stand-ins shared by the tests of one pytest process (one xdist worker).

Starting and stopping a sandbox for every test costs more than most tests. A test's `sandbox` is
taken from `SandboxPool`: a sandbox of the same stand-ins that an earlier test used, reset to this
test's scenario (`Sandbox.reset`: every stand-in rebuilt from its section, attributes a test set
included, the scenario's faults alone in force with fresh counters, the request log empty, the
SMTP mailbox empty), or a new one. After the test it goes back to the pool only if every stand-in
still serves where it started and no request is still in flight; otherwise (a test stopped a
server, a client gave up on a delayed reply) it is stopped and the next test starts its own.
tests/sandbox/test_reset.py proves that a reset stand-in cannot be told from a fresh one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any

from adoffboard.sandbox import STANDINS, Sandbox

IDLE_WAIT_S = 1.0  # how long a returned sandbox may take to answer its last requests


def standin_keys(scenario: Mapping[str, Any], names: Collection[str] | None) -> frozenset[str]:
    """The stand-ins a sandbox of `scenario` runs: all of them, or only `names`."""
    if names is not None:
        unknown = sorted(set(names) - set(STANDINS))
        if unknown:
            raise ValueError(f"unknown stand-in(s) {unknown}; known: {sorted(STANDINS)}")
    return frozenset(k for k in scenario if k != "faults" and (names is None or k in names))


class SandboxPool:
    """Idle running sandboxes, one per set of stand-ins, the least recently used stopped first."""

    def __init__(self, keep: int = 6) -> None:
        self.keep = keep
        self._idle: OrderedDict[frozenset[str], Sandbox] = OrderedDict()
        self.started = 0  # sandboxes started (a test's measure of the sharing)

    def acquire(self, scenario: Mapping[str, Any], names: Collection[str] | None) -> Sandbox:
        keys = standin_keys(scenario, names)
        wanted = {k: v for k, v in scenario.items() if k in keys or k == "faults"}
        box = self._idle.pop(keys, None)
        if box is not None:
            try:
                box.reset(wanted)
            except BaseException:
                box.stop()
                raise
            return box
        self.started += 1
        return Sandbox(wanted).start()

    def release(self, box: Sandbox) -> None:
        if not (box.idle(IDLE_WAIT_S) and box.serving()):
            box.stop()
            return
        keys = frozenset(box.standins)
        previous = self._idle.pop(keys, None)
        if previous is not None:
            previous.stop()
        self._idle[keys] = box
        while len(self._idle) > self.keep:
            _, oldest = self._idle.popitem(last=False)
            oldest.stop()

    def close(self) -> None:
        while self._idle:
            _, box = self._idle.popitem()
            box.stop()
