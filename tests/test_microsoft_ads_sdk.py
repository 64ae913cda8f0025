"""The msads SDK imported for the connector alone: `openapi_client`'s package `__init__`s are kept
lazy (`connectors/microsoft_ads/sdk_import.py`), and the two services' clients are built without
`bingads.service_client`, which imports all six services' APIs, or the services' own generated
API modules (`client.OPERATIONS`). The saving is checked in fresh processes, the fidelity of the
lazy packages too, and the wire of every operation against the SDK's ServiceClient.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from bingads.authorization import AuthorizationData, OAuthDesktopMobileImplicitGrant, OAuthTokens
from bingads.service_client import ServiceClient
from loopback_support import serving
from msads_support import DOCUMENTED_TYPES, sdk_client
from openapi_client.models.campaign.budget import Budget
from openapi_client.models.campaign.campaign import Campaign
from openapi_client.models.campaign.campaign_status import CampaignStatus
from openapi_client.models.campaign.get_budgets_by_ids_request import GetBudgetsByIdsRequest
from openapi_client.models.campaign.get_campaigns_by_account_id_request import (
    GetCampaignsByAccountIdRequest,
)
from openapi_client.models.campaign.get_experiments_by_ids_request import (
    GetExperimentsByIdsRequest,
)
from openapi_client.models.campaign.update_budgets_request import UpdateBudgetsRequest
from openapi_client.models.campaign.update_campaigns_request import UpdateCampaignsRequest
from openapi_client.models.customer.get_account_request import GetAccountRequest
from openapi_client.models.customer.get_user_request import GetUserRequest
from openapi_client.models.customer.paging import Paging
from openapi_client.models.customer.predicate import Predicate
from openapi_client.models.customer.search_accounts_request import SearchAccountsRequest

from adoffboard.connectors.microsoft_ads.client import (
    CAMPAIGNS,
    CUSTOMERS,
    OPERATIONS,
    MicrosoftAdsApi,
)
from adoffboard.connectors.microsoft_ads.sdk_import import model_module
from adoffboard.credentials import SANDBOX_SECRET
from adoffboard.sandbox import Sandbox

pytestmark = pytest.mark.standins("microsoft_ads")

# no service's generated API module: the connector sends its operations through `ApiClient`
UNUSED_APIS = [
    f"openapi_client.api.{name}"
    for name in (
        "bulk_service_api",
        "ad_insight_service_api",
        "reporting_service_api",
        "customer_billing_service_api",
        "campaign_management_service_api",
        "customer_management_service_api",
    )
]
# every operation the connector and `discover` call, and the type of a fault's body
ANSWERS = [
    *(
        f"{operation}Response"
        for operation in (
            "GetAccount",
            "GetUser",
            "SearchAccounts",
            "GetCampaignsByAccountId",
            "GetBudgetsByIds",
            "GetExperimentsByIds",
            "UpdateCampaigns",
            "UpdateBudgets",
        )
    ),
    "ApplicationFault",
]
LAKESIDE, CUSTOMER = "149876543", "251234567"


def fresh(code: str, *args: str) -> Any:
    """Run `code` in a new interpreter (nothing imported yet); its last line of output, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def models_needed(names: list[str]) -> set[str]:
    """The model modules these models' classes can import, at the top of their module or on
    first meeting a subclass (`from_dict`): read from the SDK's source."""
    todo = [m for m in map(model_module, names) if m]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin
        tree = ast.parse(Path(spec.origin).read_text())
        todo += [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("openapi_client.models.")
        ]
    return found


READ_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.retry import RetryPolicy

