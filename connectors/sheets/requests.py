"""Each Sheets write decided from a fresh read of its tab, and the API requests it sends (pure).

A judge takes a change and the tab as read right before the write: it returns the request that
writes the client's row where it is now, or the outcome when there is nothing to write (done
already, gone, someone else's change). `SheetsConnector` sends the requests once each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adoffboard.connectors.sheets.planning import Located, Tab, find_appended, same_value
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.restore import is_restore

LOST_REPLY = "its reply was lost; a fresh read shows it done"


def quote_tab(tab: str) -> str:
    """A tab name as A1 notation wants it: always quoted, quotes doubled."""
    return "'" + tab.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


Judge = Callable[[Tab, Change, bool], "Outcome | Callable[[Any], Any]"]


def judge_cell(tab: Tab, ch: Change, unknown: bool) -> Outcome | Callable[[Any], Any]:
    """A `set_cell` change against a fresh read: the request that writes the client's cell
    where it is now, or the outcome when there is nothing to write. `unknown`: an earlier
    request's effect is unknown, so the value found in place is that request having landed."""
    rows = tab.client_rows()
    n, col = cell_of(tab, ch)
    if n >= len(rows) or col is None:
        # a restore has nowhere to put the value back: someone else's change, left alone
        return Outcome(
            ch.id,
            OutcomeStatus.DRIFT if is_restore(ch) else OutcomeStatus.ALREADY,
            message=f"{tab.label} no longer lists {tab.key!r}",
        )
    live = tab.cell(rows[n], col)
    if same_value(live, ch.after):
        if unknown:
            return Outcome(ch.id, OutcomeStatus.APPLIED, live=live, message=LOST_REPLY)
        return Outcome(ch.id, OutcomeStatus.ALREADY, live=live)
    if live != ch.before and not (is_restore(ch) and same_value(live, ch.before)):
        # (a restore's before is what adoffboard wrote, which the sheet may show as a number
        # or a formatted date: the same value, not someone else's change)
        return Outcome(
            ch.id,
            OutcomeStatus.DRIFT,
            live=live,
            message=f"live value {live!r} differs from planned {ch.before!r}",
        )
    cell = f"{quote_tab(tab.config.tab)}!{column_letter(col)}{tab.sheet_row(rows[n])}"
    return update_cell(tab, cell, ch.after)


def judge_append(tab: Tab, ch: Change, unknown: bool) -> Outcome | Callable[[Any], Any]:
    """An `append_row` change against a fresh read: the append, or the row that records it."""
    wanted = ch.after["values"]
    found = find_appended(tab, wanted)
    if found is not None:
        where = f"row {tab.sheet_row(found)} records it"
        return Outcome(
            ch.id,
            OutcomeStatus.APPLIED if unknown else OutcomeStatus.ALREADY,
            live=tab.values(found),
            message=f"{where}: {LOST_REPLY}" if unknown else f"{where} already",
        )
    row = [wanted.get(h, "") if h else "" for h in tab.headers]
    while row and row[-1] == "":
        row.pop()
    return append_row(tab, f"{quote_tab(tab.config.tab)}!A1", row)


def removal_settled(tab: Tab, ch: Change, where: Located, targeted: Mapping[str, int]) -> Outcome:
    """A planned removal with no client row left to delete: drift, gone before adoffboard
    sent anything, or gone because an earlier request, whose reply was lost, landed."""
    if where.drift:
        return Outcome(ch.id, OutcomeStatus.DRIFT, live=where.live, message=where.drift)
    if ch.id in targeted:
        row = targeted[ch.id]
        return Outcome(
            ch.id,
            OutcomeStatus.APPLIED,
            live=None,
            message=f"{moved(ch, row)}: {LOST_REPLY}",
            request_id=row_range(tab, row),
        )
    return Outcome(
        ch.id, OutcomeStatus.ALREADY, live=None, message=f"{tab.label} no longer lists {tab.key!r}"
    )


def row_range(tab: Tab, row: int) -> str:
    return f"{quote_tab(tab.config.tab)}!{row}:{row}"


def delete_rows(tab: Tab, rows: Sequence[int]) -> Callable[[Any], Any]:
    """One batchUpdate deleting sheet rows `rows`, listed bottom-up so that each deletion
    leaves the rows still to delete in place."""
    requests = [
        {
            "deleteDimension": {
                "range": {
                    "sheetId": tab.sheet_id,
                    "dimension": "ROWS",
                    "startIndex": row - 1,
                    "endIndex": row,
                }
            }
        }
        for row in rows
    ]

    def request(api: Any) -> Any:
        return api.spreadsheets().batchUpdate(
            spreadsheetId=tab.config.spreadsheet_id, body={"requests": requests}
        )

    return request


def get_spreadsheet(spreadsheet_id: str) -> Callable[[Any], Any]:
    def request(api: Any) -> Any:
        return api.spreadsheets().get(
            spreadsheetId=spreadsheet_id, fields="properties.title,sheets.properties(sheetId,title)"
        )

    return request


# formulas as written, dates as the sheet shows them: a restore writes back exactly what was there
READ_OPTIONS = {"valueRenderOption": "FORMULA", "dateTimeRenderOption": "FORMATTED_STRING"}


def get_values(spreadsheet_id: str, tab: str) -> Callable[[Any], Any]:
    """`spreadsheets.values.get` of a whole tab."""

    def request(api: Any) -> Any:
        return (
            api.spreadsheets()
            .values()
            .get(spreadsheetId=spreadsheet_id, range=quote_tab(tab), **READ_OPTIONS)
        )

    return request


def batch_get_values(spreadsheet_id: str, tabs: Sequence[str]) -> Callable[[Any], Any]:
    """`spreadsheets.values.batchGet` of whole tabs of one spreadsheet: one request for all of
    them; the reply's `valueRanges` follow the order of `tabs`."""

    def request(api: Any) -> Any:
        return (
            api.spreadsheets()
            .values()
            .batchGet(
                spreadsheetId=spreadsheet_id,
                ranges=[quote_tab(t) for t in tabs],
                **READ_OPTIONS,
            )
        )

    return request


def update_cell(tab: Tab, cell: str, value: Any) -> Callable[[Any], Any]:
    def request(api: Any) -> Any:
        return (
            api.spreadsheets()
            .values()
            .update(
                spreadsheetId=tab.config.spreadsheet_id,
                range=cell,
                valueInputOption=tab.config.value_input,
                body={"range": cell, "majorDimension": "ROWS", "values": [[value]]},
            )
        )

    return request


def append_row(tab: Tab, target: str, row: list[Any]) -> Callable[[Any], Any]:
    def request(api: Any) -> Any:
        return (
            api.spreadsheets()
            .values()
            .append(
                spreadsheetId=tab.config.spreadsheet_id,
                range=target,
                valueInputOption=tab.config.value_input,
                insertDataOption="INSERT_ROWS",
                body={"majorDimension": "ROWS", "values": [row]},
            )
        )

    return request


def moved(change: Change, row: int) -> str:
    planned = change.before["row"]
    return f"deleted row {row}" + (f" (row {planned} when planned)" if row != planned else "")


def tracker_of(change: Change) -> str:
    return change.entity_id.split(":", 1)[0]


def cell_of(tab: Tab, change: Change) -> tuple[int, int | None]:
    """A `set_cell` change's cell: the index among the client's rows (its nth row, located
    again in each fresh read) and the column index."""
    return int(change.entity_id.rsplit("#", 1)[1]) - 1, tab.column(change.field)


def kind_of(change: Change) -> str:
    if change.entity_type == "cell":
        return "cell"
    return "remove" if change.after is None else "append"
