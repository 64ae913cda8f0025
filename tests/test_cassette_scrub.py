"""The cassette scrubber: headers, query strings, JSON and form bodies, by name."""

from __future__ import annotations

import json

import pytest
from cassette_scrub import (
    SCRUBBED,
    before_record_request,
    before_record_response,
    find_secrets,
    scrub_body,
    scrub_query,
)
from vcr.request import Request


@pytest.mark.parametrize(
    "url,names,expected",
    [
        (
            "https://graph.example/v26.0/act_1/campaigns?access_token=tok&limit=50",
            ["access_token"],
            f"access_token={SCRUBBED}&limit=50",
        ),
        (
            "https://graph.example/x?Access_Token=tok&appsecret_proof=abc",
            ["access_token", "appsecret_proof"],
            f"Access_Token={SCRUBBED}&appsecret_proof={SCRUBBED}",
        ),
        ("https://api.example/x?limit=50", ["access_token"], "limit=50"),
    ],
    ids=["one", "case-and-two", "none"],
)
def test_query_parameters(url, names, expected):
    assert scrub_query(url, names).split("?", 1)[1] == expected


@pytest.mark.parametrize(
    "body,expected",
    [
        (
            b'{"a": 1, "nested": {"client_secret": "s3"}, "list": [{"refresh_token": "r"}]}',
            {"a": 1, "nested": {"client_secret": SCRUBBED}, "list": [{"refresh_token": SCRUBBED}]},
        ),
        (
            "grant_type=refresh_token&refresh_token=r&client_secret=s3",
            "grant_type=refresh_token&refresh_token=[scrubbed]&client_secret=[scrubbed]",
        ),
        (b"plain text, not a form", b"plain text, not a form"),
    ],
    ids=["json", "form", "other"],
)
def test_bodies(body, expected):
    out = scrub_body(body, ["client_secret", "refresh_token"])
    if isinstance(expected, dict):
        assert json.loads(out) == expected
    else:
        assert out == expected


def test_request_and_response_hooks():
    request = Request(
        "POST",
        "https://login.example/token?code=abc",
        "client_secret=s3&scope=x",
        {"authorization": "Bearer tok", "Accept": "json"},
    )
    out = before_record_request(
        headers=["Authorization"], query=["code"], body_keys=["client_secret"]
    )(request)
    assert out.headers["authorization"] == SCRUBBED and out.headers["Accept"] == "json"
    assert out.uri.endswith(f"code={SCRUBBED}")
    assert out.body == b"client_secret=[scrubbed]&scope=x"
    response = {
        "headers": {"Set-Cookie": ["a=b"]},
        "body": {"string": b'{"access_token": "tok", "expires_in": 3600}'},
    }
    after = before_record_response(headers=["set-cookie"], body_keys=["access_token"])(response)
    assert after["headers"]["Set-Cookie"] == [SCRUBBED]
    assert json.loads(after["body"]["string"]) == {"access_token": SCRUBBED, "expires_in": 3600}


def test_find_secrets(tmp_path):
    (tmp_path / "a.yaml").write_text("token: keep-me-out\n")
    assert find_secrets(tmp_path, ["keep-me-out", "absent"]) == ["a.yaml: keep..."]
