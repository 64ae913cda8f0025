"""Google Ads stand-in: the common path of every request (request log, authentication,
faults, authorization against login-customer-id, errors in trailing metadata) and the answer to
methods it does not model."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from adoffboard.sandbox.core import (
    KILLED_AFTER,
    KILLED_BEFORE,
    FaultPlan,
    FaultRule,
    RequestLog,
)
from adoffboard.sandbox.googleads.errors import _STATUS_MESSAGES, INVALID, AdsFault, _fault
from adoffboard.sandbox.googleads.model import ERROR_DETAILS, FAILURE, FAILURE_KEY, PLATFORM
from adoffboard.sandbox.googleads.state import GoogleAdsState

_READ_METHODS = frozenset({"Search", "SearchStream", "ListAccessibleCustomers"})
Work = Callable[[list[FaultRule], str], tuple[Any, str]]


def _request_id() -> str:
    return secrets.token_urlsafe(16)[:22]


class RequestPath:
    """What every modelled method goes through (`_serve`)."""

    state: GoogleAdsState
    log: RequestLog
    faults: FaultPlan

    def _serve(
        self,
        context: grpc.ServicerContext,
        service: str,
        method: str,
        customer_id: str | None,
        operations: int,
        work: Work,
        entities: tuple[str, ...] = (),
    ) -> Any:
        request_id = _request_id()
        mutating = method not in _READ_METHODS
        entry = self.log.record(
            PLATFORM,
            service,
            method,
            mutating=mutating,
            account=customer_id or None,
            operations=operations,
            entities=entities,
        )
        fault: AdsFault | None = None
        try:
            metadata = {k.lower(): v for k, v in context.invocation_metadata()}
            self._authenticate(metadata)
            rules = self.faults.take(PLATFORM, method, customer_id or None, mutating=mutating)
            if FaultPlan.kill(rules, "before_apply"):
                raise _Killed
            self._before(rules, context)
            if customer_id is not None:  # None: a method on the credentials, not a customer
                self._authorize(customer_id, metadata)
            response, detail = work(rules, request_id)
            if FaultPlan.kill(rules, "after_apply"):
                detail = KILLED_AFTER
        except AdsFault as exc:
            fault = exc
        except _Killed:
            self.log.finish(entry, "killed", KILLED_BEFORE)
            context.abort(grpc.StatusCode.UNAVAILABLE, "the client was killed")
        except Exception as exc:  # a stand-in bug still answers like a server would
            fault = _fault(
                grpc.StatusCode.INTERNAL,
                "internal_error",
                "INTERNAL_ERROR",
                f"Stand-in failure: {type(exc).__name__}: {exc}",
            )
        if fault is not None:
            self.log.finish(entry, fault.status.name, fault.detail)
            self._abort(context, fault, request_id)
        context.set_trailing_metadata((("request-id", request_id),))
        self.log.finish(entry, "OK", detail)
        return response

    @staticmethod
    def _abort(context: grpc.ServicerContext, fault: AdsFault, request_id: str) -> None:
        """End the call like the API: status, message, GoogleAdsFailure in trailing metadata."""
        message = _STATUS_MESSAGES.get(fault.status, fault.status.name)
        metadata: list[tuple[str, str | bytes]] = [("request-id", request_id)]
        if fault.errors:
            failure = FAILURE(errors=fault.errors, request_id=request_id)
            packed = any_pb2.Any()
            packed.Pack(failure)
            rich = status_pb2.Status(code=fault.status.value[0], message=message, details=[packed])
            metadata += [
                (FAILURE_KEY, failure.SerializeToString()),
                ("grpc-status-details-bin", rich.SerializeToString()),
            ]
        context.set_trailing_metadata(tuple(metadata))
        context.abort(fault.status, message)

    @staticmethod
    def _authenticate(metadata: Mapping[str, Any]) -> None:
        auth = metadata.get("authorization")
        if not auth:
            raise _fault(
                grpc.StatusCode.UNAUTHENTICATED,
                "authentication_error",
                "AUTHENTICATION_ERROR",
                "Request is missing required authentication "
                "credential: an OAuth 2 access token ('authorization: Bearer ...').",
            )
        if not str(auth).startswith("Bearer ") or len(str(auth)) <= len("Bearer "):
            raise _fault(
                grpc.StatusCode.UNAUTHENTICATED,
                "authentication_error",
                "OAUTH_TOKEN_HEADER_INVALID",
                "The OAuth token in the header is not valid.",
            )
        if not metadata.get("developer-token"):
            raise _fault(
                INVALID,
                "request_error",
                "DEVELOPER_TOKEN_PARAMETER_MISSING",
                "Developer token parameter is missing.",
            )

    def _before(self, rules: list[FaultRule], context: grpc.ServicerContext) -> None:
        """Faults that act before the request is processed."""
        FaultPlan.delay(
            [r for r in rules if r.kind == "latency" and r.match.get("phase") != "after_apply"]
        )
        for rule in rules:
            if rule.kind == "timeout":
                deadline = time.monotonic() + (rule.latency_ms or 30_000) / 1000
                while time.monotonic() < deadline and context.is_active():
                    time.sleep(0.02)
                if not context.is_active():
                    raise AdsFault(grpc.StatusCode.DEADLINE_EXCEEDED)
            elif rule.kind == "resource_exhausted":
                details = ERROR_DETAILS()
                quota = details.quota_error_details
                quota.rate_scope = quota.QuotaRateScope.Value("DEVELOPER")
                quota.rate_name = "Requests per developer token"
                quota.retry_delay.FromMilliseconds(int(rule.retry_delay_s * 1000))
                raise _fault(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "quota_error",
                    "RESOURCE_EXHAUSTED",
                    rule.message
                    or (f"Too many requests. Retry in {rule.retry_delay_s:g} seconds."),
                    details=details,
                )
            elif rule.kind == "internal":
                raise _fault(
                    grpc.StatusCode.INTERNAL,
                    "internal_error",
                    "INTERNAL_ERROR",
                    rule.message or "An internal error has occurred.",
                )
            elif rule.kind == "unavailable":
                raise AdsFault(grpc.StatusCode.UNAVAILABLE)

    def _authorize(self, customer_id: str, metadata: Mapping[str, Any]) -> None:
        """The target must exist and, with login-customer-id, be that manager or its client
        through an ACTIVE link."""
        if not re.fullmatch(r"\d{10}", customer_id or ""):
            raise _fault(
                INVALID,
                "request_error",
                "INVALID_CUSTOMER_ID",
                f"Invalid customer ID '{customer_id}'.",
            )
        state = self.state
        with state.lock:
            if customer_id not in state.customers:
                raise _fault(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "authentication_error",
                    "CUSTOMER_NOT_FOUND",
                    "No customer found for the provided customer id.",
                )
            login = str(metadata.get("login-customer-id") or "")
            if not login or login == customer_id:
                return
            if not re.fullmatch(r"\d{10}", login):
                raise _fault(
                    INVALID,
                    "header_error",
                    "INVALID_LOGIN_CUSTOMER_ID",
                    "The login customer ID could not be validated.",
                )
            link = state.links.get((login, customer_id))
            if link is None or link.status != "ACTIVE":
                raise _fault(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "authorization_error",
                    "USER_PERMISSION_DENIED",
                    "User doesn't have permission to access customer. Note: If you're "
                    "accessing a client customer, the manager's customer id must be set "
                    "in the 'login-customer-id' header.",
                )


class _Killed(Exception):
    """A kill fault ended the client before its request was applied."""


def _written(operation: Any) -> str:
    """The resource an update operation names and the fields of its mask, for the log."""
    update = operation.update if operation.HasField("update") else None
    name = update.resource_name if update is not None else str(operation.WhichOneof("operation"))
    return f"{name}:{','.join(sorted(operation.update_mask.paths))}"


class _Unmodelled(grpc.GenericRpcHandler):
    """Any other method: logged like the rest (so tests see the attempt), then UNIMPLEMENTED,
    which is what a server without that method answers."""

    def __init__(self, log: RequestLog) -> None:
        self._log = log

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        full = str(details.method)
        service, _, method = full.strip("/").rpartition("/")

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            entry = self._log.record(
                PLATFORM, service.rsplit(".", 1)[-1], method, mutating=method not in _READ_METHODS
            )
            self._log.finish(entry, "UNIMPLEMENTED", "not modelled by the stand-in")
            context.set_trailing_metadata((("request-id", _request_id()),))
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"Method not found: {full} (not modelled by the Google Ads stand-in).",
            )
            raise AssertionError("unreachable")

        return grpc.unary_unary_rpc_method_handler(answer)
