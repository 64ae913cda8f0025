"""The final contact export as files: the CSV, its record, and the check that both still agree.

`<workspace>/exports/<client>-sharpspring-<date>.csv` holds every contact with every field, in a
stable column order (SharpSpring's standard lead fields in their documented order, then every
other field, custom fields included, by name). Next to it, `<same name>.json` records what was
exported: account, row count, SHA-256 of the CSV bytes, columns, when, and to whom it was emailed.
Verify trusts neither file alone: the CSV must still hash to the recorded SHA-256 and hold the
recorded number of rows. The CSV is UTF-8 with a byte-order mark, so that spreadsheet programs
read accented names correctly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from adoffboard.files import private_dir, write_private

EXPORTS_DIR = "exports"
RECORD_FORMAT = 1
# SharpSpring's Lead object, in the order its schema documents the fields.
STANDARD_FIELDS = (
    "id", "accountID", "ownerID", "campaignID", "leadStatus", "leadScore", "leadScoreWeighted",
    "persona", "active", "firstName", "lastName", "emailAddress", "companyName", "title",
    "street", "city", "state", "zipcode", "country", "website", "phoneNumber",
    "officePhoneNumber", "phoneNumberExtension", "mobilePhoneNumber", "faxNumber", "industry",
    "description", "trackingID", "isUnsubscribed", "updateTimestamp",
)


@dataclass(frozen=True)
class ExportRecord:
    client: str
    account_id: str
    file: str  # the CSV's name, in the exports folder
    rows: int
    sha256: str
    columns: tuple[str, ...]
    exported_at: str
    emailed_to: tuple[str, ...] = ()
    message_id: str = ""
    emailed_at: str = ""
    problem: str = ""  # set when read back: why the CSV no longer matches this record
    format: int = RECORD_FORMAT

    @property
    def intact(self) -> bool:
        return not self.problem

    @property
    def emailed(self) -> bool:
        return bool(self.emailed_to and self.message_id)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("problem")
        data["columns"] = list(self.columns)
        data["emailed_to"] = list(self.emailed_to)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def columns_for(leads: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    seen: set[str] = set()
    for lead in leads:
        seen.update(lead)
    standard = [f for f in STANDARD_FIELDS if f in seen]
    return tuple(standard + sorted(seen - set(STANDARD_FIELDS)))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def render_csv(leads: list[Mapping[str, Any]]) -> tuple[bytes, tuple[str, ...]]:
    columns = columns_for(leads)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for lead in leads:
        writer.writerow([_cell(lead.get(c)) for c in columns])
    return out.getvalue().encode("utf-8-sig"), columns


def count_rows(data: bytes) -> int:
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return max(sum(1 for _ in reader) - 1, 0)


def _write_atomically(path: Path, data: bytes) -> None:
    write_private(path, data)  # the contacts are the client's: 0600, in a 0700 folder


def exports_dir(workspace_root: Path) -> Path:
    return workspace_root / EXPORTS_DIR


def write_export(workspace_root: Path, client: str, account_id: str, date: str, now: str,
                 leads: list[Mapping[str, Any]]) -> tuple[ExportRecord, bytes]:
    folder = exports_dir(workspace_root)
    private_dir(folder)
    data, columns = render_csv(leads)
    name = f"{client}-sharpspring-{date}.csv"
    _write_atomically(folder / name, data)
    record = ExportRecord(client, account_id, name, len(leads),
                          hashlib.sha256(data).hexdigest(), columns, now)
    save_record(workspace_root, record)
    return record, data


def save_record(workspace_root: Path, record: ExportRecord) -> Path:
    path = exports_dir(workspace_root) / (record.file.removesuffix(".csv") + ".json")
    _write_atomically(path, record.to_json().encode("utf-8"))
    return path


def mark_emailed(workspace_root: Path, record: ExportRecord, to: tuple[str, ...],
                 message_id: str, at: str) -> ExportRecord:
    done = replace(record, emailed_to=to, message_id=message_id, emailed_at=at)
    save_record(workspace_root, done)
    return done


def check_file(workspace_root: Path, record: ExportRecord) -> ExportRecord:
    """The record with `problem` set if its CSV is missing or no longer what was recorded."""
    path = exports_dir(workspace_root) / record.file
    try:
        data = path.read_bytes()
    except OSError:
        return replace(record, problem=f"{EXPORTS_DIR}/{record.file} is missing")
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.sha256:
        return replace(record, problem=f"{EXPORTS_DIR}/{record.file} changed since the export "
                                       f"(sha256 {digest[:12]}, recorded {record.sha256[:12]})")
    rows = count_rows(data)
    if rows != record.rows:
        return replace(record, problem=f"{EXPORTS_DIR}/{record.file} has {rows} rows, "
                                       f"recorded {record.rows}")
    return record


def latest_record(workspace_root: Path, client: str, account_id: str) -> ExportRecord | None:
    """The newest export of this client's account, checked against its CSV."""
    found: list[ExportRecord] = []
    for path in sorted(exports_dir(workspace_root).glob(f"{client}-sharpspring-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = ExportRecord(
                client=data["client"], account_id=str(data["account_id"]), file=data["file"],
                rows=int(data["rows"]), sha256=data["sha256"], columns=tuple(data["columns"]),
                exported_at=data["exported_at"], emailed_to=tuple(data.get("emailed_to", ())),
                message_id=data.get("message_id", ""), emailed_at=data.get("emailed_at", ""),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not one of ours, or damaged: the verify pass reports a missing export
        if record.account_id == account_id:
            found.append(record)
    if not found:
        return None
    newest = max(found, key=lambda r: r.exported_at)
    return check_file(workspace_root, newest)
