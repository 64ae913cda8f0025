"""What the Google REST connectors share (GA4 Admin, Search Console, Site Verification, GTM).

- credentials: an OAuth access token (a reference) or a service account's key file;
- transports that refuse writes: `ReadOnlyHttp` (httplib2, under `google-api-python-client`: the
  one guard of that stack, Sheets included) and `guard_session` (requests, under the GA4 SDK's REST
  transport, with `transport.rest`'s adapter) raise `DryRunViolation` for any method but GET/HEAD
  before a byte leaves the process;
- error translation: Google's JSON error envelope (`{"error": {"code", "message", "status",
  "errors": [{"reason"}], "details": [...]}}`) to adoffboard's tree. 429, 5xx and a 403 whose
  reason is a rate limit are transient; any other 403 is a refusal (`AccessDenied`), never retried;

The services built from the discovery documents over these transports (`build_service`,
`discovery_service`) are in `transport.google_discovery`.

Google's client libraries retry nothing here: `execute(num_retries=0)` and `retry=None`, so that
every wait goes through `adoffboard.retry` and the injected clock; `WriteOnceHttp` keeps httplib2
from resending a write whose reply went missing. The writes of these connectors are deletes by
resource name, whose repeat answers 404 (`Gone`, counted as done): `transport.Calls` may retry
them.
"""

from __future__ import annotations

import functools
import http.client
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httplib2
import requests

from adoffboard.connectors.base import ConnectorContext
from adoffboard.connectors.transport import Calls, Throttle
from adoffboard.connectors.transport.rest import GuardedAdapter
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import AuthError, DryRunViolation, PlatformError, TransientError

T = TypeVar("T")

# googleapiclient logs every 403 at WARNING; adoffboard reports outcomes itself. A NullHandler
# keeps Python's last-resort handler from printing them unless someone configures logging.
logging.getLogger("googleapiclient").addHandler(logging.NullHandler())

SAFE_METHODS = frozenset({"GET", "HEAD"})
RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
)
# quotas that a wait of seconds will not restore (Tag Manager: 10,000 requests/day per project)
DAILY_QUOTA_REASONS = frozenset({"dailyLimitExceeded", "quotaExceeded"})


class AccessDenied(AuthError):
    """403 PERMISSION_DENIED: the caller has no (or no longer any) access to the resource."""


class Gone(PlatformError):
    """404: the resource does not exist (for a delete: already done)."""


# --- credentials ------------------------------------------------------------------------------


def endpoint_host(endpoint: str) -> str:
    """'127.0.0.1:8080' from 'http://127.0.0.1:8080/...' (what the loopback check wants)."""
    return urlsplit(endpoint).netloc if "://" in endpoint else endpoint


GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def user_credentials(settings: Mapping[str, Any], base: Path, platform: str) -> Any:
    """A user's refresh token and its OAuth client (`adoffboard auth <platform>`), or None
    when the settings hold none; refreshed at `token_uri` on first use."""
    if not settings.get("refresh_token"):
        return None
    missing = [k for k in ("client_id", "client_secret") if not settings.get(k)]
    if missing:
        raise AuthError(
            f"platforms.{platform}.refresh_token needs {' and '.join(missing)} too "
            f"(`adoffboard auth` writes all three)"
        )
    import google.oauth2.credentials

    return google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=resolve(str(settings["refresh_token"]), base=base).value,
        client_id=resolve(str(settings["client_id"]), base=base).value,
        client_secret=resolve(str(settings["client_secret"]), base=base).value,
        token_uri=str(settings.get("token_uri") or GOOGLE_TOKEN_URI),
    )


def google_credentials(
    settings: Mapping[str, Any], base: Path, scopes: list[str], platform: str
) -> Any:
    """Credentials from `[platforms.<platform>]`: access_token (a reference), a user's refresh
    token, or a service account's key file."""
    check_sandbox_only(dict(settings), endpoint_host(str(settings.get("endpoint") or "")))
    if settings.get("access_token"):
        import google.oauth2.credentials

        token = resolve(str(settings["access_token"]), base=base).value
        return google.oauth2.credentials.Credentials(token=token)
    user = user_credentials(settings, base, platform)
    if user is not None:
        return user
    if settings.get("credentials_file"):
        from google.oauth2 import service_account

        ref = str(settings["credentials_file"]).removeprefix("file:")
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            return service_account.Credentials.from_service_account_file(str(path), scopes=scopes)
        except (OSError, ValueError) as exc:
            raise AuthError(
                f"platforms.{platform}.credentials_file: cannot load a service "
                f"account key from {path} ({type(exc).__name__})"
            ) from None
    raise AuthError(
        f"platforms.{platform} needs access_token (a reference such as env:NAME), "
        f"refresh_token with client_id and client_secret (`adoffboard auth`), or "
        "credentials_file (a service account key)"
    )


