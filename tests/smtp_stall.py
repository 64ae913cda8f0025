"""A real SMTP server on loopback (aiosmtpd) whose answer to DATA the test controls.

It keeps every message it receives, as soon as the message's last line arrived: a server that
took the message and then lost its answer may well deliver it, the very case where a sender must
not send again. For the messages whose subject starts with `trap` it then either stalls (answers
only after `release()`, so the test can kill the client inside the SMTP exchange) or hangs up
without answering.
"""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from adoffboard.sandbox.smtp import free_port


class TrappingSmtp:
    def __init__(self, trap: str = "", mode: str = "stall") -> None:
        assert mode in ("stall", "hangup")
        self.trap, self.mode = trap, mode
        self.messages: list[EmailMessage] = []
        self.trapped = threading.Event()  # a trapped message arrived and was not answered
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._controller: Any = None
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        if self.trap and str(parsed["Subject"]).startswith(self.trap):
            self.trapped.set()
            if self.mode == "hangup":
                server.transport.close()
            else:
                await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 120)
        return "250 Message accepted for delivery"

    def start(self) -> TrappingSmtp:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def release(self) -> None:
        """Let a stalled exchange answer (to a client that is gone by then) and stop trapping."""
        self.trap = ""
        self._release.set()

    def stop(self) -> None:
        self._release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict[str, Any]:
        """The `[notifications]` keys that point a workspace at this server."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_starttls": False}

    def subject(self, prefix: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if str(m["Subject"]).startswith(prefix)]
