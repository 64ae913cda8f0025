"""Google Ads stand-in: the gRPC server (TLS, lifecycle, the common path of every request,
authentication, faults, service wiring) and `generate_accounts`."""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.ads.googleads.v26.services.types import customer_client_link_service as ccl_svc
from google.ads.googleads.v26.services.types import customer_manager_link_service as cml_svc
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from adoffboard.sandbox.core import (
    KILLED_AFTER,
    KILLED_BEFORE,
    FaultPlan,
    FaultRule,
    RequestLog,
    reinit,
)
from adoffboard.sandbox.googleads.errors import _STATUS_MESSAGES, INVALID, AdsFault, _fault
from adoffboard.sandbox.googleads.model import (
    CURRENCIES,
    ERROR_DETAILS,
    FAILURE,
    FAILURE_KEY,
    PLATFORM,
    VERSION,
)
from adoffboard.sandbox.googleads.mutate import MutateHandlers
from adoffboard.sandbox.googleads.search import SearchHandlers
from adoffboard.sandbox.googleads.state import GoogleAdsState
from adoffboard.sandbox.tls import sandbox_cert

# --------------------------------------------------------------------------------------------
# The gRPC server

_SERVICES = "google.ads.googleads.{}.services.{}"
_READ_METHODS = frozenset({"Search", "SearchStream"})
Work = Callable[[list[FaultRule], str], tuple[Any, str]]


def _request_id() -> str:
    return secrets.token_urlsafe(16)[:22]


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()  # type: ignore[no-any-return]


