"""The Google Sheets stand-in, exercised only through the official client (`google-api-python-client`,
Sheets v4 built from its bundled discovery document), exactly as the connector builds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import google_auth_httplib2
import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog, load_scenario
from adoffboard.sandbox.sheets import SheetsStandIn, parse_range

DEMO = Path(__file__).resolve().parents[2] / "adoffboard" / "sandbox" / "scenarios" / "demo.yaml"
SEM = "1sEmCl1entTrackerXq3Vb8Lm2Nw7Rt5Yp9Kd4Hs6Jf0Ga"
PLANNER = "1dM0PlannerSheetZx1Cv2Bn3Ma4Sd5Fg6Hj7Kl8Qw9E"
MA = "1mAcL1entTrackerPz8Wq2Er4Ty6Ui1Op3As5Df7Gh9Jk"


class Box:
    def __init__(self, token: str = "test-token") -> None:
        self.log, self.faults = RequestLog(), FaultPlan()
        self.standin = SheetsStandIn(load_scenario(DEMO)["sheets"], self.log, self.faults)
        self.port = self.standin.start()
        self.api = self.client(token)

    def client(self, token: str | None) -> Any:
        options = {"api_endpoint": f"http://127.0.0.1:{self.port}/"}
        if token is None:  # no credentials at all: no Authorization header
            return build(
                "sheets", "v4", http=httplib2.Http(), static_discovery=True, client_options=options
            )
        creds = google.oauth2.credentials.Credentials(token=token)
        # a fixed token cannot be refreshed: let a 401 surface instead of a refresh attempt
        authed = google_auth_httplib2.AuthorizedHttp(creds, refresh_status_codes=())
        return build("sheets", "v4", http=authed, static_discovery=True, client_options=options)

    def values(self, sid: str, rng: str, **kw: Any) -> list[list[Any]]:
        body = self.api.spreadsheets().values().get(spreadsheetId=sid, range=rng, **kw).execute()
        return body.get("values", [])


@pytest.fixture
def box() -> Iterator[Box]:
    b = Box()
    yield b
    b.standin.stop()


def error_of(exc: HttpError) -> dict[str, Any]:
    return json.loads(exc.content)["error"]


def test_get_lists_tabs_with_numeric_sheet_ids(box: Box) -> None:
    book = (
        box.api.spreadsheets()
        .get(spreadsheetId=MA, fields="properties.title,sheets.properties")
        .execute()
    )
    assert book["properties"]["title"] == "MA Client Tracker"
    assert [(s["properties"]["title"], s["properties"]["sheetId"]) for s in book["sheets"]] == [
        ("MA Clients", 0),
        ("Archive", 731902245),
    ]


def test_get_answers_only_the_fields_asked(box: Box) -> None:
    """A partial response, as Google's: `fields` selects, down to each list element."""
    book = (
        box.api.spreadsheets()
        .get(spreadsheetId=MA, fields="properties.title,sheets.properties(sheetId,title)")
        .execute()
    )
    assert book == {
        "properties": {"title": "MA Client Tracker"},
        "sheets": [
            {"properties": {"sheetId": 0, "title": "MA Clients"}},
            {"properties": {"sheetId": 731902245, "title": "Archive"}},
        ],
    }
    whole = box.api.spreadsheets().get(spreadsheetId=MA).execute()
    assert whole["spreadsheetId"] == MA and "gridProperties" in whole["sheets"][0]["properties"]


def test_values_batch_get_answers_each_range_in_order(box: Box) -> None:
    """`values.batchGet`: one value range per `ranges`, in the order asked, each as
    `values.get` answers it; a range that does not parse fails the whole request."""
    ranges = ["'Client Tracker'!A1:B3", "'Client Tracker'"]
    body = (
        box.api.spreadsheets()
        .values()
        .batchGet(spreadsheetId=SEM, ranges=ranges, valueRenderOption="FORMULA")
        .execute()
    )
    assert body["spreadsheetId"] == SEM
    assert [len(r["values"]) for r in body["valueRanges"]] == [3, 7]
    whole = box.values(SEM, "'Client Tracker'", valueRenderOption="FORMULA")
    assert body["valueRanges"][1]["values"] == whole
    with pytest.raises(HttpError) as caught:
        box.api.spreadsheets().values().batchGet(
            spreadsheetId=SEM, ranges=["'Client Tracker'", "'No Such Tab'"]
        ).execute()
    assert caught.value.resp.status == 400


@pytest.mark.parametrize(
    "rng,expected",
    [
        ("'Client Tracker'!A:Z", 7),
        ("'Client Tracker'", 7),
        ("'Client Tracker'!A1:B3", 3),
        ("Client Tracker!A2:A", 6),
        ("A1:A2", 2),  # no tab: the first one
    ],
    ids=["quoted-columns", "bare-quoted-tab", "box", "unquoted-open-end", "first-tab"],
)
def test_values_get_understands_a1_ranges(box: Box, rng: str, expected: int) -> None:
    rows = box.values(SEM, rng)
    assert len(rows) == expected


