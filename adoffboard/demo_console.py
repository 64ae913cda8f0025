"""`adoffboard demo --console`: the demo workspace's web console, left up on loopback.

After the demo the stand-ins keep running (the platforms, the SMTP server the notices go to, and
the identity provider people sign in through) and the console serves the demo workspace until
Ctrl-C. Its `[console]` table is written into the workspace before the demo loads it: the
console's loopback address (links in emails point there), the identity provider stand-in as
`[console.oidc]`, and the key that signs sessions by reference only, a `file:` reference to a
key generated in the workspace's private `.adoffboard/` folder (mode 0600).
"""

from __future__ import annotations

import secrets
import threading
import tomllib
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import tomli_w

from adoffboard.files import private_dir, write_private
from adoffboard.sandbox.smtp import free_port

if TYPE_CHECKING:
    from adoffboard.config import LoadedWorkspace
    from adoffboard.console.auth import Person
    from adoffboard.sandbox import Sandbox

KEY_FILE = ".adoffboard/console-secret-key"
HOST = "127.0.0.1"


def console_section(box: Sandbox, port: int) -> dict[str, Any]:
    """The demo workspace's `[console]` table: loopback, signed in through the sandbox's
    identity provider, the session key by reference."""
    return {
        "url": f"http://{HOST}:{port}",
        "bind": HOST,
        "port": port,
        "secret_key": f"file:{KEY_FILE}",
        "oidc": box.oidc_settings(),
    }


def add_console(folder: Path, section: dict[str, Any]) -> None:
    """Write the `[console]` table into the workspace's adoffboard.toml and generate the key it
    references (a new one each time: sessions of an earlier demo are not honoured)."""
    key = folder / KEY_FILE
    private_dir(key.parent)
    write_private(key, secrets.token_urlsafe(48) + "\n")
    config = folder / "adoffboard.toml"
    document = tomllib.loads(config.read_text(encoding="utf-8"))
    document["console"] = section
    write_private(config, tomli_w.dumps(document))


def people_to_sign_in(ws: LoadedWorkspace) -> list[Person]:
    """Everyone in `[people]`, in the workspace's order."""
    from adoffboard.console.auth import person_of

    return [p for key in ws.config.people if (p := person_of(ws, key)) is not None]


class DemoConsole:
    """The demo workspace's console: its `[console]` table written into the new workspace
    (`prepare`), then served on loopback (`start`) until `wait` is interrupted; leaving the
    `with` block stops it."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.people: list[Person] = []
        self._server: Any = None
        self._stopped = threading.Event()

    def prepare(self, folder: Path) -> None:
        add_console(folder, console_section(self.box, self.port))

    def start(self, folder: Path) -> None:
        from adoffboard.config import load_workspace
        from adoffboard.console.server import start

        ws = load_workspace(folder)
        self.people = people_to_sign_in(ws)
        self._server = start(ws, host=HOST, port=self.port)

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "identity_provider": self.box.oidc_settings().get("issuer", ""),
            "people": [
                {"key": p.key, "name": p.name, "email": p.email, "roles": list(p.roles)}
                for p in self.people
            ],
        }

    def banner(self) -> str:
        width = max((len(p.name) for p in self.people), default=0)
        mail = max((len(p.email) for p in self.people), default=0)
        lines = [
            f"Console: {self.url}  (sign in through the identity provider stand-in)",
            "Sign in as:",
            *(f"  {p.name:<{width}}  {p.email:<{mail}}  {', '.join(p.roles)}" for p in self.people),
            "Ctrl-C to stop the console and the stand-ins.",
        ]
        return "\n".join(lines)

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._stopped.set()

    def __enter__(self) -> DemoConsole:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
