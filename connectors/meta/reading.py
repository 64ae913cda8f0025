"""The account's reads: its node (the tenant guard on its `name`) and its `campaigns`,
`adsets`, `adrules_library` and `agencies` edges in pages of `page_size`, following
`paging.cursors.after`; and whether the agency business still lists the account among its
clients. `EdgeReads` is a part of `MetaConnector` (`connector`), over its Graph session."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from adoffboard.connectors.base import ConnectorContext
from adoffboard.connectors.meta.declaration import MetaAdAccount
from adoffboard.connectors.meta.planning import (
    AgencyAccess,
    MetaAdSet,
    MetaCampaign,
    MetaState,
    rule_from_row,
)
from adoffboard.errors import AuthError, TenantMismatch

OBJECT_STATUSES = ["ACTIVE", "PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"]
ADSET_STATUSES = [*OBJECT_STATUSES, "CAMPAIGN_PAUSED"]
T = TypeVar("T")


class EdgeReads:
    """The account node and its edges over the connector's Graph session (`_graph`, `_call`)."""

    ctx: ConnectorContext
    _page_size: int
    _tenants: set[tuple[str, str]]

    def _graph(self) -> Any:
        raise NotImplementedError

    def _call(self, fn: Callable[[], T]) -> T:
        raise NotImplementedError

    def _edge(self, fetch: Callable[[], Any]) -> list[dict[str, Any]]:
        """Every row of an edge; a failed page is retried alone (the cursor keeps its place)."""
        cursor = self._call(fetch)
        rows: list[dict[str, Any]] = []
        while True:
            rows += [cursor[i].export_all_data() for i in range(len(cursor))]
            if not self._call(cursor.load_next_page):
                return rows

    def _account(self, account_id: str) -> Any:
        from facebook_business.adobjects.adaccount import AdAccount

        return AdAccount(account_id, api=self._graph())

    def _read_account(
        self,
        acct: MetaAdAccount,
        agency_id: str,
        edges: _Edges | None,
        pool: ThreadPoolExecutor,
    ) -> MetaState:
        aid, expected = acct.ad_account_id, acct.expected_name
        try:
            node = self._call(
                lambda: self._account(aid).api_get(
                    fields=["id", "name", "currency", "account_status", "business"]
                )
            ).export_all_data()
        except AuthError:
            if self._agency_lists(agency_id, aid):
                raise
            # The agency's access was removed (by a run leaving the platform).
            return self._removed(acct, agency_id)
        live_name = str(node.get("name", ""))
        if live_name.strip() != expected.strip():
            self._tenants.discard((aid, expected))  # the next read: the node alone first again
            raise TenantMismatch(
                f"Meta ad account {aid} is named {live_name!r}, but the "
                f"manifest expects {expected!r}: refusing to touch it"
            )
        self._tenants.add((aid, expected))
        edges = edges or self._read_edges(pool, aid)
        owner = node.get("business") or {}
        return MetaState(
            ad_account_id=aid,
            name=live_name,
            currency=str(node.get("currency", "")),
            campaigns=edges.campaigns.result(),
            adsets=edges.adsets.result(),
            rules=tuple(rule_from_row(r) for r in edges.rules.result()),
            agencies=edges.agencies.result(),
            agency_business_id=agency_id,
            owner_business_id=str(owner.get("id", "")) if isinstance(owner, Mapping) else "",
            read_at=self.ctx.clock.now(),
        )

    def _removed(self, acct: MetaAdAccount, agency_id: str) -> MetaState:
        """The account as the agency sees it once its access was removed: unreachable."""
        return MetaState(
            acct.ad_account_id, acct.expected_name, "", (), (), (), (), agency_id, "",
            self.ctx.clock.now(), reachable=False,
        )  # fmt: skip

    def _read_edges(self, pool: ThreadPoolExecutor, aid: str) -> _Edges:
        return _Edges(
            pool.submit(self._read_campaigns, aid),
            pool.submit(self._read_adsets, aid),
            pool.submit(self._read_rules, aid),
            pool.submit(self._read_agencies, aid),
        )

    def _read_campaigns(
        self, aid: str, statuses: list[str] | None = None
    ) -> tuple[MetaCampaign, ...]:
        rows = self._edge(
            lambda: self._account(aid).get_campaigns(
                fields=["id", "name", "status", "effective_status", "daily_budget"],
                params={"effective_status": statuses or OBJECT_STATUSES, "limit": self._page_size},
            )
        )
        return tuple(
            MetaCampaign(
                str(r["id"]),
                str(r.get("name", "")),
                str(r.get("status", "")),
                str(r.get("effective_status", "")),
                int(r["daily_budget"]) if r.get("daily_budget") else None,
            )
            for r in rows
        )

    def _read_adsets(self, aid: str, statuses: list[str] | None = None) -> tuple[MetaAdSet, ...]:
        rows = self._edge(
            lambda: self._account(aid).get_ad_sets(
                fields=["id", "name", "campaign_id", "status", "effective_status", "daily_budget"],
                params={"effective_status": statuses or ADSET_STATUSES, "limit": self._page_size},
            )
        )
        return tuple(
            MetaAdSet(
                str(r["id"]),
                str(r.get("name", "")),
                str(r.get("campaign_id", "")),
                str(r.get("status", "")),
                str(r.get("effective_status", "")),
                int(r["daily_budget"]) if r.get("daily_budget") else None,
            )
            for r in rows
        )

    def _read_rules(self, aid: str) -> list[dict[str, Any]]:
        return self._edge(
            lambda: self._account(aid).get_ad_rules_library(
                fields=["id", "name", "status", "execution_spec"], params={"limit": self._page_size}
            )
        )

    def _read_agencies(self, aid: str) -> tuple[AgencyAccess, ...]:
        # access_status and permitted_tasks are fields the edge adds to each Business (Graph
        # reference); the SDK's Business class does not list them and warns when they are
        # passed as `fields`, so they travel as the same `fields` parameter by hand.
        rows = self._edge(
            lambda: self._account(aid).get_agencies(
                params={"fields": "id,name,access_status,permitted_tasks", "limit": self._page_size}
            )
        )
        return tuple(
            AgencyAccess(
                str(r["id"]),
                str(r.get("name", "")),
                str(r.get("access_status", "")),
                tuple(r.get("permitted_tasks") or ()),
            )
            for r in rows
        )

    def _agency_lists(self, agency_id: str, aid: str) -> bool:
        """Whether the agency's business still counts the ad account among its clients."""
        from facebook_business.adobjects.business import Business

        business = Business(agency_id, api=self._graph())
        rows = self._edge(
            lambda: business.get_client_ad_accounts(
                fields=["id"], params={"limit": self._page_size}
            )
        )
        return any(str(r.get("id")) == aid for r in rows)


@dataclasses.dataclass(frozen=True)
class _Edges:
    """The account's edges, being read."""

    campaigns: Future[tuple[MetaCampaign, ...]]
    adsets: Future[tuple[MetaAdSet, ...]]
    rules: Future[list[dict[str, Any]]]
    agencies: Future[tuple[AgencyAccess, ...]]
