"""How long a Meta throttle lasts, and how long the connector waits for throttles in all.

A throttled answer says how long it lasts in its usage headers when it carries them
(`throttle_wait` in `client`): `X-Business-Use-Case-Usage` `estimated_time_to_regain_access`
(minutes), else `X-Ad-Account-Usage` `reset_time_duration` (seconds). Without either, Meta's
pages still say how long each kind of limit holds (`documented_regain`); waiting less only
provokes another refusal, which counts against the same limit:

- Marketing API rate limiting
  (https://developers.facebook.com/docs/marketing-api/overview/rate-limiting): the ad account's
  API-level limit (code 17 subcode 2446079 "User request limit reached", code 613 subcode
  1487742 "too many calls from this ad-account") blocks calls for 300 s in the development tier
  and 60 s in the standard tier. The tier travels in the usage header (`ads_api_access_tier`),
  so without the header the longer block, 300 s, is the one sure to have passed. The Business
  Use Case limits (codes 80000-80014, 80004 for `ads_management`) count calls per ad account
  per hour and say when access returns in `X-Business-Use-Case-Usage`; without it, the same
  300 s block is the least they last.
- Graph API rate limiting (https://developers.facebook.com/docs/graph-api/overview/rate-limiting):
  the Platform limits of an app (code 4, "Application request limit reached") and of a user or
  Page (code 32) count calls over a rolling hour, and calls fail "until enough time has passed for
  the call count to drop below the limit": without a header, one hour.

`ThrottleBudget` adds up the connector's throttle waits; a wait that would take it past
`max_throttle_wait_s` is not taken: the call stops with `ThrottledTooLong` (the transient-error
exit code), saying when to resume.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import Counter
from dataclasses import dataclass

from adoffboard.clock import Clock
from adoffboard.connectors.transport import Calls
from adoffboard.errors import ThrottledTooLong, TransientError

MARKETING_RATE_LIMITS = "https://developers.facebook.com/docs/marketing-api/overview/rate-limiting"
GRAPH_RATE_LIMITS = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
THROTTLE_WAIT_KIND = "throttled_s"  # the report's calls table: seconds waited for throttles


@dataclass(frozen=True)
class Regain:
    """How long a limit holds when the answer carries no usage header, and where Meta says so."""

    seconds: float
    limit: str
    source: str


AD_ACCOUNT_BLOCK = Regain(300.0, "the ad account's call limit", MARKETING_RATE_LIMITS)
PLATFORM_HOUR = Regain(3600.0, "a call limit counted over a rolling hour", GRAPH_RATE_LIMITS)
_BY_CODE = {4: PLATFORM_HOUR, 32: PLATFORM_HOUR}


def documented_regain(code: int | None) -> Regain:
    """The documented hold of the limit behind a throttle `code` (17, 613, 4, 32, 80000-80014)."""
    return _BY_CODE.get(code or 0, AD_ACCOUNT_BLOCK)


class ThrottleBudget:
    """The throttle waits of one connector, against `cap_s` in all."""

    def __init__(self, clock: Clock, cap_s: float, counts: Counter[str]) -> None:
        self.clock, self.cap_s, self.counts = clock, cap_s, counts
        self.waited_s = 0.0
        self._lock = threading.Lock()  # batches in flight at once may each be throttled

    def admit(self, seconds: float, reason: str) -> None:
        """Count a wait of `seconds` about to be taken; past the cap, stop instead: `reason`
        (the throttle, "Meta: ...") and when to resume (now + the wait the throttle asks for).
        Waits taken at the same time by batches in flight together each count in full: the cap
        is reached sooner, never later."""
        with self._lock:
            self._admit(seconds, reason)

    def _admit(self, seconds: float, reason: str) -> None:
        if self.waited_s + seconds > self.cap_s:
            resume = self.clock.now() + dt.timedelta(seconds=seconds)
            if resume.second or resume.microsecond:  # the next whole minute, never before
                resume = resume.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
            raise ThrottledTooLong(
                f"{reason}; waiting {minutes_text(seconds)} more would pass "
                f"platforms.meta.max_throttle_wait_s ({minutes_text(self.cap_s)} in all, "
                f"{minutes_text(self.waited_s)} waited): resume the run after "
                f"{resume.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC",
                retry_after=seconds,
            )
        self.waited_s += seconds
        self.counts[THROTTLE_WAIT_KIND] += round(seconds)


def minutes_text(seconds: float) -> str:
    """Minutes from a minute up (Meta states its holds in minutes), else seconds."""
    return f"{math.ceil(seconds / 60)} min" if seconds >= 60 else f"{seconds:.0f} s"


class BudgetedCalls(Calls):
    """`Calls` whose throttle waits (errors that carry a `retry_after`) count against the
    connector's `ThrottleBudget`: past it, the call stops instead of waiting."""

    budget: ThrottleBudget

    def _on_retry(self, attempt: int, error: TransientError, wait: float) -> None:
        if error.retry_after is not None:  # the whole hold, even where the policy cuts it
            self.budget.admit(max(wait, error.retry_after), str(error))
        super()._on_retry(attempt, error, wait)