settings, root = json.loads(sys.argv[1]), Path(sys.argv[2])
ctx = ConnectorContext(
    settings=settings, workspace_root=root, read_only=True, clock=FakeClock(),
    retry=RetryPolicy(attempts=2, timeout=10), progress=lambda message: None,
)
connector = build("microsoft_ads", ctx)  # the connector module, then `Declaration.sdk`
built = set(sys.modules)
state = connector.read_state(Manifest.model_validate(DEMO_CLIENT))
connector.close()
print(json.dumps({
    "campaigns": len(state.campaigns),
    "built": sorted(built),
    "read": sorted(set(sys.modules) - built),
}))
"""


def test_a_read_imports_no_services_api_module_and_nothing_after_the_build(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = sandbox.platform_settings()["microsoft_ads"]
    out = fresh(READ_IN_A_FRESH_PROCESS, json.dumps(settings), str(tmp_path))
    assert out["campaigns"] > 0
    loaded = set(out["built"]) | set(out["read"])
    assert [m for m in [*UNUSED_APIS, "bingads.service_client"] if m in loaded] == []
    # what the preloading thread imports (`Declaration.sdk`) is all the reads use ...
    assert [m for m in out["read"] if m.startswith(("openapi_client", "bingads"))] == []
    # ... and all that any answer could: every subclass a model can import, every fault
    assert sorted(models_needed(ANSWERS) - set(out["built"])) == []


WHOLE_SDK_AFTER_THE_LAZY_SETUP = """
import json, sys
import adoffboard.connectors.microsoft_ads.client  # makes openapi_client's __init__s lazy
import openapi_client
lazy = "__version__" not in vars(openapi_client)
import bingads.service_client
from bingads.authorization import AuthorizationData, OAuthDesktopMobileImplicitGrant, OAuthTokens
from openapi_client import ApiException, CampaignManagementServiceApi
from openapi_client.exceptions import ApiException as RaisedException
from openapi_client.models.campaign.campaign import Campaign
from openapi_client.models.campaign.get_account_properties_request import (
    GetAccountPropertiesRequest,
)
from openapi_client.api import AdInsightServiceApi
import openapi_client.models

tokens = OAuthTokens(access_token="token", access_token_expires_in_seconds=None)
auth = AuthorizationData(
    account_id=sys.argv[2], customer_id=sys.argv[3], developer_token="dev-token",
    authentication=OAuthDesktopMobileImplicitGrant(client_id="test", oauth_tokens=tokens),
)
svc = bingads.service_client.ServiceClient(
    "CampaignManagementService", 13, auth, location=sys.argv[1]
)
from openapi_client.models import CampaignType, GetCampaignsByAccountIdRequest

request = GetCampaignsByAccountIdRequest(AccountId=sys.argv[2], CampaignType=CampaignType.SEARCH)
data = svc.GetCampaignsByAccountId(request)
print(json.dumps({
    "lazy": lazy,
    "version": openapi_client.__version__,
    "exception": ApiException is RaisedException,
    "api": CampaignManagementServiceApi.__module__,
    "insight": AdInsightServiceApi.__module__,
    "campaign": openapi_client.models.Campaign is Campaign,
    "request": openapi_client.models.GetAccountPropertiesRequest is GetAccountPropertiesRequest,
    "read": type(data).__name__,
}))
"""


def test_the_whole_sdk_still_imports_after_the_lazy_setup(sandbox: Sandbox) -> None:
    url = sandbox.platform_settings()["microsoft_ads"]["endpoint"]
    out = fresh(WHOLE_SDK_AFTER_THE_LAZY_SETUP, url, LAKESIDE, CUSTOMER)
    assert out == {
        "lazy": True,
        "version": "1.0.0",
        "exception": True,
        "api": "openapi_client.api.campaign_management_service_api",
        "insight": "openapi_client.api.ad_insight_service_api",
        "campaign": True,
        "request": True,
        "read": "GetCampaignsByAccountIdResponse",
    }


EVERY_MODEL_BY_NAME = """
import importlib.util, json
import adoffboard.connectors.microsoft_ads.client  # makes openapi_client's __init__s lazy
import openapi_client.models as models

