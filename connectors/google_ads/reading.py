"""Google Ads reads: the GAQL queries one pass needs and the rows they return turned into
`planning`'s state, from raw protobuf rows (the SDK built with `use_proto_plus=False`).

Wrapping every row of a large account in proto-plus costs CPU and memory for nothing: the rows
are read once, field by field, here. Enum fields of raw rows are numbers; their names come from
the message's own descriptor, so they stay the API's names.

One pass is two queries sent together (`QUERIES`): the campaigns FROM campaign with their budget
and their account's facts (`campaign_budget` and `customer` are attributed resources of
`campaign`, selectable in the same query:
https://developers.google.com/google-ads/api/docs/query/structure), and the manager's client
link, which lives under the manager's own customer id. An account without campaigns returns no
rows, so its facts need `CUSTOMER` on its own. Currency constants never change: one query reads
them all once per process (`CURRENCIES`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from typing import Any

from adoffboard.connectors.google_ads.planning import Budget, Campaign, ClientLink

CUSTOMER_FIELDS = (
    "customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone"
)
CAMPAIGNS = (
    f"SELECT {CUSTOMER_FIELDS}, campaign.id, campaign.name, campaign.status, "
    "campaign.advertising_channel_type, campaign.experiment_type, "
    "campaign_budget.id, campaign_budget.name, campaign_budget.period, "
    "campaign_budget.amount_micros, campaign_budget.total_amount_micros, "
    "campaign_budget.explicitly_shared, campaign_budget.reference_count "
    "FROM campaign WHERE campaign.status != 'REMOVED'"
)
CUSTOMER = f"SELECT {CUSTOMER_FIELDS} FROM customer"
CURRENCIES = (
    "SELECT currency_constant.code, currency_constant.billable_unit_micros FROM currency_constant"
)
DEFAULT_UNIT_MICROS = 10_000  # USD's billable unit, for a currency the API does not list


def link_query(cid: str) -> str:
    """The manager's side of its link to the client `cid` (run under the manager's id)."""
    return (
        "SELECT customer_client_link.client_customer, customer_client_link.manager_link_id, "
        "customer_client_link.status, customer_client_link.hidden FROM customer_client_link "
        f"WHERE customer_client_link.client_customer = 'customers/{cid}'"
    )


def enum_name(message: Any, field: str) -> str:
    """The API's name of an enum field of a raw protobuf message ('ENABLED', not 2)."""
    return _enum_names(message.DESCRIPTOR.full_name, field, message.DESCRIPTOR)[
        getattr(message, field)
    ]


def enum_number(message: Any, field: str, name: str) -> int:
    """The number of the enum value `name` of `field`, for a raw protobuf message."""
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    return int(enum.values_by_name[name].number)


@functools.cache
def _enum_names(message_type: str, field: str, descriptor: Any) -> dict[int, str]:
    """Number -> name of one enum field, built once: every row of a large account shares the
    same few name strings instead of one copy per row and field."""
    enum = descriptor.fields_by_name[field].enum_type
    return {value.number: sys.intern(value.name) for value in enum.values}


def campaigns_and_budgets(
    rows: Iterable[Any],
) -> tuple[tuple[Campaign, ...], dict[str, Budget]]:
    """The campaigns and the budgets they use, from rows of `CAMPAIGNS`."""
    campaigns: list[Campaign] = []
    budgets: dict[str, Budget] = {}
    for row in rows:
        c, b = row.campaign, row.campaign_budget
        bid = str(b.id) if b.id else ""
        campaigns.append(
            Campaign(
                id=str(c.id),
                name=c.name,
                status=enum_name(c, "status"),
                channel=enum_name(c, "advertising_channel_type"),
                experiment_type=enum_name(c, "experiment_type"),
                budget_id=bid,
            )
        )
        if bid and bid not in budgets:
            budgets[bid] = Budget(
                id=bid,
                name=b.name,
                period=enum_name(b, "period"),
                amount_micros=int(b.amount_micros),
                total_amount_micros=int(b.total_amount_micros),
                explicitly_shared=bool(b.explicitly_shared),
                reference_count=int(b.reference_count),
            )
    return tuple(campaigns), budgets


def client_link(rows: Iterable[Any]) -> ClientLink | None:
    """The manager's link to the client, an ACTIVE one first, from rows of `link_query`."""
    links = [r.customer_client_link for r in rows]
    if not links:
        return None
    link = sorted(links, key=lambda lk: enum_name(lk, "status") != "ACTIVE")[0]
    return ClientLink(str(link.manager_link_id), enum_name(link, "status"), bool(link.hidden))


def billable_units(rows: Iterable[Any]) -> dict[str, int]:
    """Currency code -> billable unit in micros, from rows of `CURRENCIES`."""
    return {r.currency_constant.code: int(r.currency_constant.billable_unit_micros) for r in rows}
