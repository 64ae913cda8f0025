"""The Meta connector's wire: the read-only guard, usage-based pacing, and error translation.

The `facebook-business` SDK sends everything through the `requests.Session` of its
`FacebookSession`. `GuardedAdapter` is mounted on that session, so every request, whatever SDK
object built it, passes here: a read-only connector refuses anything but GET before it leaves the
process (a Graph batch, which is always a POST, passes only when every request in it is a GET:
reading objects by id); each round trip is counted; the usage headers of every answer are
remembered, and the next request waits on the injected clock when the account's usage nears its
limit.

Graph puts the token and `appsecret_proof` in the query string of every request (the session's
default params). Nothing here ever formats a URL with its query into a message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from adoffboard.clock import Clock
from adoffboard.connectors.meta.throttle import documented_regain, minutes_text
from adoffboard.connectors.transport.rest import GuardedAdapter, refuse_write
from adoffboard.errors import AuthError, PlatformError, TransientError

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({102, 104, 190})
SLOWDOWN_MAX_S = 60.0  # the pause before a request when usage reaches 100%


# --- logs -------------------------------------------------------------------------------------

_SECRET_IN_URL = re.compile(r"(access_token|appsecret_proof)=[^&\s\"']+")


class RedactGraphSecrets(logging.Filter):
    """urllib3 logs each request line, query string included, at DEBUG: the token and proof
    must not reach a log even when someone turns DEBUG on."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "access_token=" in text or "appsecret_proof=" in text:
            record.msg, record.args = _SECRET_IN_URL.sub(r"\1=[secure]", text), ()
        return True


def guard_logs() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactGraphSecrets) for f in logger.filters):
        logger.addFilter(RedactGraphSecrets())


# --- usage headers ----------------------------------------------------------------------------


def header_map(headers: Any) -> CaseInsensitiveDict[str]:
    """Headers as a case-insensitive dict, from requests' mapping or a batch item's
    `[{"name": ..., "value": ...}]` list."""
    out: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    if isinstance(headers, Mapping):
        out.update({str(k): str(v) for k, v in headers.items()})
    elif isinstance(headers, list):
        for h in headers:
            if isinstance(h, Mapping) and "name" in h:
                out[str(h["name"])] = str(h.get("value", ""))
    return out


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _buc_entries(headers: Mapping[str, str]) -> list[Mapping[str, Any]]:
    data = _json(headers.get("X-Business-Use-Case-Usage"))
    if not isinstance(data, Mapping):
        return []
    return [
        e
        for entries in data.values()
        if isinstance(entries, list)
        for e in entries
        if isinstance(e, Mapping)
    ]


def usage_pct(headers: Mapping[str, str]) -> float:
    """The highest usage percentage any usage header reports (0 when none)."""
    values: list[float] = []
    for entry in _buc_entries(headers):
        values += [float(entry.get(k) or 0) for k in ("call_count", "total_time", "total_cputime")]
    app = _json(headers.get("X-App-Usage"))
    if isinstance(app, Mapping):
        values += [float(app.get(k) or 0) for k in ("call_count", "total_time", "total_cputime")]
    account = _json(headers.get("X-Ad-Account-Usage"))
    if isinstance(account, Mapping):
        values.append(float(account.get("acc_id_util_pct") or 0))
    return max(values, default=0.0)


