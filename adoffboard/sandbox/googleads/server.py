"""Google Ads stand-in: the gRPC server (TLS, lifecycle, service wiring); the common path of
every request is `gate`, the work of each method `search`, `mutate`, `links` and `customers`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.ads.googleads.v26.services.types import campaign_budget_service as cb_svc
from google.ads.googleads.v26.services.types import campaign_service as c_svc
from google.ads.googleads.v26.services.types import customer_client_link_service as ccl_svc
from google.ads.googleads.v26.services.types import customer_manager_link_service as cml_svc
from google.ads.googleads.v26.services.types import customer_service as cu_svc
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc

from adoffboard.sandbox.core import FaultPlan, RequestLog, reinit
from adoffboard.sandbox.googleads.customers import CustomerHandlers
from adoffboard.sandbox.googleads.gate import RequestPath, _Unmodelled, _written
from adoffboard.sandbox.googleads.generate import generate_accounts
from adoffboard.sandbox.googleads.model import VERSION
from adoffboard.sandbox.googleads.mutate import MutateHandlers
from adoffboard.sandbox.googleads.search import SearchHandlers
from adoffboard.sandbox.googleads.state import GoogleAdsState
from adoffboard.sandbox.tls import sandbox_cert

_SERVICES = "google.ads.googleads.{}.services.{}"


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()  # type: ignore[no-any-return]


def _operations(req: Any) -> list[Any]:
    """The operations of a mutate request, for the log (reads have none)."""
    fields = req.DESCRIPTOR.fields_by_name
    if "mutate_operations" in fields:  # GoogleAdsService.Mutate: one resource per operation
        return [
            getattr(op, str(op.WhichOneof("operation")))
            for op in req.mutate_operations
            if op.WhichOneof("operation")
        ]
    if "operations" in fields:
        return list(req.operations)
    return [req.operation] if "operation" in fields else []


class GoogleAdsStandIn(RequestPath, SearchHandlers, MutateHandlers, CustomerHandlers):
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
        """Every modelled method, each through the common request path (`_serve`)."""
        services: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for service, method, request_cls, work in self._methods():
            services.setdefault(service, {})[method] = self._handler(
                service, method, request_cls, work
            )
        return (
            *(
                grpc.method_handlers_generic_handler(_SERVICES.format(VERSION, name), methods)
                for name, methods in services.items()
            ),
            _Unmodelled(self.log),
        )

    def _methods(self) -> list[tuple[str, str, Any, Callable[[Any, list[Any], str], Any]]]:
        """(service, method, request class, work(request, fault rules, request id))."""
        return [
            ("GoogleAdsService", "Search", ga_svc.SearchGoogleAdsRequest,
             lambda req, rules, rid: self._do_search(req)),
            ("GoogleAdsService", "SearchStream", ga_svc.SearchGoogleAdsStreamRequest,
             lambda req, rules, rid: self._do_search_stream(req, rid)),
            ("GoogleAdsService", "Mutate", ga_svc.MutateGoogleAdsRequest, self._do_mutate),
            ("CampaignService", "MutateCampaigns", c_svc.MutateCampaignsRequest,
             self._do_mutate_campaigns),
            ("CampaignBudgetService", "MutateCampaignBudgets", cb_svc.MutateCampaignBudgetsRequest,
             self._do_mutate_budgets),
            ("CustomerService", "ListAccessibleCustomers", cu_svc.ListAccessibleCustomersRequest,
             lambda req, rules, rid: self._do_list_accessible()),
            ("CustomerClientLinkService", "MutateCustomerClientLink",
             ccl_svc.MutateCustomerClientLinkRequest,
             lambda req, rules, rid: self._do_client_link(req, rules)),
            ("CustomerManagerLinkService", "MutateCustomerManagerLink",
             cml_svc.MutateCustomerManagerLinkRequest,
             lambda req, rules, rid: self._do_manager_link(req, rules)),
        ]  # fmt: skip

    def _handler(
        self,
        service: str,
        method: str,
        request_cls: Any,
        work: Callable[[Any, list[Any], str], Any],
    ) -> grpc.RpcMethodHandler:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            req = request_cls.pb(request)
            operations = _operations(req)
            return self._serve(
                context,
                service,
                method,
                # ListAccessibleCustomers names no customer: login-customer-id is ignored
                req.customer_id if "customer_id" in req.DESCRIPTOR.fields_by_name else None,
                len(operations),
                lambda rules, rid: work(req, rules, rid),
                tuple(_written(op) for op in operations),
            )

        if method == "SearchStream":

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                yield from serve(request, context)

            return grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=request_cls.deserialize,
                response_serializer=_serialize,
            )
        return grpc.unary_unary_rpc_method_handler(
            serve, request_deserializer=request_cls.deserialize, response_serializer=_serialize
        )

    # ---- benchmark data
    generate_accounts = staticmethod(generate_accounts)
