"""SharpSpring planning and judging, pure: the final export (and its one email) a cancellation
needs, from the live contact count and the export on file."""

from __future__ import annotations

from dataclasses import dataclass

from adoffboard.connectors.base import StepDraft, Verdict
from adoffboard.connectors.sharpspring.export import EXPORTS_DIR, ExportRecord
from adoffboard.models import Change, CheckStatus, Phase


@dataclass(frozen=True)
class ContactsState:
    client: str
    client_name: str
    account_id: str
    account_manager: str  # "Name <email>"
    am_email: str
    live_count: int | None  # None: the account no longer answers (deactivated after the export)
    export: ExportRecord | None
    unreachable: str = ""


def export_status(record: ExportRecord | None, live_count: int | None) -> str:
    """What the live situation says about the final export, in the plan's own words."""
    if record is not None and record.in_doubt:
        return f"exported {record.rows} contacts, email may have been sent at {record.sending_at}"
    if (
        record is None
        or not record.intact
        or (live_count is not None and record.rows != live_count)
    ):
        return "not exported"
    if not record.emailed:
        return f"exported {record.rows} contacts, not emailed"
    return f"exported {record.rows} contacts, emailed to {', '.join(record.emailed_to)}"


def plan_export(state: ContactsState, step_id: str) -> StepDraft:
    rec = state.export
    if rec is not None and rec.in_doubt:
        doubt = (
            f"{in_doubt_text(rec, state.client, state.account_manager)}; apply will not "
            "send it again",
        )
        if state.live_count is None:
            return StepDraft(notes=doubt)
        return StepDraft(
            _export_change(state, step_id, export_status(rec, None)).changes, notes=doubt
        )
    if state.live_count is None:
        assert rec is not None
        return StepDraft(
            notes=(
                f"the account no longer answers the API ({state.unreachable}); "
                f"final export on file: {EXPORTS_DIR}/{rec.file}",
            )
        )
    before = export_status(rec, state.live_count)
    after = f"exported {state.live_count} contacts, emailed to {state.am_email}"
    if before == after:
        assert rec is not None
        return StepDraft(
            notes=(
                f"final export already done on {rec.exported_at[:10]}: {EXPORTS_DIR}/{rec.file}",
            )
        )
    return _export_change(state, step_id, before)


def _export_change(state: ContactsState, step_id: str, before: str) -> StepDraft:
    assert state.live_count is not None
    after = f"exported {state.live_count} contacts, emailed to {state.am_email}"
    notes = (
        "SharpSpring names no account through its API: the account is identified by its account id",
    )
    return StepDraft(
        (
            Change(
                id=f"sharpspring:{state.account_id}:contact_list:final_export",
                step_id=step_id,
                platform="sharpspring",
                account=state.account_id,
                entity_type="contact_list",
                entity_id=state.account_id,
                name=f"{state.client_name} contacts",
                field="final_export",
                before=before,
                after=after,
                shown_before=before,
                shown_after=f"exported {state.live_count:,} contacts (CSV, every field), "
                f"emailed to "
                f"{state.account_manager}",
                phase=Phase.ADS,
                resource=f"{EXPORTS_DIR}/{state.client}-sharpspring-<date>.csv",
            ),
        ),
        notes=notes,
    )


def verify_export(state: ContactsState) -> Verdict:
    rec = state.export
    if rec is None:
        return Verdict(
            CheckStatus.FAIL,
            f"no final export on file ({EXPORTS_DIR}/{state.client}-sharpspring-*.csv)",
        )
    if not rec.intact:
        return Verdict(CheckStatus.FAIL, rec.problem)
    where = f"{EXPORTS_DIR}/{rec.file}"
    if rec.in_doubt:
        return Verdict(
            CheckStatus.MANUAL_PENDING,
            in_doubt_text(rec, state.client, state.account_manager),
            (f"sha256 {rec.sha256}", f"message {rec.sending_message_id}"),
        )
    if not rec.emailed:
        return Verdict(
            CheckStatus.FAIL,
            f"{where} was written but not emailed to "
            f"{state.account_manager}: resume the run to send it",
        )
    done = (
        f"{rec.rows} contacts exported on {rec.exported_at[:10]} to {where} "
        f"(sha256 {rec.sha256[:12]}{_neutralised_note(rec)}), emailed to "
        f"{', '.join(rec.emailed_to)}{_decision_note(rec)}"
    )
    evidence = (f"sha256 {rec.sha256}", f"message {rec.message_id}")
    if state.live_count is None:
        return Verdict(
            CheckStatus.PASS,
            f"{done}; the account no longer answers the API, so the live count was not re-read",
            evidence,
        )
    if state.live_count != rec.rows:
        return Verdict(
            CheckStatus.FAIL,
            f"{state.live_count} contacts live now, {rec.rows} in "
            f"the export of {rec.exported_at[:10]}: export again",
            evidence,
        )
    return Verdict(CheckStatus.PASS, f"{done}; live count matches", evidence)


def _neutralised_note(rec: ExportRecord) -> str:
    if not rec.neutralised_cells:
        return ""
    return f", {rec.neutralised_cells} formula-like cells neutralised with a leading quote"


def _decision_note(rec: ExportRecord) -> str:
    if not rec.decisions:
        return ""
    last = rec.decisions[-1]
    what = "sent again" if last.get("decision") == "resend" else "confirmed received"
    return f" ({what} by {last.get('by', '?')} at {last.get('at', '?')})"


def in_doubt_text(rec: ExportRecord, client: str, account_manager: str) -> str:
    """What apply, resume and verify say about an email that may have gone out."""
    return (
        f"the email of {EXPORTS_DIR}/{rec.file} ({rec.rows} contacts) to "
        f"{', '.join(rec.sending_to)} may have been sent at {rec.sending_at} "
        f"({rec.doubt_reason}): check with {account_manager}, then "
        f"`adoffboard resend {client} --as PERSON` to send it again, or "
        f"`adoffboard resend {client} --as PERSON --received` if it arrived"
    )
