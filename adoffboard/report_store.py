"""Plan, run and verify reports kept in the state store, so that anyone on the team reads the same
report (the web console) instead of a file on the laptop that made it.

A report holds what no other table keeps (the round trips of each platform, the plan of a dry run
that never became a run, the verdict the run's report carried), so the document it was rendered
from (`Report`, as plain JSON) is kept when the report is made, beside the files
(`save_reports`). Rendering on read uses the same templates as the files
(`adoffboard.report_render`), so the page and the file say the same thing.

Nothing read back is trusted blindly: every row carries an HMAC-SHA256 over its identifying columns
and its document, keyed by a key derived from the store's plan-signing secret (which never leaves
the store). A row edited in the database, or moved to another run, is refused with a one-line
StoreError; so is a document whose plan no longer matches its own hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text, insert, select

from adoffboard import signing
from adoffboard.database import metadata
from adoffboard.errors import InputError, NotFound, StoreError
from adoffboard.models import (
    Check,
    CheckStatus,
    Outcome,
    OutcomeStatus,
    Plan,
    Report,
    ReportKind,
    with_members,
)
from adoffboard.report_render import html_of
from adoffboard.report_view import ReportView

DOCUMENT_FORMAT = "adoffboard-report-document/1"
KINDS = ("plan", "run", "verify")

# --- Table (mirrors migrations/versions/0008_reports.py) --------------------------------------

reports_t = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("client", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("plan_id", String(200), nullable=False),
    Column("run_id", String(40), nullable=True),
    Column("verification_id", Integer, nullable=True),
    Column("made_at", String(40), nullable=False),
    Column("made_by", String(200), nullable=False),
    Column("document", Text, nullable=False),
    Column("mac", String(128), nullable=False),
    Index("ix_reports_run", "run_id", "id"),
    Index("ix_reports_verification", "verification_id"),
    Index("ix_reports_plan", "plan_id", "id"),
)


@dataclass(frozen=True)
class KeptReport:
    """One kept report, as listed (its document is read, and checked, by `kept_report`)."""

    id: int
    kind: str
    client: str
    runbook: str
    plan_id: str
    run_id: str
    verification_id: int | None
    made_at: str
    made_by: str


# --- Keeping --------------------------------------------------------------------------------


def save_reports(
    report: Report, directory: Path, store: Any, *, made_by: str = ""
) -> dict[str, Path]:
    """Write the report's files (`adoffboard.reports.write_reports`) and keep it in the store.

    The files come first: a store that cannot take the report leaves them whole, and the error
    (a StoreError) is the caller's to show."""
    from adoffboard.reports import write_reports

    paths = write_reports(report, directory)
    keep_report(store, report, made_by=made_by)
    return paths


def keep_report(store: Any, report: Report, *, made_by: str = "") -> int:
    """Keep `report` in the store; returns its id. The row's key columns and its document are
    signed together, so that neither can be changed alone."""
    row = {
        "kind": report.kind.value,
        "client": report.plan.client,
        "runbook": report.plan.runbook,
        "plan_id": report.plan.plan_id,
        "run_id": report.run_id or None,
        "verification_id": report.verification_id,
        "made_at": store.now(),
        "made_by": made_by,
        "document": report_document(report),
    }
    mac = signing.sign(_key(store), _signed(row))
    with store.transaction(write=True) as conn:
        result = conn.execute(insert(reports_t).values(**row, mac=mac))
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always reports its key
        return int(key[0])


# --- Reading ----------------------------------------------------------------------------------


def report_html(store: Any, kind: str, key: str | int) -> str:
    """The HTML report of a plan (`key`: its plan id), a run (its run id: the newest report made
    for it, which carries its verdict once verified) or a verification (its id), rendered from the
    kept document with the report files' template. NotFound when none was kept; StoreError when
    the kept one fails its check."""
    return html_of(ReportView.of(kept_report(store, kind, key)))


def kept_report(store: Any, kind: str, key: str | int) -> Report:
    """The kept `Report` (see `report_html`), checked before use."""
    column = {
        "plan": reports_t.c.plan_id,
        "run": reports_t.c.run_id,
        "verify": reports_t.c.verification_id,
    }.get(kind)
    if column is None:
        raise InputError(f"report kind {kind!r} is not one of {', '.join(KINDS)}")
    wanted: str | int = key
    if kind == "verify":
        text = str(key).strip()
        if not text.isdigit() or len(text) > 12:
            raise InputError(f"verification id {key!r} must be a number")
        wanted = int(text)
    query = select(reports_t).where(column == wanted)
    if kind == "plan":
        query = query.where(reports_t.c.kind == "plan")
    # A run's report is the newest the run made (what it did, with the verdict once verified:
    # it has the run's start), not a later verify pass of the run.
    limit = 20 if kind == "run" else 1
    with store.transaction() as conn:
        rows = conn.execute(query.order_by(reports_t.c.id.desc()).limit(limit)).mappings().all()
    if not rows:
        raise NotFound(f"no {_NAMES[kind]} report {key!r} is kept in the store")
    reports = (_checked(store, dict(row)) for row in rows)
    newest = next(reports)
    if kind != "run" or newest.started_at:
        return newest
    return next((r for r in reports if r.started_at), newest)


