"""Microsoft Advertising, declared: its actions, `[platforms.microsoft_ads]` and the manifest's
`microsoft_ads`, and the platform's facts the connector relies on.

FACTS (Bing Ads API v13 reference, learn.microsoft.com/advertising, source MicrosoftDocs/
Advertising `advertising/bingads-13/`; page paths below are relative to it):

- REST endpoints: POST `/CustomerManagement/v13/Account/Query` (GetAccount), POST
  `/CampaignManagement/v13/Campaigns/QueryByAccountId`, `/Budgets/QueryByIds`,
  `/Experiments/QueryByIds`; PUT `/CampaignManagement/v13/Campaigns`, `/Budgets` (each
  operation's page, "Request Url"). Reads are POSTs: the dry-run guard allowlists them by path.
- `GetCampaignsByAccountId` returns Search campaigns only unless `CampaignType` asks for more
  (campaign-management-service/getcampaignsbyaccountid.md). The documented values are Search,
  Shopping, DynamicSearchAds, Audience, Hotel and PerformanceMax (campaigntype.md); the msads SDK
  defines more (App, ObjectiveBased), which are never sent (`CAMPAIGN_TYPES`).
- Campaigns with ManualCpv or ManualCpm bidding are not returned unless `ReturnAdditionalFields`
  asks for `CpvCpmBiddingScheme`; `LifetimeBudgetFields` returns the LifetimeBudgetStandard
  budget type (campaignadditionalfield.md). Both are always asked for (`ADDITIONAL_FIELDS`).
- "With experiment campaigns you cannot set the Budget, BudgetType, or Status ... always
  inherited from the base campaign" (campaign.md, ExperimentId); trying fails with 6133
  ExperimentCampaignCannotBeUpdated (guides/operation-error-codes.md). "To pause an experiment,
  you must pause the base campaign"; `BaseCampaignId` comes from GetExperimentsByIds
  (experiment.md, getexperimentsbyids.md: at most 5,000 ids per call).
- `UpdateCampaigns` and `UpdateBudgets` take at most 100 items (updatecampaigns.md,
  updatebudgets.md); `PartialErrors` are BatchErrors mapped to their item by `Index`
  (batcherror.md). A campaign with a shared budget (`BudgetId`) cannot have its budget changed on
  itself: CampaignServiceCannotUpdateSharedBudget, 1159 (campaign.md, DailyBudget).
- The service pauses a campaign whose budget is depleted (BudgetPaused) by itself (campaign.md,
  Status); only Active and Paused can be set.
- Minimum daily budget per currency: USD, EUR, GBP, CAD, AUD 0.05, INR 0.82, CNY 30.00
  (guides/currencies.md, "Minimum Daily Budget"); `state.MIN_DAILY_BUDGET`.
- 117 CallRateExceeded: resubmit after waiting 60 seconds (guides/handle-service-errors-
  exceptions.md, "Code 117"); 105/106/109 are authentication and authorization errors
  (operation-error-codes.md).
- Errors carry `Details` (operationerror.md, batcherror.md) and batch errors `FieldPath`, "the
  name of the data object's element where the error occurred" (batcherror.md): both are shown.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from adoffboard.connectors.declare import (
    ActionSpec,
    Attempts,
    Claim,
    Declaration,
    ManifestSection,
    SecretRef,
    SettingsModel,
    TimeoutSeconds,
)

# campaigntype.md: every documented value (the SDK's App and ObjectiveBased are not)
CAMPAIGN_TYPES = ("Search", "Shopping", "DynamicSearchAds", "Audience", "Hotel", "PerformanceMax")
# campaignadditionalfield.md: the values without which a campaign is not returned at all
# (CpvCpmBiddingScheme) or its budget type reads differently (LifetimeBudgetFields)
ADDITIONAL_FIELDS = ("CpvCpmBiddingScheme", "LifetimeBudgetFields")

# The SDK's models the connector needs, imported ahead of the reads with the rest of `sdk` (the
# SDK's package `__init__`s, which would import every model, are kept lazy: `sdk_import`; the
# services' generated API modules are not imported at all: `client.OPERATIONS`). The requests it
# builds and the answers it reads (each importing the models it holds); then what an answer may
# need besides: the subclasses a model's `from_dict` imports on first meeting their `Type`
# (bidding schemes, settings, assets, errors), and a fault's models, which the SDK takes from
# `openapi_client.models.ApplicationFault`: models.adinsight's, its star imports' last.
# tests/test_microsoft_ads_sdk.py checks that they cover every model an answer can hold.
CAMPAIGN_MODELS = """
    budget campaign campaign_additional_field campaign_status campaign_type
    get_budgets_by_ids_request get_campaigns_by_account_id_request
    get_experiments_by_ids_request update_budgets_request update_campaigns_request
    get_budgets_by_ids_response get_campaigns_by_account_id_response
    get_experiments_by_ids_response update_budgets_response update_campaigns_response