def token_uri(creds: Any) -> str | None:
    """The OAuth token endpoint the credentials refresh against (service accounts only)."""
    uri = getattr(creds, "_token_uri", None) or getattr(creds, "token_uri", None)
    return str(uri) if uri else None


# --- transports that refuse writes ------------------------------------------------------------


def _refusal(method: str, url: str, label: str = "") -> DryRunViolation:
    path = urlsplit(url).path
    who = f"{label} " if label else ""
    return DryRunViolation(f"read-only run refused {who}{method} {path}: nothing was sent")


class ReadOnlyHttp(httplib2.Http):
    """An httplib2 transport that sends GET/HEAD only.

    The one exception is a POST to the credentials' own token endpoint (a service account
    refreshing its access token), which changes nothing on any platform.
    """

    def __init__(
        self, *, timeout: float, token_endpoint: str | None = None, label: str = ""
    ) -> None:
        super().__init__(timeout=timeout)
        self._token_endpoint = token_endpoint
        self._label = label  # named in the refusal, e.g. "Google Sheets"

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        verb = method.upper()
        if verb not in SAFE_METHODS and not (verb == "POST" and uri == self._token_endpoint):
            raise _refusal(verb, uri, self._label)
        return super().request(uri, method, *args, **kwargs)


class ReplyLost(ConnectionError):
    """A write was sent and the connection closed before any reply: it may have landed."""


class _NoResend:
    """An `http.client` connection, for one write: a reply that never came is an error.

    httplib2 sends a request a second time, whatever its method, when the first reply is
    missing (`BadStatusLine`, `ResponseNotReady`: it takes them for a stale keep-alive
    connection). For a write that may already have landed, that is a blind retry; this turns the
    missing reply into `ReplyLost`, which httplib2 raises as it is.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def getresponse(self) -> Any:
        try:
            return self._conn.getresponse()
        except (http.client.BadStatusLine, http.client.ResponseNotReady) as exc:
            raise ReplyLost(f"no reply to a write ({type(exc).__name__})") from exc


class WriteOnceHttp(httplib2.Http):
    """The transport for writes: each write leaves the process at most once per call.

    `googleapiclient` retries nothing with `execute(num_retries=0)` (its own loop resends any
    method on timeouts, resets, 5xx and 429 when asked to); httplib2 still resends a request
    whose reply went missing, which `_NoResend` stops for every method but GET/HEAD.
    """

    def _conn_request(
        self, conn: Any, request_uri: str, method: str, body: Any, headers: Any
    ) -> Any:
        if method.upper() not in SAFE_METHODS:
            conn = _NoResend(conn)
        return super()._conn_request(conn, request_uri, method, body, headers)


def _google_read(request: requests.PreparedRequest) -> bool:
    return (request.method or "GET").upper() in SAFE_METHODS


def guard_session(session: Any) -> None:
    """Make a requests session (the GA4 SDK's) refuse writes; fail closed if it is not one."""
    if not isinstance(session, requests.Session):
        raise DryRunViolation(
            "cannot guard this transport against writes: refusing to read through it"
        )
    adapter = GuardedAdapter(read_only=True, is_read=_google_read)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


# --- independent requests at once -------------------------------------------------------------


class AtOnce:
    """Runs independent requests at once, on threads kept for the connector's life (so that
    each thread's own transport, and its open connection, serves it again); `close` ends them.

    A connector that uses it gives each thread its own transport (httplib2 and the SDKs'
    sessions are not thread-safe)."""

    def __init__(self, name: str, workers: int = 8) -> None:
        self._name, self._workers = name, workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, jobs: Sequence[Callable[[], T]]) -> list[T | Exception]:
        """Each job's result or what it raised, in order: the caller ranks the errors of jobs
        run together (a tenant mismatch first) and raises the one that matters (`raised`)."""
        if len(jobs) <= 1:
            return [_outcome(job) for job in jobs]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)
            pool = self._pool
        return list(pool.map(_outcome, jobs))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _outcome(job: Callable[[], T]) -> T | Exception:
    try:
        return job()
    except Exception as exc:  # raised again by `raised`, where its result is used
        return exc


