"""`send_in_batches` with batches in flight at once: outcomes in batch order, never more than
`in_flight` batches on the wire, each batch journaled (intent before, outcomes after), and after
a failing batch no further batch is started."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from report_samples import change

from adoffboard.connectors.base import send_in_batches
from adoffboard.errors import PlatformError
from adoffboard.models import Change, Outcome, OutcomeStatus


class ListJournal:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.intended: list[str] = []
        self.recorded: list[str] = []

    def intend(self, changes: Sequence[Change]) -> None:
        with self.lock:
            self.intended += [c.id for c in changes]

    def record(self, outcomes: Sequence[Outcome]) -> None:
        with self.lock:
            self.recorded += [o.change_id for o in outcomes]


CHANGES = [change("s", "meta", "campaign", str(n), f"C{n}") for n in range(23)]


class Wire:
    """A sender that holds each batch briefly and counts how many are in flight at once."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.lock = threading.Lock()
        self.now = self.most = self.sent = 0
        self.fail_on = fail_on

    def __call__(self, batch: Sequence[Change]) -> list[Outcome]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.sent += 1
            number = self.sent
        if number != self.fail_on:
            time.sleep(0.05)
        with self.lock:
            self.now -= 1
        if number == self.fail_on:
            raise PlatformError("the batch failed")
        return [Outcome(c.id, OutcomeStatus.APPLIED) for c in batch]


@pytest.mark.parametrize("in_flight", [1, 3])
def test_outcomes_in_order_and_in_flight_bounded(in_flight: int) -> None:
    journal, wire = ListJournal(), Wire()
    outcomes = send_in_batches(journal, CHANGES, 5, wire, in_flight=in_flight)
    assert [o.change_id for o in outcomes] == [c.id for c in CHANGES]
    assert sorted(journal.intended) == sorted(journal.recorded) == sorted(c.id for c in CHANGES)
    assert wire.sent == 5
    assert wire.most == min(in_flight, 5)
    assert wire.most > 1 or in_flight == 1


def test_a_failing_batch_starts_no_further_batch() -> None:
    journal, wire = ListJournal(), Wire(fail_on=1)
    with pytest.raises(PlatformError):
        send_in_batches(journal, CHANGES, 1, wire, in_flight=2)
    # the failing batch and the one beside it were started, not the 21 after them
    assert wire.sent <= 4
    assert len(journal.intended) == wire.sent
    assert set(journal.recorded) <= set(journal.intended)
    assert len(journal.recorded) == wire.sent - 1
