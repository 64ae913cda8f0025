"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives.

Notices, exports and reminders are sent with `smtplib` exactly as in production; the demo and the
tests read what arrived here (`messages`), parsed as `email.message.EmailMessage`.
"""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from adoffboard.sandbox.core import KILLED_AFTER, KILLED_BEFORE, FaultPlan, RequestLog, reinit

PLATFORM = "smtp"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, standin: SmtpStandIn) -> None:
        self.standin = standin

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        entry = self.standin.log.record(
            PLATFORM,
            "SMTP",
            "DATA",
            mutating=True,
            account=",".join(envelope.rcpt_tos),
            operations=len(envelope.rcpt_tos),
            entities=(f"{parsed['Subject']} -> {','.join(sorted(envelope.rcpt_tos))}",),
        )
        rules = self.standin.faults.take(PLATFORM, "DATA", mutating=True)
        blocking = [r for r in rules if r.kind not in ("latency", "kill")]
        FaultPlan.delay(rules)
        if FaultPlan.kill(rules, "before_apply"):
            self.standin.log.finish(entry, "killed", KILLED_BEFORE)
            return "421 Service not available"
        if blocking:
            code = (
                "421 Service not available"
                if blocking[0].kind == "unavailable"
                else "451 Requested action aborted: local error in processing"
            )
            self.standin.log.finish(entry, code[:3], blocking[0].kind)
            return code
        with self.standin.lock:
            self.standin.messages.append(parsed)
            self.standin.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if FaultPlan.kill(rules, "after_apply"):
            self.standin.log.finish(entry, "250", KILLED_AFTER)
            return "421 Service not available"
        self.standin.log.finish(entry, "250")
        return "250 Message accepted for delivery"


class SmtpStandIn:
    platform = PLATFORM

    def __init__(self, section: Any, log: RequestLog, faults: FaultPlan) -> None:
        self.log, self.faults = log, faults
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Any = None
        self.host, self.port = "127.0.0.1", 0

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        from aiosmtpd.controller import Controller

        self.host, self.port = host, port or free_port(host)
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)
        self._controller.start()
        return self.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict[str, Any]:
        """The `[notifications]` keys that point a workspace at this server."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_starttls": False}

    def reset(self, section: Any = None) -> None:
        """No message received yet (tests reuse one running server across many runs)."""
        with self.lock:
            reinit(self, section, ("_controller", "host", "port", "log", "faults"))

    @property
    def running(self) -> bool:
        return self._controller is not None

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope included `address`."""
        with self.lock:
            return [
                m
                for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True)
                if address in rcpts
            ]
