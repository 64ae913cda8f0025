"""Google Sheets trackers: the state read from the tabs, and the pure planning and judging of
`remove_row`, `append_row` and `set_cell`.

A tracker is one tab whose first row holds the column headers; the client's rows are those whose
key column holds the client's key (the manifest's `trackers.<name>`, else the client's name),
compared without regard to case or repeated spaces. Row numbers are the sheet's (1-based, header
at row 1); they are shown in plans but never used to write: rows shift, so apply locates every
row again in a fresh read (`locate_rows`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adoffboard.connectors.base import StepContext, StepDraft, Verdict
from adoffboard.connectors.sheets.declaration import SheetsTracker, template_fields
from adoffboard.errors import InputError
from adoffboard.models import Change, CheckStatus, Phase

PLATFORM = "sheets"
HEADER_ROWS = 1
SCOPE_TEXT = {"dm": "Digital marketing services only", "platform": "Leaving the platform"}
DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d-%b-%Y",
)


def norm(value: Any) -> str:
    return " ".join(str(value if value is not None else "").split()).casefold()


def as_date(value: Any) -> dt.date | None:
    text = str(value or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def same_value(live: Any, wanted: Any) -> bool:
    """Whether a cell already says `wanted`: equal text, or the same (US-formatted) date.

    A date written as 2026-12-01 may read back as 12/1/2026 when the sheet formats it.
    """
    if norm(live) == norm(wanted):
        return True
    a, b = as_date(live), as_date(wanted)
    return a is not None and a == b


def show(value: Any) -> str:
    return "(empty)" if value in (None, "") else str(value)


# --- state ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientFacts:
    name: str
    slug: str
    departments: tuple[str, ...]
    account_manager: str
    account_manager_email: str


@dataclass(frozen=True)
class Tab:
    """One tracker's tab as read: its headers and its data rows (sheet row = index + 2)."""

    tracker: str
    config: SheetsTracker
    spreadsheet_title: str
    sheet_id: int
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    key: str  # the client's key in this tracker

    @property
    def label(self) -> str:
        return f"{self.spreadsheet_title} / {self.config.tab}"

    def column(self, header: str) -> int | None:
        wanted = norm(header)
        return next((i for i, h in enumerate(self.headers) if norm(h) == wanted), None)

    def cell(self, index: int, column: int) -> Any:
        row = self.rows[index]
        return row[column] if column < len(row) else ""

    def client_rows(self) -> list[int]:
        """Data indexes of the rows whose key column holds the client."""
        col = self.column(self.config.key_column)
        if col is None:
            return []
        return [i for i in range(len(self.rows)) if norm(self.cell(i, col)) == norm(self.key)]

    def values(self, index: int) -> dict[str, Any]:
        return {h: self.cell(index, c) for c, h in enumerate(self.headers) if h}

    @staticmethod
    def sheet_row(index: int) -> int:
        return index + HEADER_ROWS + 1


@dataclass(frozen=True)
class SheetsState:
    client: ClientFacts
    tabs: Mapping[str, Tab]
    read_at: dt.datetime
    reachable: bool = True
    # configured trackers left unread: the runbook names none of them (`ConnectorContext.uses`)
    skipped: frozenset[str] = frozenset()

    def tab(self, params: Mapping[str, Any]) -> Tab:
        name = params.get("tracker")
        if not name:
            raise InputError("a sheets step needs params.tracker (e.g. client_tracker)")
        if name in self.skipped:
            raise InputError(
                f"tracker {name!r} was not read: the runbook's steps on Google Sheets name "
                "other trackers"
            )
        if name not in self.tabs:
            raise InputError(
                f"tracker {name!r} is not configured: add "
                f"[platforms.sheets.trackers.{name}] to adoffboard.toml"
            )
        return self.tabs[name]


