"""What the console's tests share: a workspace whose console signs in through the sandbox's
identity provider, the console serving it on a free port (waitress, in a thread), and a person's
browser as a `requests.Session` that follows the code flow by hand (every redirect checked).

Fixtures: `console_workspace` (the workspace folder: the sandbox's OIDC and SMTP stand-ins, the
demo clients), `console_clock` (the console's FakeClock), `console` (the running server) and
`browser` (a factory: `browser()` a fresh one, `browser("amy@agency.example")` signed in).
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import tomli_w

from adoffboard.clock import FakeClock
from adoffboard.config import load_workspace
from adoffboard.console.server import Running, start
from adoffboard.sandbox import Sandbox

CONSOLE_STANDINS = ("oidc", "smtp")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def configure_console(root: Path, sandbox: Sandbox, **console: Any) -> None:
    """Point the workspace's console at the sandbox's identity provider (`console` overrides
    [console] keys; `oidc=` overrides [console.oidc] keys)."""
    path = root / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    oidc = {**sandbox.oidc_settings(), **console.pop("oidc", {})}
    data["console"] = {"secret_key": "sandbox:", **console, "oidc": oidc}
    path.write_text(tomli_w.dumps(data))


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Browser:
    """One person's browser: cookies kept, redirects followed one by one."""

    def __init__(self, console_url: str) -> None:
        self.base = console_url
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return urljoin(self.base + "/", path.lstrip("/"))

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.follow(self.http.get(self.url(path), allow_redirects=False, timeout=15, **kw))

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        answer = self.http.post(
            self.url(path), data=data or {}, allow_redirects=False, timeout=15, **kw
        )
        return self.follow(answer)

    def follow(self, answer: requests.Response, limit: int = 10) -> requests.Response:
        while answer.is_redirect and limit:
            target = urljoin(answer.url, answer.headers["Location"])
            answer = self.http.get(target, allow_redirects=False, timeout=15)
            limit -= 1
        return answer

    def form_post(self, page_path: str, action: str, data: dict[str, Any]) -> requests.Response:
        """Submit a form as the browser would: its page loaded first, its CSRF token sent."""
        page = self.get(page_path)
        assert page.status_code == 200, page.text
        return self.post(action, {"csrf_token": csrf_of(page.text), **data})

    def sign_in(self, email: str, start: str = "/login") -> requests.Response:
        """Through the whole code flow: the sign-in page (reached from `start`), the provider's
        page, the callback; the page the console lands on at the end."""
        login = self.get(start)
        assert login.status_code == 200, login.text
        found = re.search(r'name="next" value="([^"]*)"', login.text)
        to_idp = self.http.post(
            self.url("/login"),
            data={"csrf_token": csrf_of(login.text), "next": html.unescape(found.group(1))},
            allow_redirects=False,
            timeout=15,
        )
        assert to_idp.status_code == 302, to_idp.text
        chooser = self.http.get(to_idp.headers["Location"], timeout=15)
        assert chooser.status_code == 200, chooser.text
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', chooser.text))
        fields.pop("account", None)
        back = self.http.post(
            urljoin(chooser.url, "/authorize"),
            data={**fields, "account": email},
            allow_redirects=False,
            timeout=15,
        )
        assert back.status_code == 302, back.text
        assert urlsplit(back.headers["Location"]).path == "/auth/callback"
        return self.follow(back)

    @property
    def cookie(self) -> str | None:
        return self.http.cookies.get("adoffboard_session")


@pytest.fixture
def console_workspace(workspace: Path, sandbox: Sandbox) -> Path:
    configure_console(workspace, sandbox)
    return workspace


@pytest.fixture
def console_clock() -> FakeClock:
    import datetime as dt

    return FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture
def console(console_workspace: Path, console_clock: FakeClock) -> Iterator[Running]:
    running = start(load_workspace(console_workspace), port=0, clock=console_clock)
    yield running
    running.stop()


@pytest.fixture
def browser(console: Running) -> Callable[..., Browser]:
    def make(email: str | None = None) -> Browser:
        b = Browser(console.url)
        if email:
            landed = b.sign_in(email)
            assert landed.status_code == 200, landed.text
        return b

    return make


CR_TABLES = ("change_requests", "cr_transitions", "planner", "notices")


def store_rows(store_url: str, tables: tuple[str, ...] = CR_TABLES) -> dict[str, list[Any]]:
    """Every row of `tables`, to compare before and after a refused action."""
    import sqlalchemy as sa

    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            return {
                t: sorted(map(tuple, conn.exec_driver_sql(f"SELECT * FROM {t}")), key=repr)
                for t in tables
            }
    finally:
        engine.dispose()
