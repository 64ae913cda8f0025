"""A Google Sheets API v4 stand-in: spreadsheets whose tabs are in-memory grids.

It answers the REST paths and bodies the discovery-built `google-api-python-client` sends:

    GET  /v4/spreadsheets/{id}                          spreadsheets.get
    GET  /v4/spreadsheets/{id}/values/{range}           spreadsheets.values.get
    PUT  /v4/spreadsheets/{id}/values/{range}           spreadsheets.values.update
    POST /v4/spreadsheets/{id}/values/{range}:append    spreadsheets.values.append
    POST /v4/spreadsheets/{id}:batchUpdate              spreadsheets.batchUpdate (deleteDimension)
    POST /token                                         a service account's JWT grant

Ranges are A1 notation (`'Client Tracker'!A:Z`, `Sheet1!C7`, a bare tab name). Errors use
Google's envelope `{"error": {"code", "message", "status", ...}}`; a batchUpdate is atomic, and
deleting rows shifts the rows below up, as in Sheets. The bearer token must be present (and equal
`access_token` when the scenario sets one).

Faults: `resource_exhausted` -> 429 RESOURCE_EXHAUSTED with a RetryInfo detail (or, with
`match: {http_status: "403"}`, the older 403 rateLimitExceeded); `internal` -> 500;
`unavailable` -> 503; `partial_failure` with `match: {resource: row, id: <text>}` makes every
write touching a row that holds that text fail as a protected range does (400); `late_reply`
carries a write out at once and holds its answer `latency_ms` (the client times out although the
write landed); `lost_reply` carries it out and closes the connection unanswered; `latency` holds
the request before carrying it out (it lands while the client is already giving up).

Scenario section:

    sheets:
      spreadsheets:
        - {id: ..., title: ..., tabs: [{title: ..., sheet_id: 0, rows: [[headers], [..], ..]}]}
      trackers: {client_tracker: {spreadsheet_id: ..., tab: ..., key_column: ...}, ...}
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response

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


class SheetsStandIn(HttpStandIn):
    platform = "sheets"
    service = "sheets.v4"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.access_token: str = str(self.section.get("access_token") or "")
        self.books: dict[str, Spreadsheet] = {}
        for raw in self.section.get("spreadsheets") or []:
            grids = [
                Grid(
                    t["title"],
                    int(t.get("sheet_id", i)),
                    [[_scalar(v) for v in r] for r in t.get("rows") or []],
                )
                for i, t in enumerate(raw.get("tabs") or [])
            ]
            self.books[str(raw["id"])] = Spreadsheet(str(raw["id"]), raw.get("title", ""), grids)
        base = f"/v4/spreadsheets/{ID}"
        self.route("GET", base, "spreadsheets.get", self._get)
        self.route(
            "GET", base + r"/values/(?P<range>[^/:]+)", "spreadsheets.values.get", self._values_get
        )
        self.route(
            "PUT",
            base + r"/values/(?P<range>[^/:]+)",
            "spreadsheets.values.update",
            self._values_update,
        )
        self.route(
            "POST",
            base + r"/values/(?P<range>[^/:]+):append",
            "spreadsheets.values.append",
            self._values_append,
        )
        self.route("POST", base + ":batchUpdate", "spreadsheets.batchUpdate", self._batch_update)
        # a service account's token grant (its key file's token_uri may point here)
        self.route("POST", "/token", "oauth2.token", self._token, mutating=False, service="oauth2")
        self.issued: set[str] = set()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        port = super().start(host, port)
        # The base handler writes headers and body in two segments; with Nagle's algorithm on,
        # a keep-alive client (httplib2 reuses its connection) waits ~40 ms per request for the
        # delayed ACK. Real Google front ends don't: send each segment at once.
        assert self._server is not None
        self._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        return port

    # --- hooks ------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        if request.path == "/token":
            return None
        auth = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if not token:
            return error(
                401,
                "Request is missing required authentication credential. Expected "
                "OAuth 2 access token, login cookie or other valid authentication "
                "credential.",
            )
        if self.access_token and token != self.access_token and token not in self.issued:
            return error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 "
                "access token, login cookie or other valid authentication "
                "credential.",
            )
        return None

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        if rule.kind == "resource_exhausted":
            if str(rule.match.get("http_status")) == "403":
                return error(
                    403,
                    rule.message or "Rate Limit Exceeded",
                    errors=[
                        {
                            "message": "Rate Limit Exceeded",
                            "domain": "usageLimits",
                            "reason": "rateLimitExceeded",
                        }
                    ],
                )
            return error(
                429,
                rule.message
                or (
                    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per "
                    "user' of service 'sheets.googleapis.com'."
                ),
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {"service": "sheets.googleapis.com"},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{rule.retry_delay_s:g}s",
                    },
                ],
            )
        if rule.kind == "unavailable":
            return error(503, rule.message or "The service is currently unavailable.")
        return error(500, rule.message or "Internal error encountered.")

    def not_found(self, request: Request) -> Response:
        return error(404, f"Method not found: {request.method} {request.path}")

    def settings(self) -> dict[str, Any]:
        return {
            "endpoint": f"{self.url}/",
            "access_token": "sandbox:",
            "timeout_s": 30.0,
            "attempts": 5,
            "trackers": copy.deepcopy(self.section.get("trackers") or {}),
        }

    # --- handlers ---------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = request.form()
        if (
            form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer"
            or form.get("assertion", "").count(".") != 2
        ):
            return Response(400, {"error": "invalid_grant", "error_description": "Invalid grant"})
        token = f"ya29.sandbox-{secrets.token_urlsafe(12)}"
        with self.lock:
            self.issued.add(token)
        return Response(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})

    def _handle(self, request: Request, fn: Any) -> Response:
        with self.lock:
            book = self.books.get(request.params["account"])
            if book is None:
                return error(404, "Requested entity was not found.")
            try:
                return Response(200, fn(request, book))
            except ApiError as exc:
                return exc.response()

    def _get(self, request: Request) -> Response:
        def run(request: Request, book: Spreadsheet) -> Any:
            return {
                "spreadsheetId": book.id,
                "properties": {"title": book.title},
                "sheets": [
                    {
                        "properties": {
                            "sheetId": g.sheet_id,
                            "title": g.title,
                            "index": i,
                            "sheetType": "GRID",
                            "gridProperties": {"rowCount": g.row_count, "columnCount": GRID_COLS},
                        }
                    }
                    for i, g in enumerate(book.grids)
                ],
            }

        return self._handle(request, run)

    def _values_get(self, request: Request) -> Response:
        def run(request: Request, book: Spreadsheet) -> Any:
            text = unquote(request.params["range"])
            span = parse_range(text, book)
            option = request.arg("valueRenderOption") or "FORMATTED_VALUE"
            if request.arg("majorDimension", "ROWS") != "ROWS":
                raise ApiError(400, "The stand-in serves majorDimension=ROWS only")
            grid = span.grid
            rows = grid.rows[span.row0 : span.row1 if span.row1 is not None else None]
            values = [[rendered(v, option) for v in row[span.col0 : span.col1]] for row in rows]
            body: dict[str, Any] = {"range": span.a1(), "majorDimension": "ROWS"}
            if trim(values):
                body["values"] = trim(values)
            return body

        return self._handle(request, run)

    def _check_option(self, request: Request) -> str:
        option = request.arg("valueInputOption") or ""
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(
                400,
                "'valueInputOption' is required but not specified"
                if not option
                else f"Invalid valueInputOption: {option}",
            )
        return option

    def _protected(self, request: Request, rows: list[list[Any]]) -> None:
        for row in rows:
            for value in row:
                if request.failing(resource="row", id=str(value)):
                    raise ApiError(400, PROTECTED)

    def entities(self, route: Any, request: Request) -> tuple[str, ...]:
        """A values update: its range; an append: the rows it adds; a batch update: each row
        span it deletes."""
        book = request.params.get("account", "")
        body = request.json() or {}
        if route.op == "spreadsheets.values.update":
            return (f"{book}/{unquote(request.params['range'])}",)
        if route.op == "spreadsheets.values.append":
            return tuple(
                f"{book}/{unquote(request.params['range'])} + {json.dumps(row)}"
                for row in body.get("values") or ()
            )
        out = []
        for item in body.get("requests") or ():
            kind = next(iter(item), "")
            span = (item.get(kind) or {}).get("range") or {}
            out.append(
                f"{book}/{kind} sheet {span.get('sheetId')} "
                f"{span.get('dimension')} {span.get('startIndex')}-{span.get('endIndex')}"
            )
        return tuple(out)

    def _values_update(self, request: Request) -> Response:
        def run(request: Request, book: Spreadsheet) -> Any:
            text = unquote(request.params["range"])
            option = self._check_option(request)
            span = parse_range(text, book)
            body = request.json() or {}
            if body.get("range") and parse_range(body["range"], book) != span:
                raise ApiError(
                    400,
                    f"Requested writing within range [{text}], but tried "
                    f"writing to [{body['range']}]",
                )
            values = body.get("values") or []
            grid = span.grid
            touched = [
                grid.rows[r]
                for r in range(span.row0, span.row0 + len(values))
                if r < len(grid.rows)
            ]
            self._protected(request, touched + values)
            for i, row in enumerate(values):
                for j, value in enumerate(row):
                    grid.ensure(span.row0 + i, span.col0 + j)
                    grid.rows[span.row0 + i][span.col0 + j] = entered(value, option)
            cols = max((len(r) for r in values), default=0)
            return {
                "spreadsheetId": book.id,
                "updatedRange": span.a1(span.row0 + len(values), span.col0 + cols),
                "updatedRows": len(values),
                "updatedColumns": cols,
                "updatedCells": sum(len(r) for r in values),
            }

        return self._handle(request, run)

    def _values_append(self, request: Request) -> Response:
        def run(request: Request, book: Spreadsheet) -> Any:
            text = unquote(request.params["range"])
            option = self._check_option(request)
            insert = request.arg("insertDataOption") or "OVERWRITE"
            span = parse_range(text, book)
            values = (request.json() or {}).get("values") or []
            self._protected(request, values)
            grid = span.grid
            end = grid.used()  # the table ends at the last row holding a value
            if insert == "INSERT_ROWS":
                for i, row in enumerate(values):
                    grid.rows.insert(end + i, [""] * span.col0 + [entered(v, option) for v in row])
            else:
                for i, row in enumerate(values):
                    for j, value in enumerate(row):
                        grid.ensure(end + i, span.col0 + j)
                        grid.rows[end + i][span.col0 + j] = entered(value, option)
            cols = max((len(r) for r in values), default=0)
            first = column_letters(span.col0)
            last = column_letters(span.col0 + max(cols, 1) - 1)
            return {
                "spreadsheetId": book.id,
                "tableRange": f"{quote(grid.title)}!{first}1:{last}{max(end, 1)}",
                "updates": {
                    "spreadsheetId": book.id,
                    "updatedRange": f"{quote(grid.title)}!{first}{end + 1}:"
                    f"{last}{end + len(values)}",
                    "updatedRows": len(values),
                    "updatedColumns": cols,
                    "updatedCells": sum(len(r) for r in values),
                },
            }

        return self._handle(request, run)

    def _batch_update(self, request: Request) -> Response:
        def run(request: Request, book: Spreadsheet) -> Any:
            requests = (request.json() or {}).get("requests") or []
            grids = {
                g.sheet_id: Grid(g.title, g.sheet_id, [list(r) for r in g.rows]) for g in book.grids
            }
            for n, item in enumerate(requests):
                kind = next(iter(item), "")
                if kind != "deleteDimension":
                    raise ApiError(
                        400,
                        f"Invalid requests[{n}]: the stand-in models "
                        f"deleteDimension only, not {kind!r}",
                    )
                self._delete(request, grids, item[kind].get("range") or {}, n)
            for g in book.grids:  # atomic: every request succeeded, commit them all
                g.rows = grids[g.sheet_id].rows
            return {"spreadsheetId": book.id, "replies": [{} for _ in requests]}

        return self._handle(request, run)

    def _delete(
        self, request: Request, grids: dict[int, Grid], rng: Mapping[str, Any], n: int
    ) -> None:
        where = f"Invalid requests[{n}].deleteDimension"
        grid = grids.get(int(rng.get("sheetId", 0)))
        if grid is None:
            raise ApiError(400, f"{where}: No grid with id: {rng.get('sheetId', 0)}")
        if rng.get("dimension") != "ROWS":
            raise ApiError(400, f"{where}: the stand-in deletes ROWS only")
        start, end = rng.get("startIndex"), rng.get("endIndex")
        if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end <= start:
            raise ApiError(
                400,
                f"{where}: startIndex and endIndex must be set with "
                f"0 <= startIndex < endIndex (got {start}, {end})",
            )
        if end > grid.row_count:
            raise ApiError(
                400,
                f"{where}: Cannot delete a row that doesn't exist. Tried to "
                f"delete row index {end - 1} but there are only "
                f"{grid.row_count} rows.",
            )
        if start == 0 and end >= grid.row_count:
            raise ApiError(400, f"{where}: You can't delete all the rows on the sheet.")
        self._protected(request, grid.rows[start:end])
        del grid.rows[start:end]

    # --- for tests and the demo: what a person would see, and edits made by hand ---------------

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
