"""What the Microsoft Advertising tests share: the documented campaign types as the SDK's flags,
and a Campaign Management client of the msads SDK pointed at a stand-in."""

from __future__ import annotations

from typing import Any

from bingads.authorization import AuthorizationData, OAuthDesktopMobileImplicitGrant, OAuthTokens
from bingads.service_client import ServiceClient
from openapi_client.models.campaign.campaign_type import CampaignType

# campaigntype.md: every documented value (the SDK also defines App and ObjectiveBased)
DOCUMENTED_TYPES = (
    CampaignType.SEARCH
    | CampaignType.SHOPPING
    | CampaignType.DYNAMICSEARCHADS
    | CampaignType.AUDIENCE
    | CampaignType.HOTEL
    | CampaignType.PERFORMANCEMAX
)


def sdk_client(
    url: str,
    account: str,
    customer: str,
    *,
    service: str = "CampaignManagementService",
    token: str = "access-token",
    developer_token: str = "dev-token",
) -> Any:
    """The SDK's ServiceClient with the connector's kind of credentials: a fixed token, never
    refreshed (the connector builds the same client without it: tests/test_microsoft_ads_sdk.py)."""
    tokens = OAuthTokens(access_token=token, access_token_expires_in_seconds=None)
    auth = AuthorizationData(
        account_id=account,
        customer_id=customer,
        developer_token=developer_token,
        authentication=OAuthDesktopMobileImplicitGrant(client_id="test", oauth_tokens=tokens),
    )
    return ServiceClient(service, 13, auth, location=url)
