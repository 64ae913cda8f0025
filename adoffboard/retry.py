"""One retry policy for every connector: retry only `TransientError`, honour the platform's
retry delay when it gives one, otherwise back off exponentially; sleep on the injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from adoffboard.clock import Clock
from adoffboard.errors import TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 120.0
    timeout: float = 60.0  # per call deadline handed to the SDK

    def delay(self, attempt: int, error: TransientError) -> float:
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_delay)
        return min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)


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
