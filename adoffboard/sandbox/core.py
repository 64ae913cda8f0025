"""Shared machinery of the platform stand-ins: request log, fault injection, scenario files.

Every stand-in records each request it receives in one `RequestLog` (platform, service, method,
whether it mutates, the account it targets) and asks one `FaultPlan` before answering whether it
must delay, fail or partially fail that request. Scenario files are YAML with one top-level key
per platform (`google_ads`, ...), a `faults` list and an optional `ports` mapping (stand-in ->
fixed port, `check_ports`); each stand-in reads its own key.

Secrets never enter the log: stand-ins record what a request did, not its headers. A mutating
request also records the entities it writes (`entities`, e.g. a campaign's resource name and the
fields sent), so that a test can count the writes each entity received.

The `kill` fault is for crash tests: it SIGKILLs the client process `pid` when its chosen request
arrives, either before the stand-in applies it (match {"phase": "before_apply"}, the default) or
after applying it and before answering ({"phase": "after_apply"}: sent, landed, never answered).
With `mutating_only`, a rule counts only the requests that can change state.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adoffboard.errors import InputError

FAULT_KINDS = frozenset(
    {
        "latency",  # sleep latency_ms before answering
        "resource_exhausted",  # throttled; retry_delay_s tells the client when to come back
        "internal",  # a server error
        "unavailable",  # transient transport error
        "partial_failure",  # one operation, chosen by `match`, fails; the rest succeed
        "timeout",  # sleep longer than the client's deadline
        "late_reply",  # carry the request out at once, then hold its reply latency_ms
        "lost_reply",  # carry the request out, then close the connection without a reply
        "kill",  # SIGKILL the client process `pid`, before or after applying the request
    }
)
# faults that let the request land and spoil only its reply (the client cannot tell it landed)
AFTER_KINDS = frozenset({"late_reply", "lost_reply"})
KILL_PHASES = ("before_apply", "after_apply")
KILLED_BEFORE = "client killed before the request was applied"
KILLED_AFTER = "client killed after the request was applied, before the answer"


@dataclass
class LoggedRequest:
    seq: int
    platform: str
    service: str
    method: str
    mutating: bool
    account: str | None
    operations: int = 0
    status: str = "OK"
    detail: str = ""
    at: float = field(default_factory=time.time)
    entities: tuple[str, ...] = ()  # what a mutating request writes, e.g. "campaigns/9001:status"

    @property
    def landed(self) -> bool:
        """Whether the request reached the stand-in's state (a kill before applying it did not)."""
        return self.detail != KILLED_BEFORE


