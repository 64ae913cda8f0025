"""The connector contract: one small shape for every platform.

    read_state(manifest)                      reads only; raises TenantMismatch before anything
    plan(action, params, state, step, ctx)    pure: no I/O, returns the changes and manual items
    apply(changes, journal)                   re-reads, skips drift, writes in batches, journals
    verify(action, params, state, ctx)        judges a step against freshly read state

A connector is generic in the state it reads (`Connector[AccountState]`); `params` are the step's
own (from the runbook, `$inputs` filled in) and `ctx` the plan-wide facts (`StepContext`).
What a connector is (title, actions, settings) is its declaration (`connectors.declare`).

Connectors get their settings, credentials, clock and retry policy injected (`ConnectorContext`)
and never read environment variables or sleep on their own. A connector built with
`read_only=True` physically cannot send a mutating call: its transport refuses it.
"""

from __future__ import annotations

import datetime as dt
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import Manifest, NotificationsSection
from adoffboard.connectors.declare import Declaration
from adoffboard.errors import PlatformError
from adoffboard.models import Change, CheckStatus, Outcome, OutcomeStatus
from adoffboard.retry import RetryPolicy


class Journal(Protocol):
    """Where a connector records each write: the intent before sending, the outcome after."""

    def intend(self, changes: Sequence[Change]) -> None: ...

    def record(self, outcomes: Sequence[Outcome]) -> None: ...


@dataclass
class ConnectorContext:
    settings: Mapping[str, Any]
    workspace_root: Path
    read_only: bool = True
    clock: Clock = field(default_factory=SystemClock)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: Callable[[str], None] = lambda message: None
    # the workspace's [agency] identities: the agency's own users, whose access is removed
    agency_identities: tuple[str, ...] = ()
    # the workspace's [notifications] table, for connectors that send mail (adoffboard.mail)
    notifications: NotificationsSection | None = None
    # what the runbook does on this platform: (action or check name, its params) of each of its
    # steps here, so that a connector reads only what those touch; empty: read everything
    # (doctor, discover, a restore of another run's changes)
    uses: tuple[tuple[str, Mapping[str, Any]], ...] = ()


@dataclass(frozen=True)
class StepDraft:
    """What `plan` returns for one step: changes to make, and items left to people."""

    changes: tuple[Change, ...] = ()
    manual_items: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    status: CheckStatus
    detail: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepContext:
    """The plan-wide facts a step is planned and judged with, the same at plan and verify time:
    some actions render values from them (a tracker row's effective date and process)."""

    effective_date: str | None = None  # YYYY-MM-DD
    process: str = ""  # the runbook's process: cancellation, pause, unpause, addendum
    scope: str = ""  # dm (digital marketing services only) or platform (leaving the platform)
    runbook: str = ""
    department: str = ""  # SEM or MA
    since: dt.datetime | None = None  # verify: when the run being checked started
    pause_end: str = ""  # a pause's end date (YYYY-MM-DD), when the plan has one
    change_request: str = ""  # the change request's id, when the plan has one
    # the live state of every platform the plan reads, by platform (the engine fills it in when
    # it plans, admits and verifies a step): a budget addendum's monthly total spans platforms
    states: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


NO_CONTEXT = StepContext()
S = TypeVar("S")  # the state a connector reads


Same = Callable[[Change, Any, Any], bool]  # does this live value count as that value?


def _equal(change: Change, live: Any, value: Any) -> bool:
    return bool(live == value)


def settle(change: Change, live: Any, same: Same = _equal) -> Outcome | None:
    """ALREADY when the live value is already the planned one, DRIFT when it is no longer the
    plan's before-value (someone changed it: left alone), else None: send it."""
    if same(change, live, change.after):
        return Outcome(change.id, OutcomeStatus.ALREADY, live=live)
    if not same(change, live, change.before):
        return Outcome(
            change.id,
            OutcomeStatus.DRIFT,
            live=live,
            message=f"live value {live!r} differs from planned {change.before!r}",
        )
    return None


def triage(
    changes: Sequence[Change], live: Mapping[str, Any], same: Same = _equal
) -> tuple[list[Change], list[Outcome]]:
    """Split changes into those to send and those settled without a write (already or drift)."""
    to_send, settled = [], []
    for ch in changes:
        outcome = settle(ch, live.get(ch.id), same)
        if outcome is None:
            to_send.append(ch)
        else:
            settled.append(outcome)
    return to_send, settled


def in_slices(changes: Sequence[Change], size: int) -> list[Sequence[Change]]:
    """`changes` in order, `size` at a time."""
    return [changes[start : start + size] for start in range(0, len(changes), size)]


