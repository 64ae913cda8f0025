"""The identity provider stand-in at the wire: discovery, the sign-in page, the code flow with both
client authentication methods, single-use codes, PKCE, and ID tokens whose signature verifies
against the published keys."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from adoffboard.credentials import SANDBOX_SECRET
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.oidc import CLIENT_ID

REDIRECT = "http://127.0.0.1:8765/auth/callback"


@pytest.fixture
def idp() -> Iterator[Any]:
    with Sandbox({"oidc": {}}) as box:
        yield box.oidc


def authorize(idp: Any, account: str, **extra: str) -> dict[str, list[str]]:
    """Choose `account` on the sign-in page; the query the provider redirects back with."""
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
        **extra,
    }
    page = requests.get(f"{idp.url}/authorize", params=params, timeout=5)
    assert page.status_code == 200, page.text
    form = {
        name: value
        for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', page.text)
        if name != "account"
    }
    answer = requests.post(
        f"{idp.url}/authorize", data={**form, "account": account}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def redeem(idp: Any, code: str, *, how: str = "basic", **extra: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    auth = None
    if how == "basic":
        auth = (CLIENT_ID, SANDBOX_SECRET)
    else:
        form |= {"client_id": CLIENT_ID, "client_secret": SANDBOX_SECRET}
    return requests.post(f"{idp.url}/token", data=form, auth=auth, timeout=5)


def verified_claims(idp: Any, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(requests.get(f"{idp.url}/jwks", timeout=5).json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    return dict(decoded.claims)


def test_discovery_names_its_endpoints_and_the_key_verifies_tokens(idp: Any) -> None:
    meta = requests.get(f"{idp.url}/.well-known/openid-configuration", timeout=5).json()
    assert meta["issuer"] == idp.url
    assert meta["token_endpoint"] == f"{idp.url}/token"
    assert meta["jwks_uri"] == f"{idp.url}/jwks"
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    keys = requests.get(meta["jwks_uri"], timeout=5).json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"] and "d" not in keys[0]  # public part only


def test_the_sign_in_page_lists_the_people_and_an_outsider(idp: Any) -> None:
    page = requests.get(
        f"{idp.url}/authorize",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "openid email",
        },
        timeout=5,
    )
    assert page.status_code == 200
    assert "Jeremy Bliesner &lt;jeremy.bliesner@agency.example&gt;" in page.text
    assert "visitor@elsewhere.example" in page.text


@pytest.mark.parametrize("how", ["basic", "post"])
def test_code_flow_returns_a_signed_id_token(idp: Any, how: str) -> None:
    back = authorize(idp, "jeremy.bliesner@agency.example")
    assert back["state"] == ["st-1"]
    answer = redeem(idp, back["code"][0], how=how)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    claims = verified_claims(idp, body["id_token"])
    assert claims["iss"] == idp.url and claims["aud"] == CLIENT_ID
    assert claims["nonce"] == "n-1"
    assert claims["email"] == "jeremy.bliesner@agency.example"
    assert claims["email_verified"] is True and claims["hd"] == "agency.example"
    assert claims["name"] == "Jeremy Bliesner"
    assert claims["exp"] > claims["iat"]
    info = requests.get(
        f"{idp.url}/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=5,
    )
    assert info.json()["sub"] == claims["sub"]


def test_a_code_is_used_once(idp: Any) -> None:
    code = authorize(idp, "amy@agency.example")["code"][0]
    assert redeem(idp, code).status_code == 200
    again = redeem(idp, code)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "the code was already used",
    }


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"redirect_uri": "http://127.0.0.1:9999/auth/callback"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
    ],
    ids=["other-redirect-uri", "other-grant", "wrong-secret"],
)
def test_the_token_endpoint_refuses(
    idp: Any, change: dict[str, str], status: int, error: str
) -> None:
    code = authorize(idp, "amy@agency.example")["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": SANDBOX_SECRET,
        **change,
    }
    answer = requests.post(f"{idp.url}/token", data=form, timeout=5)
    assert answer.status_code == status and answer.json()["error"] == error


def test_basic_and_form_secret_together_are_refused(idp: Any) -> None:
    code = authorize(idp, "amy@agency.example")["code"][0]
    answer = redeem(idp, code, client_id=CLIENT_ID, client_secret=SANDBOX_SECRET)
    assert answer.status_code == 401


def test_pkce_s256_is_checked(idp: Any) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    code = authorize(idp, "amy@agency.example", **pkce)["code"][0]
    assert redeem(idp, code, code_verifier="not-the-verifier").json()["error"] == "invalid_grant"
    code = authorize(idp, "amy@agency.example", **pkce)["code"][0]
    assert redeem(idp, code).json()["error"] == "invalid_grant"  # no verifier at all
    code = authorize(idp, "amy@agency.example", **pkce)["code"][0]
    assert redeem(idp, code, code_verifier=verifier).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "someone-else", "redirect_uri": REDIRECT},
        {"client_id": CLIENT_ID, "redirect_uri": "https://evil.example/auth/callback"},
        {"client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:8765/elsewhere"},
    ],
    ids=["unknown-client", "foreign-redirect", "other-path"],
)
def test_a_bad_client_or_redirect_is_answered_on_the_page(idp: Any, params: dict[str, str]) -> None:
    page = requests.get(
        f"{idp.url}/authorize",
        params={**params, "response_type": "code", "scope": "openid"},
        allow_redirects=False,
        timeout=5,
    )
    assert page.status_code == 400 and "Location" not in page.headers


def test_other_errors_go_back_to_the_client(idp: Any) -> None:
    answer = requests.get(
        f"{idp.url}/authorize",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "email",
            "state": "s",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["error"] == ["invalid_scope"] and back["state"] == ["s"]


def test_people_come_from_the_section() -> None:
    section = {
        "people": [{"name": "Unverified", "email": "u@agency.example", "email_verified": False}]
    }
    with Sandbox({"oidc": section}) as box:
        back = authorize(box.oidc, "u@agency.example")
        claims = verified_claims(box.oidc, redeem(box.oidc, back["code"][0]).json()["id_token"])
        assert claims["email_verified"] is False
        assert box.oidc_settings() == {
            "issuer": box.oidc.url,
            "client_id": CLIENT_ID,
            "client_secret": "sandbox:",
        }