class GoogleAdsStandIn(SearchHandlers, MutateHandlers):
    """The Google Ads API v26 stand-in server (TLS, the SDK's own messages).

    Faults are asked for once per request (`faults.take("google_ads", method, customer_id)`):
    `latency` sleeps before processing, or after the state was changed with
    match {"phase": "after_apply"}; `timeout` sleeps `latency_ms` (default 30 s) unless the
    client gives up first, and then changes nothing; `resource_exhausted`, `internal` and
    `unavailable` fail the call; `partial_failure` refuses the operation on the resource named
    by match {"resource": "campaign" | "campaign_budget" | "customer_client_link" (id = client)
    | "customer_manager_link" (id = manager), "id": ...}, with DatabaseError
    CONCURRENT_MODIFICATION unless match["error"] names another, e.g.
    "campaign_error.CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN". A rule counts as fired when its request
    arrives, whether or not that request touches the matched resource.
    """

    def __init__(self, scenario: Mapping[str, Any], log: RequestLog, faults: FaultPlan) -> None:
        self.state = GoogleAdsState(scenario)
        self.log = log
        self.faults = faults
        self.port: int | None = None
        self.host = "127.0.0.1"
        self._server: grpc.Server | None = None

    # ---- lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        cert = sandbox_cert()
        server = grpc.server(ThreadPoolExecutor(max_workers=16, thread_name_prefix="google-ads"))
        server.add_generic_rpc_handlers(self._handlers())
        bound = server.add_secure_port(
            f"{host}:{port}", grpc.ssl_server_credentials([(cert.key_pem, cert.cert_pem)])
        )
        if not bound:
            raise OSError(f"Google Ads stand-in cannot listen on {host}:{port}")
        server.start()
        self._server, self.port, self.host = server, int(bound), host
        return int(bound)

    def settings(self) -> dict[str, Any]:
        """The `[platforms.google_ads]` table that points a workspace at this stand-in."""
        return {
            "endpoint": f"{self.host}:{self.port}",
            "ca_file": str(sandbox_cert().ca_file),
            "developer_token": "sandbox:",
            "access_token": "sandbox:",
            "timeout_s": 30.0,
            "attempts": 5,
        }

    def reset(self, section: Mapping[str, Any]) -> None:
        """Back to the accounts `section` describes, still listening (tests reuse one server
        across many runs). Call it while no request is in flight."""
        reinit(self, section, ("_server", "port", "host", "log", "faults"))

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self, grace: float | None = 0.5) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def __enter__(self) -> GoogleAdsStandIn:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handlers(self) -> tuple[grpc.GenericRpcHandler, ...]:
        def unary(fn: Any, request_cls: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=request_cls.deserialize, response_serializer=_serialize
            )

        google_ads = {
            "Search": unary(self._search, ga_svc.SearchGoogleAdsRequest),
            "SearchStream": grpc.unary_stream_rpc_method_handler(
                self._search_stream,
                request_deserializer=ga_svc.SearchGoogleAdsStreamRequest.deserialize,
                response_serializer=_serialize,
            ),
            "Mutate": unary(self._mutate, ga_svc.MutateGoogleAdsRequest),
        }
        client_link = {
            "MutateCustomerClientLink": unary(
                self._mutate_client_link, ccl_svc.MutateCustomerClientLinkRequest
            )
        }
        manager_link = {
            "MutateCustomerManagerLink": unary(
                self._mutate_manager_link, cml_svc.MutateCustomerManagerLinkRequest
            )
        }
        return (
            *(
                grpc.method_handlers_generic_handler(_SERVICES.format(VERSION, name), methods)
                for name, methods in (
                    ("GoogleAdsService", google_ads),
                    ("CustomerClientLinkService", client_link),
                    ("CustomerManagerLinkService", manager_link),
                )
            ),
            _Unmodelled(self.log),
        )

    # ---- the common path of every request
    def _serve(
        self,
        context: grpc.ServicerContext,
        service: str,
        method: str,
        customer_id: str,
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

    # ---- GoogleAdsService
    def _search(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = ga_svc.SearchGoogleAdsRequest.pb(request)
        return self._serve(
            context,
            "GoogleAdsService",
            "Search",
            req.customer_id,
            0,
            lambda rules, rid: self._do_search(req),
        )

    def _search_stream(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        req = ga_svc.SearchGoogleAdsStreamRequest.pb(request)
        batches = self._serve(
            context,
            "GoogleAdsService",
            "SearchStream",
            req.customer_id,
            0,
            lambda rules, rid: self._do_search_stream(req, rid),
        )
        yield from batches

    def _mutate(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = ga_svc.MutateGoogleAdsRequest.pb(request)
        written = tuple(
            _written(getattr(op, str(op.WhichOneof("operation"))))
            for op in req.mutate_operations
            if op.WhichOneof("operation")
        )
        return self._serve(
            context,
            "GoogleAdsService",
            "Mutate",
            req.customer_id,
            len(req.mutate_operations),
            lambda rules, rid: self._do_mutate(req, rules, rid),
            written,
        )

    # ---- CustomerClientLinkService (on the manager)
    def _mutate_client_link(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = ccl_svc.MutateCustomerClientLinkRequest.pb(request)
        return self._serve(
            context,
            "CustomerClientLinkService",
            "MutateCustomerClientLink",
            req.customer_id,
            1,
            lambda rules, rid: self._do_client_link(req, rules),
            (_written(req.operation),),
        )

    # ---- CustomerManagerLinkService (on the client)
    def _mutate_manager_link(self, request: Any, context: grpc.ServicerContext) -> Any:
        req = cml_svc.MutateCustomerManagerLinkRequest.pb(request)
        return self._serve(
            context,
            "CustomerManagerLinkService",
            "MutateCustomerManagerLink",
            req.customer_id,
            len(req.operations),
            lambda rules, rid: self._do_manager_link(req, rules),
            tuple(_written(op) for op in req.operations),
        )

    # ---- benchmark data
    @staticmethod
    def generate_accounts(
        campaigns: int = 5000,
        *,
        accounts: int = 1,
        manager_id: str = "1112223333",
        currency_code: str = "USD",
        first_customer_id: int = 3_000_000_001,
        seed: int = 7,
    ) -> dict[str, Any]:
        """A `google_ads` scenario with `campaigns` campaigns per account, in a realistic mix:
        mostly Search, some PMax/Display/Shopping/Demand Gen/Video; ~15% paused, ~5% removed,
        2% experiments; own DAILY budgets, every 10th sharing a pool, every 25th CUSTOM_PERIOD."""
        rng = random.Random(seed)
        unit = CURRENCIES[currency_code].billable_unit_micros
        channels = (
            ["SEARCH"] * 50
            + ["PERFORMANCE_MAX"] * 15
            + ["DISPLAY"] * 15
            + ["SHOPPING"] * 7
            + ["DEMAND_GEN"] * 8
            + ["VIDEO"] * 5
        )
        out_accounts = []
        for a in range(accounts):
            cid = str(first_customer_id + a)
            budgets: list[dict[str, Any]] = [
                {
                    "id": "1",
                    "name": "Shared pool",
                    "period": "DAILY",
                    "amount_micros": 500 * 1_000_000,
                    "explicitly_shared": True,
                }
            ]
            camps = []
            for n in range(1, campaigns + 1):
                channel = rng.choice(channels)
                budget_id = "1"
                if n % 10:
                    budget_id = str(10 + n)
                    amount = rng.randint(10, 300) * 1_000_000 // unit * unit
                    if n % 25 == 0 and channel != "DEMAND_GEN":
                        budgets.append(
                            {
                                "id": budget_id,
                                "name": f"Flight {n}",
                                "period": "CUSTOM_PERIOD",
                                "total_amount_micros": amount * 30,
                            }
                        )
                    else:
                        budgets.append(
                            {
                                "id": budget_id,
                                "name": f"Budget {n}",
                                "period": "DAILY",
                                "amount_micros": amount,
                            }
                        )
                roll = rng.random()
                status = "REMOVED" if roll < 0.05 else "PAUSED" if roll < 0.20 else "ENABLED"
                camp = {
                    "id": str(100_000 + n),
                    "name": f"{channel.title()} campaign {n}",
                    "status": status,
                    "channel": channel,
                    "budget_id": budget_id,
                }
                if n % 50 == 0:
                    camp["experiment_type"] = "EXPERIMENT"
                camps.append(camp)
            out_accounts.append(
                {
                    "customer_id": cid,
                    "descriptive_name": f"Benchmark client {a + 1}",
                    "currency_code": currency_code,
                    "time_zone": "America/New_York",
                    "links": [{"manager_id": manager_id, "manager_link_id": str(800_000 + a)}],
                    "budgets": budgets,
                    "campaigns": camps,
                }
            )
        return {
            "managers": [
                {
                    "customer_id": manager_id,
                    "descriptive_name": "Benchmark MCC",
                    "currency_code": currency_code,
                }
            ],
            "accounts": out_accounts,
        }


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
