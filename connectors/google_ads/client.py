"""The Google Ads wire: the read-only guard (a gRPC interceptor: only Search and SearchStream
leave the process), request ids for the journal, and the SDK's and gRPC's errors translated into
adoffboard's tree."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from typing import Any

import grpc
from google.api_core import exceptions as gexc

from adoffboard.errors import AuthError, DryRunViolation, PlatformError, TransientError

API_VERSION = "v26"
MAX_OPERATIONS = 10_000
READ_METHODS = frozenset({"Search", "SearchStream", "ListAccessibleCustomers"})
FAILURE_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"


# --- errors and the dry-run guard --------------------------------------------------------------


class ReadOnlyGuard(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Refuses every method but the reads (Search, SearchStream, ListAccessibleCustomers) before
    it leaves the process."""

    def _check(self, details: grpc.ClientCallDetails) -> None:
        method = details.method.rsplit("/", 1)[-1]
        if method not in READ_METHODS:
            raise DryRunViolation(f"read-only run refused Google Ads {method}: nothing was sent")

    def intercept_unary_unary(self, continuation, client_call_details, request):
        self._check(client_call_details)
        return continuation(client_call_details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        self._check(client_call_details)
        return continuation(client_call_details, request)


class RequestIds(grpc.UnaryUnaryClientInterceptor):
    """Remembers the request id of the last unary call of each thread, for the journal: mutates
    sent at once from several threads each journal their own."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def last(self) -> str:
        return str(getattr(self._local, "last", ""))

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(client_call_details, request)
        self._local.last = _request_id(outcome)
        return outcome


def _failure_from_metadata(metadata: Iterable[Any] | None) -> Any:
    from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure

    for key, value in metadata or ():
        if key == FAILURE_KEY:
            return GoogleAdsFailure.deserialize(value)
    return None


def _retry_delay(failure: Any) -> float | None:
    for err in getattr(failure, "errors", ()):
        delay = err.details.quota_error_details.retry_delay
        if isinstance(delay, dt.timedelta):  # proto-plus turns Duration into timedelta
            seconds = delay.total_seconds()
        else:
            seconds = delay.seconds + delay.nanos / 1e9
        if seconds > 0:
            return seconds
    return None


def _describe(failure: Any) -> str:
    parts = [
        f"{_code_name(err.error_code)}: {err.message}"
        for err in list(getattr(failure, "errors", ()))[:3]
    ]
    return "; ".join(parts) or "request failed"


def _code_name(code: Any) -> str:
    """'quota_error.RESOURCE_EXHAUSTED' from an ErrorCode, proto-plus or plain protobuf."""
    pb = type(code).pb(code) if hasattr(type(code), "pb") else code
    for fd, value in pb.ListFields():
        enum = fd.enum_type
        return f"{fd.name}.{enum.values_by_number[value].name}" if enum else fd.name
    return "error"


def _request_id(call: Any) -> str:
    """The request id of a finished call.

    It travels in the trailing metadata, but the layers between us and the wire hide it:
    gRPC's interceptor outcome keeps the inner call in `_call`, and google-ads 34's response
    wrapper answers trailing_metadata() with the initial metadata, keeping the real call in
    `_underlay_call`. Walk down to the wire-level call.
    """
    for _ in range(6):
        if call is None:
            break
        try:
            metadata = list(call.trailing_metadata() or ()) + list(call.initial_metadata() or ())
        except Exception:  # a call that failed before metadata arrived has none
            metadata = []
        found = next((str(v) for k, v in metadata if k == "request-id"), "")
        if found:
            return found
        call = getattr(call, "_underlay_call", None) or getattr(call, "_call", None)
    return ""


def translate(exc: Exception) -> Exception:
    """Map SDK and gRPC exceptions to adoffboard's tree, by what the caller should do."""
    from google.ads.googleads.errors import GoogleAdsException

    if isinstance(exc, GoogleAdsException):
        failure = exc.failure
        text = _describe(failure)
        names = {_code_name(err.error_code).split(".")[0] for err in failure.errors}
        if "quota_error" in names:
            return TransientError(
                f"Google Ads quota: {text}",
                retry_after=_retry_delay(failure),
                request_id=exc.request_id,
            )
        if names & {"authentication_error", "authorization_error"}:
            return AuthError(f"Google Ads refused access: {text} (request {exc.request_id})")
        return PlatformError(f"Google Ads: {text}", request_id=exc.request_id)
    if isinstance(exc, gexc.GoogleAPICallError):
        call = exc.response if isinstance(exc.response, grpc.Call) else None
        failure = _failure_from_metadata(call.trailing_metadata() if call else None)
        rid = _request_id(call)
        transient = (
            gexc.ResourceExhausted,
            gexc.InternalServerError,
            gexc.ServiceUnavailable,
            gexc.DeadlineExceeded,
        )
        if isinstance(exc, transient):
            return TransientError(
                f"Google Ads {type(exc).__name__}: {exc.message}",
                retry_after=_retry_delay(failure),
                request_id=rid,
            )
        if isinstance(exc, gexc.Unauthenticated | gexc.PermissionDenied):
            return AuthError(f"Google Ads refused access: {exc.message}")
        return PlatformError(f"Google Ads {type(exc).__name__}: {exc.message}", request_id=rid)
    if isinstance(exc, grpc.RpcError):
        code = exc.code() if hasattr(exc, "code") else None
        if code in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.INTERNAL,
        ):
            return TransientError(f"Google Ads {code.name}")
        return PlatformError(f"Google Ads gRPC error {code}")
    return PlatformError(f"Google Ads client error: {type(exc).__name__}: {exc}")


def partial_errors(response: Any) -> dict[int, str]:
    """Operation index -> message, from a partial-failure response."""
    status = getattr(response, "partial_failure_error", None)
    if not status or not status.code:
        return {}
    from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure

    out: dict[int, str] = {}
    for detail in status.details:
        failure = GoogleAdsFailure.deserialize(detail.value)
        for err in failure.errors:
            index = next(
                (
                    el.index
                    for el in err.location.field_path_elements
                    if el.field_name == "mutate_operations"
                ),
                None,
            )
            if index is not None:
                out[int(index)] = f"{_code_name(err.error_code)}: {err.message}"
    return out
