"""Read change requests exported from the CRM: CSV (one header row) or JSON (a list of objects,
or `{"change_requests": [...]}`).

Columns / keys are the fields of `adoffboard cr new` (`client, type, departments, scope,
effective_date, pause_end_date, credit_amount, monthly_total, campaign_budgets, addendum_ref,
notes, escalated_to, crm_ref`) plus `created_by` (a person key; default: the importing person).
`escalated_to` is retention, team-lead, department-manager or empty; the yes/no `escalated` of
older exports is still read (yes: the Retention team).
Headers are matched without regard to case, spaces or dashes. Row N is the Nth record (the CSV
header is not counted). Validation is the service's: every bad row is reported, none imported.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from adoffboard.cr.validate import KNOWN_FIELDS
from adoffboard.errors import InputError

COLUMNS = (*KNOWN_FIELDS, "created_by")


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: export it from the CRM as UTF-8") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path, text)
    if suffix == ".json":
        return _json_rows(path, text)
    raise InputError(f"{path}: cr import reads .csv or .json exports")


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(
            f"{path} is empty: expected a header row and one row per request"
        ) from None
    except csv.Error as exc:
        raise InputError(f"{path}: not valid CSV: {exc}") from None
    keys = [_key(h) for h in header]
    unknown = [h for h, k in zip(header, keys, strict=True) if k not in COLUMNS]
    if unknown:
        raise InputError(
            f"{path}: header: unknown column(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(COLUMNS)})"
        )
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InputError(f"{path}: header: column(s) {', '.join(dupes)} appear twice")
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(keys):
                cells = (cells + [""] * len(keys))[: len(keys)] if len(cells) < len(keys) else cells
            row = dict(zip(keys, cells, strict=False))
            if len(cells) > len(keys):
                row["(extra cells)"] = ",".join(cells[len(keys) :])
            rows.append((number, row))
    except csv.Error as exc:
        raise InputError(f"{path}: not valid CSV: {exc}") from None
    return rows


def _json_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON (line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("change_requests"), list):
        data = data["change_requests"]
    if not isinstance(data, list):
        raise InputError(
            f'{path}: expected a list of change requests (or {{"change_requests": [...]}})'
        )
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((number, {"(row)": item}))
            continue
        rows.append((number, {_key(k): v for k, v in item.items()}))
    return rows
