"""Google API errors (`googleapiclient.errors.HttpError`, httplib2 and socket errors) mapped to
adoffboard's tree, by what the caller should do.

    429, 5xx, 403 rate limits, refused connections             -> TransientError (retry)
    timeouts, connections dropped before the reply             -> OutcomeUnknown (a transient
                                                                  error whose request may have
                                                                  landed: writes read again)
    401, 403 (any other reason), a failed token refresh        -> AuthError
    everything else (400 bad range, protected cell, 404, ...)  -> PlatformError

Google's JSON envelope is `{"error": {"code", "message", "status", "errors"?, "details"?}}`; a
rate-limited 403 says so in `errors[].reason` (rateLimitExceeded, userRateLimitExceeded) or in an
`ErrorInfo` detail (RATE_LIMIT_EXCEEDED). The retry delay, when the platform gives one, comes
from a `Retry-After` header or a `google.rpc.RetryInfo` detail.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

from adoffboard.errors import AuthError, OutcomeUnknown, PlatformError, TransientError

RATE_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED"}
)


def _envelope(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _reasons(error: dict[str, Any]) -> set[str]:
    found = {str(error.get("status", ""))}
    for item in error.get("errors") or []:
        if isinstance(item, dict):
            found.add(str(item.get("reason", "")))
    for item in error.get("details") or []:
        if isinstance(item, dict):
            found.add(str(item.get("reason", "")))
    return found - {""}


def _seconds(text: str) -> float | None:
    try:
        return float(text.strip().removesuffix("s"))
    except ValueError:
        return None


def retry_after(resp: Any, error: dict[str, Any]) -> float | None:
    header = resp.get("retry-after") if hasattr(resp, "get") else None
    if header and (value := _seconds(str(header))) is not None:
        return value
    for item in error.get("details") or []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return _seconds(str(item.get("retryDelay", "")))
    return None


def translate(exc: Exception) -> Exception:
    from google.auth.exceptions import RefreshError
    from googleapiclient.errors import HttpError

    if isinstance(exc, RefreshError):  # a 401 made the client try a refresh, which failed
        return AuthError(
            f"Google Sheets refused the credentials and they cannot be refreshed "
            f"({type(exc).__name__})"
        )
    if isinstance(exc, HttpError):
        status = int(exc.resp.status)
        error = _envelope(exc.content)
        message = str(error.get("message") or exc.reason or "request failed")
        text = f"Google Sheets {status} {error.get('status', '')}: {message}".replace("  ", " ")
        reasons = _reasons(error)
        if status == 429 or status >= 500 or (status == 403 and reasons & RATE_REASONS):
            return TransientError(text, retry_after=retry_after(exc.resp, error))
        if status in (401, 403):
            return AuthError(f"Google Sheets refused access: {message}")
        return PlatformError(text)
    if isinstance(exc, ConnectionRefusedError):  # nothing was sent
        return TransientError(f"Google Sheets unreachable: {type(exc).__name__}")
    if isinstance(exc, socket.timeout | TimeoutError | ConnectionError | http.client.HTTPException):
        return OutcomeUnknown(
            f"Google Sheets did not answer ({type(exc).__name__}): the "
            "request may have been carried out"
        )
    import httplib2

    if isinstance(exc, httplib2.HttpLib2Error | OSError):
        return TransientError(f"Google Sheets transport error: {type(exc).__name__}")
    return PlatformError(f"Google Sheets client error: {type(exc).__name__}: {exc}")
