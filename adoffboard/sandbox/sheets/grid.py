"""The Sheets stand-in's spreadsheets: in-memory grids, A1 ranges over them, how values are
entered and rendered, and Google's error envelope. Pure data: no HTTP (`standin` serves them)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from adoffboard.sandbox.http import Response

GRID_ROWS, GRID_COLS = 1000, 26
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
PROTECTED = (
    "You are trying to edit a protected cell or object. Please contact the spreadsheet "
    "owner to remove protection if you need to edit it."
)
ID = r"(?P<account>[A-Za-z0-9_-]+)"


class ApiError(Exception):
    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra

    def response(self) -> Response:
        return error(self.code, self.message, **self.extra)


def error(code: int, message: str, **extra: Any) -> Response:
    return Response(
        code,
        {
            "error": {
                "code": code,
                "message": message,
                "status": STATUS.get(code, "UNKNOWN"),
                **extra,
            }
        },
    )


# --- A1 notation ---------------------------------------------------------------------------------


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - ord("A") + 1
    return n - 1


def column_letters(index: int) -> str:
    out, index = "", index + 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


_CELL = re.compile(r"^([A-Za-z]{0,3})(\d*)$")


@dataclass
class Grid:
    title: str
    sheet_id: int
    rows: list[list[Any]] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return max(GRID_ROWS, len(self.rows))

    def used(self) -> int:
        """Rows up to the last one holding any value."""
        n = len(self.rows)
        while n and not any(v not in ("", None) for v in self.rows[n - 1]):
            n -= 1
        return n

    def ensure(self, row: int, col: int) -> None:
        while len(self.rows) <= row:
            self.rows.append([])
        while len(self.rows[row]) <= col:
            self.rows[row].append("")


@dataclass
class Spreadsheet:
    id: str
    title: str
    grids: list[Grid]

    def grid(self, title: str) -> Grid | None:
        return next((g for g in self.grids if g.title == title), None)


@dataclass(frozen=True)
class Span:
    """A parsed range: 0-based start, exclusive end (None: open to the grid's edge)."""

    grid: Grid
    row0: int
    col0: int
    row1: int | None
    col1: int | None

    def a1(self, rows: int | None = None, cols: int | None = None) -> str:
        r1 = self.row1 if self.row1 is not None else (rows or self.grid.row_count)
        c1 = self.col1 if self.col1 is not None else (cols or GRID_COLS)
        return (
            f"{quote(self.grid.title)}!{column_letters(self.col0)}{self.row0 + 1}:"
            f"{column_letters(max(c1, self.col0 + 1) - 1)}{max(r1, self.row0 + 1)}"
        )


def parse_range(text: str, book: Spreadsheet) -> Span:
    bad = ApiError(400, f"Unable to parse range: {text}")
    sheet, cells = None, text
    if text.startswith("'"):
        m = re.match(r"^'((?:[^']|'')*)'(?:!(.*))?$", text)
        if not m:
            raise bad
        sheet, cells = m.group(1).replace("''", "'"), m.group(2) or ""
    elif "!" in text:
        sheet, cells = text.rsplit("!", 1)
    elif book.grid(text) is not None:
        sheet, cells = text, ""
    grid = book.grid(sheet) if sheet is not None else book.grids[0]
    if grid is None:
        raise bad
    if not cells:
        return Span(grid, 0, 0, None, None)
    parts = cells.split(":")
    if len(parts) > 2:
        raise bad
    ends = []
    for part in parts:
        m = _CELL.match(part)
        if not m or not (m.group(1) or m.group(2)):
            raise bad
        ends.append(
            (
                column_index(m.group(1)) if m.group(1) else None,
                int(m.group(2)) - 1 if m.group(2) else None,
            )
        )
    (c0, r0), (c1, r1) = ends[0], ends[-1]
    if len(parts) == 1:  # one cell
        if c0 is None or r0 is None:
            raise bad
        return Span(grid, r0, c0, r0 + 1, c0 + 1)
    return Span(
        grid,
        r0 or 0,
        c0 or 0,
        r1 + 1 if r1 is not None else None,
        c1 + 1 if c1 is not None else None,
    )


# --- values -----------------------------------------------------------------------------------


def entered(value: Any, option: str) -> Any:
    """A value as stored after `valueInputOption` (USER_ENTERED turns numerals into numbers)."""
    if option == "USER_ENTERED" and isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if re.fullmatch(r"-?\d+\.\d+", text):
            return float(text)
    return value


def rendered(value: Any, option: str) -> Any:
    if value is None:
        return ""
    if option == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        return str(value)
    return value


def _scalar(value: Any) -> Any:
    """A scenario cell as Sheets holds it: YAML dates become the text a person typed."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def trim(rows: list[list[Any]]) -> list[list[Any]]:
    out = []
    for row in rows:
        cells = list(row)
        while cells and cells[-1] in ("", None):
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


# --- partial responses ---------------------------------------------------------------------------

Mask = dict[str, "Mask | None"]  # a field name -> its sub-mask (None: the whole field)


def parse_fields(text: str) -> Mask:
    """A `fields` parameter (`properties.title,sheets.properties(sheetId,title)`, `a/b` as
    `a.b`) as a tree of the fields to keep; 400 when it does not parse."""
    mask, rest = _mask_list(text.replace("/", ".").replace(" ", ""))
    if rest:
        raise ApiError(400, f"Invalid field selection {text}")
    return mask


def _mask_list(text: str) -> tuple[Mask, str]:
    mask: Mask = {}
    while True:
        m = re.match(r"[A-Za-z_*][A-Za-z0-9_]*(?:\.[A-Za-z_*][A-Za-z0-9_]*)*", text)
        if not m:
            raise ApiError(400, f"Invalid field selection {text}")
        path, text = m.group(0).split("."), text[m.end() :]
        sub: Mask | None = None
        if text.startswith("("):
            sub, text = _mask_list(text[1:])
            if not text.startswith(")"):
                raise ApiError(400, f"Invalid field selection {text}")
            text = text[1:]
        _merge(mask, path, sub)
        if not text.startswith(","):
            return mask, text
        text = text[1:]


def _merge(mask: Mask, path: list[str], sub: Mask | None) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        if head in mask and mask[head] is not None and sub is not None:
            mask[head] = {**(mask[head] or {}), **sub}
        else:
            mask[head] = None if head in mask and mask[head] is None else sub
        return
    below = mask.setdefault(head, {})
    if below is not None:
        _merge(below, rest, sub)


def masked(value: Any, mask: Mask | None) -> Any:
    """`value` with only the fields `mask` selects (lists: each element), as Google's partial
    responses are."""
    if mask is None or "*" in mask:
        return value
    if isinstance(value, list):
        return [masked(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: masked(v, mask[k]) for k, v in value.items() if k in mask}
    return value
