"""The fewest calls each ad platform needs for an offboarding, from the vendors' documented limits.

Every function takes the plan's changes on its platform (dicts as in the stored plan document)
and the platform's scenario section (what the account holds, for page counts), and returns the
minimum reads and writes. Common to all three:

- Reads happen in READ_PASSES passes: the plan, apply's re-read (one read serves the tenant guard
  and the drift check), and one verification pass (the check the access removals wait for, whose
  reads also give the final verdict). The yardstick keeps apply's pass, although `run --yes`
  now settles its apply on the plan's own read (`adoffboard.engine.handover`) and so makes
  fewer reads than this minimum: an apply of a plan file still needs that pass.
- The critical-path bound takes each platform's minimum as one chain of calls, one after the
  other, phase after phase (pages of one list are sequential anyway; a platform's writes go out
  one request at a time), and multiplies the slowest platform's chain by the round-trip time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

READ_PASSES = 3
Changes = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Minimum:
    reads: int
    writes: int

    @property
    def calls(self) -> int:
        return self.reads + self.writes


def _ads(changes: Changes) -> list[Mapping[str, Any]]:
    return [c for c in changes if c.get("phase", "ads") == "ads"]


def google_ads(changes: Changes, section: Mapping[str, Any]) -> Minimum:
    """Google Ads.

    Reads, per pass: 2 queries. `GoogleAdsService.SearchStream` answers a whole query in one
    call (no page size; `Search` pages hold 10,000 rows), and one GAQL query from `campaign`
    also selects its `campaign_budget` and `customer` fields (attributed resources); the
    manager link (`customer_client_link` / `customer_manager_link`) is a second query.
    https://developers.google.com/google-ads/api/docs/reporting/streaming
    https://developers.google.com/google-ads/api/docs/query/structure

    Writes: `GoogleAdsService.Mutate` carries campaign and campaign budget operations together,
    at most 10,000 operations per request: ceil(campaign and budget changes / 10,000).
    https://developers.google.com/google-ads/api/docs/best-practices/quotas
    Each manager-link change (hide it, end it) is one more mutate of its own service.
    """
    ops = len(_ads(changes))
    links = len(changes) - ops
    return Minimum(READ_PASSES * 2, math.ceil(ops / 10_000) + links)


def microsoft_ads(changes: Changes, section: Mapping[str, Any]) -> Minimum:
    """Microsoft Advertising.

    Reads, per pass: `GetAccount`, `GetCampaignsByAccountId` (every campaign of the account in
    one answer, no paging) and, for an account with shared budgets, `GetBudgetsByIds` with no
    ids, which returns the account's whole shared library in one answer.
    https://learn.microsoft.com/en-us/advertising/campaign-management-service/getcampaignsbyaccountid
    https://learn.microsoft.com/en-us/advertising/campaign-management-service/getbudgetsbyids

    Writes: `UpdateCampaigns` takes at most 100 campaigns per call and updates only the fields
    set, so a campaign paused and given its floor budget is one entity in one call:
    ceil(campaigns changed / 100); `UpdateBudgets` takes at most 100 budgets per call.
    https://learn.microsoft.com/en-us/advertising/campaign-management-service/updatecampaigns
    https://learn.microsoft.com/en-us/advertising/campaign-management-service/updatebudgets
    """
    budgets = section["accounts"][0].get("budgets") or []
    reads = 2 + (1 if budgets else 0)
    ads = _ads(changes)
    campaigns = {c["entity_id"] for c in ads if c["entity_type"] == "campaign"}
    shared = {c["entity_id"] for c in ads if c["entity_type"] == "budget"}
    writes = math.ceil(len(campaigns) / 100) + math.ceil(len(shared) / 100)
    return Minimum(READ_PASSES * reads, writes + len(changes) - len(ads))


def meta(changes: Changes, section: Mapping[str, Any]) -> Minimum:
    """Meta (Graph API).

    Reads, per pass: the ad account, its automated rules and its agencies (one page each), and
    its campaigns and ad sets at the largest page the edges serve, 500 objects a page (cursor
    pages follow one another).
    https://developers.facebook.com/docs/graph-api/results

    Writes: status updates of campaigns, ad sets and rules in batch requests of at most 50
    requests each: ceil(updates / 50); the agency's removal is one call of its own, made after
    the verification pass.
    https://developers.facebook.com/docs/graph-api/batch-requests
    """
    account = section["ad_accounts"][0]
    reads = (
        3
        + math.ceil(len(account.get("campaigns") or []) / 500)
        + math.ceil(len(account.get("adsets") or []) / 500)
    )
    updates = len(_ads(changes))
    return Minimum(READ_PASSES * reads, math.ceil(updates / 50) + len(changes) - updates)


MINIMUM: dict[str, Callable[[Changes, Mapping[str, Any]], Minimum]] = {
    "google_ads": google_ads,
    "microsoft_ads": microsoft_ads,
    "meta": meta,
}


def minimum(platform: str, changes: Changes, section: Mapping[str, Any]) -> Minimum:
    return MINIMUM[platform](changes, section)
