"""Google Ads API v26 stand-in: a gRPC server the official `google-ads` SDK talks to unchanged.

Why a wire-level stand-in: the connector is only trustworthy if it has met the API's real
behaviour (trailing-metadata failures, partial failures, update masks, refusals of VIDEO and
REMOVED campaigns, budget floors, quota errors) through the real SDK. So this server speaks gRPC
over TLS with the SDK's own protobuf messages, holds the accounts of a scenario in memory, logs
every request (never its secrets) and injects the faults a `FaultPlan` asks for.

Layout: `model` (entities; the GAQL schema, checked against the SDK's descriptors); `scenario`
(checks of scenario values); `state` (scenario loading and `GoogleAdsState`, the live data tests
inspect); `rows` (the row contexts queries run over); `errors` (errors as the API sends them);
`txn` (the mutation engine, `_Txn`: atomic unless partial_failure); `operations` (the rules of
campaign and budget operations); `mutate` (GoogleAdsService.Mutate, CampaignService and
CampaignBudgetService, one shared path); `links` (the manager-link services); `customers`
(CustomerService.ListAccessibleCustomers); `search` (GAQL reads); `gate` (the common path of
every request); `server` (the gRPC server); `generate` (benchmark accounts).
"""

from adoffboard.sandbox.googleads.errors import AdsFault, ads_error, error_code_name
from adoffboard.sandbox.googleads.model import (
    CURRENCIES,
    FAILURE_KEY,
    MAX_OPERATIONS,
    PAGE_SIZE,
    PLATFORM,
    SCHEMA,
    VERSION,
    Budget,
    Campaign,
    ChangeEvent,
    Currency,
    Customer,
    Link,
    client_link_name,
    manager_link_name,
)
from adoffboard.sandbox.googleads.server import GoogleAdsStandIn
from adoffboard.sandbox.googleads.state import GoogleAdsState

__all__ = [
    "CURRENCIES",
    "FAILURE_KEY",
    "MAX_OPERATIONS",
    "PAGE_SIZE",
    "PLATFORM",
    "SCHEMA",
    "VERSION",
    "AdsFault",
    "Budget",
    "Campaign",
    "ChangeEvent",
    "Currency",
    "Customer",
    "GoogleAdsStandIn",
    "GoogleAdsState",
    "Link",
    "ads_error",
    "client_link_name",
    "error_code_name",
    "manager_link_name",
]