spec = importlib.util.find_spec("openapi_client.models")
eager = {"__name__": "eager", "__package__": "openapi_client"}
exec(spec.loader.get_code("openapi_client.models"), eager)  # the real __init__, elsewhere
classes = {name: value for name, value in eager.items() if isinstance(value, type)}
print(json.dumps({
    "classes": len(classes),
    "differ": sorted(n for n, value in classes.items() if getattr(models, n) is not value),
    # the real __init__'s star imports would also have bound the subpackages' module names
    "init ran": "ai_search_setting" in vars(models),
}))
"""


def test_a_model_looked_up_by_name_is_the_one_the_eager_import_gives() -> None:
    """`openapi_client.models.<Name>`, which the API client deserialises answers with, comes
    from one module's import, and is the very class the full package would hold (of the
    subpackages defining a name, the last one star-imported)."""
    out = fresh(EVERY_MODEL_BY_NAME)
    assert out["classes"] > 1000
    assert (out["differ"], out["init ran"]) == ([], False)


# --- the wire -----------------------------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """Keeps each request as it arrived; answers 200 with an empty JSON object."""

    seen: list[tuple[str, str, dict[str, str], bytes]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PUT = do_POST  # noqa: N815 - http.server's name

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its signature
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str], bytes]]]]:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    with serving(type("Handler", (Recorder,), {"seen": seen})) as url:
        yield url, seen


REQUESTS = {
    "get_campaigns_by_account_id": GetCampaignsByAccountIdRequest(
        AccountId=LAKESIDE, CampaignType=DOCUMENTED_TYPES
    ),
    "get_budgets_by_ids": GetBudgetsByIdsRequest(BudgetIds=None),
    "get_experiments_by_ids": GetExperimentsByIdsRequest(ExperimentIds=["77"]),
    "update_campaigns": UpdateCampaignsRequest(
        AccountId=LAKESIDE, Campaigns=[Campaign(Id="9001", Status=CampaignStatus("Paused"))]
    ),
    "update_budgets": UpdateBudgetsRequest(Budgets=[Budget(Id="5001", Amount=1.0)]),
    "get_account": GetAccountRequest(AccountId=LAKESIDE),
    "get_user": GetUserRequest(UserId=None),
    "search_accounts": SearchAccountsRequest(
        Predicates=[Predicate(Field="UserId", Operator="Equals", Value="42")],
        PageInfo=Paging(Index=0, Size=100),
    ),
}


def test_every_operation_is_one_the_connector_sends_and_tested() -> None:
    assert set(REQUESTS) == set(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_the_clients_send_what_the_sdks_service_client_sends(
    recorder: tuple[str, list[Any]], tmp_path: Path, operation: str
) -> None:
    """Each operation, sent by `MicrosoftAdsApi.call` and by the generated method of the
    SDK's ServiceClient: the same request on the wire (method, path, headers, body), and the
    same model read from the answer."""
    url, seen = recorder
    service, request_ = OPERATIONS[operation][0], REQUESTS[operation]
    settings = {"endpoint": url, "developer_token": "sandbox:", "access_token": "sandbox:"}
    api = MicrosoftAdsApi(
        settings, tmp_path, account_id=LAKESIDE, customer_id=CUSTOMER, read_only=False
    )
    data, _ = api.call(service, operation, request_, 10)
    api.close()
    svc = sdk_client(
        url,
        LAKESIDE,
        CUSTOMER,
        service=service,
        token=SANDBOX_SECRET,
        developer_token=SANDBOX_SECRET,
    )
    theirs = getattr(svc, f"{operation}_with_http_info")(request_, _request_timeout=10)
    ours, sdks = seen
    assert ours == sdks
    assert {"Authorization", "DeveloperToken", "CustomerAccountId", "User-Agent"} <= set(ours[2])
    assert type(data) is type(theirs.data)
    assert type(data).__name__ == OPERATIONS[operation][4]


def test_an_operation_refuses_another_operations_request(tmp_path: Path) -> None:
    settings = {"endpoint": "http://127.0.0.1:9", "developer_token": "x", "access_token": "x"}
    api = MicrosoftAdsApi(
        settings, tmp_path, account_id=LAKESIDE, customer_id=CUSTOMER, read_only=False
    )
    with pytest.raises(TypeError, match="takes a GetAccountRequest"):
        api.call(CUSTOMERS, "get_account", REQUESTS["get_user"], 10)
    with pytest.raises(TypeError, match="takes a GetCampaignsByAccountIdRequest"):
        api.call(CUSTOMERS, "get_campaigns_by_account_id", REQUESTS["get_user"], 10)


@pytest.mark.parametrize("environment", ["production", "sandbox"])
@pytest.mark.parametrize("service", [CAMPAIGNS, CUSTOMERS])
def test_without_an_endpoint_the_hosts_are_the_service_clients(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: str, service: str
) -> None:
    monkeypatch.setenv("MSADS_TEST_TOKEN", "token")
    settings = {
        "environment": environment,
        "developer_token": "env:MSADS_TEST_TOKEN",
        "access_token": "env:MSADS_TEST_TOKEN",
    }
    api = MicrosoftAdsApi(
        settings, tmp_path, account_id=LAKESIDE, customer_id=CUSTOMER, read_only=True
    )
    tokens = OAuthTokens(access_token="token", access_token_expires_in_seconds=None)
    auth = AuthorizationData(
        account_id=LAKESIDE,
        customer_id=CUSTOMER,
        developer_token="token",
        authentication=OAuthDesktopMobileImplicitGrant(client_id="test", oauth_tokens=tokens),
    )
    theirs = ServiceClient(service, 13, auth, environment=environment)._api.api_client
    ours = api.client(service)
    assert ours.configuration.host == theirs.configuration.host
    assert ours.default_headers == theirs.default_headers
    api.close()
