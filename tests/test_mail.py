"""Mail goes over real SMTP to the sandbox's aiosmtpd server; dry runs never open a socket.

A server that took the message and never answered leaves the delivery in doubt: not retried.
"""

from __future__ import annotations

import pytest
from smtp_stall import TrappingSmtp

from adoffboard.clock import FakeClock
from adoffboard.config import NotificationsSection
from adoffboard.errors import DeliveryInDoubt, DryRunViolation, InputError, PlatformError
from adoffboard.mail import Attachment, Email, Mailer
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox.core import FaultRule


def mailer(sandbox, tmp_path, *, read_only=False, clock=None):
    settings = NotificationsSection(
        sender="adoffboard@agency.example", **sandbox.notification_settings()
    )
    return Mailer(settings, workspace_root=tmp_path, read_only=read_only, clock=clock)


def test_send_reaches_the_server_with_recipients_and_attachment(sandbox, tmp_path):
    sent = mailer(sandbox, tmp_path).send(
        Email(
            to=("am@agency.example",),
            cc=("lead@agency.example",),
            subject="Export",
            body="Attached.",
            attachments=(Attachment("list.csv", b"email\na@b.c\n"),),
        )
    )
    assert sent.recipients == ("am@agency.example", "lead@agency.example")
    [msg] = sandbox.smtp.to("lead@agency.example")
    assert msg["Subject"] == "Export" and msg["From"] == "adoffboard@agency.example"
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == "list.csv"
    assert part.get_content() in (b"email\na@b.c\n", "email\na@b.c\n")


def test_dry_run_refuses_before_connecting(sandbox, tmp_path):
    with pytest.raises(DryRunViolation):
        mailer(sandbox, tmp_path, read_only=True).send(
            Email(to=("x@agency.example",), subject="s", body="b")
        )
    assert sandbox.log.entries("smtp") == [] and sandbox.smtp.messages == []


def test_temporary_refusal_is_retried_on_the_clock(sandbox, tmp_path):
    sandbox.faults.add(FaultRule(kind="internal", platform="smtp", times=1))
    clock = FakeClock()
    mailer(sandbox, tmp_path, clock=clock).send(
        Email(to=("x@agency.example",), subject="s", body="b")
    )
    assert clock.sleeps == [5.0] and len(sandbox.smtp.messages) == 1


def test_unreachable_server_fails_after_retries(tmp_path):
    from adoffboard.sandbox.smtp import free_port

    settings = NotificationsSection(smtp_port=free_port())
    clock = FakeClock()
    with pytest.raises(PlatformError, match="unreachable"):
        Mailer(settings, workspace_root=tmp_path, read_only=False, clock=clock).send(
            Email(to=("x@agency.example",), subject="s", body="b")
        )
    assert len(clock.sleeps) == 3


def test_no_recipient_is_an_input_error(sandbox, tmp_path):
    with pytest.raises(InputError):
        mailer(sandbox, tmp_path).send(Email(to=(), subject="s", body="b"))


@pytest.fixture
def trap():
    server = TrappingSmtp(trap="Export").start()
    yield server
    server.stop()


def trapped_mailer(server, tmp_path, clock, timeout=1.0):
    return Mailer(
        NotificationsSection(**server.settings()),
        workspace_root=tmp_path,
        read_only=False,
        clock=clock,
        retry=RetryPolicy(attempts=4, timeout=timeout),
    )


@pytest.mark.parametrize("mode", ["stall", "hangup"])
def test_no_answer_after_the_message_went_out_is_in_doubt_and_never_retried(tmp_path, trap, mode):
    trap.mode = mode
    clock = FakeClock()
    with pytest.raises(DeliveryInDoubt, match="may have been delivered"):
        trapped_mailer(trap, tmp_path, clock).send(
            Email(to=("am@agency.example",), subject="Export", body="contacts")
        )
    assert len(trap.subject("Export")) == 1 and clock.sleeps == []  # one message, no retry


def test_before_the_message_goes_out_a_lost_server_is_retried(tmp_path, trap):
    clock = FakeClock()
    server_port = trap.port
    trap.stop()  # nothing listens: the message cannot have gone
    settings = NotificationsSection(smtp_port=server_port)
    with pytest.raises(PlatformError, match="unreachable") as err:
        Mailer(settings, workspace_root=tmp_path, read_only=False, clock=clock).send(
            Email(to=("x@agency.example",), subject="Export", body="b")
        )
    assert not isinstance(err.value, DeliveryInDoubt) and len(clock.sleeps) == 3


def test_build_then_deliver_keeps_the_message_id(sandbox, tmp_path):
    m = mailer(sandbox, tmp_path)
    msg = m.build(Email(to=("x@agency.example",), subject="s", body="b"))
    sent = m.deliver(msg, ["x@agency.example"])
    [got] = sandbox.smtp.messages
    assert sent.message_id == msg["Message-ID"] == got["Message-ID"]
