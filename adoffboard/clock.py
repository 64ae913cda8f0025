"""Time, injected: connectors and the engine never call `time.sleep` or read the clock directly,
so tests run throttling and retries on a fake clock in microseconds."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that advances only when slept on; records every sleep."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
        self._mono = 0.0
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds

    def monotonic(self) -> float:
        return self._mono


def local_time(stored: str, zone: str) -> str:
    """A stored UTC time as people read it: in `zone` (the workspace's time zone), to the
    minute. Shared by the change requests' notices and the schedule's."""
    when = dt.datetime.fromisoformat(stored).astimezone(ZoneInfo(zone))
    return when.strftime("%Y-%m-%d %H:%M %Z")
