"""A Google Sheets API v4 stand-in: spreadsheets whose tabs are in-memory grids.

It answers the REST paths and bodies the discovery-built `google-api-python-client` sends:

    GET  /v4/spreadsheets/{id}                          spreadsheets.get
    GET  /v4/spreadsheets/{id}/values/{range}           spreadsheets.values.get
    GET  /v4/spreadsheets/{id}/values:batchGet          spreadsheets.values.batchGet (`ranges`)
    PUT  /v4/spreadsheets/{id}/values/{range}           spreadsheets.values.update
    POST /v4/spreadsheets/{id}/values/{range}:append    spreadsheets.values.append
    POST /v4/spreadsheets/{id}:batchUpdate              spreadsheets.batchUpdate (deleteDimension)
    POST /token                                         a service account's JWT grant

`fields` (a partial response: `properties.title,sheets.properties(sheetId,title)`) selects what
`spreadsheets.get` answers. Ranges are A1 notation (`'Client Tracker'!A:Z`, `Sheet1!C7`, a bare
tab name). Errors use Google's envelope `{"error": {"code", "message", "status", ...}}`; a
batchUpdate is atomic, and deleting rows shifts the rows below up, as in Sheets. The bearer
token must be present (and equal `access_token` when the scenario sets one).

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

Layout: `grid` holds the spreadsheets as data (grids, A1 ranges, value input and rendering, the
error envelope); `standin` serves them over HTTP.
"""

from adoffboard.sandbox.sheets.grid import Grid, Spreadsheet, parse_range
from adoffboard.sandbox.sheets.standin import SheetsStandIn

__all__ = ["Grid", "SheetsStandIn", "Spreadsheet", "parse_range"]