def describe(values: Mapping[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in values.items() if v not in (None, "")]
    return "; ".join(shown) or "(empty row)"


# --- values from the plan ------------------------------------------------------------------------


def fields(state: SheetsState, tab: Tab, ctx: StepContext) -> dict[str, str]:
    """What templates may use, from the client and the plan's context."""
    process = ctx.process or "cancellation"
    effective = ctx.effective_date or state.read_at.date().isoformat()
    c = state.client
    return {
        "client": tab.key,
        "client_slug": c.slug,
        "departments": ", ".join(c.departments),
        "account_manager": c.account_manager,
        "account_manager_email": c.account_manager_email,
        "effective_date": str(effective),
        "process": process,
        "type": process.capitalize(),
        "scope": SCOPE_TEXT.get(ctx.scope or "dm", ctx.scope),
        "department": ctx.department,
        "runbook": ctx.runbook,
        "pause_end": ctx.pause_end,
        "change_request": ctx.change_request,
    }


def render(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(values)


def match_columns(config: SheetsTracker) -> list[str]:
    if config.match_columns:
        return list(config.match_columns)
    identity = {"effective_date", "process", "type", "department"}
    return [config.key_column] + [
        h
        for h, t in config.append.items()
        if norm(h) != norm(config.key_column) and identity & set(template_fields(t))
    ]


def find_appended(tab: Tab, wanted: Mapping[str, Any]) -> int | None:
    """The data index of a row that already records this change, if any."""
    keys = [
        h
        for h in match_columns(tab.config)
        if h in wanted or norm(h) == norm(tab.config.key_column)
    ]
    for index in tab.client_rows():
        if all(
            same_value(tab.cell(index, col), wanted.get(h, tab.key))
            for h in keys
            if (col := tab.column(h)) is not None
        ):
            return index
    return None


# --- planning (pure) -----------------------------------------------------------------------------


def _change(tab: Tab, step_id: str, suffix: str, entity: str, **kw: Any) -> Change:
    return Change(
        id=f"{PLATFORM}:{tab.tracker}:{suffix}",
        step_id=step_id,
        platform=PLATFORM,
        account=tab.config.spreadsheet_id,
        entity_id=f"{tab.tracker}:{entity}",
        name=f"{tab.label}: {tab.key}",
        phase=Phase.VISIBILITY,
        **kw,
    )


def plan_remove(
    state: SheetsState, params: Mapping[str, Any], step_id: str, ctx: StepContext
) -> StepDraft:
    tab = state.tab(params)
    rows = tab.client_rows()
    if not rows:
        return StepDraft(notes=(f"{tab.label}: no row for {tab.key!r}: nothing to remove",))
    changes = []
    for n, index in enumerate(rows, start=1):
        values = tab.values(index)
        row = tab.sheet_row(index)
        changes.append(
            _change(
                tab,
                step_id,
                f"row:{tab.key}#{n}",
                f"{tab.key}#{n}",
                entity_type="row",
                field="row",
                before={"row": row, "values": values},
                after=None,
                shown_before=f"row {row}: {describe(values)}",
                shown_after="(row deleted)",
                resource=f"spreadsheets/{tab.config.spreadsheet_id}/sheets/{tab.sheet_id}#row{row}",
            )
        )
    notes = (
        (f"{tab.label}: {len(rows)} rows hold {tab.key!r}: all are removed",)
        if len(rows) > 1
        else ()
    )
    return StepDraft(tuple(changes), notes=notes)


def appended_values(state: SheetsState, tab: Tab, ctx: StepContext) -> dict[str, str]:
    if not tab.config.append:
        raise InputError(
            f"tracker {tab.tracker!r} has no `append` columns: add "
            f"[platforms.sheets.trackers.{tab.tracker}.append] to adoffboard.toml"
        )
    values = fields(state, tab, ctx)
    return {header: render(t, values) for header, t in tab.config.append.items()}


def plan_append(
    state: SheetsState, params: Mapping[str, Any], step_id: str, ctx: StepContext
) -> StepDraft:
    tab = state.tab(params)
    wanted = appended_values(state, tab, ctx)
    existing = find_appended(tab, wanted)
    if existing is not None:
        return StepDraft(
            notes=(
                f"{tab.label}: row {tab.sheet_row(existing)} already records "
                f"this {fields(state, tab, ctx)['process']}",
            )
        )
    f = fields(state, tab, ctx)
    return StepDraft(
        (
            _change(
                tab,
                step_id,
                f"append:{tab.key}:{f['process']}:{f['effective_date']}",
                f"{tab.key}:{f['process']}:{f['effective_date']}",
                entity_type="row",
                field="row",
                before=None,
                after={"values": wanted},
                shown_before="(no row for this change)",
                shown_after=f"new row: {describe(wanted)}",
                resource=f"spreadsheets/{tab.config.spreadsheet_id}/sheets/{tab.sheet_id}",
            ),
        )
    )


def cell_target(
    state: SheetsState, tab: Tab, params: Mapping[str, Any], ctx: StepContext
) -> tuple[str, str]:
    """(column header, value to write) from params `cell` (a tracker's named cell) or
    `column` + `value` (a template)."""
    spec = tab.config.cells.get(str(params.get("cell", "")))
    if params.get("cell") and spec is None:
        raise InputError(
            f"tracker {tab.tracker!r} has no cell {params['cell']!r}: add it to "
            f"[platforms.sheets.trackers.{tab.tracker}.cells]"
        )
    column = params.get("column") or (spec.column if spec else "")
    template = params.get("value", spec.value if spec else None)
    if not column or template is None:
        raise InputError("set_cell needs params.cell, or params.column and params.value")
    return str(column), render(str(template), fields(state, tab, ctx))


def plan_set(
    state: SheetsState, params: Mapping[str, Any], step_id: str, ctx: StepContext
) -> StepDraft:
    tab = state.tab(params)
    column, after = cell_target(state, tab, params, ctx)
    col = tab.column(column)
    if col is None:
        raise InputError(f"{tab.label} has no column {column!r} (headers: {list(tab.headers)})")
    rows = tab.client_rows()
    if not rows:
        return StepDraft(notes=(f"{tab.label}: no row for {tab.key!r}: nothing to update",))
    changes = []
    for n, index in enumerate(rows, start=1):
        before = tab.cell(index, col)
        if same_value(before, after):
            continue
        row = tab.sheet_row(index)
        changes.append(
            _change(
                tab,
                step_id,
                f"cell:{tab.key}#{n}:{column}",
                f"{tab.key}#{n}",
                entity_type="cell",
                field=column,
                before=before,
                after=after,
                shown_before=f"row {row} {column}: {show(before)}",
                shown_after=show(after),
                resource=f"spreadsheets/{tab.config.spreadsheet_id}/sheets/{tab.sheet_id}#row{row}",
            )
        )
    return StepDraft(tuple(changes))


PLANNERS = {"remove_row": plan_remove, "append_row": plan_append, "set_cell": plan_set}


# --- locating rows again at apply time -----------------------------------------------------------


@dataclass(frozen=True)
class Located:
    index: int | None  # the fresh data index to act on; None: nothing to do
    drift: str = ""  # why the row was left alone
    live: Any = None


def locate_rows(tab: Tab, changes: Sequence[Change]) -> dict[str, Located]:
    """Where each planned row removal stands in a fresh read of the tab.

    A row still holding the client is removed wherever it is now (rows shift); the planned row
    number only breaks ties. No row holding the client: if a row with the planned content now
    names someone else in the key column, that is drift (left alone); otherwise the row is gone.
    """
    free = tab.client_rows()
    key_col = tab.column(tab.config.key_column)
    out: dict[str, Located] = {}
    for ch in sorted(changes, key=lambda c: c.before["row"]):
        planned = ch.before["values"]
        if free:
            same = [i for i in free if tab.values(i) == planned]
            pick = min(same or free, key=lambda i: abs(tab.sheet_row(i) - ch.before["row"]))
            free.remove(pick)
            out[ch.id] = Located(pick, live=tab.values(pick))
            continue
        others = {h: v for h, v in planned.items() if norm(h) != norm(tab.config.key_column)}
        renamed = [
            i
            for i in range(len(tab.rows))
            if any(v not in ("", None) for v in others.values())
            and all(same_value(tab.values(i).get(h, ""), v) for h, v in others.items())
        ]
        if renamed and key_col is not None:
            live = tab.cell(renamed[0], key_col)
            out[ch.id] = Located(
                None,
                live=live,
                drift=(
                    f"row {tab.sheet_row(renamed[0])} now reads {live!r} in "
                    f"{tab.config.key_column}, not {tab.key!r}: left alone"
                ),
            )
        else:
            out[ch.id] = Located(None)
    return out


# --- judging -------------------------------------------------------------------------------------


def verify_step(
    action: str, state: SheetsState, params: Mapping[str, Any], ctx: StepContext
) -> Verdict:
    tab = state.tab(params)
    rows = tab.client_rows()
    if action == "remove_row":
        if rows:
            return Verdict(
                CheckStatus.FAIL,
                f"{tab.label} still lists {tab.key!r}",
                tuple(f"row {tab.sheet_row(i)}: {describe(tab.values(i))}" for i in rows),
            )
        return Verdict(
            CheckStatus.PASS,
            f"{tab.label} no longer lists {tab.key!r} ({len(tab.rows)} rows checked)",
        )
    if action == "append_row":
        wanted = appended_values(state, tab, ctx)
        found = find_appended(tab, wanted)
        if found is None:
            return Verdict(
                CheckStatus.FAIL, f"{tab.label} has no row for {tab.key!r} with {describe(wanted)}"
            )
        return Verdict(
            CheckStatus.PASS,
            f"{tab.label} row {tab.sheet_row(found)} records it",
            (describe(tab.values(found)),),
        )
    if action == "set_cell":
        column, after = cell_target(state, tab, params, ctx)
        if not rows:
            return Verdict(
                CheckStatus.PASS, f"{tab.label} no longer lists {tab.key!r}: no row left to update"
            )
        col = tab.column(column)
        wrong = [i for i in rows if col is None or not same_value(tab.cell(i, col), after)]
        if wrong:
            return Verdict(
                CheckStatus.FAIL,
                f"{tab.label} {column} is not {after!r}",
                tuple(
                    f"row {tab.sheet_row(i)}: {show(tab.cell(i, col) if col is not None else None)}"
                    for i in wrong
                ),
            )
        return Verdict(CheckStatus.PASS, f"{tab.label} {column} is {after!r} for {tab.key!r}")
    raise InputError(f"sheets has no action {action!r}")
