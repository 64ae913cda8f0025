"""Sheets writes whose reply never comes: timeouts, late replies and dropped connections.

A row delete, an append and a cell write are writes to positions or additions: repeated blindly
after the first one landed, they delete someone else's row, add a row twice or write into
someone else's row. Each test lets the stand-in carry a write out while spoiling its reply (or
spoil the reply without carrying it out), with other clients' rows around the client's, and
checks every tracker afterwards, every write the stand-in received, and the journal.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httplib2
import pytest

from adoffboard.clock import Clock, FakeClock, SystemClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import Connector, ConnectorContext, StepContext
from adoffboard.connectors.transport.google import ReplyLost, WriteOnceHttp
from adoffboard.demo import DEMO_CLIENT
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

MANIFEST = Manifest.model_validate(DEMO_CLIENT)
CLIENT = "Lakeside Powersports"
CONTEXT = {
    "effective_date": "2026-12-01",
    "process": "cancellation",
    "scope": "dm",
    "department": "SEM",
    "runbook": "sem-cancellation",
}
STEPS = (
    ("remove_row", {"tracker": "client_tracker"}),
    ("remove_row", {"tracker": "belize_tracker"}),
    ("append_row", {"tracker": "planner"}),
    ("append_row", {"tracker": "digms_offboarding"}),
    ("set_cell", {"tracker": "ma_client_tracker", "cell": "cancellation_date"}),
    ("set_cell", {"tracker": "ma_client_sheet", "cell": "paused"}),
)
WRITES = ("spreadsheets.batchUpdate", "spreadsheets.values.append", "spreadsheets.values.update")
APPLIED = OutcomeStatus.APPLIED


class Journal:
    def __init__(self) -> None:
        self.intents: Counter[str] = Counter()
        self.outcomes: dict[str, list[Outcome]] = {}

    def intend(self, changes: list[Change]) -> None:
        self.intents.update(c.id for c in changes)

    def record(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            self.outcomes.setdefault(o.change_id, []).append(o)


def connect(
    sandbox: Sandbox, tmp_path: Path, clock: Clock, *, timeout: float, read_only: bool = False
) -> Connector:
    ctx = ConnectorContext(
        settings=sandbox.platform_settings()["sheets"],
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock,
        retry=RetryPolicy(attempts=4, base_delay=0.1, timeout=timeout),
    )
    connector = build("sheets", ctx)
    connector.read_state(MANIFEST)
    return connector


def plan_all(sandbox: Sandbox, tmp_path: Path, steps: Any = STEPS) -> list[Change]:
    reader = connect(sandbox, tmp_path, FakeClock(), timeout=10, read_only=True)
    state = reader.read_state(MANIFEST)
    changes: list[Change] = []
    for n, (action, params) in enumerate(steps):
        changes += reader.plan(action, params, state, f"s{n}", StepContext(**CONTEXT)).changes
    return changes


def sheets_writes(sandbox: Sandbox) -> Counter[str]:
    return Counter(e.method for e in sandbox.log.mutating("sheets"))


def others(rows: list[list[Any]], key: str = CLIENT) -> list[list[Any]]:
    """The rows of everyone but the client (and the header)."""
    return [r for r in rows[1:] if r and r[0] != key]


def test_late_replies_land_once_and_touch_no_other_client(sandbox, tmp_path):
    """Client timeout 1 s; the first request of each write method lands at once and answers
    after 2.5 s. Nothing is sent again, no other client's row moves, outcomes say applied."""
    changes = plan_all(sandbox, tmp_path)
    before = {t: sandbox.sheets.rows(t) for _, p in STEPS for t in [p["tracker"]]}
    for method in WRITES:
        sandbox.faults.add(
            FaultRule(kind="late_reply", platform="sheets", method=method, latency_ms=2500, times=1)
        )
    journal = Journal()
    outcomes = connect(sandbox, tmp_path, SystemClock(), timeout=1.0).apply(changes, journal)

    assert [o.status for o in outcomes] == [APPLIED] * len(changes)
    lost = [o for o in outcomes if "reply was lost" in o.message]
    assert len(lost) == 3  # one per write method, each found landed by the re-read
    # one request per tracker and kind: nothing sent twice
    assert sheets_writes(sandbox) == {
        "spreadsheets.batchUpdate": 2,
        "spreadsheets.values.append": 2,
        "spreadsheets.values.update": 2,
    }
    after = {t: sandbox.sheets.rows(t) for t in before}
    assert others(after["client_tracker"]) == others(before["client_tracker"])
    assert CLIENT not in [r[0] for r in after["client_tracker"]]
    belize = "Lakeside Powersports LLC"
    assert others(after["belize_tracker"], belize) == others(before["belize_tracker"], belize)
    assert len(after["belize_tracker"]) == len(before["belize_tracker"]) - 1
    for tracker in ("planner", "digms_offboarding"):
        assert after[tracker][:-1] == before[tracker]  # appended once, at the end
        assert after[tracker][-1][0] == CLIENT
    ma = {r[0]: r for r in after["ma_client_tracker"]}
    assert ma[CLIENT][4] == "2026-12-01"  # the cancellation date, in the client's row only
    assert others(after["ma_client_tracker"]) == others(before["ma_client_tracker"])
    assert others(after["ma_client_sheet"]) == others(before["ma_client_sheet"])
    # the journal: one intent and one outcome per change
    assert journal.intents == Counter(c.id for c in changes)
    assert {k: [o.status for o in v] for k, v in journal.outcomes.items()} == {
        c.id: [APPLIED] for c in changes
    }


