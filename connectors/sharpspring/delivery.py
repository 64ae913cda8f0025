"""The SharpSpring export's email, sent at most once, and a person's `resend` of it.

The email carries the client's contacts. Its intent is journaled in the export's record, on disk,
before the SMTP exchange starts (`send_export_once`); an intent without a recorded success means
the email may have reached the Account Manager, and only a person settles it (`resend_export`:
send it again, or record that it did arrive).
"""

from __future__ import annotations

from pathlib import Path

from adoffboard.clock import Clock
from adoffboard.config import Manifest, NotificationsSection
from adoffboard.connectors.declare import SimpleAccount, section
from adoffboard.connectors.sharpspring.export import (
    EXPORTS_DIR,
    ExportRecord,
    confirm_received,
    decide_resend,
    latest_record,
    mark_emailed,
    mark_in_doubt,
    mark_not_sent,
    mark_sending,
)
from adoffboard.connectors.sharpspring.planning import in_doubt_text
from adoffboard.errors import (
    AdoffboardError,
    DryRunViolation,
    InputError,
    NotFound,
    PlatformError,
    SafetyRefusal,
)
from adoffboard.mail import Attachment, DeliveryInDoubt, Email, Mailer


def sharpspring_account(manifest: Manifest) -> str:
    """The client's SharpSpring account id; InputError when its manifest names none."""
    account = section(manifest, "sharpspring", SimpleAccount)
    if account is None:
        raise InputError(f"client {manifest.slug} has no sharpspring account in its manifest")
    return account.account_id


class EmailInDoubt(PlatformError):
    """The export's email may have been sent; `record` keeps the intent for a person to settle."""

    def __init__(self, message: str, record: ExportRecord) -> None:
        super().__init__(message)
        self.record = record


def export_email(root: Path, record: ExportRecord, client_name: str, to: str) -> Email:
    """The email that carries the export: the CSV as written, its SHA-256 and what was
    neutralised, so the Account Manager can check the file and read it right."""
    data = (root / EXPORTS_DIR / record.file).read_bytes()
    neutralised = ""
    if record.neutralised_cells:
        neutralised = (
            f"\n{record.neutralised_cells} cells that a spreadsheet would run as "
            "formulas (beginning with = + - @, a tab or a carriage return; phone "
            "numbers such as +1-262-555-0100 too) start with a single quote ('), "
            "so they open as text.\n"
        )
    return Email(
        to=(to,),
        subject=f"Final SharpSpring export: {client_name} ({record.rows} contacts)",
        body=(
            f"Attached is the final export of {client_name}'s SharpSpring contacts "
            f"(account {record.account_id}): {record.rows} contacts, every field.\n\n"
            f"File: {record.file}\nSHA-256: {record.sha256}\n"
            f"Exported: {record.exported_at}\n{neutralised}\n"
            "The SharpSpring account will be deactivated after this export."
        ),
        attachments=(Attachment(record.file, data, "text/csv"),),
    )


def send_export_once(
    root: Path,
    notifications: NotificationsSection,
    clock: Clock,
    record: ExportRecord,
    email: Email,
    *,
    read_only: bool = False,
) -> ExportRecord:
    """Email the export with its intent journaled first; returns the record marked emailed.

    Raises `EmailInDoubt` when it may have gone (the intent stays for a person), or the
    delivery's error when it surely did not (the intent is dropped: a resume sends it again).
    A process killed in between leaves the intent too, which the next run reads as in doubt.
    """
    if read_only:
        raise DryRunViolation(f"read-only run: {EXPORTS_DIR}/{record.file} is not emailed")
    mailer = Mailer(notifications, workspace_root=root, read_only=False, clock=clock)
    msg = mailer.build(email)
    sending = mark_sending(
        root,
        record,
        tuple(email.recipients),
        str(msg["Message-ID"]),
        clock.now().isoformat(timespec="seconds"),
    )
    try:
        sent = mailer.deliver(msg, email.recipients)
    except DeliveryInDoubt as exc:
        doubtful = mark_in_doubt(
            root, sending, "the SMTP server did not answer after the message was transmitted"
        )
        raise EmailInDoubt(str(exc), doubtful) from exc
    except AdoffboardError:
        mark_not_sent(root, sending)
        raise
    return mark_emailed(
        root, sending, sent.recipients, sent.message_id, clock.now().isoformat(timespec="seconds")
    )


def resend_export(
    root: Path,
    notifications: NotificationsSection,
    clock: Clock,
    manifest: Manifest,
    *,
    by: str,
    received: bool = False,
) -> ExportRecord:
    """A person's decision on the client's latest export: send it again (once, journaled like
    the first time), or record that the email in doubt did arrive (`received`)."""
    record = latest_record(root, manifest.slug, sharpspring_account(manifest))
    if record is None:
        raise NotFound(
            f"{manifest.slug} has no SharpSpring export on file "
            f"({EXPORTS_DIR}/{manifest.slug}-sharpspring-*.json)"
        )
    now = clock.now().isoformat(timespec="seconds")
    if record.emailed:
        raise InputError(
            f"{EXPORTS_DIR}/{record.file} was already emailed to "
            f"{', '.join(record.emailed_to)} at {record.emailed_at} (message "
            f"{record.message_id}): nothing to settle"
        )
    if received:
        if not record.in_doubt:
            raise InputError(
                f"--received: no email of {EXPORTS_DIR}/{record.file} is in doubt "
                "(it was never sent): run `adoffboard resend` without --received"
            )
        return confirm_received(root, record, by, now)
    if not record.intact:
        raise SafetyRefusal(
            f"{record.problem}: not sending a file that no longer matches its "
            "record; plan and apply the export again"
        )
    decided = decide_resend(root, record, by, now)
    am = manifest.account_manager
    email = export_email(root, decided, manifest.name, am.email)
    try:
        return send_export_once(root, notifications, clock, decided, email)
    except EmailInDoubt as exc:
        raise EmailInDoubt(
            in_doubt_text(exc.record, manifest.slug, f"{am.name} <{am.email}>"), exc.record
        ) from exc
