"""The Microsoft Advertising transport: the `msads` SDK's REST service APIs, built lazily.

The SDK (import name `bingads`, with its generated `openapi_client`) takes seconds to import, so
nothing here imports it before a connector actually talks to the platform. Even then only what
the two services need is imported: importing this module makes `openapi_client`'s package
`__init__`s lazy (`sdk_import`), the clients are built from the generated pieces the way
`bingads.service_client.ServiceClient` builds them (that module imports all six services' APIs),
and the operations are sent through the SDK's `ApiClient` as the generated methods send them
(`OPERATIONS`), without importing the services' generated API modules.

Reads are POSTs in this API (`.../QueryByAccountId`), so the dry-run guard cannot filter by HTTP
verb: it allowlists the read operations by method and path in the urllib3 pool under the SDK's
REST client and refuses everything else before it leaves the process.

Errors arrive as `openapi_client.exceptions.ApiException` with a JSON `ApplicationFault` body:
`ApiFaultDetail` (Campaign Management: `OperationErrors`, `BatchErrors`), `ApiFault` (Customer
Management: `OperationErrors`) or `AdApiFaultDetail` (authentication: `Errors`). `translate` maps
them by what the caller should do: 117 CallRateExceeded -> TransientError(retry_after=60), 5xx and
connection failures -> TransientError, 105/106/109 and HTTP 401/403 -> AuthError, the rest ->
PlatformError. Every message carries each error's `Details` and `FieldPath` (and, for a batch
error, its item's `Index`) besides Code and Message: they say which value was refused.
msads 13.0.30.1's REST client never refreshes a token by itself: with a plain
access token an expired one (109) is an AuthError, never a network refresh. A refresh token is
exchanged once, when the client is built (`oauth.refresh`, at `login_endpoint` when set).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adoffboard.connectors.microsoft_ads.sdk_import import defer_package_inits
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import AuthError, DryRunViolation, PlatformError, TransientError

# Before anything imports the SDK: the connector module imports this one first, in the thread
# that imports the platform's SDK modules (`Declaration.sdk`), so they find the packages lazy.
defer_package_inits()

CAMPAIGNS = "CampaignManagementService"
CUSTOMERS = "CustomerManagementService"
# Each operation the connector sends, as the generated `<operation>_with_http_info` method of
# msads 13.0.30.1 sends it (`openapi_client.api.<service>_api`): its service, HTTP method, path,
# request model and the model of a 200 answer (any other answer is an `ApplicationFault`). The
# generated modules are not imported: the Campaign Management one alone imports some 640 models
# and wraps every method of its API in pydantic's `validate_call` (1.1 s of CPU, the slowest
# import of a run); `call` sends these operations through the same `ApiClient` steps instead.
# tests/test_microsoft_ads_sdk.py checks the table against the generated methods.
OPERATIONS = {
    "get_campaigns_by_account_id": (
        CAMPAIGNS,
        "POST",
        "/CampaignManagement/v13/Campaigns/QueryByAccountId",
        "GetCampaignsByAccountIdRequest",
        "GetCampaignsByAccountIdResponse",
    ),
    "get_budgets_by_ids": (
        CAMPAIGNS,
        "POST",
        "/CampaignManagement/v13/Budgets/QueryByIds",
        "GetBudgetsByIdsRequest",
        "GetBudgetsByIdsResponse",
    ),
    "get_experiments_by_ids": (
        CAMPAIGNS,
        "POST",
        "/CampaignManagement/v13/Experiments/QueryByIds",
        "GetExperimentsByIdsRequest",
        "GetExperimentsByIdsResponse",
    ),
    "update_campaigns": (
        CAMPAIGNS,
        "PUT",
        "/CampaignManagement/v13/Campaigns",
        "UpdateCampaignsRequest",
        "UpdateCampaignsResponse",
    ),
    "update_budgets": (
        CAMPAIGNS,
        "PUT",
        "/CampaignManagement/v13/Budgets",
        "UpdateBudgetsRequest",
        "UpdateBudgetsResponse",
    ),
    "get_account": (
        CUSTOMERS,
        "POST",
        "/CustomerManagement/v13/Account/Query",
        "GetAccountRequest",
        "GetAccountResponse",
    ),
    "get_user": (
        CUSTOMERS,
        "POST",
        "/CustomerManagement/v13/User/Query",
        "GetUserRequest",
        "GetUserResponse",
    ),
    "search_accounts": (
        CUSTOMERS,
        "POST",
        "/CustomerManagement/v13/Accounts/Search",
        "SearchAccountsRequest",
        "SearchAccountsResponse",
    ),
}
FAULT = "ApplicationFault"
FAULT_STATUSES = ("400", "500", "401", "403")
JSON = "application/json"
# every generated operation's `_auth_settings` (none is configured: the headers carry them)
AUTH_SETTINGS = (
    "Authorization",
    "UserName",
    "CustomerAccountId",
    "CustomerId",
    "DeveloperToken",
    "Password",
)
# Each service's hosts: `ServiceClient.endpoints` (msads 13.0.30.1), used unless settings name
# a host (`location`).
ENDPOINTS = {
    "production": {
        CAMPAIGNS: "https://campaign.api.bingads.microsoft.com",
        CUSTOMERS: "https://clientcenter.api.bingads.microsoft.com",
    },
    "sandbox": {
        CAMPAIGNS: "https://campaign.api.sandbox.bingads.microsoft.com",
        CUSTOMERS: "https://clientcenter.api.sandbox.bingads.microsoft.com",
    },
}
# The operations that only read: the dry-run guard lets through their method and path alone.
READS = (
    "get_account",
    "get_user",
    "search_accounts",
    "get_campaigns_by_account_id",
    "get_budgets_by_ids",
    "get_experiments_by_ids",
)
READ_OPERATIONS = frozenset((OPERATIONS[op][1], OPERATIONS[op][2]) for op in READS)
THROTTLE_WAIT_S = 60.0  # documented guidance for 117 CallRateExceeded
CALL_RATE_EXCEEDED = 117
AUTH_CODES = frozenset({105, 106, 109})
POOL_SIZE = 10  # kept connections per host: the connector's calls in flight at once


class ReadOnlyPool:
    """Stands in for the SDK's urllib3 pool manager; refuses every non-read request."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        path = urlsplit(url).path
        if (method.upper(), path) not in READ_OPERATIONS:
            raise DryRunViolation(
                f"read-only run refused Microsoft Advertising {method.upper()} {path}: "
                "nothing was sent"
            )
        return self._inner.request(method, url, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MicrosoftAdsApi:
    """One account's service APIs (Campaign and Customer Management), built on first use.

    Calls may come from several threads at once: the SDK's REST client keeps no per-call state
    (each operation serialises its own request; urllib3's pool manager is thread-safe), so one
    client per service is shared; building it (and the one token exchange) is done once, under
    a lock."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        workspace_root: Path,
        *,
        account_id: str,
        customer_id: str,
        read_only: bool,
    ) -> None:
        self.settings = settings
        self.base = workspace_root
        self.account_id, self.customer_id = account_id, customer_id
        self.read_only = read_only
        self._clients: dict[str, Any] = {}
        self._auth: Any = None
        self._lock = threading.Lock()

    def prepare(self, services: Iterable[str]) -> None:
        """Build these services' clients now, before threads share them."""
        for service in services:
            self.client(service)

    def _authorization(self) -> Any:
        if self._auth is not None:
            return self._auth
        from bingads.authorization import (
            AuthorizationData,
            OAuthDesktopMobileImplicitGrant,
            OAuthTokens,
        )

        s = self.settings
        # check_sandbox_only reads host:port; these endpoints are URLs (none: Microsoft's hosts)
        endpoints = [e for e in (s.get("endpoint"), s.get("customer_endpoint")) if e] or [None]
        for endpoint in endpoints:
            check_sandbox_only(dict(s), urlsplit(endpoint).netloc or endpoint if endpoint else None)
        if not s.get("developer_token"):
            raise AuthError("platforms.microsoft_ads.developer_token is not configured")
        env = s.get("environment") or "production"
        token = resolve(s["developer_token"], base=self.base).value
        if s.get("access_token"):
            # A given access token is used as is: expires_in None means it is never refreshed.
            tokens = OAuthTokens(
                access_token=resolve(s["access_token"], base=self.base).value,
                access_token_expires_in_seconds=None,
            )
            authentication: Any = OAuthDesktopMobileImplicitGrant(
                client_id="adoffboard", oauth_tokens=tokens, env=env
            )
        elif s.get("refresh_token") and s.get("client_id"):
            from adoffboard.connectors.microsoft_ads import oauth

            secret = s.get("client_secret")
            authentication = oauth.grant_for(
                resolve(s["client_id"], base=self.base).value,
                resolve(secret, base=self.base).value if secret else "",
                env,
                s.get("tenant") or "",
            )
            oauth.refresh(
                authentication,
                s.get("login_endpoint") or "",
                resolve(s["refresh_token"], base=self.base).value,
            )
        else:
            raise AuthError(
                "platforms.microsoft_ads needs access_token, or refresh_token with "
                "client_id (and client_secret for a web application)"
            )
        self._auth = AuthorizationData(
            account_id=self.account_id,
            customer_id=self.customer_id,
            developer_token=token,
            authentication=authentication,
        )
        return self._auth

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._build(service)
            return self._clients[service]

    def _build(self, service: str) -> Any:
        """The service's `ApiClient`, as `ServiceClient.__init__` builds it (same host, same
        default headers), without the service's generated API module (`OPERATIONS`)."""
        from openapi_client import rest
        from openapi_client.api_client import ApiClient
        from openapi_client.configuration import Configuration
        from openapi_client.model_utils import enable_alias_support

        s = self.settings
        location = (
            (s.get("customer_endpoint") if service == CUSTOMERS else None)
            or s.get("endpoint")
            or None
        )
        environment = s.get("environment") or "production"
        enable_alias_support()  # as ServiceClient does: models also answer to their aliases
        host = location or ENDPOINTS.get(environment, {}).get(service)
        api_client = ApiClient(configuration=Configuration(host=host))
        self._set_headers(api_client)
        # Retries are ours (on the injected clock); urllib3 would otherwise resend a PUT.
        api_client.configuration.retries = 0
        api_client.configuration.connection_pool_maxsize = POOL_SIZE
        api_client.rest_client = rest.RESTClientObject(api_client.configuration)
        if self.read_only:
            pool = api_client.rest_client.pool_manager
            api_client.rest_client.pool_manager = ReadOnlyPool(pool)
        return api_client

    def _set_headers(self, api_client: Any) -> None:
        """`ServiceClient.create_rest_headers`, set as the client's defaults: the account, the
        customer, the developer token, the SDK's User-Agent, then the credentials' own."""
        from bingads.manifest import USER_AGENT

        auth = self._authorization()
        headers = {
            "CustomerAccountId": str(auth.account_id),
            "CustomerId": str(auth.customer_id),
            "DeveloperToken": auth.developer_token,
            "User-Agent": USER_AGENT,
        }
        auth.authentication.enrich_headers(headers)
        for name, value in headers.items():
            api_client.set_default_header(name, value)

    def call(self, service: str, operation: str, request: Any, timeout: float) -> tuple[Any, str]:
        """Send one operation; the response's data and its TrackingId. Raises the SDK's errors
        (`translate` maps them; the connector's `transport.Calls` does).

        The steps of the generated `<operation>_with_http_info` (`OPERATIONS`): the request
        serialised with the JSON headers and the operation's auth settings, sent, read, and
        deserialised into the operation's answer model (an `ApiException` otherwise). The
        default headers were set when the client was built; they never change after (the token
        is exchanged once, at build time: see the module's docstring)."""
        owner, method, path, request_model, answer_model = OPERATIONS[operation]
        if owner != service or type(request).__name__ != request_model:
            raise TypeError(f"{service}.{operation} takes a {request_model}")
        api_client = self.client(service)
        serialized = api_client.param_serialize(
            method=method,
            resource_path=path,
            header_params={"Accept": JSON, "Content-Type": JSON},
            body=request,
            auth_settings=list(AUTH_SETTINGS),
        )
        response = api_client.call_api(*serialized, _request_timeout=timeout)
        response.read()
        answer = api_client.response_deserialize(
            response_data=response,
            response_types_map={"200": answer_model, **dict.fromkeys(FAULT_STATUSES, FAULT)},
        )
        headers = answer.headers or {}
        return answer.data, str(headers.get("TrackingId", ""))

    def close(self) -> None:
        for api_client in self._clients.values():
            api_client.rest_client.pool_manager.clear()
        self._clients.clear()


# --- errors ------------------------------------------------------------------------------------


def fault_errors(body: Any) -> list[Mapping[str, Any]]:
    """Every error object of an ApplicationFault body (operation, batch or ad-API errors)."""
    if not isinstance(body, Mapping):
        return []
    found: list[Mapping[str, Any]] = []
    for key in ("OperationErrors", "BatchErrors", "Errors"):
        found += [e for e in body.get(key) or [] if isinstance(e, Mapping)]
    return found


def error_line(
    code: Any, error_code: Any, message: Any, details: Any = None, field_path: Any = None
) -> str:
    """One error as the user reads it: code, symbolic code, message, then what the service adds
    (`Details`, `FieldPath`; operationerror.md, batcherror.md), so that the value in error shows."""
    text = f"{code} {error_code or ''}".strip() + f": {message or ''}".rstrip()
    extra = [f"details: {details}" if details else "", f"field: {field_path}" if field_path else ""]
    extra = [x for x in extra if x]
    return f"{text} ({'; '.join(extra)})" if extra else text


def describe(errors: Sequence[Mapping[str, Any]]) -> str:
    """The fault's errors, operation errors first, then batch errors with their item's index."""
    parts = []
    for e in errors[:3]:
        line = error_line(
            e.get("Code"),
            e.get("ErrorCode"),
            e.get("Message"),
            e.get("Details") or e.get("Detail"),  # AdApiError names it Detail
            e.get("FieldPath"),
        )
        parts.append(f"item {e['Index']}: {line}" if e.get("Index") is not None else line)
    return "; ".join(parts) or "request failed"


def translate(exc: Exception) -> Exception:
    """Map SDK, HTTP and transport exceptions to adoffboard's tree, by what the caller should do."""
    import urllib3
    from openapi_client.exceptions import ApiException

    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        try:
            body = json.loads(exc.body) if exc.body else None
        except (TypeError, ValueError):
            body = None
        errors = fault_errors(body)
        tracking = str(body.get("TrackingId") or "") if isinstance(body, Mapping) else ""
        codes = {e.get("Code") for e in errors}
        text = describe(errors) if errors else f"HTTP {status} {exc.reason or ''}".strip()
        if CALL_RATE_EXCEEDED in codes:
            return TransientError(
                f"Microsoft Advertising throttled the call: {text}",
                retry_after=THROTTLE_WAIT_S,
                request_id=tracking,
            )
        if codes & AUTH_CODES or status in (401, 403):
            return AuthError(f"Microsoft Advertising refused access: {text}")
        if status >= 500 or status == 0:
            return TransientError(f"Microsoft Advertising unavailable: {text}", request_id=tracking)
        return PlatformError(f"Microsoft Advertising: {text}", request_id=tracking)
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return TransientError(f"Microsoft Advertising unreachable: {type(exc).__name__}")
    return PlatformError(f"Microsoft Advertising client error: {type(exc).__name__}: {exc}")


def partial_errors(errors: Sequence[Any] | None) -> dict[int, str]:
    """Item index -> message, from a response's `PartialErrors` (SDK BatchError models)."""
    out: dict[int, str] = {}
    for err in errors or ():
        if err is None or err.index is None:
            continue
        out[int(err.index)] = error_line(
            err.code,
            err.error_code,
            err.message,
            getattr(err, "details", None),
            getattr(err, "field_path", None),
        )
    return out
