"""The final contact export as files: the CSV, its record, and the check that both still agree.

`<workspace>/exports/<client>-sharpspring-<date>.csv` holds every contact with every field, in a
stable column order (SharpSpring's standard lead fields in their documented order, then every
other field, custom fields included, by name). Next to it, `<same name>.json` records what was
exported: account, row count, SHA-256 of the CSV bytes, columns, when, and to whom it was emailed.
Verify trusts neither file alone: the CSV must still hash to the recorded SHA-256 (of the file
as written) and hold the recorded number of rows. The CSV is UTF-8 with a byte-order mark, so that
spreadsheet programs read accented names correctly.

Contacts are data anyone could type into a form, and the file is opened in a spreadsheet: a cell
beginning with `=`, `+`, `-`, `@`, a tab or a carriage return would run as a formula. As the OWASP
CSV injection guidance says, every such cell gets a leading single quote, with no exception for
numbers: `-2` and a phone number `+1-262-555-0100` become `'-2` and `'+1-262-555-0100` (a
spreadsheet would compute the phone number as arithmetic anyway), and every cell is quoted. The
record says how many cells were neutralised, in which columns, and by which rule, so the Account
Manager knows why those values start with a quote.

The record is also the email's journal, so that the export is emailed at most once:
`mark_sending` writes the intent (when, to whom, the Message-ID) durably before the SMTP exchange
starts, `mark_emailed` the success after it. An intent without a success means the email may have
gone out: the next apply or resume does not send it again, a person decides (`decide_resend`,
`confirm_received`), and each decision is kept in the record.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from adoffboard.files import private_dir, write_private

EXPORTS_DIR = "exports"
RECORD_FORMAT = 2
# OWASP "CSV Injection": cells beginning with these are formulas to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISATION = (
    "OWASP CSV injection: a cell beginning with = + - @ tab or carriage return "
    "is prefixed with a single quote ('); every cell is quoted"
)
# SharpSpring's Lead object, in the order its schema documents the fields.
STANDARD_FIELDS = (
    "id",
    "accountID",
    "ownerID",
    "campaignID",
    "leadStatus",
    "leadScore",
    "leadScoreWeighted",
    "persona",
    "active",
    "firstName",
    "lastName",
    "emailAddress",
    "companyName",
    "title",
    "street",
    "city",
    "state",
    "zipcode",
    "country",
    "website",
    "phoneNumber",
    "officePhoneNumber",
    "phoneNumberExtension",
    "mobilePhoneNumber",
    "faxNumber",
    "industry",
    "description",
    "trackingID",
    "isUnsubscribed",
    "updateTimestamp",
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
    # the intent, journaled before the SMTP exchange starts; cleared when it surely failed
    sending_at: str = ""
    sending_to: tuple[str, ...] = ()
    sending_message_id: str = ""
    sending_note: str = ""  # why the outcome is unknown, when the process saw it happen
    # people's decisions on an email in doubt: {"decision", "by", "at", "message_id", ...}
    decisions: tuple[dict[str, str], ...] = ()
    neutralised_cells: int = 0
    neutralised_columns: dict[str, int] = field(default_factory=dict)
    neutralisation: str = NEUTRALISATION
    problem: str = ""  # set when read back: why the CSV no longer matches this record
    format: int = RECORD_FORMAT

    @property
    def intact(self) -> bool:
        return not self.problem

    @property
    def emailed(self) -> bool:
        return bool(self.emailed_to and self.message_id)

    @property
    def in_doubt(self) -> bool:
        """An email was started and never confirmed: it may have reached the Account Manager."""
        return bool(self.sending_at) and not self.emailed

    @property
    def doubt_reason(self) -> str:
        return self.sending_note or "the process stopped during the SMTP exchange"

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("problem")
        data["columns"] = list(self.columns)
        data["emailed_to"] = list(self.emailed_to)
        data["sending_to"] = list(self.sending_to)
        data["decisions"] = list(self.decisions)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportRecord:
        """A record of any format so far (format 1 had no journal and no neutralisation)."""
        return cls(
            client=data["client"],
            account_id=str(data["account_id"]),
            file=data["file"],
            rows=int(data["rows"]),
            sha256=data["sha256"],
            columns=tuple(data["columns"]),
            exported_at=data["exported_at"],
            emailed_to=tuple(data.get("emailed_to", ())),
            message_id=data.get("message_id", ""),
            emailed_at=data.get("emailed_at", ""),
            sending_at=data.get("sending_at", ""),
            sending_to=tuple(data.get("sending_to", ())),
            sending_message_id=data.get("sending_message_id", ""),
            sending_note=data.get("sending_note", ""),
            decisions=tuple(dict(d) for d in data.get("decisions", ())),
            neutralised_cells=int(data.get("neutralised_cells", 0)),
            neutralised_columns={
                str(k): int(v) for k, v in dict(data.get("neutralised_columns", {})).items()
            },
            neutralisation=data.get(
                "neutralisation", "" if data.get("format", 1) < 2 else NEUTRALISATION
            ),
            format=int(data.get("format", 1)),
        )


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


def neutralise(text: str) -> str:
    """The cell as a spreadsheet shows it as text, never runs it (see the module doc)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class RenderedCsv:
    data: bytes
    columns: tuple[str, ...]
    neutralised: dict[str, int]  # column -> cells given a leading quote


