"""Microsoft Advertising API v13 stand-in: the REST/JSON endpoints the `msads` SDK calls.

The connector is only trustworthy if it has met the API's rules through the unmodified SDK, so
this server answers the paths, JSON bodies and fault envelopes the SDK's generated client sends
and parses (`openapi_client` in msads 13.0.30.1):

    POST /CustomerManagement/v13/Account/Query                GetAccount
    POST /CampaignManagement/v13/Campaigns/QueryByAccountId   GetCampaignsByAccountId
    POST /CampaignManagement/v13/Budgets/QueryByIds           GetBudgetsByIds
    POST /CampaignManagement/v13/Experiments/QueryByIds       GetExperimentsByIds
    PUT  /CampaignManagement/v13/Campaigns                    UpdateCampaigns
    PUT  /CampaignManagement/v13/Budgets                      UpdateBudgets

Rules it enforces, as the API documents them: the AuthenticationToken (Bearer), DeveloperToken,
CustomerId and CustomerAccountId headers; Search campaigns only unless `CampaignType` asks for
more, and only the documented types (campaigntype.md: Search, Shopping, DynamicSearchAds,
Audience, Hotel, PerformanceMax): any other value, or one the scenario lists in
`rejected_campaign_types`, fails the request with 100 NullRequest whose `Details` names it;
ManualCpv/ManualCpm campaigns only when `ReturnAdditionalFields` asks for `CpvCpmBiddingScheme`
(campaignadditionalfield.md); experiment campaigns carry `ExperimentId`, show their base
campaign's status and budget, and refuse a Status, DailyBudget or BudgetType update with 6133
ExperimentCampaignCannotBeUpdated (campaign.md, experiment.md); at most 100 items per call
(fault 1114 for campaigns); `PartialErrors` by `Index` for items that fail (unknown id 1100,
Deleted or Suspended status 1120, a daily budget under the currency's minimum 1106, a
campaign-level budget change on a campaign that uses a shared budget 1159), with `FieldPath`
naming the element in error; pausing a BudgetPaused campaign makes it BudgetAndManualPaused.
Faults from the shared FaultPlan: `resource_exhausted` -> 117 CallRateExceeded, `internal` ->
500, `unavailable` -> 503, `partial_failure` with match {"resource": "campaign"|"budget", "id":
...} fails that item.

Where the published error list has no entry (the budget-array limit, an unknown budget id) the
stand-in's own choice is marked as such in `faults`. Errors travel as the SDK expects them: HTTP
400/401/403/500 with an `ApplicationFault` body whose `Type` is `ApiFaultDetail` (Campaign
Management), `ApiFault` (Customer Management) or `AdApiFaultDetail` (authentication), and a
`TrackingId`.

Modules: `accounts` (scenario state), `wire` (request flags, answer JSON), `faults` (codes and
envelopes), `server` (routes and rules), `bench` (benchmark data).
"""

from adoffboard.sandbox.microsoft_ads.accounts import Account, Budget, Campaign, load_accounts
from adoffboard.sandbox.microsoft_ads.bench import generate_account
from adoffboard.sandbox.microsoft_ads.server import PLATFORM, MicrosoftAdsStandIn

__all__ = [
    "PLATFORM",
    "Account",
    "Budget",
    "Campaign",
    "MicrosoftAdsStandIn",
    "generate_account",
    "load_accounts",
]
