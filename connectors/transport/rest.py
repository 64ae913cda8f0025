"""The `requests` stack's plumbing (Trello, SharpSpring, configured HTTP endpoints, and the
sessions of the Meta and GA4 SDKs).

- the read-only guard, once: `refuse_write` refuses a mutating request before it leaves the
  process when the connector is read-only (the dry-run guarantee). `GuardedSession` (a session of
  our own, with a default timeout) and `GuardedAdapter` (mounted on an SDK's own session) both
  call it. What counts as a read is the connector's call: by HTTP method for REST, by JSON-RPC
  method name for SharpSpring, whose every call is a POST, GETs only in a Graph batch for Meta.
- `error_for` / `transport_error`: HTTP statuses and `requests` exceptions translated into
  adoffboard's error tree by what the caller should do (auth, permanent, transient).
- `scrub`: removes secrets from any text (known values, and credential-looking query parameters),
  because SharpSpring's secret travels in the URL and `requests` exceptions quote URLs. A filter
  on urllib3's logger keeps URLs with secrets out of debug logs too.

Proxies and CA bundles come from the environment as `requests` reads them (`HTTPS_PROXY`,
`HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) for the platforms'
own hosts, and never for loopback addresses (the sandbox's stand-ins are reached directly, as if
NO_PROXY named them). `.netrc` credentials are never read (`trust_env = False`): a request's
credentials are the workspace's, nothing else.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from adoffboard.credentials import check_sandbox_only
from adoffboard.errors import AuthError, DryRunViolation, PlatformError, TransientError

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECRET_PARAM = re.compile(
    r"(?i)\b(secretKey|secret|token|key|api_key|apikey|accountID|password|access_token|"
    r"oauth_token|oauth_consumer_key)=([^&\s\"'#]+)"
)
_SECURE = "[secure]"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any of `secrets` and without credential-looking query parameters."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _SECURE)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={_SECURE}", text)


class _ScrubQueryStrings(logging.Filter):
    """urllib3 logs every request line (with its query string) at DEBUG: scrub it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = scrub(record.getMessage())
            record.args = ()
        else:
            record.msg = scrub(str(record.msg))
        return True


_LOG_FILTER = _ScrubQueryStrings()
for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    _logger = logging.getLogger(_name)
    if _LOG_FILTER not in _logger.filters:
        _logger.addFilter(_LOG_FILTER)


def is_rest_read(request: requests.PreparedRequest) -> bool:
    return (request.method or "GET").upper() in READ_METHODS


Describe = Callable[[requests.PreparedRequest], str]


def describe_request(request: requests.PreparedRequest) -> str:
    return f"{request.method} {urlsplit(request.url or '').path}"


def refuse_write(
    request: requests.PreparedRequest,
    *,
    read_only: bool,
    platform: str,
    is_read: Callable[[requests.PreparedRequest], bool] = is_rest_read,
    describe: Describe = describe_request,
) -> None:
    """DryRunViolation for a request that is not a read, when the connector is read-only."""
    if read_only and not is_read(request):
        who = f"{platform} " if platform else ""
        raise DryRunViolation(f"read-only run refused {who}{describe(request)}: nothing was sent")