def test_values_get_cuts_to_the_range_and_renders_values(box: Box) -> None:
    assert box.values(SEM, "'Client Tracker'!A4:B4") == [["Lakeside Powersports", "Dana Whitfield"]]
    formatted = box.values(SEM, "'Client Tracker'!D2")
    raw = box.values(SEM, "'Client Tracker'!D2", valueRenderOption="FORMULA")
    assert formatted == [["1500"]] and raw == [[1500]]
    # trailing empty cells are left out, as Sheets does
    assert box.values(MA, "'MA Clients'!A3:E3") == [
        ["Lakeside Powersports", "Mia Chen", "SharpSpring", "2022-06-01"]
    ]


def test_tab_names_with_quotes_are_escaped_by_doubling(box: Box) -> None:
    rows = box.values(PLANNER, "'DMO Lead''s Planner'!A1:A1")
    assert rows == [["Client"]]
    with pytest.raises(HttpError) as exc:
        box.values(PLANNER, "'No Such Tab'!A1")
    assert exc.value.resp.status == 400
    assert error_of(exc.value)["status"] == "INVALID_ARGUMENT"
    assert "Unable to parse range" in error_of(exc.value)["message"]


def test_unknown_spreadsheet_is_404(box: Box) -> None:
    with pytest.raises(HttpError) as exc:
        box.api.spreadsheets().get(spreadsheetId="1nope").execute()
    assert exc.value.resp.status == 404 and error_of(exc.value)["status"] == "NOT_FOUND"


def test_append_inserts_after_the_table(box: Box) -> None:
    body = (
        box.api.spreadsheets()
        .values()
        .append(
            spreadsheetId=PLANNER,
            range="'DMO Lead''s Planner'!A1",
            valueInputOption="RAW",
            insertDataOption="INSERT_ROWS",
            body={"values": [["Lakeside Powersports", "Cancellation", "SEM", "2026-12-01"]]},
        )
        .execute()
    )
    assert body["updates"]["updatedRange"] == "'DMO Lead''s Planner'!A4:D4"
    assert body["updates"]["updatedCells"] == 4
    rows = box.values(PLANNER, "'DMO Lead''s Planner'")
    assert rows[-1] == ["Lakeside Powersports", "Cancellation", "SEM", "2026-12-01"]
    assert len(rows) == 4


def test_value_input_option_is_required_and_user_entered_parses_numbers(box: Box) -> None:
    values = box.api.spreadsheets().values()
    with pytest.raises(HttpError) as exc:
        values.update(
            spreadsheetId=SEM, range="'Client Tracker'!D2", body={"values": [["7"]]}
        ).execute()
    assert exc.value.resp.status == 400 and "valueInputOption" in error_of(exc.value)["message"]
    values.update(
        spreadsheetId=SEM,
        range="'Client Tracker'!D2",
        valueInputOption="USER_ENTERED",
        body={"values": [["1750"]]},
    ).execute()
    values.update(
        spreadsheetId=SEM,
        range="'Client Tracker'!D3",
        valueInputOption="RAW",
        body={"values": [["2300"]]},
    ).execute()
    assert box.values(SEM, "'Client Tracker'!D2:D3", valueRenderOption="FORMULA") == [
        [1750],
        ["2300"],
    ]


def test_update_writes_one_cell(box: Box) -> None:
    body = (
        box.api.spreadsheets()
        .values()
        .update(
            spreadsheetId=MA,
            range="'MA Clients'!E3",
            valueInputOption="RAW",
            body={"range": "'MA Clients'!E3", "values": [["2026-12-01"]]},
        )
        .execute()
    )
    assert body["updatedCells"] == 1 and body["updatedRange"] == "'MA Clients'!E3:E3"
    assert box.values(MA, "'MA Clients'!A3:E3")[0][4] == "2026-12-01"
    assert box.values(MA, "'MA Clients'!E2:E4") == [[], ["2026-12-01"]]


def delete_rows(sheet_id: int, start: int, end: int) -> dict[str, Any]:
    return {
        "deleteDimension": {
            "range": {
                "sheetId": sheet_id,
                "dimension": "ROWS",
                "startIndex": start,
                "endIndex": end,
            }
        }
    }


def test_delete_dimension_shifts_rows_up(box: Box) -> None:
    # 0-based, end exclusive: index 3 is sheet row 4, Lakeside Powersports
    box.api.spreadsheets().batchUpdate(
        spreadsheetId=SEM, body={"requests": [delete_rows(0, 3, 4)]}
    ).execute()
    names = [r[0] for r in box.values(SEM, "'Client Tracker'!A:A")]
    assert names == [
        "Client",
        "Alpine Motorsports",
        "Bayou Boats & RV",
        "Lakeside Powersports North",
        "Harbor Marine Center",
        "Prairie Tractor Supply",
    ]


def test_batch_update_is_atomic(box: Box) -> None:
    before = box.values(SEM, "'Client Tracker'")
    with pytest.raises(HttpError) as exc:
        box.api.spreadsheets().batchUpdate(
            spreadsheetId=SEM, body={"requests": [delete_rows(0, 3, 4), delete_rows(42, 1, 2)]}
        ).execute()
    assert exc.value.resp.status == 400
    assert "requests[1].deleteDimension: No grid with id: 42" in error_of(exc.value)["message"]
    assert box.values(SEM, "'Client Tracker'") == before


