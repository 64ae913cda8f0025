"""The Sheets API v4 paths over the grids of `grid`: authentication, faults, reads, updates,
appends and row deletions (see the package docstring for what is modelled)."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response
from adoffboard.sandbox.sheets.grid import (
    GRID_COLS,
    ID,
    PROTECTED,
    ApiError,
    Grid,
    Spreadsheet,
    _scalar,
    column_letters,
    entered,
    error,
    masked,
    parse_fields,
    parse_range,
    quote,
    rendered,
    trim,
)
from adoffboard.sandbox.sheets.trackers import Trackers


class SheetsStandIn(Trackers, HttpStandIn):
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
            "GET", base + "/values:batchGet", "spreadsheets.values.batchGet", self._values_batch_get
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
            body = {
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
            fields = request.arg("fields")
            return masked(body, parse_fields(fields)) if fields else body

        return self._handle(request, run)

    def _values_get(self, request: Request) -> Response:
        def run(request: Request, book: Spreadsheet) -> Any:
            return self._value_range(request, book, unquote(request.params["range"]))

        return self._handle(request, run)

    def _values_batch_get(self, request: Request) -> Response:
        """`values.batchGet`: one value range per `ranges` parameter, in the order asked; any
        range that does not parse fails the whole request, as Sheets does."""

        def run(request: Request, book: Spreadsheet) -> Any:
            ranges = request.query.get("ranges") or []
            return {
                "spreadsheetId": book.id,
                "valueRanges": [self._value_range(request, book, text) for text in ranges],
            }

        return self._handle(request, run)

    @staticmethod
    def _value_range(request: Request, book: Spreadsheet, text: str) -> dict[str, Any]:
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
