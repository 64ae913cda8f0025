"""Scrubbing of recorded Graph API exchanges (vcrpy cassettes) before they touch the disk.

Graph carries `access_token` and `appsecret_proof` in the query string of every request, may
carry them in form bodies, and repeats the caller's token in the `paging.next` links of its
answers. Every such value becomes `REDACTED`, in requests (also when vcrpy matches a request to
replay) and in responses; credential-bearing headers are dropped.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import vcr

SECRET_PARAMS = frozenset(
    {"access_token", "appsecret_proof", "app_secret", "client_secret", "input_token"}
)
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
REDACTED = "REDACTED"
_IN_TEXT = re.compile(r"(?P<name>" + "|".join(sorted(SECRET_PARAMS)) + r")=(?P<value>[^&\"'\s]+)")


def _query(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(k, REDACTED if k in SECRET_PARAMS else v) for k, v in pairs])


def scrub_text(text: str) -> str:
    return _IN_TEXT.sub(lambda m: f"{m['name']}={REDACTED}", text)


def scrub_request(request: Any) -> Any:
    request = copy.deepcopy(request)
    split = urlsplit(request.uri)
    request.uri = urlunsplit(split._replace(query=_query(split.query)))
    if request.body:
        body = request.body.decode("utf-8") if isinstance(request.body, bytes) else request.body
        request.body = scrub_text(body).encode("utf-8")
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            del request.headers[name]
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response = copy.deepcopy(response)
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        response["body"]["string"] = scrub_text(body.decode("utf-8")).encode("utf-8")
    elif isinstance(body, str):
        response["body"]["string"] = scrub_text(body)
    response["headers"] = {
        k: v for k, v in response.get("headers", {}).items() if k.lower() not in SECRET_HEADERS
    }
    return response


def meta_vcr(folder: Path, record_mode: str) -> vcr.VCR:
    """A recorder/replayer that matches on method, path and (scrubbed) query: host and port
    differ between the recording and the replay."""
    return vcr.VCR(
        cassette_library_dir=str(folder),
        record_mode=record_mode,
        match_on=("method", "path", "query"),
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
    )


def leaks(text: str, secrets: list[str]) -> list[str]:
    """What in a cassette's text looks like a credential that escaped scrubbing."""
    found = [s for s in secrets if s and s in text]
    found += [m.group(0) for m in _IN_TEXT.finditer(text) if m["value"] != REDACTED]
    found += re.findall(r"\b[0-9a-f]{64}\b", text)  # an HMAC-SHA256 proof, wherever it sits
    return found