def kept_reports(store: Any, *, run_id: str | None = None, limit: int = 200) -> list[KeptReport]:
    """Kept reports, newest first (one run's, when named), without their documents."""
    columns = [c for c in reports_t.c if c.name not in ("document", "mac")]
    query = select(*columns).order_by(reports_t.c.id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(reports_t.c.run_id == run_id)
    with store.transaction() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        KeptReport(
            r["id"],
            r["kind"],
            r["client"],
            r["runbook"],
            r["plan_id"],
            r["run_id"] or "",
            r["verification_id"],
            r["made_at"],
            r["made_by"],
        )
        for r in rows
    ]


def run_plan_report(store: Any, run_id: str) -> Report:
    """The plan report of the plan a run applied, from the plan the store keeps with the run
    (what `adoffboard plan` showed before it was applied), refused unless its signature checks."""
    from adoffboard.engine.planning import stored_plan
    from adoffboard.errors import StalePlan

    record = store.run(run_id)
    if not record.plan_mac:
        raise StoreError(f"the plan of run {run_id} is not signed (an older run): not shown")
    try:
        plan = stored_plan(store, record)
    except (StalePlan, InputError) as exc:
        raise StoreError(str(exc)) from None
    return Report(ReportKind.PLAN, plan, calls={p: {"read": n} for p, n in plan.reads.items()})


_NAMES = {"plan": "plan", "run": "run", "verify": "verification"}


def _key(store: Any) -> bytes:
    """The reports' own key, derived from the plan-signing secret: one secret in the store, and
    a report's signature can never pass for a plan's."""
    return hmac.new(store.plan_key(), b"adoffboard reports", hashlib.sha256).digest()


def _signed(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in sorted(row) if name not in ("id", "mac")}


def _checked(store: Any, row: dict[str, Any]) -> Report:
    damaged = f"kept report {row['id']} fails its check (edited in the store?): not shown"
    if not signing.verify(_key(store), _signed(row), row["mac"]):
        raise StoreError(damaged)
    try:
        report = report_from_document(json.loads(row["document"]))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(f"{damaged}: {exc}") from None
    if (report.plan.client, report.plan.plan_id, report.kind.value) != (
        row["client"],
        row["plan_id"],
        row["kind"],
    ):
        raise StoreError(damaged)
    return report


# --- The document -------------------------------------------------------------------------------


def report_document(report: Report) -> str:
    """`report` as JSON text: everything a rendering reads, nothing else. The plan goes in as its
    saved text (`Plan.to_json`, serialised once per plan), the rest is serialised here."""
    rest = json.dumps(_document_values(report), sort_keys=True, default=str)
    return with_members(rest, {"plan": report.plan.to_json()})


def _document_values(report: Report) -> dict[str, Any]:
    """The document's values but its plan."""
    return {
        "format": DOCUMENT_FORMAT,
        "kind": report.kind.value,
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "outcomes": [o.to_dict() for o in report.outcomes],
        "checks": [c.to_dict() for c in report.checks],
        "calls": report.calls,
        "attestations": report.attestations,
        "change_request": report.change_request,
        "errors": list(report.errors),
        "verification_id": report.verification_id,
    }


def report_from_document(doc: dict[str, Any]) -> Report:
    """The `Report` of a document made by `report_document`; ValueError if it is not one, or if
    its plan does not match the plan's own hash."""
    if not isinstance(doc, dict) or doc.get("format") != DOCUMENT_FORMAT:
        raise ValueError("not a report document")
    body = dict(doc["plan"])
    sha = body.pop("sha256", None)
    plan = Plan.from_canonical(body)
    if plan.content_hash != sha:
        raise ValueError("its plan does not match the plan's hash")
    verification = doc.get("verification_id")
    return Report(
        ReportKind(doc["kind"]),
        plan,
        run_id=str(doc["run_id"]),
        started_at=str(doc["started_at"]),
        finished_at=str(doc["finished_at"]),
        outcomes=tuple(_outcome(o) for o in doc["outcomes"]),
        checks=tuple(_check(c) for c in doc["checks"]),
        calls={str(p): {str(k): int(n) for k, n in c.items()} for p, c in doc["calls"].items()},
        attestations={str(k): str(v) for k, v in doc["attestations"].items()},
        change_request=str(doc["change_request"]),
        errors=tuple(str(e) for e in doc["errors"]),
        verification_id=int(verification) if verification is not None else None,
    )


def _outcome(data: dict[str, Any]) -> Outcome:
    return Outcome(
        str(data["change_id"]),
        OutcomeStatus(data["status"]),
        live=data.get("live"),
        message=str(data.get("message", "")),
        request_id=str(data.get("request_id", "")),
    )


def _check(data: dict[str, Any]) -> Check:
    return Check(
        step_id=str(data["step_id"]),
        title=str(data["title"]),
        part=str(data["part"]),
        status=CheckStatus(data["status"]),
        detail=str(data.get("detail", "")),
        owner=str(data.get("owner", "")),
        evidence=tuple(str(e) for e in data.get("evidence", ())),
    )
