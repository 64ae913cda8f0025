"""Google Ads stand-in: the mutation engine shared by every mutate service: resource names,
update masks, injected refusals and `_Txn` (staged changes, applied on commit, so a request is
atomic unless partial_failure)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.googleads.errors import Location, _OpError
from adoffboard.sandbox.googleads.model import (
    BUDGET_FIELDS,
    CAMPAIGN_FIELDS,
    ROW,
    SCHEMA,
    Budget,
    Campaign,
    Customer,
)
from adoffboard.sandbox.googleads.state import GoogleAdsState


def _fields_of(resource: str) -> Any:
    return ROW.DESCRIPTOR.fields_by_name[resource].message_type.fields_by_name


def _names(gaql_field: str) -> dict[int, str]:
    return {v: k for k, v in (SCHEMA.fields[gaql_field].enum_values or {}).items()}


def _check_mask(paths: list[str], resource: str, mask: tuple[set[str], set[str]]) -> list[str]:
    """Validate update_mask paths the way the API does; resource_name is accepted and ignored
    (the SDK's field_mask() helper puts it there)."""
    if not paths:
        raise _OpError(
            "field_mask_error",
            "FIELD_MASK_MISSING",
            "The field mask must be set for an update operation.",
            location=(("update_mask", None),),
        )
    fields, (mutable, immutable) = _fields_of(resource), mask
    out = []
    for path in paths:
        top = path.split(".", 1)[0]
        if top not in fields:
            raise _OpError(
                "field_mask_error",
                "FIELD_NOT_FOUND",
                f"The field mask contained an invalid field: '{path}'.",
                location=(("update_mask", None),),
                trigger=path,
            )
        if path == "resource_name":
            continue
        if top in immutable:
            raise _OpError(
                "field_error",
                "IMMUTABLE_FIELD",
                "The field is immutable.",
                location=(("update", None), (top, None)),
            )
        if path not in mutable:
            raise _OpError(
                "mutate_error",
                "MUTATE_NOT_ALLOWED",
                f"The stand-in does not model updates of {resource}.{path}.",
                location=(("update", None), (top, None)),
            )
        out.append(path)
    return out


def _parse_name(
    name: str, customer_id: str, collection: str, location: Location, pattern: str = r"(\d+)"
) -> re.Match[str]:
    if not name:
        raise _OpError(
            "request_error", "RESOURCE_NAME_MISSING", "Resource name is missing.", location=location
        )
    m = re.fullmatch(rf"customers/(\d+)/{collection}/{pattern}", name)
    if m is None:
        raise _OpError(
            "request_error",
            "RESOURCE_NAME_MALFORMED",
            "Resource name is malformed.",
            location=location,
            trigger=name,
        )
    if m.group(1) != customer_id:
        raise _OpError(
            "mutate_error",
            "RESOURCE_NOT_FOUND",
            "Resource was not found (it belongs to another customer).",
            location=location,
            trigger=name,
        )
    return m


def _not_found(name: str, location: Location) -> _OpError:
    return _OpError(
        "mutate_error",
        "RESOURCE_NOT_FOUND",
        "Resource was not found.",
        location=location,
        trigger=name,
    )


def _inject(rules: list[FaultRule], resource: str, resource_id: str) -> None:
    """A partial_failure fault aimed at this resource: refuse the operation."""
    for rule in rules:
        if (
            rule.kind == "partial_failure"
            and rule.match.get("resource") == resource
            and str(rule.match.get("id")) == resource_id
        ):
            code_field, enum_name = rule.match.get(
                "error", "database_error.CONCURRENT_MODIFICATION"
            ).split(".", 1)
            raise _OpError(
                code_field,
                enum_name,
                rule.message
                or (
                    "Multiple requests were attempting to modify the same resource at once. "
                    "Retry the request."
                ),
            )


class _Txn:
    """Staged changes of one Mutate: applied to the state only on commit (atomicity)."""

    def __init__(self, state: GoogleAdsState, customer: Customer) -> None:
        self.state, self.customer = state, customer
        self.cid = customer.customer_id
        self.campaigns: dict[str, Campaign] = {}
        self.budgets: dict[str, Budget] = {}
        self.changes: list[tuple[str, Any, Any, tuple[str, ...], str]] = []
        self._users: dict[str, set[str]] | None = None

    def campaign(self, campaign_id: str) -> Campaign | None:
        return self.campaigns.get(campaign_id) or self.state.campaigns[self.cid].get(campaign_id)

    def budget(self, budget_id: str) -> Budget | None:
        return self.budgets.get(budget_id) or self.state.budgets[self.cid].get(budget_id)

    def users(self, budget_id: str) -> list[Campaign]:
        """Non-removed campaigns using a budget (indexed once: benchmarks send 5,000 ops)."""
        if self._users is None:
            self._users = {}
            for c in self.state.campaigns[self.cid].values():
                self._users.setdefault(c.budget_id, set()).add(c.campaign_id)
        found = (self.campaign(i) for i in self._users.get(budget_id, ()))
        return [c for c in found if c is not None and c.status != "REMOVED"]

    def stage(self, kind: str, old: Any, new: Any, operation: str) -> None:
        old = dataclasses.replace(old)  # `old` may be the live object, changed on commit
        watched = CAMPAIGN_FIELDS if kind == "CAMPAIGN" else BUDGET_FIELDS
        changed = tuple(
            field for attr, field in watched.items() if getattr(old, attr) != getattr(new, attr)
        )
        if kind == "CAMPAIGN":
            if self._users is not None and old.budget_id != new.budget_id:
                self._users.get(old.budget_id, set()).discard(new.campaign_id)
                self._users.setdefault(new.budget_id, set()).add(new.campaign_id)
            self.campaigns[new.campaign_id] = new
        else:
            self.budgets[new.budget_id] = new
        self.changes.append((kind, old, new, changed, operation))

    def commit(self) -> None:
        for kind, old, new, changed, operation in self.changes:
            table: Any = self.state.campaigns if kind == "CAMPAIGN" else self.state.budgets
            live = table[self.cid][new.campaign_id if kind == "CAMPAIGN" else new.budget_id]
            for f in dataclasses.fields(new):
                setattr(live, f.name, getattr(new, f.name))
            if changed:
                self.state.record_change(
                    "GOOGLE_ADS_API",
                    kind,
                    old,
                    new,
                    changed,
                    operation,
                    user_email=self.state.api_user_email,
                )


def _target(
    txn: _Txn,
    op: Any,
    rules: list[FaultRule],
    resource: str,
    collection: str,
    lookup: Callable[[str], Any],
    mask: Any,
) -> tuple[str, str, Location, str, Any, list[str]]:
    """What every update/remove operation starts with: which entity, found, masked."""
    which = op.WhichOneof("operation")
    if which != "update" and which != "remove":
        raise _OpError(
            "mutate_error",
            "MUTATE_NOT_ALLOWED",
            f"The stand-in does not create {resource.split('_')[-1]}s.",
            location=((str(which), None),),
        )
    name = op.remove if which == "remove" else op.update.resource_name
    loc: Location = (
        ((which, None),) if which == "remove" else (("update", None), ("resource_name", None))
    )
    entity_id = _parse_name(name, txn.cid, collection, loc).group(2)
    entity = lookup(entity_id)
    if entity is None:
        raise _not_found(name, loc)
    _inject(rules, resource, entity_id)
    paths = _check_mask(list(op.update_mask.paths), resource, mask) if which == "update" else []
    return which, name, loc, entity_id, entity, paths
