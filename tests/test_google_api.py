"""Google's JSON errors mapped to adoffboard's tree, by what the caller should do next."""

from __future__ import annotations

import pytest

from adoffboard.connectors.transport.google import AccessDenied, Gone, classify
from adoffboard.errors import AuthError, PlatformError, TransientError


def error(code: int, reason: str = "", details: list | None = None) -> dict:
    body: dict = {"code": code, "message": f"m{code}"}
    if reason:
        body["errors"] = [{"reason": reason, "domain": "global", "message": "x"}]
    if details is not None:
        body["details"] = details
    return body


RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}
INFO = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}


@pytest.mark.parametrize(
    "status,body,headers,kind,retry_after",
    [
        (429, error(429, "rateLimitExceeded", [RETRY]), {}, TransientError, 2.5),
        (429, error(429), {"Retry-After": "9"}, TransientError, 9.0),
        (403, error(403, "rateLimitExceeded"), {}, TransientError, None),
        (403, error(403, "userRateLimitExceeded"), {}, TransientError, None),
        (403, error(403, details=[INFO]), {}, TransientError, None),
        (403, error(403, "forbidden"), {}, AccessDenied, None),
        (403, error(403, "dailyLimitExceeded"), {}, PlatformError, None),
        (401, error(401, "authError"), {}, AuthError, None),
        (404, error(404, "notFound"), {}, Gone, None),
        (400, error(400, "badRequest"), {}, PlatformError, None),
        (500, error(500, "backendError"), {}, TransientError, None),
        (503, error(503, "backendError", [RETRY]), {}, TransientError, 2.5),
    ],
    ids=[
        "429-retryinfo",
        "429-header",
        "403-rate",
        "403-user-rate",
        "403-errorinfo",
        "403-permission",
        "403-daily-quota",
        "401",
        "404",
        "400",
        "500",
        "503",
    ],
)
def test_classify(status, body, headers, kind, retry_after):
    exc = classify(status, body, headers, "Tag Manager")
    assert type(exc) is kind
    assert str(exc).startswith("Tag Manager")
    if isinstance(exc, TransientError):
        assert exc.retry_after == retry_after
    assert not isinstance(exc, TransientError) or kind is TransientError
