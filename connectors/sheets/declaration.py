"""Google Sheets trackers, declared: their actions, `[platforms.sheets]` (the trackers, their
templates) and the manifest's `trackers` (a client's key in each tracker, when not its name).

FACTS the connector relies on, each with the vendor page it comes from:

- Rows are appended with `spreadsheets.values.append` and deleted with a `batchUpdate`
  `deleteDimension` request on the numeric sheetId, 0-based, end exclusive
  (https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/append,
  .../v4/spreadsheets/request#DeleteDimensionRequest).
- Rows shift whenever someone edits the sheet: the row is read again right before it is deleted
  and must still hold the client (https://developers.google.com/sheets/api/guides/values).
- Per-minute read and write quotas answer 429 (`RESOURCE_EXHAUSTED`); Google asks for truncated
  exponential back-off (https://developers.google.com/sheets/api/limits).
- `spreadsheets.values.batchGet` reads several ranges of one spreadsheet in one request; its
  `valueRanges` come in the order of the requested `ranges`; `fields` on `spreadsheets.get`
  limits the reply to the fields named
  (https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/batchGet,
  https://developers.google.com/workspace/sheets/api/guides/performance#partial-response).
- Cell values come back as the sheet shows them unless `valueRenderOption` says otherwise; dates
  are compared as the sheet formats them
  (https://developers.google.com/sheets/api/reference/rest/v4/ValueRenderOption).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from adoffboard.connectors.declare import (
    GOOGLE_REST_SDK,
    ActionSpec,
    Attempts,
    Declaration,
    GoogleUserOAuth,
    ManifestSection,
    SecretRef,
    SettingsModel,
    TimeoutSeconds,
)
from adoffboard.models import Phase

# Values a Google Sheets tracker row may be written from: `{name}` placeholders in templates.
SHEETS_FIELDS = {
    "client": "the client's name (or its per-tracker key from the manifest's `trackers`)",
    "client_slug": "the manifest's slug",
    "departments": "the client's departments, e.g. 'SEM, MA'",
    "account_manager": "the Account Manager's name",
    "account_manager_email": "the Account Manager's email",
    "effective_date": "the plan's effective date (YYYY-MM-DD)",
    "process": "the runbook's process: cancellation, pause, unpause or addendum",
    "type": "the process as a title: Cancellation, Pause, ...",
    "scope": "'Digital marketing services only' or 'Leaving the platform'",
    "department": "the runbook's department (SEM or MA)",
    "runbook": "the runbook's name",
    "pause_end": "the pause end date, when the plan has one",
    "change_request": "the change request's id, when the plan has one",
}


def template_fields(template: str) -> list[str]:
    """The `{name}` placeholders of a template; ValueError when it is malformed."""
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _check_template(template: str) -> str:
    try:
        names = template_fields(template)
    except ValueError as exc:
        raise ValueError(f"malformed template {template!r}: {exc}") from None
    unknown = sorted(set(names) - set(SHEETS_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {unknown} in {template!r}; known: {sorted(SHEETS_FIELDS)}"
        )
    return template


class SheetCell(SettingsModel):
    column: str = Field(min_length=1)  # the header of the column, as written in row 1
    value: str  # a template, e.g. "{effective_date}" or "Paused"

    _value = field_validator("value")(lambda cls, v: _check_template(v))


class SheetsTracker(SettingsModel):
    """One tracker: a tab of a spreadsheet whose first row holds the column headers."""

    spreadsheet_id: str = Field(min_length=1)
    tab: str = Field(min_length=1)
    key_column: str = "Client"  # the header of the column that names the client
    expected_title: str = ""  # when set, the spreadsheet's title must match before anything
    append: dict[str, str] = Field(default_factory=dict)  # header -> template, for append_row
    # the columns that make an appended row "this client's row for this change"; default: the
    # key column and every appended column written from {effective_date}, {process}, {type} or
    # {department}
    match_columns: list[str] = Field(default_factory=list)
    cells: dict[str, SheetCell] = Field(default_factory=dict)  # name -> cell, for set_cell
    value_input: Literal["RAW", "USER_ENTERED"] = "RAW"

    @field_validator("append")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            _check_template(template)
        return value


class SheetsSettings(GoogleUserOAuth):
    endpoint: str = ""  # e.g. http://127.0.0.1:8080/ for the sandbox; empty: Google's
    access_token: SecretRef = ""
    credentials_file: str = ""  # a service-account key file: a path, or env:NAME holding one
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5
    trackers: dict[str, SheetsTracker] = Field(default_factory=dict)


DECLARATION = Declaration(
    platform="sheets",
    title="Google Sheets",
    module="adoffboard.connectors.sheets.connector",
    cls="SheetsConnector",
    settings=SheetsSettings,
    actions={
        "remove_row": ActionSpec("delete the client's row(s) from a tracker", Phase.VISIBILITY),
        "append_row": ActionSpec(
            "append the client's row for this change to a tracker", Phase.VISIBILITY
        ),
        "set_cell": ActionSpec("write one cell of the client's row in a tracker", Phase.VISIBILITY),
    },
    manifest_key="trackers",
    manifest=(ManifestSection("trackers", annotation=dict[str, str]),),
    restorable=True,
    restorable_entities=frozenset({"cell"}),  # set_cell; rows removed or appended are not
    sdk=GOOGLE_REST_SDK,
)


def client_keys(manifest: object) -> dict[str, str]:
    """The manifest's `trackers`: the client's key in each tracker, when not its name."""
    keys = getattr(manifest, "trackers", None)
    return dict(keys) if isinstance(keys, dict) else {}
