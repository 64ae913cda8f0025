"""Google Ads writes: `apply` settles each change against the state just read and sends the
rest (campaign and budget operations of one account in one `GoogleAdsService.Mutate` with partial
failure, the manager-side link changes one by one), and `live_values` reads what they hold now.

`Writes` is mixed into `GoogleAdsConnector`, which provides the transport and the reads it uses.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adoffboard.connectors.base import ConnectorContext, Journal, send_in_batches, triage
from adoffboard.connectors.google_ads import reading
from adoffboard.connectors.google_ads.client import MAX_OPERATIONS, RequestIds, partial_errors
from adoffboard.connectors.google_ads.declaration import GoogleAdsAccount
from adoffboard.connectors.google_ads.planning import AccountState, Budget, Campaign, ClientLink
from adoffboard.connectors.transport import Calls
from adoffboard.errors import PlatformError
from adoffboard.models import Change, Outcome, OutcomeStatus, Phase

# Mutates of one account whose operations touch different resources may run at once; more than
# 10,000 operations are needed before a second one is sent at all.
MUTATES_IN_FLIGHT = 4


class Writes:
    """The connector's write side; the connector provides the attributes and reads below."""

    ctx: ConnectorContext
    _account: GoogleAdsAccount | None
    _ids: RequestIds
    _call: Calls

    if TYPE_CHECKING:

        def _sdk_client(self) -> Any: ...

        def _service(self, name: str) -> Any: ...

        def _fresh_state(self) -> AccountState | None: ...

        def _read_campaigns(self, cid: str) -> tuple[tuple[Campaign, ...], dict[str, Budget]]: ...

        def _read_link(self, manager_id: str, cid: str) -> ClientLink | None: ...

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        """Settle each change against the state `read_state` just read (the engine reads right
        before it applies; without that read, apply reads itself), then send the rest: the ads
        phase in the fewest Mutate calls, the link changes one by one."""
        state = self._fresh_state()
        outcomes: list[Outcome] = []
        by_phase = sorted({c.phase for c in changes}, key=lambda p: list(Phase).index(p))
        for phase in by_phase:
            batch = [c for c in changes if c.phase == phase]
            if phase == Phase.ADS:
                outcomes += self._apply_ads(batch, journal, state)
            else:
                outcomes += self._apply_links(batch, journal, state)
        return outcomes

    def _live_values(
        self, cid: str, changes: Sequence[Change], state: AccountState | None = None
    ) -> dict[str, Any]:
        """Each change's live value, from `state` when it is this account's, else read."""
        if state is not None and state.customer_id == cid and state.reachable:
            campaigns, budgets = state.campaigns, state.budgets
        else:
            campaigns, budgets = self._read_campaigns(cid)
        live: dict[str, Any] = {}
        status = {c.id: c.status for c in campaigns}
        for ch in changes:
            if ch.entity_type == "campaign":
                live[ch.id] = status.get(ch.entity_id, "REMOVED")
            elif ch.entity_type == "campaign_budget":
                b = budgets.get(ch.entity_id)
                live[ch.id] = getattr(b, ch.field) if b else None
        return live

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        live: dict[str, Any] = {}
        ads = [c for c in changes if c.phase == Phase.ADS]
        for cid in sorted({c.account for c in ads}):
            live.update(self._live_values(cid, [c for c in ads if c.account == cid]))
        for ch in (c for c in changes if c.phase != Phase.ADS):
            assert self._account is not None
            link = self._read_link(self._account.manager_id, ch.account)
            live[ch.id] = _link_value(link, ch)
        return live

    def _apply_ads(
        self, changes: Sequence[Change], journal: Journal, state: AccountState | None
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for cid in sorted({c.account for c in changes}):
            mine = [c for c in changes if c.account == cid]
            live = self._live_values(cid, mine, state)
            to_send, settled = triage(mine, live)
            journal.record(settled)
            outcomes += settled
            outcomes += send_in_batches(
                journal,
                to_send,
                MAX_OPERATIONS,
                functools.partial(self._mutate, cid),
                in_flight=MUTATES_IN_FLIGHT,
            )
        return outcomes

    def _mutate(self, cid: str, chunk: Sequence[Change]) -> list[Outcome]:
        """One GoogleAdsService.Mutate of campaign and budget updates, with partial failure:
        each operation gets its own outcome."""
        from google.ads.googleads.v26.services.types.google_ads_service import (
            MutateGoogleAdsRequest,
        )

        svc = self._service("GoogleAdsService")
        request = MutateGoogleAdsRequest.pb()(customer_id=cid, partial_failure=True)
        for ch in chunk:
            op = request.mutate_operations.add()
            if ch.entity_type == "campaign":
                campaign = op.campaign_operation.update
                campaign.resource_name = ch.resource
                campaign.status = reading.enum_number(campaign, "status", str(ch.after))
                op.campaign_operation.update_mask.paths.append("status")
            else:
                budget = op.campaign_budget_operation.update
                budget.resource_name = ch.resource
                setattr(budget, ch.field, int(ch.after))
                op.campaign_budget_operation.update_mask.paths.append(ch.field)
        # wrapped, not converted: the SDK would copy a raw request into a new proto-plus one
        wrapped = MutateGoogleAdsRequest.wrap(request)
        timeout = self.ctx.retry.timeout
        try:
            response = self._call("write", lambda: svc.mutate(request=wrapped, timeout=timeout))
        except PlatformError as exc:
            return [
                Outcome(
                    ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
                )
                for ch in chunk
            ]
        errors = partial_errors(response)
        request_id = self._ids.last
        return [
            Outcome(ch.id, OutcomeStatus.FAILED, message=errors[i], request_id=request_id)
            if i in errors
            else Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=request_id)
            for i, ch in enumerate(chunk)
        ]

    def _apply_links(
        self, changes: Sequence[Change], journal: Journal, state: AccountState | None
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for ch in changes:
            assert self._account is not None
            if state is not None and state.customer_id == ch.account:
                link = state.link
            else:
                link = self._read_link(self._account.manager_id, ch.account)
            to_send, settled = triage([ch], {ch.id: _link_value(link, ch)})
            journal.record(settled)
            outcomes += settled
            if not to_send:
                continue
            journal.intend([ch])
            outcome = self._mutate_link(ch)
            journal.record([outcome])
            outcomes.append(outcome)
        return outcomes

    def _mutate_link(self, ch: Change) -> Outcome:
        client = self._sdk_client()
        timeout = self.ctx.retry.timeout
        if ch.field == "hidden":
            svc = self._service("CustomerClientLinkService")
            op = client.get_type("CustomerClientLinkOperation")
            op.update.resource_name = ch.resource
            op.update.hidden = bool(ch.after)
            op.update_mask.paths.append("hidden")
            manager = ch.resource.split("/")[1]

            def send() -> Any:
                return svc.mutate_customer_client_link(
                    customer_id=manager, operation=op, timeout=timeout
                )
        else:
            svc = self._service("CustomerManagerLinkService")
            op = client.get_type("CustomerManagerLinkOperation")
            op.update.resource_name = ch.resource
            op.update.status = reading.enum_number(op.update, "status", str(ch.after))
            op.update_mask.paths.append("status")

            def send() -> Any:
                return svc.mutate_customer_manager_link(
                    customer_id=ch.account, operations=[op], timeout=timeout
                )

        try:
            self._call("write", send)
        except PlatformError as exc:
            return Outcome(
                ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
            )
        return Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=self._ids.last)


def _link_value(link: ClientLink | None, ch: Change) -> Any:
    """The live value of a link change's field; None when there is no link."""
    if link is None:
        return None
    return link.hidden if ch.field == "hidden" else link.status
