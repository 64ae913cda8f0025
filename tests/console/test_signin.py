"""Signing in to the console through the identity provider stand-in, at the wire: the code flow
end to end, who is refused (and that nothing is stored for them), sessions that end (sign-out,
expiry) and forms that do not belong to the session."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from console_support import Browser, configure_console, csrf_of, store_rows

from adoffboard.config import load_workspace
from adoffboard.sandbox import Sandbox

pytestmark = pytest.mark.standins("oidc", "smtp")

SESSIONS = ("console_sessions",)


def sessions(workspace: Path) -> list[Any]:
    return store_rows(load_workspace(workspace).store_url, SESSIONS)["console_sessions"]


def test_sign_in_through_the_code_flow(
    browser: Callable[..., Browser], console_workspace: Path
) -> None:
    b = browser()
    first = b.get("/cr")
    assert first.status_code == 200 and "Sign in with the sandbox identity provider" in first.text
    landed = b.sign_in("jeremy.bliesner@agency.example")
    assert landed.status_code == 200
    assert "Waiting for you" in landed.text and "Jeremy Bliesner" in landed.text
    [row] = sessions(console_workspace)
    secret = b.cookie
    assert secret and row[1] == "jeremy" and secret not in repr(row)  # only a hash is stored


def test_pages_need_a_signed_in_person(browser: Callable[..., Browser]) -> None:
    b = browser()
    answer = b.http.get(b.url("/cr/new"), allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and "/login?next=/cr/new" in answer.headers["Location"]
    assert b.get("/healthz").json() == {"status": "ok"}


def test_security_headers(browser: Callable[..., Browser]) -> None:
    page = browser().get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("email", "rule"),
    [
        ("visitor@elsewhere.example", "is nobody in [people]"),
        ("removals@juniper.example", "not in an allowed domain"),
    ],
    ids=["unknown-email", "outside-allowed-domains"],
)
def test_refused_sign_ins_store_nothing(
    workspace: Path, sandbox: Sandbox, console_clock: Any, email: str, rule: str
) -> None:
    from adoffboard.console.server import start

    configure_console(
        workspace, sandbox, oidc={"allowed_domains": ["agency.example", "elsewhere.example"]}
    )
    running = start(load_workspace(workspace), port=0, clock=console_clock)
    try:
        b = Browser(running.url)
        refused = b.sign_in(email)
        assert refused.status_code == 403 and rule in refused.text
        assert sessions(workspace) == []
        again = b.http.get(b.url("/"), allow_redirects=False, timeout=5)
        assert again.status_code == 302  # still not signed in
    finally:
        running.stop()


def test_an_unverified_email_is_refused(workspace: Path, console_clock: Any) -> None:
    from adoffboard.console.server import start

    section = {"people": [{"name": "Amy", "email": "amy@agency.example", "email_verified": False}]}
    with Sandbox({"oidc": section}) as box:
        configure_console(workspace, box)
        running = start(load_workspace(workspace), port=0, clock=console_clock)
        try:
            refused = Browser(running.url).sign_in("amy@agency.example")
            assert refused.status_code == 403 and "has not verified" in refused.text
            assert sessions(workspace) == []
        finally:
            running.stop()


def test_sign_out_ends_the_session_even_for_a_copy_of_the_cookie(
    browser: Callable[..., Browser],
) -> None:
    b = browser("amy@agency.example")
    page = b.get("/")
    token = csrf_of(page.text)
    copy = Browser(b.base)
    copy.http.cookies.update(b.http.cookies)
    out = b.post("/logout", {"csrf_token": token})
    assert out.status_code == 200 and "You are signed out" in out.text
    # the old cookie and its form, replayed: refused, not signed in
    replay = copy.http.post(
        copy.url("/logout"), data={"csrf_token": token}, allow_redirects=False, timeout=5
    )
    assert replay.status_code == 401
    assert copy.http.get(copy.url("/"), allow_redirects=False, timeout=5).status_code == 302


def test_a_session_expires(browser: Callable[..., Browser], console_clock: Any) -> None:
    b = browser("amy@agency.example")
    assert b.get("/").status_code == 200
    console_clock.advance(480 * 60 + 1)  # [console] session_minutes, default 480
    answer = b.http.get(b.url("/"), allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_form_without_the_session_token_is_refused(browser: Callable[..., Browser]) -> None:
    b = browser("amy@agency.example")
    other = browser("dana.whitfield@agency.example")
    foreign = csrf_of(other.get("/").text)
    for data in ({}, {"csrf_token": foreign}, {"csrf_token": "forged"}):
        refused = b.post("/logout", data)
        assert (
            refused.status_code == 400 and "does not belong to your current session" in refused.text
        )
    assert b.get("/").status_code == 200  # still signed in: nothing happened


def test_a_personal_token_for_the_command_line(
    browser: Callable[..., Browser], console_workspace: Path
) -> None:
    from adoffboard import identity
    from adoffboard.clock import SystemClock
    from adoffboard.store import Store

    b = browser("amy@agency.example")
    page = b.form_post("/cli-token", "/cli-token", {})
    secret = re.search(r'<pre id="token-secret">([^<]+)</pre>', page.text)
    assert page.status_code == 200 and secret
    assert "Cache-Control" in page.headers and page.headers["Cache-Control"] == "no-store"
    with Store.open(load_workspace(console_workspace).store_url) as store:
        assert identity.person_for_token(store, secret.group(1), SystemClock()) == "amy"
    assert secret.group(1) not in b.get("/cli-token").text  # shown once


def test_behind_a_proxy_the_forwarded_address_is_the_callback(
    workspace: Path, sandbox: Sandbox, console_clock: Any
) -> None:
    from adoffboard.console.server import start

    configure_console(workspace, sandbox, proxy_hops=1)
    running = start(load_workspace(workspace), port=0, clock=console_clock)
    try:
        b = Browser(running.url)
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "console.agency.example"}
        login = b.http.get(b.url("/login"), headers=forwarded, timeout=5)
        assert "Secure" not in login.headers["Set-Cookie"]  # [console] url is http here
        to_idp = b.http.post(
            b.url("/login"),
            data={"csrf_token": csrf_of(login.text), "next": "/"},
            headers={**forwarded, "Referer": "https://console.agency.example/login"},
            allow_redirects=False,
            timeout=5,
        )
        assert to_idp.status_code == 302, to_idp.text
        assert (
            "redirect_uri=https%3A%2F%2Fconsole.agency.example%2Fauth%2Fcallback"
            in (to_idp.headers["Location"])
        )
    finally:
        running.stop()


def test_without_a_proxy_forwarded_headers_are_ignored(browser: Callable[..., Browser]) -> None:
    b = browser()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    login = b.http.get(b.url("/login"), headers=forged, timeout=5)
    to_idp = b.http.post(
        b.url("/login"),
        data={"csrf_token": csrf_of(login.text)},
        headers=forged,
        allow_redirects=False,
        timeout=5,
    )
    assert "evil.example" not in to_idp.headers["Location"]
    assert "redirect_uri=http%3A%2F%2F127.0.0.1" in to_idp.headers["Location"]


@pytest.mark.parametrize("forgery", ["signature", "issuer", "audience", "expired", "nonce"])
def test_a_forged_id_token_signs_nobody_in(
    workspace: Path, console_clock: Any, forgery: str
) -> None:
    """The provider's ID token is checked, not trusted: signed by a key its JWKS does not hold,
    issued by another issuer, for another client, expired, or for another sign-in (nonce)."""
    from adoffboard.console.server import start

    with Sandbox({"oidc": {"id_token_forgery": forgery}}) as box:
        configure_console(workspace, box)
        running = start(load_workspace(workspace), port=0, clock=console_clock)
        try:
            b = Browser(running.url)
            refused = b.sign_in("amy@agency.example")
            assert refused.status_code == 400, refused.text
            said = html.unescape(refused.text)
            assert "sign-in refused: the identity provider's ID token failed its checks" in said
            assert sessions(workspace) == []
            assert b.http.get(b.url("/"), allow_redirects=False, timeout=5).status_code == 302
        finally:
            running.stop()


def test_an_unreachable_identity_provider_is_named(workspace: Path, console_clock: Any) -> None:
    """The provider down: the sign-in button answers which provider cannot be used (502), not a
    server error, and nothing is stored."""
    from adoffboard.console.server import start

    with Sandbox({"oidc": {}}) as box:
        configure_console(workspace, box)
    running = start(load_workspace(workspace), port=0, clock=console_clock)
    try:
        b = Browser(running.url)
        page = b.get("/login")
        answer = b.http.post(
            b.url("/login"),
            data={"csrf_token": csrf_of(page.text), "next": "/"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 502
        assert "cannot be used right now" in answer.text
        assert sessions(workspace) == []
    finally:
        running.stop()