"""
ANSWER_MODELS = """
    ai_search_setting app_setting app_store base_domain_setting batch_error_base bid_option
    brand_exclusion_setting call_to_action_setting campaign_frequency_cap_setting
    campaign_page_feed_setting co_op_setting commission_bidding_scheme
    cost_per_sale_bidding_scheme criterion_type_group crop_type disclaimer_setting
    dynamic_feed_setting dynamic_search_ads_setting dynamic_search_ads_source editorial_error
    enhanced_cpc_bidding_scheme hotel_ad_group_type hotel_setting image_asset
    impression_tracking_setting inherit_from_parent_bidding_scheme manual_cpa_bidding_scheme
    manual_cpc_bidding_scheme manual_cpm_bidding_scheme manual_cpv_bidding_scheme
    max_clicks_bidding_scheme max_conversion_value_bidding_scheme
    max_conversions_bidding_scheme max_roas_bidding_scheme network_distribution_setting
    new_customer_acquisition_goal_setting percent_cpc_bidding_scheme performance_max_setting
    reach_optimization_goal reach_optimization_goal_setting responsive_search_ads_setting
    shopping_setting target_cpa_bidding_scheme target_impression_share_bidding_scheme
    target_roas_bidding_scheme target_setting target_setting_detail text_asset
    third_party_measurement_setting unified_automation_setting vanity_pharma_display_url_mode
    vanity_pharma_setting vanity_pharma_website_description verified_tracking_setting video_asset
"""
CUSTOMER_MODELS = """
    get_account_request get_user_request paging predicate search_accounts_request
    get_account_response get_user_response search_accounts_response
"""
FAULT_MODELS = "api_fault_detail application_fault batch_error operation_error"


class MicrosoftAdsSettings(SettingsModel):
    """`[platforms.microsoft_ads]`: `endpoint` replaces both services' hosts (the sandbox);
    empty means Microsoft's own hosts for `environment` (production, or Microsoft's sandbox)."""

    endpoint: str = ""
    customer_endpoint: str = ""  # Customer Management host, when it differs from `endpoint`
    environment: Literal["production", "sandbox"] = "production"
    developer_token: SecretRef  # required; empty is refused when the connector starts
    access_token: SecretRef = ""
    client_id: SecretRef = ""
    client_secret: SecretRef = ""
    refresh_token: SecretRef = ""
    # Microsoft identity platform: the Entra tenant of the app registration (empty: common), and
    # another host serving its OAuth paths in place of Microsoft's (the sandbox)
    tenant: str = Field(default="", pattern=r"^[\w.-]*$")
    login_endpoint: str = ""
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5


class MicrosoftAdsAccount(SettingsModel):
    account_id: str = Field(pattern=r"^\d{4,12}$")
    customer_id: str = Field(pattern=r"^\d{4,12}$")
    expected_name: str = Field(min_length=1)


DECLARATION = Declaration(
    platform="microsoft_ads",
    title="Microsoft Advertising",
    module="adoffboard.connectors.microsoft_ads.connector",
    cls="MicrosoftAdsConnector",
    settings=MicrosoftAdsSettings,
    actions={
        "pause_campaigns": ActionSpec("pause Active and BudgetPaused campaigns"),
        "budgets_to_floor": ActionSpec("set daily budgets to the currency's minimum"),
        "set_budgets": ActionSpec("set daily budgets to a signed addendum's amounts"),
    },
    manifest_key="microsoft_ads",
    manifest=(
        ManifestSection(
            "microsoft_ads",
            MicrosoftAdsAccount,
            claims=(Claim("Microsoft Advertising account", "account_id"),),
        ),
    ),
    restorable=True,
    # statuses, campaigns' daily budgets and shared budgets: everything this connector writes
    restorable_entities=frozenset({"campaign", "budget"}),
    sdk=(
        "bingads.authorization",
        "bingads.manifest",
        "openapi_client.api_client",
        "openapi_client.api_response",
        "openapi_client.configuration",
        "openapi_client.model_utils",
        "openapi_client.rest",
        "openapi_client.exceptions",
        *(f"openapi_client.models.campaign.{name}" for name in CAMPAIGN_MODELS.split()),
        *(f"openapi_client.models.campaign.{name}" for name in ANSWER_MODELS.split()),
        *(f"openapi_client.models.customer.{name}" for name in CUSTOMER_MODELS.split()),
        *(f"openapi_client.models.adinsight.{name}" for name in FAULT_MODELS.split()),
        "urllib3",
    ),
)