def send_in_batches(
    journal: Journal,
    changes: Sequence[Change],
    size: int,
    send: Callable[[Sequence[Change]], list[Outcome]],
    batches: Callable[[Sequence[Change], int], list[Sequence[Change]]] = in_slices,
    *,
    in_flight: int = 1,
) -> list[Outcome]:
    """Send `changes` in batches of at most `size` (`batches` decides which go together, when
    the platform restricts it), journaling each batch's intent before and its outcomes after.

    `in_flight` > 1 keeps up to that many independent batches on the wire at once (the
    platform's documented concurrency; callers send batches that must follow one another in
    separate calls). Outcomes come back in batch order. When a batch raises, no further batch
    is started; those already sent finish and are journaled, then the first error is raised:
    the changes never started have no intent and no outcome, so a resume sends them."""
    chunks = batches(changes, size)
    if in_flight <= 1 or len(chunks) <= 1:
        outcomes: list[Outcome] = []
        for chunk in chunks:
            outcomes += _send_one(journal, chunk, send)
        return outcomes
    stop = threading.Event()

    def one(chunk: Sequence[Change]) -> list[Outcome]:
        if stop.is_set():
            return []
        try:
            return _send_one(journal, chunk, send)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=min(in_flight, len(chunks))) as pool:
        futures = [pool.submit(one, chunk) for chunk in chunks]
        try:
            wait(futures)
        except BaseException:  # Ctrl-C while waiting: start nothing more, let the sent finish
            stop.set()
            raise
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]
    return [o for f in futures for o in f.result()]


def _send_one(
    journal: Journal,
    chunk: Sequence[Change],
    send: Callable[[Sequence[Change]], list[Outcome]],
) -> list[Outcome]:
    journal.intend(chunk)
    done = send(chunk)
    journal.record(done)
    return done


class Connector(ABC, Generic[S]):
    declaration: ClassVar[Declaration]
    # `apply` reads the live value of every change itself before it writes (`take_over`)
    reads_before_writing: ClassVar[bool] = False

    @property
    def platform(self) -> str:
        return self.declaration.platform

    @property
    def title(self) -> str:
        return self.declaration.title

    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        self.calls: Counter[str] = Counter()  # "read" / "write" round trips, for reports

    @classmethod
    def enabled(cls, settings: Mapping[str, Any], action: str, params: Mapping[str, Any]) -> bool:
        """Whether a configured workspace runs `action` automatically where a runbook step
        offers it as `action_if_configured` (otherwise that step stays manual)."""
        return True

    @abstractmethod
    def read_state(self, manifest: Manifest) -> S:
        """Read the live state of the manifest's accounts on this platform (reads only)."""

    def read_after_removal(self, manifest: Manifest, before: S) -> S:
        """The state once the agency's access removals were sent, `before` being this
        connector's read taken after every other write of the run: a connector whose removal
        leaves the account unreadable to the agency reads only the access it removed, and
        reads everything only when that access is still there. By default, everything."""
        return self.read_state(manifest)

    def expect_checks(self, since: dt.datetime | None) -> None:  # noqa: B027 - optional hook
        """The next `read_state` is made for a verification pass that judges activity since
        `since` (None: no run start given): a connector may send that pass's own queries beside
        the read. By default, nothing."""

    def take_over(self, reader: Connector[S], manifest: Manifest, state: S) -> bool:
        """Take `state`, which `reader` (a read-only connector of this platform, in this
        process) has just read for a plan, as this connector's own read: what its next `apply`
        settles on, as if `read_state` had returned it here. The engine asks only when nothing
        can have written to the accounts since (`adoffboard.engine.handover`). False, the
        default, where the connector cannot: the engine then reads again. A connector whose
        `apply` reads each entity itself right before writing it keeps nothing from a read and
        can (`reads_before_writing`): the read it is handed has passed the tenant guard."""
        return self.reads_before_writing and type(reader) is type(self)

    @abstractmethod
    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: S,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        """The changes one step needs, from `state` alone (pure)."""

    @abstractmethod
    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        """Apply planned changes; each entity only if its live value still equals `before`."""

    @abstractmethod
    def verify(
        self, action: str, params: Mapping[str, Any], state: S, ctx: StepContext = NO_CONTEXT
    ) -> Verdict:
        """Judge a step's outcome against freshly read state."""

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        """Read the live value of each change's field (reads only), keyed by change id; a
        missing entity maps to None. Verify uses it to judge an exact restore."""
        raise PlatformError(f"{self.title} cannot read values back for a restore yet")

    def same_value(self, change: Change, live: Any, target: Any) -> bool:
        """Whether a live value counts as `target` for this change's field (drift and restore
        checks)."""
        return _equal(change, live, target)

    def same_target(self, change: Change, planned: Any, expected: Any) -> bool:
        """Whether a plan's after-value `planned` is the one its step plans now (`expected`):
        apply refuses a change whose target differs (an altered plan)."""
        return bool(planned == expected) or self.same_value(change, planned, expected)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release channels and sessions."""