def render_csv(leads: Sequence[Mapping[str, Any]]) -> RenderedCsv:
    columns = columns_for(leads)
    neutralised: Counter[str] = Counter()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    header = [neutralise(c) for c in columns]
    neutralised["(header)"] = sum(1 for h, c in zip(header, columns, strict=True) if h != c)
    writer.writerow(header)
    for lead in leads:
        row = []
        for column in columns:
            raw = _cell(lead.get(column))
            safe = neutralise(raw)
            if safe != raw:
                neutralised[column] += 1
            row.append(safe)
        writer.writerow(row)
    return RenderedCsv(
        out.getvalue().encode("utf-8-sig"),
        columns,
        {c: n for c, n in sorted(neutralised.items()) if n},
    )


def count_rows(data: bytes) -> int:
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return max(sum(1 for _ in reader) - 1, 0)


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, on disk before returning (0600, in a 0700 folder): the record
    is a journal, and an intent that a crash could lose would let the next run send the email a
    second time."""
    write_private(path, data)


def exports_dir(workspace_root: Path) -> Path:
    return workspace_root / EXPORTS_DIR


def write_export(
    workspace_root: Path,
    client: str,
    account_id: str,
    date: str,
    now: str,
    leads: Sequence[Mapping[str, Any]],
) -> tuple[ExportRecord, bytes]:
    folder = exports_dir(workspace_root)
    private_dir(folder)
    rendered = render_csv(leads)
    name = f"{client}-sharpspring-{date}.csv"
    _write_atomically(folder / name, rendered.data)
    record = ExportRecord(
        client,
        account_id,
        name,
        len(leads),
        hashlib.sha256(rendered.data).hexdigest(),
        rendered.columns,
        now,
        neutralised_cells=sum(rendered.neutralised.values()),
        neutralised_columns=rendered.neutralised,
    )
    save_record(workspace_root, record)
    return record, rendered.data


def save_record(workspace_root: Path, record: ExportRecord) -> Path:
    path = exports_dir(workspace_root) / (record.file.removesuffix(".csv") + ".json")
    _write_atomically(path, record.to_json().encode("utf-8"))
    return path


def mark_sending(
    workspace_root: Path, record: ExportRecord, to: tuple[str, ...], message_id: str, at: str
) -> ExportRecord:
    """Journal the intent to email the export, durably, before the SMTP exchange starts."""
    sending = replace(
        record,
        sending_at=at,
        sending_to=to,
        sending_message_id=message_id,
        sending_note="",
        emailed_to=(),
        message_id="",
        emailed_at="",
    )
    save_record(workspace_root, sending)
    return sending


def mark_in_doubt(workspace_root: Path, record: ExportRecord, note: str) -> ExportRecord:
    """Keep the intent, with what the process saw (the server's answer never came)."""
    doubtful = replace(record, sending_note=note)
    save_record(workspace_root, doubtful)
    return doubtful


def mark_not_sent(workspace_root: Path, record: ExportRecord) -> ExportRecord:
    """Drop the intent: the server refused the message or was never reached, so it did not go."""
    cleared = replace(record, sending_at="", sending_to=(), sending_message_id="", sending_note="")
    save_record(workspace_root, cleared)
    return cleared


def mark_emailed(
    workspace_root: Path, record: ExportRecord, to: tuple[str, ...], message_id: str, at: str
) -> ExportRecord:
    done = replace(record, emailed_to=to, message_id=message_id, emailed_at=at)
    save_record(workspace_root, done)
    return done


def decide_resend(workspace_root: Path, record: ExportRecord, by: str, at: str) -> ExportRecord:
    """A person's decision to send the export again, kept before the new attempt starts."""
    decision = {
        "decision": "resend",
        "by": by,
        "at": at,
        "in_doubt_since": record.sending_at,
        "in_doubt_message_id": record.sending_message_id,
    }
    decided = replace(record, decisions=(*record.decisions, decision))
    save_record(workspace_root, decided)
    return decided


def confirm_received(workspace_root: Path, record: ExportRecord, by: str, at: str) -> ExportRecord:
    """A person checked with the Account Manager: the email in doubt did arrive."""
    decision = {
        "decision": "received",
        "by": by,
        "at": at,
        "in_doubt_since": record.sending_at,
        "in_doubt_message_id": record.sending_message_id,
    }
    done = replace(
        record,
        decisions=(*record.decisions, decision),
        emailed_to=record.sending_to,
        message_id=record.sending_message_id,
        emailed_at=record.sending_at,
    )
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
        return replace(
            record,
            problem=f"{EXPORTS_DIR}/{record.file} changed since the export "
            f"(sha256 {digest[:12]}, recorded {record.sha256[:12]})",
        )
    rows = count_rows(data)
    if rows != record.rows:
        return replace(
            record, problem=f"{EXPORTS_DIR}/{record.file} has {rows} rows, recorded {record.rows}"
        )
    return record


def latest_record(workspace_root: Path, client: str, account_id: str) -> ExportRecord | None:
    """The newest export of this client's account, checked against its CSV."""
    found: list[ExportRecord] = []
    for path in sorted(exports_dir(workspace_root).glob(f"{client}-sharpspring-*.json")):
        try:
            record = ExportRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not one of ours, or damaged: the verify pass reports a missing export
        if record.account_id == account_id:
            found.append(record)
    if not found:
        return None
    newest = max(found, key=lambda r: r.exported_at)
    return check_file(workspace_root, newest)
