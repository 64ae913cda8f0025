"""Microsoft Advertising: the SDK's models and this package's, both ways.

What the reads return, as `state` holds it (campaigns and shared budgets, the wire value of an SDK
enum), the campaign types a fault refuses as invalid values, and the SDK request a chunk of
changes becomes (`UpdateCampaigns`, `UpdateBudgets`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from adoffboard.connectors.microsoft_ads.planning import _settable
from adoffboard.connectors.microsoft_ads.state import Campaign, SharedBudget
from adoffboard.models import Change

# --- SDK models to state ------------------------------------------------------------------------


def _value(v: Any) -> str:
    """An SDK enum's wire value ('Active', 'DailyBudgetStandard'); a Flag's name ('Search')."""
    if v is None:
        return ""
    return str(getattr(v, "value", None) if isinstance(getattr(v, "value", None), str) else v)


def _campaigns(data: Any) -> tuple[Campaign, ...]:
    return tuple(_campaign(c) for c in (data.campaigns or []) if c is not None)


def _budget(b: Any) -> SharedBudget:
    return SharedBudget(
        str(b.id),
        b.name or "",
        float(b.amount or 0.0),
        _value(b.budget_type),
        int(b.association_count or 0),
    )


def _campaign(c: Any) -> Campaign:
    budget_id = str(c.budget_id or "")
    experiment_id = str(c.experiment_id or "")
    return Campaign(
        id=str(c.id),
        name=c.name or "",
        status=_value(c.status),
        campaign_type=_value(c.campaign_type),
        budget_type=_value(c.budget_type),
        daily_budget=None if c.daily_budget is None else float(c.daily_budget),
        budget_id="" if budget_id == "0" else budget_id,
        experiment_id="" if experiment_id == "0" else experiment_id,
        bidding=str(getattr(c.bidding_scheme, "type", None) or ""),
    )


def refused_types(text: str, sent: Sequence[str]) -> tuple[str, ...]:
    """The campaign types a fault names as invalid values (its Details or Message say which)."""
    if not re.search(r"campaign ?type", text, re.IGNORECASE):
        return ()
    return tuple(t for t in sent if re.search(rf"(?<![A-Za-z]){t}(?![A-Za-z])", text))


# --- changes to SDK requests --------------------------------------------------------------------


def _request(account: str, operation: str, items: Sequence[Sequence[Change]]) -> Any:
    """The SDK request: each entity once, with only the fields it changes (an unset field
    is left as it is by the service)."""
    from openapi_client.models.campaign.budget import Budget as SdkBudget
    from openapi_client.models.campaign.campaign import Campaign as SdkCampaign
    from openapi_client.models.campaign.campaign_status import CampaignStatus
    from openapi_client.models.campaign.update_budgets_request import UpdateBudgetsRequest
    from openapi_client.models.campaign.update_campaigns_request import (
        UpdateCampaignsRequest,
    )

    if operation == "update_budgets":
        return UpdateBudgetsRequest(
            Budgets=[SdkBudget(Id=item[0].entity_id, Amount=float(item[0].after)) for item in items]
        )
    campaigns = []
    for item in items:
        values = {c.field: c.after for c in item}
        fields: dict[str, Any] = {}
        if "Status" in values:
            fields["Status"] = CampaignStatus(_settable(values["Status"]))
        if "DailyBudget" in values:
            fields["DailyBudget"] = float(values["DailyBudget"])
        campaigns.append(SdkCampaign(Id=item[0].entity_id, **fields))
    return UpdateCampaignsRequest(AccountId=account, Campaigns=campaigns)
