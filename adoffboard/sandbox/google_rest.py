"""What the Google REST stand-ins share (GA4 Admin, Search Console, Tag Manager).

- Google's JSON error envelope: `{"error": {"code", "message", "status", "errors": [{"message",
  "domain", "reason"}], "details": [...]}}`; the older discovery APIs read `errors[].reason`, the
  newer ones a `google.rpc.ErrorInfo` in `details`: both are sent. Throttling carries a
  `google.rpc.RetryInfo` and a Retry-After header.
- An OAuth bearer token on every request: any non-empty token, or only those the scenario lists
  in `access_tokens`. Each stand-in acts for one user, the scenario's `caller` (the agency
  identity whose token the connector holds): what it may read and change follows that user's
  access, so once the agency's last grant is removed its reads get 403 PERMISSION_DENIED.
- Injected faults in Google's words: `resource_exhausted` -> 429 RESOURCE_EXHAUSTED (or, with
  `match: {as: "403"}`, 403 rateLimitExceeded, as several Google APIs send it), `internal` -> 500,
  `unavailable` -> 503, `timeout` -> 504 after the delay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response
from adoffboard.sandbox.oauth import GOOGLE_AUTHORIZE, GOOGLE_TOKEN, AuthorizationServer

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_error(
    code: int,
    message: str,
    reason: str,
    *,
    status: str | None = None,
    domain: str = "global",
    retry_delay_s: float | None = None,
) -> Response:
    """One error response in Google's envelope."""
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain}
    ]
    headers: dict[str, str] = {}
    if retry_delay_s is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{retry_delay_s:g}s",
            }
        )
        headers["Retry-After"] = str(max(1, round(retry_delay_s)))
    error = {
        "code": code,
        "message": message,
        "status": status or STATUS_NAMES.get(code, "UNKNOWN"),
        "errors": [{"message": message, "domain": domain, "reason": reason}],
        "details": details,
    }
    return Response(code, {"error": error}, headers)


def permission_denied(message: str) -> Response:
    return google_error(403, message, "forbidden")


def not_found(message: str) -> Response:
    return google_error(404, message, "notFound")


def rate_limited(
    retry_delay_s: float,
    *,
    as_403: bool = False,
    message: str = "Quota exceeded: too many requests",
) -> Response:
    if as_403:
        return google_error(
            403,
            message,
            "rateLimitExceeded",
            status="PERMISSION_DENIED",
            domain="usageLimits",
            retry_delay_s=retry_delay_s,
        )
    return google_error(
        429, message, "rateLimitExceeded", domain="usageLimits", retry_delay_s=retry_delay_s
    )


class GoogleRestStandIn(HttpStandIn):
    """Base of the Google REST stand-ins: bearer token, caller identity, Google's errors."""

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.tokens = {str(t) for t in self.section.get("access_tokens") or ()}
        self.caller = str(self.section.get("caller", "")).strip().lower()
        self.issued = 0
        # OAuth's endpoints (adoffboard.sandbox.oauth): the installed-app flow's consent and
        # token exchange, refresh tokens, and service-account keys whose token_uri points here;
        # they change nothing on the platform, so they are not logged as mutations
        self.oauth = AuthorizationServer(
            self.section,
            prefix="sandbox-google",
            offline=lambda args: args.get("access_type") == "offline",
            on_issue=self._accept,
        )
        self.route(
            "GET", GOOGLE_AUTHORIZE, "oauth2.authorize", self.oauth.authorize, service="OAuth2"
        )
        self.route(
            "POST", GOOGLE_TOKEN, "oauth2.token", self._token, mutating=False, service="OAuth2"
        )

    def _accept(self, token: str) -> None:
        if self.tokens:
            self.tokens.add(token)

    def _token(self, request: Request) -> Response:
        answered = self.oauth.token(request)
        if answered is not None:
            return answered
        form = request.form()
        if (
            form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer"
            or form.get("assertion", "").count(".") != 2
        ):
            return Response(400, {"error": "invalid_grant", "error_description": "Bad request"})
        self.issued += 1
        token = f"sandbox-issued-{self.issued}"
        if self.tokens:
            self.tokens.add(token)
        return Response(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def bearer(self, request: Request) -> str:
        header = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
        return header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""

    def authenticate(self, request: Request) -> Response | None:
        if request.path == "/token" or request.path.startswith("/o/oauth2/"):
            return None  # the client authenticates with its assertion, code or secret
        token = self.bearer(request)
        if not token or (self.tokens and token not in self.tokens):
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "authError",
                status="UNAUTHENTICATED",
            )
        return None

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        if rule.kind == "resource_exhausted":
            return rate_limited(
                rule.retry_delay_s,
                as_403=str(rule.match.get("as")) == "403",
                message=rule.message or "Quota exceeded: too many requests",
            )
        if rule.kind == "unavailable":
            return google_error(
                503, rule.message or "The service is currently unavailable.", "backendError"
            )
        if rule.kind == "timeout":
            return google_error(504, rule.message or "Deadline exceeded.", "deadlineExceeded")
        return google_error(500, rule.message or "Internal error encountered.", "backendError")

    def not_found(self, request: Request) -> Response:
        return google_error(404, f"Method not found: {request.method} {request.path}", "notFound")

    def settings(self) -> dict[str, Any]:
        return {"endpoint": self.url, "access_token": "sandbox:", "timeout_s": 30.0, "attempts": 5}

    @staticmethod
    def no_content() -> Response:
        return Response(204, None)

    @staticmethod
    def partial_failure(rule: FaultRule, what: str) -> Response:
        return google_error(
            400,
            rule.message or f"{what} cannot be changed right now",
            "failedPrecondition",
            status="FAILED_PRECONDITION",
        )
