"""Google Sheets trackers, through the official `google-api-python-client` (Sheets API v4).

Reads, of the trackers the runbook's steps name (`ConnectorContext.uses`; all when it names
none): `spreadsheets.get` once per spreadsheet (title, and each tab's numeric sheetId), all at
once; then, every title checked, `spreadsheets.values.batchGet` once per spreadsheet for all its
tracker tabs (formulas as written, dates as shown, so that a restore writes back exactly what
was there), all at once. Two round trips, whatever the number of trackers.

Writes, per tracker, one at a time: `values.update` of one cell
(`set_cell`), `values.append` with INSERT_ROWS (`append_row`), and one `spreadsheets.batchUpdate`
of `deleteDimension` requests (`remove_row`). Rows shift whenever anyone edits a sheet, so every
write (each cell, each append, each tracker's batch of deletes) re-reads its tab right before it
is sent and locates the client's rows by the key column in that fresh read; no write uses the
row number of the plan. (Sheets has no conditional delete: a row inserted above the
client's in the instant between that read and the delete would still shift it; the window is one
round trip, and the journal keeps the row range each delete targeted.)

Exact restore (`ma-unpause`, `adoffboard restore RUN`) covers `set_cell` only: the inverse
change writes the snapshotted value back where the cell still holds what adoffboard wrote, and
`live_values` reads the cells again for verify. Rows a cancellation removed or appended are not
restored (`restorable_entities` in the registry): the restore lists them for people.

No write is repeated blindly: a delete by position, an append and a cell write all do damage
when they land twice (someone else's row deleted, a row added twice, a value written into
someone else's row). Each is sent once (`execute(num_retries=0)` over `WriteOnceHttp`, which
keeps httplib2 from resending a write whose reply went missing); after any transient failure -
a 5xx, a timeout, a dropped connection, whose effect is unknown - the connector waits (at least
the timeout, when no reply came), reads the tab again and decides: found done, the write landed
(applied, "its reply was lost"); still to do, it is sent again, to the client's row where it is
now. A write still in flight longer than that wait can still land after the read that decides.

Sheets answers writes without a request id; the journal keeps, in its place, the range each write
touched: `updatedRange` as the API reported it for values writes, the deleted rows' range (from
the fresh read the delete was computed on) for removals.

The dry run is enforced at the transport: a read-only connector's `httplib2.Http` refuses every
method but GET (a token refresh excepted) before anything leaves the process.

The transport and the reads are `SheetsReading`'s (`reading`); this module plans, writes and
verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from adoffboard.connectors.base import NO_CONTEXT, Journal, StepContext, StepDraft, Verdict
from adoffboard.connectors.sheets.client import translate
from adoffboard.connectors.sheets.declaration import DECLARATION
from adoffboard.connectors.sheets.planning import (
    PLANNERS,
    SheetsState,
    Tab,
    locate_rows,
    same_value,
    verify_step,
)
from adoffboard.connectors.sheets.reading import SheetsReading
from adoffboard.connectors.sheets.requests import (
    Judge,
    cell_of,
    delete_rows,
    judge_append,
    judge_cell,
    kind_of,
    moved,
    removal_settled,
    row_range,
    tracker_of,
)
from adoffboard.errors import DryRunViolation, InputError, PlatformError
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.retry import Send, send_unrepeatable

T = TypeVar("T")
KIND_ORDER = {"cell": 0, "append": 1, "remove": 2}  # removals last: they shift rows


class SheetsConnector(SheetsReading):
    declaration = DECLARATION

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: SheetsState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        planner = PLANNERS.get(action)
        if planner is None:
            raise InputError(f"sheets has no action {action!r}")
        return planner(state, params, step_id, ctx)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        """Tracker after tracker, each in `KIND_ORDER`: one write on the wire at a time, so that a
        crash leaves at most one write whose outcome is unknown, which a resume settles by reading
        the tab again before it decides (a second write still in flight from a killed process
        could land after that read and be sent twice)."""
        if self._state is None:
            raise InputError("read_state must run before apply")
        trackers = sorted({tracker_of(c) for c in changes})
        self._ensure_read(trackers)
        by_tab: dict[tuple[str, str], list[str]] = {}
        for name in trackers:
            config = self.settings.trackers[name]
            by_tab.setdefault((config.spreadsheet_id, config.tab), []).append(name)
        return [
            o for names in by_tab.values() for o in self._apply_trackers(names, changes, journal)
        ]

    def _apply_trackers(
        self, names: Sequence[str], changes: Sequence[Change], journal: Journal
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for name in names:
            mine = [c for c in changes if tracker_of(c) == name]
            for kind in sorted({kind_of(c) for c in mine}, key=KIND_ORDER.__getitem__):
                batch = [c for c in mine if kind_of(c) == kind]
                if kind == "remove":
                    outcomes += self._apply_removals(name, batch, journal)
                    continue
                for ch in batch:
                    judge = judge_cell if kind == "cell" else judge_append
                    outcomes.append(self._apply_one(name, ch, judge, journal))
        return outcomes

    def _fresh(self, name: str) -> Tab:
        assert self._state is not None
        old = self._state.tabs[name]
        return self._read_tab(name, old.spreadsheet_title, old.sheet_id, old.key)

    def _send_once(self, request: Callable[[Any], Any]) -> Any:
        """One write, sent once: neither the client library nor httplib2 repeats it
        (`execute(num_retries=0)`, `WriteOnceHttp`); only `_write` decides to send it again."""
        api = self._api()
        self.calls["write"] += 1
        try:
            return request(api).execute(num_retries=0) or {}
        except DryRunViolation:
            raise
        except Exception as exc:  # HttpError, httplib2 and socket errors: translated
            raise translate(exc) from exc

    def _write(self, prepare: Callable[[bool], Send[Any] | T]) -> Any | T:
        """A write that is never repeated blindly: `prepare` re-reads the tab before every
        send, and after a failure whose effect is unknown decides whether it landed."""
        return send_unrepeatable(
            prepare,
            self.ctx.retry,
            self.ctx.clock,
            on_retry=lambda n, e, wait: self.ctx.progress(
                f"Google Sheets: {e} - reading the tab again in {wait:.1f}s before deciding"
            ),
        )

    def _apply_one(self, name: str, ch: Change, judge: Judge, journal: Journal) -> Outcome:
        """A cell write or an append: re-read the tab, locate the client's row, then write (or
        find it done, gone or drifted); after a lost reply, the same again."""
        intended = False

        def prepare(unknown: bool) -> Send[Any] | Outcome:
            nonlocal intended
            tab = self._fresh(name)
            found = judge(tab, ch, unknown)
            if isinstance(found, Outcome):
                return found
            if not intended:
                journal.intend([ch])
                intended = True
            return Send(lambda: self._send_once(found))

        try:
            result = self._write(prepare)
        except PlatformError as exc:
            result = Outcome(
                ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
            )
        if not isinstance(result, Outcome):
            updated = (result.get("updates") or result).get("updatedRange", "")
            result = Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=str(updated))
        journal.record([result])
        return result

    def _apply_removals(
        self, name: str, changes: Sequence[Change], journal: Journal
    ) -> list[Outcome]:
        """One atomic batchUpdate of the client's rows, located again in a fresh read right
        before each send; after a lost reply, a row found gone is the delete that landed."""
        targeted: dict[str, int] = {}  # change id -> sheet row of the last request sent
        sent: list[Change] = []
        settled: dict[str, Outcome] = {}

        def prepare(unknown: bool) -> Send[Any] | None:
            tab = self._fresh(name)
            located = locate_rows(tab, changes)
            settled.clear()
            for ch in changes:
                if located[ch.id].index is None:
                    settled[ch.id] = removal_settled(tab, ch, located[ch.id], targeted)
            order = sorted(
                (c for c in changes if c.id not in settled),
                key=lambda c: located[c.id].index or 0,
                reverse=True,
            )
            if not order:
                return None
            journal.intend([c for c in order if c.id not in targeted])
            targeted.update({c.id: tab.sheet_row(located[c.id].index or 0) for c in order})
            sent[:] = order
            return Send(lambda: self._send_once(delete_rows(tab, [targeted[c.id] for c in order])))

        try:
            reply = self._write(prepare)
        except PlatformError as exc:
            failed = [
                Outcome(
                    c.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
                )
                for c in sent
            ]
            done = [*settled.values(), *failed]
            journal.record(done)
            return done
        assert self._state is not None
        tab = self._state.tabs[name]
        deleted = (
            []
            if reply is None
            else [
                Outcome(
                    c.id,
                    OutcomeStatus.APPLIED,
                    live=None,
                    message=moved(c, targeted[c.id]),
                    request_id=row_range(tab, targeted[c.id]),
                )
                for c in sent
            ]
        )
        done = [*settled.values(), *deleted]
        journal.record(done)
        return done

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: SheetsState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        return verify_step(action, state, params, ctx)

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        """The live value of each `set_cell` change's cell, from a fresh read of its tab (the
        client's rows located again, as apply does); None where the row or column is gone.
        Rows removed or appended have no value to read back: only cells are restorable."""
        if self._state is None:
            raise InputError("read_state must run before live_values")
        rows_of = [c for c in changes if c.entity_type != "cell"]
        if rows_of:
            raise PlatformError(
                f"Google Sheets cannot read back a {rows_of[0].entity_type} "
                f"change ({rows_of[0].name}): only cells are restorable"
            )
        live: dict[str, Any] = {}
        self._ensure_read([tracker_of(c) for c in changes])
        for name in sorted({tracker_of(c) for c in changes}):
            tab = self._fresh(name)
            rows = tab.client_rows()
            for ch in (c for c in changes if tracker_of(c) == name):
                n, col = cell_of(tab, ch)
                live[ch.id] = None if n >= len(rows) or col is None else tab.cell(rows[n], col)
        return live

    def same_value(self, change: Change, live: Any, target: Any) -> bool:
        """Equal text or the same date (a date may read back as the sheet formats it); a
        missing row (None) is no value at all, not an empty cell."""
        if live is None or target is None:
            return live is None and target is None
        return same_value(live, target)
