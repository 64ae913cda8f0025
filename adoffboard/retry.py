"""One retry policy for every connector: retry only `TransientError`, honour the platform's
retry delay when it gives one, otherwise back off exponentially; sleep on the injected clock.

`call_with_retry` repeats the same request: for reads and idempotent writes (set a status, a
delete by id whose repeat is "already gone"). A write that is not idempotent goes through
`send_unrepeatable` instead: read again, then decide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from adoffboard.clock import Clock
from adoffboard.errors import OutcomeUnknown, TransientError

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 120.0
    timeout: float = 60.0  # per call deadline handed to the SDK

    def delay(self, attempt: int, error: TransientError) -> float:
        if error.retry_after is not None:
            return float(min(max(error.retry_after, 0.0), self.max_delay))
        return float(min(self.base_delay * (2 ** (attempt - 1)), self.max_delay))


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    clock: Clock,
    on_retry: Callable[[int, TransientError, float], None] | None = None,
) -> T:
    """Call `fn` until it succeeds, raises a non-transient error, or attempts run out."""
    attempt = 1
    while True:
        try:
            return fn()
        except TransientError as exc:
            if attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt, exc)
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            clock.sleep(wait)
            attempt += 1


@dataclass(frozen=True)
class Send(Generic[R]):
    """What `prepare` returns when a fresh read says the write is still to do: the request,
    built from that read (positions are taken from it, never from an earlier one)."""

    request: Callable[[], R]


def send_unrepeatable(
    prepare: Callable[[bool], Send[R] | S],
    policy: RetryPolicy,
    clock: Clock,
    on_retry: Callable[[int, TransientError, float], None] | None = None,
) -> R | S:
    """Send a write that must not be repeated blindly (an append, a delete by position).

    `prepare(unknown)` reads the target afresh and returns either `Send(request)` or what it
    found instead (done, gone, drifted). After a transient failure the write's effect is
    unknown (a 5xx, a timeout, a dropped connection may all come after it landed), so nothing
    is resent on that alone: the loop waits, calls `prepare(True)` - `unknown` lets it report a
    write it finds done as landed rather than as already there - and sends again only when that
    read says the write is still to do. The wait after an unanswered request (`OutcomeUnknown`)
    is at least the request's own timeout, to give a write still in flight the time to land
    before the read that decides. When attempts run out, a last read still settles it; if even
    that one finds the write undone, the last error is raised.
    """
    sends, unknown = 0, False
    last: TransientError | None = None
    while True:
        step = prepare(unknown)
        if not isinstance(step, Send):
            return step
        if last is not None and sends >= policy.attempts:
            raise last
        sends += 1
        try:
            return step.request()
        except TransientError as exc:
            last = exc
            wait = policy.delay(sends, exc)
            if isinstance(exc, OutcomeUnknown):
                wait = max(wait, policy.timeout)
            if on_retry is not None and sends < policy.attempts:
                on_retry(sends, exc, wait)
            clock.sleep(wait)
            unknown = True
