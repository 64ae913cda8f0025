"""A tracker's rows by its scenario name (`trackers:`), read and edited as a person would by hand:
what tests and rehearsals use to look at the sheets, or change them behind the client's back."""

from __future__ import annotations

import json
from typing import Any

from adoffboard.sandbox.sheets.grid import Grid, Spreadsheet, trim


class Trackers:
    """Mixed into `SheetsStandIn`, which holds the books, the scenario section and the lock."""

    books: dict[str, Spreadsheet]
    section: dict[str, Any]
    lock: Any  # a threading.RLock

    def grid(self, spreadsheet_id: str, tab: str) -> Grid:
        book = self.books[spreadsheet_id]
        grid = book.grid(tab)
        if grid is None:
            raise KeyError(f"{book.title!r} has no tab {tab!r}")
        return grid

    def tracker(self, name: str) -> Grid:
        config = (self.section.get("trackers") or {})[name]
        return self.grid(config["spreadsheet_id"], config["tab"])

    def rows(self, tracker: str) -> list[list[Any]]:
        with self.lock:
            return trim([list(r) for r in self.tracker(tracker).rows])

    def rows_holding(self, tracker: str, text: str) -> list[int]:
        """Sheet row numbers (1-based) of the rows with a cell equal to `text`."""
        return [i + 1 for i, row in enumerate(self.rows(tracker)) if text in row]

    def insert_row(self, tracker: str, row_number: int, values: list[Any]) -> None:
        """Insert a row at sheet row `row_number`, pushing that row and those below it down."""
        with self.lock:
            self.tracker(tracker).rows.insert(row_number - 1, list(values))

    def delete_row(self, tracker: str, row_number: int) -> None:
        with self.lock:
            del self.tracker(tracker).rows[row_number - 1]

    def set_value(self, tracker: str, row_number: int, column: int, value: Any) -> None:
        with self.lock:
            grid = self.tracker(tracker)
            grid.ensure(row_number - 1, column)
            grid.rows[row_number - 1][column] = value

    def dump(self) -> str:
        with self.lock:
            return json.dumps(
                {b.id: {g.title: trim(g.rows) for g in b.grids} for b in self.books.values()},
                indent=1,
            )