def test_writes_that_land_after_the_timeout_are_found_by_the_reread(sandbox, tmp_path):
    """The requests are held 1.5 s before they are carried out: they land while the client,
    timed out after 1 s, waits before its re-read; the re-read finds them, nothing is resent."""
    changes = plan_all(sandbox, tmp_path, (STEPS[0], STEPS[2], STEPS[4]))
    for method in WRITES:
        sandbox.faults.add(
            FaultRule(kind="latency", platform="sheets", method=method, latency_ms=1500, times=1)
        )
    outcomes = connect(sandbox, tmp_path, SystemClock(), timeout=1.0).apply(changes, Journal())
    assert [o.status for o in outcomes] == [APPLIED] * 3
    assert sheets_writes(sandbox) == {m: 1 for m in WRITES}
    assert [r[0] for r in sandbox.sheets.rows("planner")].count(CLIENT) == 1
    assert [r[0] for r in sandbox.sheets.rows("client_tracker")] == [
        "Client",
        "Alpine Motorsports",
        "Bayou Boats & RV",
        "Lakeside Powersports North",
        "Harbor Marine Center",
        "Prairie Tractor Supply",
    ]


@pytest.mark.parametrize("method", WRITES)
def test_a_dropped_connection_is_not_resent_by_the_transport(sandbox, tmp_path, method):
    """The write lands and the connection closes unanswered: httplib2 would send it again at
    once; the connector reads instead, finds it landed, and waits the timeout before that."""
    changes = plan_all(sandbox, tmp_path, (STEPS[0], STEPS[2], STEPS[4]))
    sandbox.faults.add(FaultRule(kind="lost_reply", platform="sheets", method=method, times=1))
    clock = FakeClock()
    outcomes = connect(sandbox, tmp_path, clock, timeout=7.0).apply(changes, Journal())
    assert [o.status for o in outcomes] == [APPLIED] * 3
    assert sheets_writes(sandbox) == {m: 1 for m in WRITES}
    assert clock.sleeps == [7.0]
    assert len([o for o in outcomes if "reply was lost" in o.message]) == 1