def throttle_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until access comes back, as the usage headers tell it.

    `X-Business-Use-Case-Usage` gives `estimated_time_to_regain_access` in minutes; else
    `X-Ad-Account-Usage` gives `reset_time_duration` in seconds. `X-App-Usage` gives no time:
    None, so the retry policy backs off on its own.
    """
    minutes = [float(e.get("estimated_time_to_regain_access") or 0) for e in _buc_entries(headers)]
    if minutes and max(minutes) > 0:
        return max(minutes) * 60.0
    account = _json(headers.get("X-Ad-Account-Usage"))
    if isinstance(account, Mapping) and float(account.get("reset_time_duration") or 0) > 0:
        return float(account["reset_time_duration"])
    return None


class Pacer:
    """Slows down when usage nears the limit: the pause grows linearly from the threshold
    (1 s) to 100% (`SLOWDOWN_MAX_S`), taken once per reading, before the next request.

    Requests may be on the wire at once (a read's edges, independent write batches). While usage
    is below the threshold they go freely; at or above it, and after any pause or throttle wait
    until a fresh answer says how things stand, they go one at a time (`turn`), each after the
    previous one's reading, so that no burst runs into the limit. An answer to a request sent
    before the last pause is stale: that pause already covered the usage it reports."""

    def __init__(self, clock: Clock, threshold_pct: float = 75.0) -> None:
        self.clock = clock
        self.threshold = threshold_pct
        self.pct = 0.0
        self.paused_s = 0.0
        self._epoch = 0  # pauses and resets so far
        self._unknown = False  # a pause or reset since the last fresh reading
        self._lock = threading.Lock()  # the fields above
        self._solo = threading.Lock()  # the one lane while usage is high
        self._sent = threading.local()  # the epoch this thread's last request was sent in

    def observe(self, headers: Mapping[str, str], *, keep_higher: bool = False) -> None:
        pct = usage_pct(headers)
        with self._lock:
            if getattr(self._sent, "epoch", self._epoch) < self._epoch:
                return
            self.pct = max(self.pct, pct) if keep_higher else pct
            self._unknown = False

    def carry(self, other: Pacer) -> None:
        """Start from what `other` (the connector that read for the plan) last heard of usage:
        a writer taking over that read paces its first requests as that reader would have."""
        with other._lock:
            pct, unknown = other.pct, other._unknown
        with self._lock:
            self.pct, self._unknown = pct, unknown

    def reset(self) -> None:
        """After a throttle wait: that wait already covered the usage it reported."""
        with self._lock:
            self.pct = 0.0
            self._epoch += 1
            self._unknown = True

    def hot(self) -> bool:
        """Whether requests should go one at a time now."""
        with self._lock:
            return self._unknown or self.pct >= self.threshold

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Around one request: alone and after the pause usage asks for when usage is high,
        freely otherwise."""
        if not self.hot():
            with self._lock:
                self._sent.epoch = self._epoch
            yield
            return
        with self._solo:
            self.pause()
            yield

    def hold(self, seconds: float) -> None:
        """Wait out a throttle: no request of this connector starts meanwhile (they wait for the
        lane), and a wait other requests already sat through is not taken twice."""
        until = self.clock.monotonic() + seconds
        with self._solo:
            self.reset()
            left = until - self.clock.monotonic()
            if left > 0:
                self.clock.sleep(left)

    def pause(self) -> None:
        with self._lock:
            wait = 0.0
            if self.pct >= self.threshold:
                span = max(100.0 - self.threshold, 1.0)
                wait = max(1.0, SLOWDOWN_MAX_S * min(self.pct - self.threshold, span) / span)
                self.pct = 0.0
                self._epoch += 1
                self._unknown = True
                self.paused_s += wait
            self._sent.epoch = self._epoch
        if wait:
            self.clock.sleep(wait)


class PacedAdapter(GuardedAdapter):
    """The one door of the SDK's session: the read-only guard (`transport.rest`), call counts,
    usage and pacing. Safe for requests from several threads at once."""

    def __init__(self, *, read_only: bool, calls: Counter[str], pacer: Pacer) -> None:
        super().__init__(read_only=read_only, platform="Meta", is_read=graph_reads)
        self.calls = calls
        self.pacer = pacer
        self._count = threading.Lock()
        self._trace = threading.local()

    @property
    def last_trace(self) -> str:
        """x-fb-trace-id of this thread's last answer: Meta's request id."""
        return str(getattr(self._trace, "id", ""))

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        refuse_write(
            request, read_only=self.read_only, platform=self.platform, is_read=self.is_read
        )
        with self.pacer.turn():
            with self._count:
                self.calls["read" if self.is_read(request) else "write"] += 1
            response = HTTPAdapter.send(self, request, *args, **kwargs)
            self.pacer.observe(response.headers)
        self._trace.id = response.headers.get("x-fb-trace-id", "")
        return response


_VERSION_ROOT = re.compile(r"v\d+\.\d+")
_BATCH_KEYS = frozenset({"batch", "include_headers"})


def graph_reads(request: Any) -> bool:
    """A GET, or a Graph batch of GETs only (`reads_only`)."""
    return (request.method or "GET").upper() == "GET" or reads_only(request)


def reads_only(request: Any) -> bool:
    """Whether a POST is a Graph batch (`POST /vX.Y/` with a `batch` form field) whose every
    request is a GET, with no body, no attached file and no `method` override in its query.
    Anything else counts as a write."""
    if (request.method or "").upper() != "POST":
        return False
    segments = [p for p in urlsplit(request.url).path.split("/") if p]
    if not segments or not _VERSION_ROOT.fullmatch(segments[-1]):
        return False
    body = request.body
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
    if not isinstance(body, str):
        return False
    form = parse_qs(body, keep_blank_values=True)
    if not form.keys() <= _BATCH_KEYS or len(form.get("batch", ())) != 1:
        return False
    items = _json(form["batch"][0])
    return isinstance(items, list) and bool(items) and all(_reads(item) for item in items)


def _reads(item: Any) -> bool:
    if not isinstance(item, Mapping) or str(item.get("method", "")).upper() != "GET":
        return False
    if item.get("body") or item.get("attached_files"):
        return False
    query = urlsplit(str(item.get("relative_url", ""))).query
    return "method" not in {k.lower() for k in parse_qs(query, keep_blank_values=True)}


# --- errors -----------------------------------------------------------------------------------


class GraphError:
    """One Graph error, from an exception or a batch item: the safe parts only."""

    def __init__(self, status: int | None, body: Any, headers: Any) -> None:
        body = _json(body) if isinstance(body, str) else body
        error = body.get("error") if isinstance(body, Mapping) else None
        error = error if isinstance(error, Mapping) else {}
        self.status = status
        self.code = _int(error.get("code"))
        self.subcode = _int(error.get("error_subcode"))
        self.message = str(error.get("message") or f"HTTP {status}")
        self.kind = str(error.get("type") or "")
        self.is_transient = bool(error.get("is_transient"))
        self.headers = header_map(headers)
        self.trace = str(error.get("fbtrace_id") or self.headers.get("x-fb-trace-id", ""))

    def describe(self) -> str:
        sub = f"/{self.subcode}" if self.subcode else ""
        return f"({self.code}{sub}) {self.message}"

    @property
    def rate_limited(self) -> bool:
        return self.code in RATE_LIMIT_CODES

    @property
    def transient(self) -> bool:
        return (
            self.rate_limited
            or self.code in TRANSIENT_CODES
            or self.is_transient
            or (self.status or 0) >= 500
        )

    @property
    def no_access(self) -> bool:
        """The token cannot see the object: the agency's access is gone (or never was)."""
        return (
            self.code == 10
            or 200 <= (self.code or 0) <= 299
            or (self.code == 100 and self.subcode == 33)
        )

    @property
    def auth(self) -> bool:
        return (
            self.code in TOKEN_CODES
            or self.no_access
            or (self.code == 100 and "appsecret_proof" in self.message)
        )

    def regain(self) -> tuple[float, str]:
        """A throttle's wait and why: the usage headers' time when they give one, else the time
        Meta documents for the limit behind the code (`throttle.documented_regain`)."""
        wait = throttle_wait(self.headers)
        if wait:
            return wait, f"the usage headers say access returns in {minutes_text(wait)}"
        hold = documented_regain(self.code)
        return hold.seconds, (
            f"no usage header: Meta documents {minutes_text(hold.seconds)} for {hold.limit}"
        )

    def to_exception(self) -> PlatformError | AuthError:
        text = f"Meta: {self.describe()}"
        if self.rate_limited:
            wait, why = self.regain()
            return TransientError(f"{text}; {why}", retry_after=wait, request_id=self.trace or None)
        if self.transient:
            return TransientError(text, request_id=self.trace or None)
        if self.auth:
            return AuthError(f"Meta refused access: {self.describe()} (trace {self.trace})")
        return PlatformError(text, request_id=self.trace or None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def translate(exc: Exception) -> Exception:
    """Map SDK and transport exceptions to adoffboard's tree; never echo a URL or params."""
    import requests
    from facebook_business.exceptions import FacebookError, FacebookRequestError

    if isinstance(exc, FacebookRequestError):
        return GraphError(exc.http_status(), exc.body(), exc.http_headers()).to_exception()
    if isinstance(exc, requests.Timeout):
        return TransientError("Meta: the request timed out")
    if isinstance(exc, requests.ConnectionError):
        return TransientError("Meta: cannot connect to the Graph API endpoint")
    if isinstance(exc, requests.RequestException):
        return PlatformError(f"Meta: transport error {type(exc).__name__}")
    if isinstance(exc, FacebookError):
        return PlatformError(f"Meta SDK error: {type(exc).__name__}")
    return PlatformError(f"Meta client error: {type(exc).__name__}")
