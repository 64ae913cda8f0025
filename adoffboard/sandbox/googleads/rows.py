"""Google Ads stand-in: the row contexts GAQL queries run over (one dict per candidate row,
read by the schema's getters)."""

from __future__ import annotations

import hashlib
from typing import Any

from adoffboard.sandbox.googleads.model import CURRENCIES, SCHEMA, ChangeStatus, Customer, _zone
from adoffboard.sandbox.googleads.state import GoogleAdsState


def _contexts(state: GoogleAdsState, cust: Customer, resource: str) -> list[dict[str, Any]]:
    """The candidate rows of `resource` in one account, as dicts the schema getters read."""
    cid = cust.customer_id
    if resource == "customer":
        return [{"customer": cust}]
    if resource in ("campaign", "campaign_budget"):
        refs = state.reference_counts(cid)
        budgets = state.budgets[cid]
        if resource == "campaign_budget":
            return [
                {"customer": cust, "campaign_budget": b, "refs": refs} for b in budgets.values()
            ]
        return [
            {
                "customer": cust,
                "campaign": c,
                "campaign_budget": budgets.get(c.budget_id),
                "refs": refs,
            }
            for c in state.campaigns[cid].values()
        ]
    if resource == "currency_constant":
        return [{"currency_constant": c} for c in CURRENCIES.values()]
    if resource == "customer_client_link":
        return [
            {"customer": cust, resource: lk} for lk in state.links.values() if lk.manager_id == cid
        ]
    if resource == "customer_manager_link":
        return [
            {"customer": cust, resource: lk} for lk in state.links.values() if lk.client_id == cid
        ]
    if resource == "customer_client":
        rows = [{"customer": cust, resource: (cust, 0, False)}]
        if cust.manager:
            rows += [
                {"customer": cust, resource: (state.customers[lk.client_id], 1, lk.hidden)}
                for lk in state.links.values()
                if lk.manager_id == cid and lk.status == "ACTIVE"
            ]
        return rows
    if resource == "change_event":
        tz = _zone(cust.time_zone)
        return [{"customer": cust, "change_event": e, "tz": tz} for e in state.events[cid]]
    if resource == "change_status":
        tz = _zone(cust.time_zone)
        return [{"customer": cust, "change_status": s, "tz": tz} for s in _statuses(state, cid)]
    raise AssertionError(resource)


_STATUS_OF = {"CREATE": "ADDED", "UPDATE": "CHANGED", "REMOVE": "REMOVED"}
_STATUS_TYPES = SCHEMA.fields["change_status.resource_type"].enum_values or {}


def _statuses(state: GoogleAdsState, cid: str) -> list[ChangeStatus]:
    """change_status: one row per changed resource, its latest change (the change events
    are its history; https://developers.google.com/google-ads/api/docs/change-status)."""
    latest: dict[str, ChangeStatus] = {}
    for event in state.events[cid]:  # oldest first
        if event.resource_type not in _STATUS_TYPES:
            continue
        status = _STATUS_OF.get(event.operation, "CHANGED")
        before = latest.get(event.resource_name)
        if before is not None and before.status == "ADDED" and status == "CHANGED":
            status = "ADDED"  # added, then changed within the window: still a new resource
        digest = hashlib.sha256(event.resource_name.encode()).hexdigest()
        latest[event.resource_name] = ChangeStatus(
            cid,
            str(int(digest[:12], 16)),
            event.resource_type,
            event.resource_name,
            status,
            event.when,
        )
    return sorted(latest.values(), key=lambda s: s.when)
