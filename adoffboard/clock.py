"""Time, injected: connectors and the engine never call `time.sleep` or read the clock directly,
so tests run throttling and retries on a fake clock in microseconds."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Protocol
from zoneinfo import ZoneInfo

from adoffboard.errors import InputError

# Rehearsals on the sandbox (and tests) run a whole offboarding over weeks in minutes: with
# ADOFFBOARD_NOW set to an ISO-8601 time, every command runs as if the clock had been set to it
# when the process started (time still moves on from there). Commands say so on stderr.
NOW_VARIABLE = "ADOFFBOARD_NOW"


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def monotonic(self) -> float: ...


def clock_shift() -> dt.timedelta:
    """How far ADOFFBOARD_NOW sets the clock from the real one (zero when unset)."""
    text = os.environ.get(NOW_VARIABLE, "").strip()
    if not text:
        return dt.timedelta(0)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{NOW_VARIABLE}={text!r} is not a time: use ISO-8601, e.g. 2026-12-10T09:00:00+00:00"
        ) from None
    if when.tzinfo is None:
        raise InputError(f"{NOW_VARIABLE}={text!r} needs a UTC offset, e.g. +00:00")
    return when - dt.datetime.now(dt.UTC)


class SystemClock:
    """The machine's clock (shifted by ADOFFBOARD_NOW for rehearsals, read when created)."""

    def __init__(self) -> None:
        self._shift = clock_shift()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._shift

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
