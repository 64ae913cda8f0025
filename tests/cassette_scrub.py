"""Scrubbing for vcrpy cassettes: every connector's recordings go through these hooks.

Secrets travel in different places per platform (Microsoft: the Authorization and DeveloperToken
headers; Meta: `access_token` and `appsecret_proof` in the query string or a form body; OAuth
token endpoints: JSON response bodies), so each hook takes the names to scrub and handles headers
(case-insensitively), query strings, JSON bodies (any depth) and form-encoded bodies alike:

    recorder = vcr.VCR(**vcr_options(
        headers=["Authorization", "DeveloperToken"], query=["access_token"],
        body_keys=["access_token", "client_secret", "refresh_token"]))

`find_secrets` is what the tests use to prove a cassette folder holds none of the values that were
in play while recording.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCRUBBED = "[scrubbed]"


def _lower(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


def scrub_headers(headers: Any, names: Iterable[str]) -> None:
    """Replace, in place, the values of the named headers (any case)."""
    wanted = _lower(names)
    for key in list(headers.keys()):
        if key.lower() in wanted:
            value = headers[key]
            headers[key] = [SCRUBBED] * len(value) if isinstance(value, list) else SCRUBBED


def scrub_query(url: str, names: Iterable[str]) -> str:
    wanted = _lower(names)
    parts = urlsplit(url)
    if not parts.query or not wanted:
        return url
    pairs = [
        (k, SCRUBBED if k.lower() in wanted else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="[]")))


def _scrub_json(value: Any, wanted: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {
            k: SCRUBBED if str(k).lower() in wanted else _scrub_json(v, wanted)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(v, wanted) for v in value]
    return value


def scrub_body(body: bytes | str | None, names: Iterable[str]) -> bytes | str | None:
    """Scrub the named keys of a JSON body (any depth) or of a form-encoded body."""
    wanted = _lower(names)
    if not body or not wanted:
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        scrubbed = json.dumps(_scrub_json(json.loads(text), wanted))
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True)
        if not pairs or "=" not in text:
            return body
        scrubbed = urlencode(
            [(k, SCRUBBED if k.lower() in wanted else v) for k, v in pairs], safe="[]"
        )
    if scrubbed == text:
        return body
    return scrubbed.encode("utf-8") if isinstance(body, bytes) else scrubbed


def before_record_request(
    *, headers: Iterable[str] = (), query: Iterable[str] = (), body_keys: Iterable[str] = ()
) -> Callable[[Any], Any]:
    """A vcrpy `before_record_request` hook scrubbing the named headers, params and keys."""
    headers, query, body_keys = list(headers), list(query), list(body_keys)

    def hook(request: Any) -> Any:
        scrub_headers(request.headers, headers)
        request.uri = scrub_query(request.uri, query)
        request.body = scrub_body(request.body, [*body_keys, *query])
        return request

    return hook


def before_record_response(
    *, headers: Iterable[str] = (), body_keys: Iterable[str] = ()
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A vcrpy `before_record_response` hook scrubbing response headers and body keys."""
    headers, body_keys = list(headers), list(body_keys)

    def hook(response: dict[str, Any]) -> dict[str, Any]:
        scrub_headers(response.get("headers", {}), headers)
        body = response.get("body") or {}
        if "string" in body:
            body["string"] = scrub_body(body["string"], body_keys)
        return response

    return hook


def vcr_options(
    *,
    headers: Iterable[str] = (),
    query: Iterable[str] = (),
    body_keys: Iterable[str] = (),
    response_headers: Iterable[str] = ("Set-Cookie",),
) -> dict[str, Any]:
    """Keyword arguments for `vcr.VCR(...)`: filters and both scrubbing hooks."""
    headers = list(headers)
    return {
        "filter_headers": [(h, SCRUBBED) for h in headers],
        "filter_query_parameters": [(q, SCRUBBED) for q in query],
        "before_record_request": before_record_request(
            headers=headers, query=query, body_keys=body_keys
        ),
        "before_record_response": before_record_response(
            headers=response_headers, body_keys=body_keys
        ),
        "decode_compressed_response": True,
    }


def find_secrets(folder: Path, secrets: Iterable[str]) -> list[str]:
    """`file: secret-prefix` for every secret value found in a cassette of `folder`."""
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {s[:4]}..." for s in secrets if s and s in text]
    return found