@pytest.mark.parametrize(
    "start,end,message",
    [
        (4, 4, "0 <= startIndex < endIndex"),
        (1000, 1001, "Cannot delete a row that doesn't exist"),
        (0, 1000, "can't delete all the rows"),
    ],
    ids=["empty", "beyond-grid", "all-rows"],
)
def test_bad_deletions_are_refused(box: Box, start: int, end: int, message: str) -> None:
    with pytest.raises(HttpError) as exc:
        box.api.spreadsheets().batchUpdate(
            spreadsheetId=SEM, body={"requests": [delete_rows(0, start, end)]}
        ).execute()
    assert message in error_of(exc.value)["message"]


def test_bearer_token_is_required(box: Box) -> None:
    anonymous = box.client(None)
    with pytest.raises(HttpError) as exc:
        anonymous.spreadsheets().get(spreadsheetId=SEM).execute()
    assert exc.value.resp.status == 401 and error_of(exc.value)["status"] == "UNAUTHENTICATED"
    box.standin.access_token = "the-right-one"
    with pytest.raises(HttpError) as exc:
        box.api.spreadsheets().get(spreadsheetId=SEM).execute()
    assert exc.value.resp.status == 401
    assert box.client("the-right-one").spreadsheets().get(spreadsheetId=SEM).execute()


@pytest.mark.parametrize(
    "kind,match,status,reason",
    [
        ("resource_exhausted", {}, 429, "RESOURCE_EXHAUSTED"),
        ("resource_exhausted", {"http_status": "403"}, 403, "PERMISSION_DENIED"),
        ("internal", {}, 500, "INTERNAL"),
        ("unavailable", {}, 503, "UNAVAILABLE"),
    ],
    ids=["429", "403-rate", "500", "503"],
)
def test_faults_use_googles_envelope(
    box: Box, kind: str, match: dict[str, str], status: int, reason: str
) -> None:
    box.faults.add(
        FaultRule(
            kind=kind,
            platform="sheets",
            method="spreadsheets.values.get",
            match=match,
            retry_delay_s=7,
            times=1,
        )
    )
    with pytest.raises(HttpError) as exc:
        box.values(SEM, "'Client Tracker'")
    error = error_of(exc.value)
    assert exc.value.resp.status == status and error["status"] == reason
    if status == 429:
        assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"} in error[
            "details"
        ]
    if status == 403:
        assert error["errors"][0]["reason"] == "rateLimitExceeded"
    assert box.values(SEM, "'Client Tracker'")  # times=1: the next one answers


def test_partial_failure_protects_the_matching_row(box: Box) -> None:
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="sheets",
            match={"resource": "row", "id": "Lakeside Powersports"},
        )
    )
    with pytest.raises(HttpError) as exc:
        box.api.spreadsheets().batchUpdate(
            spreadsheetId=SEM, body={"requests": [delete_rows(0, 1, 2), delete_rows(0, 2, 4)]}
        ).execute()
    assert exc.value.resp.status == 400 and "protected cell" in error_of(exc.value)["message"]
    assert len(box.values(SEM, "'Client Tracker'")) == 7  # nothing deleted: atomic
    box.api.spreadsheets().batchUpdate(
        spreadsheetId=SEM, body={"requests": [delete_rows(0, 1, 2)]}
    ).execute()  # another row: fine
    assert len(box.values(SEM, "'Client Tracker'")) == 6


def test_request_log_names_methods_and_writes(box: Box) -> None:
    box.values(SEM, "'Client Tracker'")
    box.api.spreadsheets().values().update(
        spreadsheetId=MA, range="'MA Clients'!E3", valueInputOption="RAW", body={"values": [["x"]]}
    ).execute()
    entries = [(e.method, e.mutating, e.account) for e in box.log]
    assert entries == [
        ("spreadsheets.values.get", False, SEM),
        ("spreadsheets.values.update", True, MA),
    ]
    assert "test-token" not in json.dumps([vars(e) for e in box.log])


@pytest.mark.parametrize(
    "text,expected",
    [
        ("'It''s'!B2", ("It's", 1, 1, 2, 2)),
        ("'Client Tracker'!A:C", ("Client Tracker", 0, 0, None, 3)),
        ("'Client Tracker'!3:5", ("Client Tracker", 2, 0, 5, None)),
        ("'Client Tracker'!B3:D", ("Client Tracker", 2, 1, None, 4)),
        ("Client Tracker", ("Client Tracker", 0, 0, None, None)),
    ],
    ids=["escaped-quote", "columns", "rows", "open-rows", "bare"],
)
def test_a1_parser(text: str, expected: tuple[Any, ...]) -> None:
    from adoffboard.sandbox.sheets import Grid, Spreadsheet

    book = Spreadsheet("x", "x", [Grid("Client Tracker", 0), Grid("It's", 1)])
    span = parse_range(text, book)
    assert (span.grid.title, span.row0, span.col0, span.row1, span.col1) == expected
