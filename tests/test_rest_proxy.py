"""The REST connectors' sessions honour HTTP(S)_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE for the
platforms' hosts, and never send the sandbox's loopback traffic through a proxy. A small forward
proxy on loopback stands in for the agency's."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from loopback_support import serving

from adoffboard.connectors.transport.rest import GuardedSession, environment_settings, is_loopback


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append(self.path)  # a forward proxy receives the absolute URL
        body = b'{"via": "proxy"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    with serving(type("Handler", (_Recorder,), {"seen": seen})) as url:
        yield url, seen


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def session() -> GuardedSession:
    return GuardedSession("Trello", read_only=True, timeout=5)


def test_a_platform_host_goes_through_the_proxy_the_environment_names(server, clean_env):
    proxy, seen = server
    clean_env.setenv("HTTP_PROXY", proxy)
    answer = session().get("http://api.trello.example/1/boards/abc/cards/open")
    assert answer.json() == {"via": "proxy"}
    assert seen == ["http://api.trello.example/1/boards/abc/cards/open"]


def test_no_proxy_names_a_host_that_is_reached_directly(server, clean_env):
    proxy, seen = server
    clean_env.setenv("HTTP_PROXY", proxy)
    clean_env.setenv("NO_PROXY", "api.trello.example")
    with pytest.raises(requests.ConnectionError):  # .example never resolves: direct, not proxied
        session().get("http://api.trello.example/1/members/me")
    assert seen == []


def test_the_sandbox_on_loopback_is_never_proxied(server, clean_env):
    standin, seen = server
    clean_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that would refuse
    answer = session().get(f"{standin}/1/members/me")
    assert answer.status_code == 200
    assert seen == ["/1/members/me"]  # an origin-form path: it came straight here


def test_a_ca_bundle_from_the_environment_verifies_platform_hosts_only(clean_env, tmp_path):
    bundle = tmp_path / "agency-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    s = session()
    merged = s.merge_environment_settings("https://api.trello.com/1/cards/x", {}, None, True, None)
    assert merged["verify"] == str(bundle)
    local = s.merge_environment_settings("https://127.0.0.1:8443/1/cards/x", {}, None, True, None)
    assert local["verify"] is True
    explicit = s.merge_environment_settings("https://api.trello.com/", {}, None, "/ca.pem", None)
    assert explicit["verify"] == "/ca.pem"  # a connector's own setting wins


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/x", True),
        ("http://127.8.9.10/x", True),
        ("http://[::1]:80/x", True),
        ("http://localhost:1/", True),
        ("https://api.trello.com/1", False),
        ("https://10.0.0.5/", False),
    ],
)
def test_loopback_addresses(url, loopback, clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.agency.example:3128")
    clean_env.setenv("HTTP_PROXY", "http://proxy.agency.example:3128")
    assert is_loopback(url) is loopback
    assert bool(environment_settings(url)[0]) is not loopback