class RequestLog:
    """Thread-safe, append-only record of every request the stand-ins received."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []
        self._path = path
        self._open: dict[int, LoggedRequest] = {}  # recorded, not finished: still in flight
        self._settled = threading.Condition(self._lock)

    def record(
        self,
        platform: str,
        service: str,
        method: str,
        *,
        mutating: bool,
        account: str | None = None,
        operations: int = 0,
        entities: tuple[str, ...] = (),
    ) -> LoggedRequest:
        with self._lock:
            entry = LoggedRequest(
                seq=len(self._entries) + 1,
                platform=platform,
                service=service,
                method=method,
                mutating=mutating,
                account=account,
                operations=operations,
                entities=tuple(entities),
            )
            self._entries.append(entry)
            self._open[id(entry)] = entry
        return entry

    def finish(self, entry: LoggedRequest, status: str, detail: str = "") -> None:
        with self._lock:
            entry.status = status
            entry.detail = detail
            self._open.pop(id(entry), None)
            if not self._open:
                self._settled.notify_all()
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(entry)) + "\n")

    def entries(
        self, platform: str | None = None, *, mutating: bool | None = None
    ) -> list[LoggedRequest]:
        with self._lock:
            return [
                e
                for e in self._entries
                if (platform is None or e.platform == platform)
                and (mutating is None or e.mutating == mutating)
            ]

    def mutating(self, platform: str | None = None) -> list[LoggedRequest]:
        return self.entries(platform, mutating=True)

    def clear(self) -> None:
        """Forget every request received (those still in flight are still awaited by `idle`)."""
        with self._lock:
            self._entries.clear()

    def idle(self, timeout: float = 0.0) -> bool:
        """Whether every request received has been answered, waiting up to `timeout` seconds."""
        with self._settled:
            return self._settled.wait_for(lambda: not self._open, timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries())


@dataclass
class FaultRule:
    """One fault: which requests it hits and what happens to them.

    `after` skips that many matching requests first; `times` bounds how often it fires
    (None: always). `match` narrows partial failures to one operation, e.g.
    {"resource": "campaign", "id": "9003"}.
    """

    kind: str
    platform: str = "*"
    method: str = "*"
    account: str | None = None
    latency_ms: int = 0
    retry_delay_s: float = 1.0
    times: int | None = None
    after: int = 0
    match: dict[str, str] = field(default_factory=dict)
    message: str = ""
    pid: int = 0  # kill: the client process to SIGKILL
    mutating_only: bool = False  # count only requests that can change state
    seen: int = 0
    fired: int = 0

    def matches(
        self, platform: str, method: str, account: str | None, mutating: bool | None = None
    ) -> bool:
        return (
            self.platform in ("*", platform)
            and self.method in ("*", method)
            and (self.account is None or self.account == account)
            and (not self.mutating_only or mutating is True)
        )


class FaultPlan:
    """The faults in force; stand-ins ask `take()` once per request."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = list(rules or [])

    def add(self, rule: FaultRule) -> FaultRule:
        if rule.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {rule.kind!r}; known: {sorted(FAULT_KINDS)}")
        if rule.kind == "kill" and (
            rule.pid <= 0 or rule.match.get("phase", KILL_PHASES[0]) not in KILL_PHASES
        ):
            raise ValueError(f"a kill fault needs the client's pid and a phase in {KILL_PHASES}")
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def take(
        self,
        platform: str,
        method: str,
        account: str | None = None,
        *,
        mutating: bool | None = None,
    ) -> list[FaultRule]:
        """The rules that fire for this request (their counters advance). `mutating` says
        whether the request can change state (None: the stand-in does not say)."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self.rules:
                if not rule.matches(platform, method, account, mutating):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                rule.fired += 1
                fired.append(rule)
        return fired

    @staticmethod
    def delay(rules: list[FaultRule]) -> None:
        """Apply every latency rule among `rules` (the stand-in's own thread sleeps)."""
        total = sum(r.latency_ms for r in rules if r.kind == "latency")
        if total:
            time.sleep(total / 1000.0)

    @staticmethod
    def kill(rules: list[FaultRule], phase: str) -> bool:
        """SIGKILL the client of every kill rule among `rules` for this phase and wait until it
        is dead, so that nothing it would do after this point happens; True if one fired."""
        killed = False
        for rule in rules:
            if rule.kind == "kill" and rule.match.get("phase", KILL_PHASES[0]) == phase:
                with contextlib.suppress(ProcessLookupError):  # already gone
                    os.kill(rule.pid, signal.SIGKILL)
                _wait_dead(rule.pid)
                killed = True
        return killed


def _wait_dead(pid: int, timeout_s: float = 10.0) -> None:
    """Until `pid` has exited (a zombie waiting for its parent counts as exited)."""
    deadline = time.monotonic() + timeout_s
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.005)


def reinit(standin: Any, section: Any, keep: tuple[str, ...]) -> None:
    """Make `standin` again what its class builds from `section`, keeping only the attributes
    named in `keep` (its server, where it listens, the log and fault plan it shares): nothing a
    test set or a request changed survives, attributes added since included."""
    kept = {name: standin.__dict__[name] for name in keep if name in standin.__dict__}
    standin.__dict__.clear()
    type(standin).__init__(standin, section, kept["log"], kept["faults"])
    standin.__dict__.update(kept)


def load_scenario(path: Path) -> dict[str, Any]:
    """Read a scenario file; platform keys are validated by each stand-in."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read scenario {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"scenario {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"scenario {path} must be a mapping with one key per platform")
    return data


def faults_from_scenario(data: Mapping[str, Any]) -> FaultPlan:
    plan = FaultPlan()
    for raw in data.get("faults") or []:
        plan.add(FaultRule(**raw))
    return plan


def check_ports(ports: Any, standins: Collection[str], where: str) -> dict[str, int]:
    """Fixed ports by stand-in: each key a stand-in of the scenario, each value a whole number
    from 0 (any free port) to 65535, no port given twice. ValueError: one line naming `where`."""
    if not isinstance(ports, Mapping):
        raise ValueError(f"{where} must map stand-ins to ports, e.g. meta: 8101")
    fixed: dict[str, int] = {}
    for key, port in ports.items():
        if key not in standins:
            raise ValueError(
                f"{where}: no stand-in {key!r} in this scenario; it has {sorted(standins)}"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(
                f"{where}: {key}={port!r} is not a port (1 to 65535, or 0 for any free port)"
            )
        fixed[str(key)] = port
    taken = [port for port in fixed.values() if port]
    twice = sorted({port for port in taken if taken.count(port) > 1})
    if twice:
        raise ValueError(f"{where}: port {twice[0]} is given to more than one stand-in")
    return fixed


def ensure_free(host: str, ports: Mapping[str, int]) -> None:
    """Refuse, before any stand-in starts, a fixed port something already listens on (another
    sandbox, say): one line naming the port and its stand-in (`InputError`, exit 3)."""
    for key, port in ports.items():
        if not port:
            continue
        with socket.socket() as probe:
            # as the stand-ins' servers do: a port left in TIME_WAIT by the last run is free,
            # one a server listens on is not
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise InputError(
                    f"port {port} on {host} for the {key} stand-in is in use "
                    f"({exc.strerror or exc}): stop what listens there or choose another port"
                ) from None
