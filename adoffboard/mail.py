"""Email over SMTP: approval notices, exports to the Account Manager, reminders.

`Mailer` is built from the workspace's `[notifications]` table. Like a connector it is read-only
unless told otherwise: a dry run that reaches `send` raises `DryRunViolation` before a socket is
opened. Temporary SMTP refusals (4xx, a dropped connection) are retried on the injected clock;
permanent ones (5xx) are not. The password is a credential reference, resolved only when sending.

Retrying is only safe while the server cannot have taken the message. Once the DATA command has
gone out, a lost connection or a timeout leaves the delivery in doubt: the server may have
accepted the message and lost only its answer. That raises `DeliveryInDoubt` and is never retried,
so a caller that must send at most once (an export carrying client data) can journal its intent
before `deliver` (`build` gives the Message-ID first) and leave the decision to a person. An
explicit refusal (a 4xx or 5xx answer) means the server did not take the message. Once the server
has answered 250, the message is sent, whatever happens to the QUIT that follows.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import NotificationsSection
from adoffboard.credentials import resolve
from adoffboard.errors import DeliveryInDoubt as DeliveryInDoubt  # raised here; connectors catch it
from adoffboard.errors import DryRunViolation, InputError, PlatformError, TransientError
from adoffboard.retry import RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


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
    html: str = ""  # an HTML alternative of `body`, when there is one
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def recipients(self) -> list[str]:
        return list(dict.fromkeys([*self.to, *self.cc]))


class _Session(smtplib.SMTP):
    """`smtplib.SMTP` that remembers whether the DATA command went out (see the module doc)."""

    data_started = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class _SessionSSL(_Session, smtplib.SMTP_SSL):
    """The same over implicit TLS (`smtp_ssl`)."""


@dataclass(frozen=True)
class Sent:
    message_id: str
    recipients: tuple[str, ...]


class Mailer:
    def __init__(
        self,
        settings: NotificationsSection,
        *,
        workspace_root: Path,
        read_only: bool = True,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        retry_unreachable: bool = True,
    ) -> None:
        self.settings = settings
        self.retry_unreachable = retry_unreachable
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
        if email.html:
            msg.add_alternative(email.html, subtype="html")
        for att in email.attachments:
            maintype, subtype = att.mime.split("/", 1)
            msg.add_attachment(
                att.content, maintype=maintype, subtype=subtype, filename=att.filename
            )
        return msg

    def send(self, email: Email) -> Sent:
        if self.read_only:
            raise DryRunViolation(f"email {email.subject!r} not sent: this is a dry run")
        return self.deliver(self.build(email), email.recipients)

    def deliver(self, msg: EmailMessage, recipients: list[str]) -> Sent:
        """Send a built message; raises `DeliveryInDoubt` (not retried) when it may have gone."""
        if self.read_only:
            raise DryRunViolation(f"email {msg['Subject']!r} not sent: this is a dry run")
        # Without `retry_unreachable`, a server that cannot be reached fails here, at once.
        opened = [] if self.retry_unreachable else [self._connect()]
        call_with_retry(
            lambda: self._deliver(msg, recipients, opened.pop() if opened else None),
            self.retry,
            self.clock,
        )
        return Sent(str(msg["Message-ID"]), tuple(recipients))

    def _deliver(self, msg: EmailMessage, recipients: list[str], session: _Session | None) -> None:
        s = self.settings
        where = f"{s.smtp_host}:{s.smtp_port}"
        smtp: _Session | None = session
        refused: dict[str, tuple[int, bytes]] | None = None
        try:
            smtp = smtp or self._connect()
            if s.smtp_starttls and not s.smtp_ssl:
                smtp.starttls()
            if s.smtp_username:
                password = resolve(s.smtp_password, base=self.root).value
                smtp.login(s.smtp_username, password)
            refused = smtp.send_message(msg, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PlatformError(
                f"SMTP {where} refused every recipient: {', '.join(sorted(exc.recipients))}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {where} answered {exc.smtp_code}"
            if 400 <= exc.smtp_code < 500:
                raise TransientError(text) from exc
            raise PlatformError(text) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            _raise_if_in_doubt(smtp, where, exc)
            raise TransientError(f"SMTP {where} unreachable: {type(exc).__name__}") from exc
        except OSError as exc:
            _raise_if_in_doubt(smtp, where, exc)
            raise TransientError(f"SMTP {where} unreachable: {exc.strerror or exc}") from exc
        finally:
            if smtp is not None:
                _end_session(smtp, answered=refused is not None)
        if refused:
            raise PlatformError(f"SMTP {where} refused: {', '.join(sorted(refused))}")

    def _connect(self) -> _Session:
        """A session whose connection and greeting took at most `smtp_connect_timeout`
        seconds (else TransientError: nothing was sent); the commands after it get the retry
        policy's (longer) deadline."""
        s = self.settings
        where = f"{s.smtp_host}:{s.smtp_port}"
        cls = _SessionSSL if s.smtp_ssl else _Session
        smtp = cls(timeout=s.smtp_connect_timeout)  # no host: nothing is connected yet
        try:
            smtp.connect(s.smtp_host, s.smtp_port)
        except smtplib.SMTPResponseException as exc:  # a greeting that refuses (421...)
            smtp.close()
            text = f"SMTP {where} answered {exc.smtp_code}"
            raise (TransientError if 400 <= exc.smtp_code < 500 else PlatformError)(text) from exc
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            why = (
                f"no answer within {s.smtp_connect_timeout:g}s"
                if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
                else type(exc).__name__
            )
            raise TransientError(f"SMTP {where} unreachable: {why}") from exc
        smtp.timeout = self.retry.timeout
        if smtp.sock is not None:
            smtp.sock.settimeout(self.retry.timeout)
        return smtp


def _raise_if_in_doubt(smtp: _Session | None, where: str, exc: BaseException) -> None:
    if smtp is not None and smtp.data_started:
        raise DeliveryInDoubt(
            f"SMTP {where} did not answer after the message was transmitted "
            f"({type(exc).__name__}): it may have been delivered"
        ) from exc


def _end_session(smtp: smtplib.SMTP, *, answered: bool) -> None:
    """QUIT after an answered DATA (its fate is settled: a failing QUIT changes nothing), else
    just close: a server that stopped answering would only make QUIT wait its timeout too."""
    if not answered:
        smtp.close()
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
