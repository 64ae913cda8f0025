"""Email over SMTP: approval notices, exports to the Account Manager, reminders.

`Mailer` is built from the workspace's `[notifications]` table. Like a connector it is read-only
unless told otherwise: a dry run that reaches `send` raises `DryRunViolation` before a socket is
opened. Temporary SMTP refusals (4xx, a dropped connection) are retried on the injected clock;
permanent ones (5xx) are not. The password is a credential reference, resolved only when sending.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import NotificationsSection
from adoffboard.credentials import resolve
from adoffboard.errors import DryRunViolation, InputError, PlatformError, TransientError
from adoffboard.retry import RetryPolicy, call_with_retry


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "text/csv"


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    body: str
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def recipients(self) -> list[str]:
        return list(dict.fromkeys([*self.to, *self.cc]))


@dataclass(frozen=True)
class Sent:
    message_id: str
    recipients: tuple[str, ...]


class Mailer:
    def __init__(self, settings: NotificationsSection, *, workspace_root: Path,
                 read_only: bool = True, clock: Clock | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.root = workspace_root
        self.read_only = read_only
        self.clock = clock or SystemClock()
        self.retry = retry or RetryPolicy(attempts=4, base_delay=5.0, timeout=30.0)

    def build(self, email: Email) -> EmailMessage:
        if not email.to:
            raise InputError(f"email {email.subject!r} has no recipient")
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(email.to)
        if email.cc:
            msg["Cc"] = ", ".join(email.cc)
        msg["Subject"] = email.subject
        msg["Date"] = formatdate(self.clock.now().timestamp(), localtime=False)
        domain = self.settings.sender.rsplit("@", 1)[-1]
        msg["Message-ID"] = make_msgid(domain=domain)
        msg.set_content(email.body)
        for att in email.attachments:
            maintype, subtype = att.mime.split("/", 1)
            msg.add_attachment(att.content, maintype=maintype, subtype=subtype,
                               filename=att.filename)
        return msg

    def send(self, email: Email) -> Sent:
        if self.read_only:
            raise DryRunViolation(f"email {email.subject!r} not sent: this is a dry run")
        msg = self.build(email)
        recipients = email.recipients
        call_with_retry(lambda: self._deliver(msg, recipients), self.retry, self.clock)
        return Sent(str(msg["Message-ID"]), tuple(recipients))

    def _deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        s = self.settings
        where = f"{s.smtp_host}:{s.smtp_port}"
        try:
            cls = smtplib.SMTP_SSL if s.smtp_ssl else smtplib.SMTP
            with cls(s.smtp_host, s.smtp_port, timeout=self.retry.timeout) as smtp:
                if s.smtp_starttls and not s.smtp_ssl:
                    smtp.starttls()
                if s.smtp_username:
                    password = resolve(s.smtp_password, base=self.root).value
                    smtp.login(s.smtp_username, password)
                refused = smtp.send_message(msg, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PlatformError(f"SMTP {where} refused every recipient: "
                                f"{', '.join(sorted(exc.recipients))}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {where} answered {exc.smtp_code}"
            if 400 <= exc.smtp_code < 500:
                raise TransientError(text) from exc
            raise PlatformError(text) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            raise TransientError(f"SMTP {where} unreachable: {type(exc).__name__}") from exc
        except OSError as exc:
            raise TransientError(f"SMTP {where} unreachable: {exc.strerror or exc}") from exc
        if refused:
            raise PlatformError(f"SMTP {where} refused: {', '.join(sorted(refused))}")