def raised(result: T | Exception) -> T:
    """A result of `AtOnce.run`, or the error its job raised, raised now."""
    if isinstance(result, Exception):
        raise result
    return result


# --- errors -----------------------------------------------------------------------------------


def _duration(text: Any) -> float | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(text or ""))
    return float(match.group(1)) if match else None


def _retry_delay(details: Any, headers: Mapping[str, Any]) -> float | None:
    for detail in details or ():
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith(
            "google.rpc.RetryInfo"
        ):
            seconds = _duration(detail.get("retryDelay"))
            if seconds is not None:
                return seconds
    header = {str(k).lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _reasons(errors: Any, details: Any) -> set[str]:
    found = {
        str(e.get("reason")) for e in errors or () if isinstance(e, Mapping) and e.get("reason")
    }
    found |= {
        str(d.get("reason"))
        for d in details or ()
        if isinstance(d, Mapping)
        and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")
        and d.get("reason")
    }
    return found


def classify(
    status: int, error: Mapping[str, Any], headers: Mapping[str, Any], what: str
) -> Exception:
    """Google's JSON error (the `error` object) -> adoffboard's exception, by what to do next."""
    message = str(error.get("message") or f"HTTP {status}")
    reasons = _reasons(error.get("errors"), error.get("details"))
    text = f"{what}: {status} {message}"
    if status == 429 or (status == 403 and reasons & RATE_LIMIT_REASONS):
        return TransientError(
            f"{what} rate limit: {message}", retry_after=_retry_delay(error.get("details"), headers)
        )
    if status >= 500:
        return TransientError(text, retry_after=_retry_delay(error.get("details"), headers))
    if status == 401:
        return AuthError(f"{what} refused the credentials: {message}")
    if reasons & DAILY_QUOTA_REASONS:
        return PlatformError(f"{what} quota exhausted (try again tomorrow): {message}")
    if status == 403:
        return AccessDenied(f"{what} denied access: {message}")
    if status == 404:
        return Gone(text)
    return PlatformError(text)


def translate(exc: Exception, what: str) -> Exception:
    """Any exception from the Google client libraries -> adoffboard's tree."""
    from google.api_core import exceptions as core
    from google.auth import exceptions as auth
    from googleapiclient.errors import HttpError

    if isinstance(exc, auth.RefreshError):
        # a 401 makes the client try to refresh; a bare access token cannot
        return AuthError(
            f"{what} refused the credentials and they cannot be refreshed: renew the access token"
        )

    if isinstance(exc, HttpError):
        try:
            payload = json.loads(
                exc.content.decode("utf-8") if isinstance(exc.content, bytes) else exc.content
            )
        except (ValueError, UnicodeDecodeError, AttributeError):
            payload = {}
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            error = {"message": str(getattr(exc, "reason", "") or "")}
        return classify(int(exc.resp.status), error, dict(exc.resp), what)
    if isinstance(exc, core.GoogleAPICallError):
        error = {
            "message": _strip_url(exc.message),
            "errors": exc.errors,
            "details": [d for d in exc.details if isinstance(d, Mapping)],
        }
        if exc.reason:
            error["details"].append(
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": exc.reason}
            )
        response = exc.response if isinstance(exc.response, requests.Response) else None
        headers = dict(response.headers) if response is not None else {}
        return classify(int(exc.code or 500), error, headers, what)
    if isinstance(exc, requests.RequestException | httplib2.HttpLib2Error | OSError):
        return TransientError(f"{what}: connection problem ({type(exc).__name__})")
    return PlatformError(f"{what} client error: {type(exc).__name__}: {exc}")


def _strip_url(message: str) -> str:
    """api_core prefixes REST errors with 'METHOD URL: '; keep the platform's message only."""
    return re.sub(r"^[A-Z]+ https?://\S+: ", "", message or "")


def google_calls(
    ctx: ConnectorContext, calls: Counter[str], what: str, throttle: Throttle | None = None
) -> Calls:
    """Calls to a Google REST API, their errors translated from Google's JSON envelope."""
    return Calls(
        ctx, calls, "", translate=functools.partial(translate, what=what), throttle=throttle
    )


def identities(ctx: ConnectorContext, extra: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The agency's own users to remove: the workspace's plus the manifest's, lower-cased."""
    return frozenset(i.strip().lower() for i in (*ctx.agency_identities, *extra) if i.strip())
