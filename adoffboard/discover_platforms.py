"""What the agency can reach on each configured platform, read through the connectors' own clients
(their credentials, retries and read-only guards): every read here is a list or a query, nothing
is written anywhere.

    google_ads      CustomerService.ListAccessibleCustomers, then each accessible manager's
                    `customer_client` rows (GAQL): the client accounts under it, with names
    microsoft_ads   GetUser (the signed-in user), then SearchAccounts with its UserId
    meta            the agency business's `client_ad_accounts` edge
    ga4             ListAccountSummaries: accounts and their properties
    search_console  sites.list
    tag_manager     accounts.list

Each reader returns `Found` rows: the account's name and the manifest section that names it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adoffboard.errors import InputError

PAGE = 100


@dataclass(frozen=True)
class Found:
    platform: str
    name: str  # the account's name on the platform (a site's URL for Search Console)
    section: dict[str, Any] = field(default_factory=dict)  # its manifest section

    @property
    def key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.section.items() if k != "expected_name")


def dashed(cid: str) -> str:
    digits = cid.zfill(10)
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def google_ads(conn: Any) -> list[Found]:
    from adoffboard.connectors.google_ads.declaration import GoogleAdsAccount

    def login(cid: str | None) -> None:  # the connector's SDK client, as this manager
        account = GoogleAdsAccount.model_construct(customer_id=cid, manager_id=cid)
        conn._account, conn._client, conn._services = account, None, {}

    login(None)  # ListAccessibleCustomers takes no login-customer-id
    names = conn._call(
        "read",
        lambda: conn._service("CustomerService").list_accessible_customers().resource_names,
    )
    found: dict[str, Found] = {}
    for resource in names:
        cid = str(resource).rsplit("/", 1)[-1]
        login(cid)
        rows = conn._query(
            cid,
            "SELECT customer_client.id, customer_client.descriptive_name, "
            "customer_client.manager FROM customer_client",
        )
        for row in rows:
            client = row.customer_client
            if client.manager or str(client.id) == cid:
                continue
            section = {
                "customer_id": dashed(str(client.id)),
                "manager_id": dashed(cid),
                "expected_name": client.descriptive_name,
            }
            found.setdefault(str(client.id), Found("google_ads", client.descriptive_name, section))
    return list(found.values())


def microsoft_ads(conn: Any) -> list[Found]:
    from openapi_client.models.customer.get_user_request import GetUserRequest
    from openapi_client.models.customer.paging import Paging
    from openapi_client.models.customer.predicate import Predicate
    from openapi_client.models.customer.search_accounts_request import SearchAccountsRequest

    from adoffboard.connectors.microsoft_ads.client import CUSTOMERS, MicrosoftAdsApi

    # the connector's client, signed in as the user alone: no customer or account chosen yet
    conn._api = MicrosoftAdsApi(
        conn.ctx.settings,
        conn.ctx.workspace_root,
        account_id=None,  # type: ignore[arg-type]
        customer_id=None,  # type: ignore[arg-type]
        read_only=conn.ctx.read_only,
    )
    user, _ = conn._call("read", CUSTOMERS, "get_user", GetUserRequest(UserId=None))
    user_id = str(user.user.id)
    found: list[Found] = []
    index = 0
    while True:
        request = SearchAccountsRequest(
            Predicates=[Predicate(Field="UserId", Operator="Equals", Value=user_id)],
            PageInfo=Paging(Index=index, Size=PAGE),
        )
        page, _ = conn._call("read", CUSTOMERS, "search_accounts", request)
        accounts = [a for a in page.accounts or [] if a is not None]
        found += [
            Found(
                "microsoft_ads",
                str(a.name),
                {
                    "account_id": str(a.id),
                    "customer_id": str(a.parent_customer_id),
                    "expected_name": str(a.name),
                },
            )
            for a in accounts
        ]
        if len(accounts) < PAGE:
            return found
        index += 1


def meta(conn: Any) -> list[Found]:
    from facebook_business.adobjects.business import Business

    agency_id = str(conn.ctx.settings.get("agency_business_id") or "")
    if not agency_id:
        raise InputError("platforms.meta.agency_business_id is not configured")
    business = Business(agency_id, api=conn._graph())
    rows = conn._edge(
        lambda: business.get_client_ad_accounts(
            fields=["id", "name"], params={"limit": conn._page_size}
        )
    )
    return [
        Found(
            "meta",
            str(r.get("name") or ""),
            {"ad_account_id": str(r["id"]), "expected_name": str(r.get("name") or "")},
        )
        for r in rows
    ]


def ga4(conn: Any) -> list[Found]:
    client, timeout = conn._admin(), conn.ctx.retry.timeout
    pages = conn._call(
        "read",
        lambda: list(
            client.list_account_summaries(
                request={"page_size": 200}, retry=None, timeout=timeout
            ).pages
        ),
    )
    found = []
    for page in pages:
        for summary in page.account_summaries:
            account = summary.account.rsplit("/", 1)[-1]
            section = {
                "account_id": account,
                "property_ids": [p.property.rsplit("/", 1)[-1] for p in summary.property_summaries],
                "expected_name": summary.display_name,
            }
            found.append(Found("ga4", summary.display_name, section))
    return found


def search_console(conn: Any) -> list[Found]:
    request = conn._service("searchconsole").sites().list()
    listed = conn._call("read", lambda: request.execute(num_retries=0))
    return [
        Found("search_console", str(entry["siteUrl"]), {"site_url": str(entry["siteUrl"])})
        for entry in listed.get("siteEntry") or ()
    ]


def tag_manager(conn: Any) -> list[Found]:
    accounts = conn._gtm().accounts()
    found: list[Found] = []
    token = None
    while True:
        request = accounts.list(pageToken=token)
        page = conn._call("read", functools.partial(request.execute, num_retries=0))
        found += [
            Found(
                "tag_manager",
                str(a.get("name") or ""),
                {"account_id": str(a["accountId"]), "expected_name": str(a.get("name") or "")},
            )
            for a in page.get("account") or ()
        ]
        token = page.get("nextPageToken")
        if not token:
            return found


READERS: dict[str, Callable[[Any], list[Found]]] = {
    "google_ads": google_ads,
    "microsoft_ads": microsoft_ads,
    "meta": meta,
    "ga4": ga4,
    "search_console": search_console,
    "tag_manager": tag_manager,
}
