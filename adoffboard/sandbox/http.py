"""The machinery every REST stand-in shares: an HTTP server on loopback, routing, logging, faults.

A stand-in subclasses `HttpStandIn`, declares its routes with `route(method, pattern, op, ...)`
and answers with `Response`s in its platform's own envelope. The base class records every request
in the shared `RequestLog` (operation name, whether it mutates, the account, never a header, query
string or body, where the tokens travel), asks the shared `FaultPlan` once per request, sleeps for
latency faults and lets the subclass turn every other fault into its platform's error
(`fault_response`). Partial-failure rules are handed to the route's handler (`request.faults`),
which fails the one entity they match. Two faults let the request land and spoil only its
answer: `late_reply` holds it `latency_ms` (the client times out), `lost_reply` closes the
connection without it.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from adoffboard.sandbox.core import (
    AFTER_KINDS,
    KILLED_AFTER,
    KILLED_BEFORE,
    FaultPlan,
    FaultRule,
    LoggedRequest,
    RequestLog,
    reinit,
)

# what a stand-in keeps across `reset`: its server, where it listens, what it shares
_SERVING = ("_server", "_thread", "host", "port", "log", "faults")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern
    faults: list[FaultRule] = field(default_factory=list)  # partial-failure rules in force

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """A form-encoded body (or, for GET/DELETE, the query string), one value per name."""
        source = self.body.decode("utf-8") if self.body else ""
        pairs = parse_qs(source, keep_blank_values=True) if source else {}
        return {k: v[-1] for k, v in pairs.items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query string, else from a form body."""
        if name in self.query:
            return self.query[name][-1]
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self.form().get(name, default)
        return default

    def failing(self, **entity: str) -> FaultRule | None:
        """The partial-failure rule that matches this entity, if any."""
        for rule in self.faults:
            if all(str(entity.get(k)) == str(v) for k, v in rule.match.items()):
                return rule
        return None


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialised unless bytes or str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    drop: bool = False  # close the connection without answering (a `lost_reply` fault)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    op: str
    handler: Handler
    mutating: bool
    service: str


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that died mid-connection (crash tests kill theirs) is not a stand-in error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class HttpStandIn:
    """Base of the REST stand-ins; subclasses set `platform` and register routes."""

    platform: ClassVar[str]
    service: ClassVar[str] = ""

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        self.section = dict(section or {})
        self.log = log
        self.faults = faults
        self.lock = threading.RLock()  # guards the stand-in's state across server threads
        self._routes: list[Route] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # --- declaring --------------------------------------------------------------------------

    def route(
        self,
        method: str,
        pattern: str,
        op: str,
        handler: Handler,
        *,
        mutating: bool | None = None,
        service: str = "",
    ) -> None:
        self._routes.append(
            Route(
                method.upper(),
                re.compile(f"^{pattern}$"),
                op,
                handler,
                mutating if mutating is not None else method.upper() != "GET",
                service or self.service or self.platform,
            )
        )

    # --- hooks for subclasses -------------------------------------------------------------------

    def account_of(self, request: Request) -> str | None:
        """The account a request targets, for the log and for account-scoped faults."""
        return request.params.get("account")

    def mutates(self, route: Route, request: Request) -> bool:
        """Whether this request can change state, as the request log records it (by default the
        route's method decides; an envelope such as a batch may look inside)."""
        return route.mutating

    def entities(self, route: Route, request: Request) -> tuple[str, ...]:
        """What a mutating request writes, for the log (by default the resource its path names);
        stand-ins whose writes name their entities in the body look inside it."""
        return (f"{request.method} {request.path}",)

    def authenticate(self, request: Request) -> Response | None:
        """An error response when the request's credentials are wrong, else None."""
        return None

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        """The platform's own error for an injected fault (resource_exhausted, internal, ...)."""
        status = {"resource_exhausted": 429, "unavailable": 503}.get(rule.kind, 500)
        headers = {"Retry-After": str(int(rule.retry_delay_s))} if status == 429 else {}
        return Response(status, {"error": rule.message or rule.kind}, headers)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": f"no route for {request.method} {request.path}"})

    def settings(self) -> dict[str, Any]:
        """The `[platforms.<name>]` table that points a workspace at this stand-in."""
        return {"endpoint": self.url, "timeout_s": 30.0, "attempts": 5}

    def reset(self, section: Mapping[str, Any] | None) -> None:
        """Back to the state `section` describes, still listening where it was (tests reuse one
        running stand-in across many runs). Call it while no request is in flight."""
        with self.lock:
            reinit(self, section, _SERVING)

    @property
    def running(self) -> bool:
        """Whether it still serves (not stopped, its serving thread alive)."""
        return self._server is not None and self._thread is not None and self._thread.is_alive()

    # --- serving ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        standin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small responses go out at once on keep-alive

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                request = Request(
                    self.command,
                    split.path,
                    parse_qs(split.query, keep_blank_values=True),
                    {k: v for k, v in self.headers.items()},
                    body,
                )
                response = standin.dispatch(request)
                if response.drop:
                    self.close_connection = True
                    return
                payload = response.encode()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (late_reply)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the RequestLog is the record; stderr stays quiet

        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),
            name=f"{self.platform}-standin",
            daemon=True,
        )
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def dispatch(self, request: Request) -> Response:
        route, params = self._match(request)
        if route is None:
            entry = self.log.record(
                self.platform,
                self.service or self.platform,
                f"{request.method} {request.path}",
                mutating=False,
            )
            response = self.not_found(request)
            self.log.finish(entry, str(response.status), "unmodelled")
            return response
        request.params = params
        account = self.account_of(request)
        mutating = self.mutates(route, request)
        entry = self.log.record(
            self.platform,
            route.service,
            route.op,
            mutating=mutating,
            account=account,
            entities=self._entities(route, request, mutating),
        )
        denied = self.authenticate(request)
        if denied is not None:
            self.log.finish(entry, str(denied.status), "authentication")
            return denied
        rules = self.faults.take(self.platform, route.op, account, mutating=mutating)
        FaultPlan.delay(rules)
        if FaultPlan.kill(rules, "before_apply"):
            self.log.finish(entry, "killed", KILLED_BEFORE)
            return Response(503, drop=True)
        request.faults = [r for r in rules if r.kind == "partial_failure"]
        blocking = [
            r for r in rules if r.kind not in ("latency", "partial_failure", "kill", *AFTER_KINDS)
        ]
        if blocking:
            rule = blocking[0]
            if rule.kind == "timeout":
                time.sleep(max(rule.latency_ms, 2000) / 1000.0)
            response = self.fault_response(rule, request)
            self.log.finish(entry, str(response.status), rule.kind)
            return response
        try:
            response = route.handler(request)
        except Exception as exc:  # a stand-in bug must answer, not hang the client
            response = Response(500, {"error": f"stand-in error: {type(exc).__name__}: {exc}"})
        if FaultPlan.kill(rules, "after_apply"):
            self.log.finish(entry, str(response.status), KILLED_AFTER)
            return Response(response.status, drop=True)
        return self._spoil_reply(entry, response, [r for r in rules if r.kind in AFTER_KINDS])

    def _spoil_reply(
        self, entry: LoggedRequest, response: Response, rules: list[FaultRule]
    ) -> Response:
        """The request has been carried out: a `late_reply` holds its answer, a `lost_reply`
        drops it (the connection closes unanswered)."""
        for rule in rules:
            if rule.kind == "late_reply":
                time.sleep(rule.latency_ms / 1000.0)
        if any(r.kind == "lost_reply" for r in rules):
            self.log.finish(entry, str(response.status), "lost_reply")
            return Response(response.status, drop=True)
        self.log.finish(entry, str(response.status), rules[0].kind if rules else "")
        return response

    def _entities(self, route: Route, request: Request, mutating: bool) -> tuple[str, ...]:
        if not mutating:
            return ()
        try:
            return self.entities(route, request)
        except (ValueError, TypeError, KeyError, AttributeError):  # a malformed body
            return (f"{request.method} {request.path} (unreadable body)",)

    def _match(self, request: Request) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method != request.method:
                continue
            found = route.pattern.match(request.path)
            if found:
                return route, {k: v for k, v in found.groupdict().items() if v is not None}
        return None, {}