def _when_received(sandbox: Sandbox, method: str, edit: Any) -> threading.Thread:
    """Make `edit` (a person's change to the sheet) once the stand-in has received the first
    `method` request: while that request is held, before the client gives up on it."""

    def watch() -> None:
        deadline = time.monotonic() + 10
        while not any(e.method == method for e in sandbox.log.mutating("sheets")):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        edit()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_delete_that_did_not_land_is_resent_where_the_row_is_now(sandbox, tmp_path):
    """The first batchUpdate times out without landing; meanwhile someone inserts a row above
    the client's. The re-read finds the client's row one lower, and only it is deleted."""
    changes = plan_all(sandbox, tmp_path, (STEPS[0],))
    sandbox.faults.add(
        FaultRule(
            kind="timeout",
            platform="sheets",
            method="spreadsheets.batchUpdate",
            latency_ms=2000,
            times=1,
        )
    )
    editor = _when_received(
        sandbox,
        "spreadsheets.batchUpdate",
        lambda: sandbox.sheets.insert_row(
            "client_tracker", 2, ["Cedar Creek RV", "Chris Lane", "Sam Ortiz", 800]
        ),
    )
    outcomes = connect(sandbox, tmp_path, FakeClock(), timeout=1.0).apply(changes, Journal())
    editor.join()
    assert [o.status for o in outcomes] == [APPLIED]
    assert outcomes[0].message == "deleted row 5 (row 4 when planned)"
    assert sheets_writes(sandbox) == {"spreadsheets.batchUpdate": 2}  # the first did not land
    assert [r[0] for r in sandbox.sheets.rows("client_tracker")] == [
        "Client",
        "Cedar Creek RV",
        "Alpine Motorsports",
        "Bayou Boats & RV",
        "Lakeside Powersports North",
        "Harbor Marine Center",
        "Prairie Tractor Supply",
    ]


def test_a_cell_write_that_did_not_land_follows_the_row_and_spares_the_next_client(
    sandbox, tmp_path
):
    """The first cell write times out without landing; meanwhile the row above the client's
    is deleted (rows shift up). The write is sent again to the client's row where it is now,
    not to the row number it had, which now holds another client."""
    changes = plan_all(sandbox, tmp_path, (STEPS[4],))
    sandbox.faults.add(
        FaultRule(
            kind="timeout",
            platform="sheets",
            method="spreadsheets.values.update",
            latency_ms=2000,
            times=1,
        )
    )
    editor = _when_received(
        sandbox,
        "spreadsheets.values.update",
        lambda: sandbox.sheets.delete_row("ma_client_tracker", 2),
    )
    outcomes = connect(sandbox, tmp_path, FakeClock(), timeout=1.0).apply(changes, Journal())
    editor.join()
    assert [o.status for o in outcomes] == [APPLIED]
    assert outcomes[0].request_id == "'MA Clients'!E2:E2"
    rows = {r[0]: r for r in sandbox.sheets.rows("ma_client_tracker")[1:]}
    assert rows[CLIENT][4] == "2026-12-01"
    assert rows["Summit Cycle Works"][4:] in ([], [""])


def test_an_append_that_keeps_failing_is_read_once_more_before_it_is_reported(sandbox, tmp_path):
    changes = plan_all(sandbox, tmp_path, (STEPS[2],))
    sandbox.faults.add(
        FaultRule(kind="internal", platform="sheets", method="spreadsheets.values.append")
    )
    clock = FakeClock()
    connector = connect(sandbox, tmp_path, clock, timeout=10)
    reads = connector.calls["read"]
    outcomes = connector.apply(changes, Journal())
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED]
    assert sheets_writes(sandbox) == {"spreadsheets.values.append": 4}
    assert connector.calls["read"] - reads == 5  # before each of the 4 sends, and once after
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8]


# --- the transport ----------------------------------------------------------------------------


def _append_once(sandbox: Sandbox, http: httplib2.Http) -> Any:
    config = sandbox.platform_settings()["sheets"]["trackers"]["planner"]
    url = (
        f"{sandbox.sheets.url}/v4/spreadsheets/{config['spreadsheet_id']}/values/"
        "A1:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS"
    )
    return http.request(
        url,
        "POST",
        body='{"values": [["Somebody"]]}',
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )


def test_httplib2_resends_a_write_whose_reply_is_lost_and_write_once_http_does_not(sandbox):
    sandbox.faults.add(
        FaultRule(
            kind="lost_reply", platform="sheets", method="spreadsheets.values.append", times=1
        )
    )
    plain = httplib2.Http(timeout=5)
    response, _ = _append_once(sandbox, plain)  # the library's own silent second send
    assert response.status == 200
    assert sheets_writes(sandbox)["spreadsheets.values.append"] == 2

    sandbox.faults.add(
        FaultRule(
            kind="lost_reply", platform="sheets", method="spreadsheets.values.append", times=1
        )
    )
    with pytest.raises(ReplyLost):
        _append_once(sandbox, WriteOnceHttp(timeout=5))
    assert sheets_writes(sandbox)["spreadsheets.values.append"] == 3  # sent once
    assert [r[0] for r in sandbox.sheets.rows("planner")].count("Somebody") == 3
