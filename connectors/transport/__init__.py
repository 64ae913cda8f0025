"""What every connector's wire shares, written once.

- `Calls`: one round trip to a platform, throttled, counted (the report's read and write counts),
  its exceptions translated into adoffboard's tree by the platform's own `translate`, and retried
  on transient errors on the injected clock (`adoffboard.retry`). Writes that must not be
  repeated blindly go through `adoffboard.retry.send_unrepeatable` instead.
- `Throttle`: at most N calls per window, on the injected clock, before the platform refuses.

The read-only guards, one per HTTP stack, refuse a write before it leaves the process:
`transport.google` for httplib2 (under google-api-python-client), `transport.rest` for requests
(Trello, SharpSpring, configured HTTP endpoints, Meta's SDK session, the GA4 SDK's session). The
Google Ads gRPC interceptor is its own (`google_ads.client`).

Importing this module loads no vendor SDK.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from adoffboard.clock import Clock
from adoffboard.errors import DryRunViolation, TransientError
from adoffboard.retry import RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from adoffboard.connectors.base import ConnectorContext

T = TypeVar("T")


class Throttle:
    """At most `calls` calls per `per_seconds` window, waiting on the injected clock; safe to
    share between threads (one quota for connectors of one process, see `shared_throttle`)."""

    def __init__(self, calls: int, per_seconds: float, clock: Clock) -> None:
        self.calls, self.per_seconds, self.clock = calls, per_seconds, clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock.monotonic()
            while self._stamps and now - self._stamps[0] >= self.per_seconds:
                self._stamps.popleft()
            if len(self._stamps) >= self.calls:
                self.clock.sleep(self.per_seconds - (now - self._stamps[0]))
                now = self.clock.monotonic()
                self._stamps.popleft()
            self._stamps.append(now)


_THROTTLES: weakref.WeakKeyDictionary[Any, dict[str, Throttle]] = weakref.WeakKeyDictionary()
_THROTTLES_LOCK = threading.Lock()
_COUNTS_LOCK = threading.Lock()


def shared_throttle(clock: Clock, key: str, interval: float) -> Throttle:
    """One call every `interval` seconds per clock and quota key: connectors built in one
    process share the quota."""
    with _THROTTLES_LOCK:
        per_clock = _THROTTLES.setdefault(clock, {})
        throttle = per_clock.get(key)
        if throttle is None or throttle.per_seconds != interval:
            throttle = per_clock[key] = Throttle(1, interval, clock)
        return throttle


def duration_text(seconds: float) -> str:
    return f"{math.ceil(seconds / 60)} min" if seconds >= 60 else f"{seconds:.1f}s"


class Calls:
    """Runs one call to a platform: throttle, count, translate errors, retry transient ones.

    `translate` maps anything the SDK or transport raises to adoffboard's tree (None: the call
    raises adoffboard's errors itself); a `DryRunViolation` always passes as it is. Where the
    original exception's text may quote secrets (URLs with tokens), `keep_cause=False` drops it.
    """

    def __init__(
        self,
        ctx: ConnectorContext,
        counts: Counter[str] | None,
        label: str,
        *,
        translate: Callable[[Exception], Exception] | None = None,
        throttle: Throttle | None = None,
        retry: RetryPolicy | None = None,
        keep_cause: bool = True,
        before_retry: Callable[[], None] | None = None,
    ) -> None:
        self.ctx, self.counts, self.label = ctx, counts, label
        self.translate, self.throttle = translate, throttle
        self.retry = retry or ctx.retry
        self.keep_cause, self.before_retry = keep_cause, before_retry

    def __call__(self, kind: str, fn: Callable[[], T]) -> T:
        return call_with_retry(
            lambda: self._attempt(kind, fn), self.retry, self.ctx.clock, on_retry=self._on_retry
        )

    def _attempt(self, kind: str, fn: Callable[[], T]) -> T:
        if self.throttle is not None:
            self.throttle.wait()
        if self.counts is not None:
            with _COUNTS_LOCK:  # reads of one connector go out from several threads at once
                self.counts[kind] += 1
        if self.translate is None:
            return fn()
        try:
            return fn()
        except DryRunViolation:
            raise
        except Exception as exc:  # translated at the boundary
            error = self.translate(exc)
            if self.keep_cause:
                raise error from exc
            raise error from None

    def _on_retry(self, attempt: int, error: TransientError, wait: float) -> None:
        if self.before_retry is not None:
            self.before_retry()
        prefix = f"{self.label}: " if self.label else ""
        self.ctx.progress(f"{prefix}{error} - retry {attempt} in {duration_text(wait)}")