class GuardedAdapter(HTTPAdapter):
    """The guard as an adapter, for the session an SDK builds itself (GA4's, Meta's)."""

    def __init__(
        self,
        *,
        read_only: bool,
        platform: str = "",
        is_read: Callable[[requests.PreparedRequest], bool] = is_rest_read,
    ) -> None:
        super().__init__(max_retries=0)
        self.read_only, self.platform, self.is_read = read_only, platform, is_read

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        refuse_write(
            request, read_only=self.read_only, platform=self.platform, is_read=self.is_read
        )
        return super().send(request, *args, **kwargs)


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_settings(url: str) -> tuple[dict[str, str], str | None]:
    """The proxies and CA bundle the environment sets for `url`: none for a loopback address;
    for another, `requests`' own reading of the proxy variables (NO_PROXY honoured) and of
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE."""
    if is_loopback(url):
        return {}, None
    proxies = requests.utils.get_environ_proxies(url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
    return dict(proxies), bundle


class GuardedSession(requests.Session):
    """A session that refuses writes when read-only, before anything reaches a socket."""

    def __init__(
        self,
        platform: str,
        *,
        read_only: bool,
        timeout: float,
        is_read: Callable[[requests.PreparedRequest], bool] = is_rest_read,
        describe: Callable[[requests.PreparedRequest], str] | None = None,
    ) -> None:
        super().__init__()
        self.trust_env = False
        self.platform = platform
        self.read_only = read_only
        self.timeout = timeout
        self.is_read = is_read
        self.describe = describe or describe_request
        self.sent: list[str] = []  # what left the process ("METHOD /path"), for tests and reports

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """Proxies and CA bundle from the environment for a platform's host, never for loopback
        (`trust_env` stays False, so that `.netrc` is never read)."""
        target = url.decode() if isinstance(url, bytes) else str(url or "")
        env_proxies, bundle = environment_settings(target)
        proxies = {**env_proxies, **(proxies or {})}
        if bundle and verify in (True, None):
            verify = bundle
        return super().merge_environment_settings(target, proxies, stream, verify, cert)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        refuse_write(
            request,
            read_only=self.read_only,
            platform=self.platform,
            is_read=self.is_read,
            describe=self.describe,
        )
        what = self.describe(request)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self.sent.append(what)
        return super().send(request, **kwargs)


def check_sandbox_refs(refs: dict[str, object], url: str) -> None:
    """`sandbox:` credential references only with a loopback URL (the local stand-ins)."""
    sandboxed: dict[str, object] = {
        k: "sandbox:"
        for k, v in refs.items()
        if isinstance(v, str) and v.split(" ")[-1].startswith("sandbox:")
    }
    check_sandbox_only(sandboxed, urlsplit(url).netloc or url)


def body_message(response: requests.Response, limit: int = 200) -> str:
    """The error text of a response: JSON `message`/`error`, else the plain-text body."""
    text = response.text or ""
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:limit] or response.reason or "no message"
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])[:limit]
    return " ".join(text.split())[:limit]


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class HttpStatusError(PlatformError):
    """A permanent refusal, with the HTTP status (404 lets a caller treat "gone" as state)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def error_for(
    title: str,
    response: requests.Response,
    secrets: Iterable[str] = (),
    *,
    throttle_wait: float | None = None,
) -> PlatformError | AuthError:
    """The adoffboard error for an unsuccessful HTTP response."""
    status = response.status_code
    text = scrub(f"{title} answered HTTP {status}: {body_message(response)}", secrets)
    if status in (401, 403):
        return AuthError(text)
    if status == 429:
        wait = retry_after(response)
        return TransientError(text, retry_after=wait if wait is not None else throttle_wait)
    if status in (408, 500, 502, 503, 504):
        return TransientError(text, retry_after=retry_after(response))
    return HttpStatusError(text, status)


def send(
    session: requests.Session,
    title: str,
    method: str,
    url: str,
    secrets: Iterable[str] = (),
    **kwargs: Any,
) -> requests.Response:
    """`session.request`, with `requests` exceptions replaced by scrubbed adoffboard errors.

    The replacement is raised outside the `except` block, so that the original exception,
    whose text quotes the URL (and SharpSpring's key in it), is not even kept as its context.
    """
    failure: PlatformError | None = None
    try:
        return session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        failure = transport_error(title, exc, secrets)
    raise failure


def transport_error(
    title: str, exc: requests.RequestException, secrets: Iterable[str] = ()
) -> PlatformError:
    """A `requests` exception (whose text quotes the URL) as a scrubbed adoffboard error."""
    kind = type(exc).__name__
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TransientError(scrub(f"{title} unreachable ({kind})", secrets))
    return PlatformError(scrub(f"{title} request failed ({kind}): {exc}", secrets))
