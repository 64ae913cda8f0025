"""Google Ads stand-in: the mutation engine (`_Txn`: atomic unless partial_failure) and the
mutate services."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from google.ads.googleads.v26.services.types import customer_client_link_service as ccl_svc
from google.ads.googleads.v26.services.types import customer_manager_link_service as cml_svc
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc

from adoffboard.sandbox.core import FaultPlan, FaultRule
from adoffboard.sandbox.googleads.errors import (
    INVALID,
    AdsFault,
    Location,
    _fault,
    _OpError,
    _partial_failure_status,
)
from adoffboard.sandbox.googleads.model import (
    CURRENCIES,
    ERROR_DETAILS,
    MAX_OPERATIONS,
    ROW,
    SCHEMA,
    Budget,
    Campaign,
    Customer,
    Link,
)
from adoffboard.sandbox.googleads.state import GoogleAdsState

# --------------------------------------------------------------------------------------------
# Mutations


def _fields_of(resource: str) -> Any:
    return ROW.DESCRIPTOR.fields_by_name[resource].message_type.fields_by_name


def _names(gaql_field: str) -> dict[int, str]:
    return {v: k for k, v in (SCHEMA.fields[gaql_field].enum_values or {}).items()}


_CAMPAIGN_STATUS = _names("campaign.status")
_BUDGET_PERIOD = _names("campaign_budget.period")
_LINK_STATUS = _names("customer_client_link.status")
_CAMPAIGN_MASK = (
    {"status", "name", "campaign_budget"},
    {
        "id",
        "advertising_channel_type",
        "advertising_channel_sub_type",
        "experiment_type",
        "base_campaign",
        "serving_status",
        "primary_status",
        "primary_status_reasons",
        "bidding_strategy_type",
    },
)
_BUDGET_MASK = (
    {"name", "amount_micros", "total_amount_micros", "period", "explicitly_shared"},
    {
        "id",
        "type",
        "reference_count",
        "status",
        "has_recommended_budget",
        "recommended_budget_amount_micros",
        "aligned_bidding_strategy_id",
    },
)


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
        watched = (
            ("status", "name", "budget_id")
            if kind == "CAMPAIGN"
            else ("name", "amount_micros", "total_amount_micros", "explicitly_shared", "status")
        )
        changed = tuple(
            "campaign_budget" if f == "budget_id" else f
            for f in watched
            if getattr(old, f) != getattr(new, f)
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


def _campaign_op(txn: _Txn, op: Any, rules: list[FaultRule]) -> tuple[str, str]:
    which, name, loc, camp_id, camp, paths = _target(
        txn, op, rules, "campaign", "campaigns", txn.campaign, _CAMPAIGN_MASK
    )
    if camp.status == "REMOVED":
        raise _OpError(
            "operation_access_denied_error",
            "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
            "This operation is not allowed because the resource is removed.",
            location=loc,
            trigger=name,
        )
    if camp.channel == "VIDEO":
        raise _OpError(
            "operation_access_denied_error",
            "MUTATE_ACTION_NOT_PERMITTED_FOR_CLIENT",
            "A mutate action is not allowed on this resource, from this client.",
            location=loc,
            trigger="VIDEO",
        )
    new = dataclasses.replace(camp)
    if which == "remove":
        new.status = "REMOVED"
        txn.stage("CAMPAIGN", camp, new, "REMOVE")
        return "campaign_result", name
    if camp.experiment_type == "EXPERIMENT" and {"status", "campaign_budget"} & set(paths):
        raise _OpError(
            "campaign_error",
            "CANNOT_MODIFY_FOR_TRIAL_CAMPAIGN",
            "Cannot modify dates, budget or status of a trial campaign.",
            location=loc,
            trigger=name,
        )
    upd = op.update
    for path in paths:
        at: Location = (("update", None), (path, None))
        if path == "status":
            status = _CAMPAIGN_STATUS.get(upd.status, "UNKNOWN")
            if status == "REMOVED":
                raise _OpError(
                    "campaign_error",
                    "INVALID_STATUS_CHANGE",
                    "The requested change in status is not supported; use a remove operation.",
                    location=at,
                )
            if status not in ("ENABLED", "PAUSED"):
                raise _OpError(
                    "request_error",
                    "INVALID_ENUM_VALUE",
                    "The value of the enum field is invalid.",
                    location=at,
                )
            new.status = status
        elif path == "name":
            if not upd.name.strip():
                raise _OpError(
                    "field_error", "REQUIRED", "The required field was not present.", location=at
                )
            new.name = upd.name
        elif path == "campaign_budget":
            budget_id = _parse_name(upd.campaign_budget, txn.cid, "campaignBudgets", at).group(2)
            budget = txn.budget(budget_id)
            if budget is None:
                raise _not_found(upd.campaign_budget, at)
            if budget.status == "REMOVED":
                raise _OpError(
                    "campaign_budget_error",
                    "CAMPAIGN_BUDGET_REMOVED",
                    "The requested campaign budget no longer exists.",
                    location=at,
                )
            new.budget_id = budget_id
    txn.stage("CAMPAIGN", camp, new, "UPDATE")
    return "campaign_result", name


def _budget_error(enum_name: str, message: str, at: Location, **kw: Any) -> _OpError:
    return _OpError("campaign_budget_error", enum_name, message, location=at, **kw)


def _check_amount(txn: _Txn, budget: Budget, value: int, at: Location, *, daily: bool) -> None:
    cur = CURRENCIES[txn.customer.currency_code]
    if value < 0:
        raise _budget_error("NEGATIVE_MONEY_AMOUNT", "A money amount was negative.", at)
    if value < cur.billable_unit_micros:
        raise _budget_error(
            "MONEY_AMOUNT_LESS_THAN_CURRENCY_MINIMUM_CPC",
            "A money amount was less than the minimum CPC for currency.",
            at,
        )
    if value % cur.billable_unit_micros:
        raise _budget_error(
            "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
            "A money amount was not a multiple of a minimum unit.",
            at,
            trigger=value,
        )
    demand_gen = any(c.channel == "DEMAND_GEN" for c in txn.users(budget.budget_id))
    if daily and demand_gen and value < cur.demand_gen_min:
        details = ERROR_DETAILS()
        d = details.budget_per_day_minimum_error_details
        d.currency_code = cur.code
        d.budget_per_day_minimum_micros = cur.demand_gen_min
        d.minimum_budget_amount_micros = cur.demand_gen_min
        d.failed_budget_amount_micros = value
        raise _budget_error(
            "BUDGET_BELOW_PER_DAY_MINIMUM",
            "Budget amount or total amount must be above this campaign's per-day minimum.",
            at,
            details=details,
        )


def _budget_op(txn: _Txn, op: Any, rules: list[FaultRule]) -> tuple[str, str]:
    which, name, loc, budget_id, budget, paths = _target(
        txn, op, rules, "campaign_budget", "campaignBudgets", txn.budget, _BUDGET_MASK
    )
    if budget.status == "REMOVED":
        raise _budget_error(
            "CAMPAIGN_BUDGET_REMOVED", "The requested campaign budget no longer exists.", loc
        )
    new = dataclasses.replace(budget)
    if which == "remove":
        if txn.users(budget_id):
            raise _budget_error(
                "CAMPAIGN_BUDGET_IN_USE",
                "The campaign budget is associated with at least one campaign, "
                "and so the campaign budget cannot be removed.",
                loc,
            )
        new.status = "REMOVED"
        txn.stage("CAMPAIGN_BUDGET", budget, new, "REMOVE")
        return "campaign_budget_result", name
    upd = op.update
    for path in paths:
        at: Location = (("update", None), (path, None))
        present = upd.HasField(path) if path != "period" else True
        if path == "name":
            if not upd.name.strip():
                raise _OpError(
                    "field_error", "REQUIRED", "The required field was not present.", location=at
                )
            new.name = upd.name
        elif path == "period":
            if _BUDGET_PERIOD.get(upd.period) != budget.period:
                raise _OpError(
                    "campaign_error",
                    "CANNOT_CHANGE_BUDGET_PERIOD",
                    "The budget period of a budget cannot be changed.",
                    location=at,
                )
        elif path == "explicitly_shared":
            if budget.explicitly_shared and not upd.explicitly_shared:
                raise _budget_error(
                    "CANNOT_UPDATE_CAMPAIGN_BUDGET_TO_IMPLICITLY_SHARED",
                    "An explicitly shared budget cannot become implicitly shared.",
                    at,
                )
            new.explicitly_shared = upd.explicitly_shared
        elif path == "amount_micros":
            if budget.period == "CUSTOM_PERIOD":
                if present:
                    raise _budget_error(
                        "BUDGET_AMOUNT_MUST_BE_UNSET_FOR_CUSTOM_BUDGET_PERIOD",
                        "Budget amount must be unset when a custom budget period is specified.",
                        at,
                    )
                continue
            if not present:
                raise _OpError(
                    "field_error", "REQUIRED", "A DAILY budget needs amount_micros.", location=at
                )
            _check_amount(txn, budget, upd.amount_micros, at, daily=True)
            new.amount_micros = upd.amount_micros
        elif path == "total_amount_micros":
            if budget.period == "DAILY":
                if present:
                    raise _budget_error(
                        "TOTAL_BUDGET_AMOUNT_MUST_BE_UNSET_FOR_BUDGET_PERIOD_DAILY",
                        "Total budget amount must be unset when BudgetPeriod is DAILY.",
                        at,
                    )
                continue
            if not present:
                raise _OpError(
                    "field_error",
                    "REQUIRED",
                    "A CUSTOM_PERIOD budget needs total_amount_micros.",
                    location=at,
                )
            _check_amount(txn, budget, upd.total_amount_micros, at, daily=False)
            new.total_amount_micros = upd.total_amount_micros
    txn.stage("CAMPAIGN_BUDGET", budget, new, "UPDATE")
    return "campaign_budget_result", name


# Link status changes each side may make (same status = no-op, allowed).
_CLIENT_LINK_MOVES = {("ACTIVE", "INACTIVE"), ("PENDING", "CANCELED")}  # by the manager
_MANAGER_LINK_MOVES = {("ACTIVE", "INACTIVE"), ("PENDING", "ACTIVE"), ("PENDING", "REFUSED")}


def _link_status(link: Link, value: int, moves: set[tuple[str, str]], at: Location) -> str:
    status = _LINK_STATUS.get(value, "UNKNOWN")
    if status != link.status and (link.status, status) not in moves:
        raise _OpError(
            "manager_link_error",
            "INVALID_STATUS_CHANGE",
            f"The link status cannot change from {link.status} to {status}.",
            location=at,
        )
    return status


class MutateHandlers:
    """The work of the mutate services: GoogleAdsService.Mutate, CustomerClientLinkService
    and CustomerManagerLinkService (the server wraps each in its common request path)."""

    state: GoogleAdsState

    # ---- GoogleAdsService
    def _do_mutate(self, req: Any, rules: list[FaultRule], request_id: str) -> tuple[Any, str]:
        ops = req.mutate_operations
        if not ops:
            raise _fault(
                INVALID,
                "request_error",
                "OPERATION_REQUIRED",
                "At least one operation is required.",
                location=(("mutate_operations", None),),
            )
        if len(ops) > MAX_OPERATIONS:
            raise _fault(
                INVALID,
                "request_error",
                "TOO_MANY_MUTATE_OPERATIONS",
                f"Too many mutate operations: {len(ops)} > {MAX_OPERATIONS}.",
            )
        results: list[tuple[str, str] | None] = []
        failures: list[Any] = []
        with self.state.lock:
            txn = _Txn(self.state, self.state.customers[req.customer_id])
            for i, op in enumerate(ops):
                kind = op.WhichOneof("operation")
                prefix: Location = (("mutate_operations", i), (kind or "operation", None))
                try:
                    if kind == "campaign_operation":
                        results.append(_campaign_op(txn, op.campaign_operation, rules))
                    elif kind == "campaign_budget_operation":
                        results.append(_budget_op(txn, op.campaign_budget_operation, rules))
                    elif kind is None:
                        raise _OpError(
                            "request_error", "OPERATION_REQUIRED", "The operation is empty."
                        )
                    else:
                        raise _OpError(
                            "mutate_error",
                            "MUTATE_NOT_ALLOWED",
                            f"The stand-in does not model {kind}.",
                        )
                except _OpError as exc:
                    failures.append(exc.to_error(prefix))
                    results.append(None)
            if failures and not req.partial_failure:
                raise AdsFault(INVALID, failures)
            if not req.validate_only:
                txn.commit()
        self._after_apply(rules)
        resp = ga_svc.MutateGoogleAdsResponse.pb()()
        if failures:
            resp.partial_failure_error.CopyFrom(_partial_failure_status(failures, request_id))
        if not req.validate_only:
            for result in results:
                item = resp.mutate_operation_responses.add()
                if result is not None:
                    getattr(item, result[0]).resource_name = result[1]
        ok = sum(r is not None for r in results)
        return resp, f"{ok} ok, {len(failures)} failed" + (" (validate_only)" * req.validate_only)

    @staticmethod
    def _after_apply(rules: list[FaultRule]) -> None:
        FaultPlan.delay(
            [r for r in rules if r.kind == "latency" and r.match.get("phase") == "after_apply"]
        )

    # ---- CustomerClientLinkService (on the manager)
    def _do_client_link(self, req: Any, rules: list[FaultRule]) -> tuple[Any, str]:
        op, state = req.operation, self.state
        which = op.WhichOneof("operation")
        with state.lock:
            try:
                if which != "update":
                    raise _OpError(
                        "mutate_error",
                        "MUTATE_NOT_ALLOWED",
                        "The stand-in only updates customer client links.",
                        location=((str(which), None),),
                    )
                name, at = op.update.resource_name, (("update", None), ("resource_name", None))
                m = _parse_name(name, req.customer_id, "customerClientLinks", at, r"(\d+)~(\d+)")
                link = state.links.get((req.customer_id, m.group(2)))
                if link is None or link.manager_link_id != m.group(3):
                    raise _not_found(name, at)
                _inject(rules, "customer_client_link", link.client_id)
                paths = _check_mask(
                    list(op.update_mask.paths),
                    "customer_client_link",
                    ({"hidden", "status"}, {"client_customer", "manager_link_id"}),
                )
                hidden, status = link.hidden, link.status
                if "hidden" in paths:
                    if state.customers[link.client_id].manager:
                        raise _OpError(
                            "customer_client_link_error",
                            "CANNOT_HIDE_OR_UNHIDE_MANAGER_ACCOUNTS",
                            "Manager accounts cannot be hidden or unhidden.",
                            location=(("update", None), ("hidden", None)),
                        )
                    hidden = op.update.hidden
                if "status" in paths:
                    status = _link_status(
                        link,
                        op.update.status,
                        _CLIENT_LINK_MOVES,
                        (("update", None), ("status", None)),
                    )
            except _OpError as exc:
                raise AdsFault(INVALID, [exc.to_error((("operation", None),))]) from None
            if not req.validate_only:
                link.hidden, link.status = hidden, status
        self._after_apply(rules)
        resp = ccl_svc.MutateCustomerClientLinkResponse.pb()()
        if not req.validate_only:
            resp.result.resource_name = name
        return resp, f"hidden={hidden} status={status}"

    # ---- CustomerManagerLinkService (on the client)
    def _do_manager_link(self, req: Any, rules: list[FaultRule]) -> tuple[Any, str]:
        if not req.operations:
            raise _fault(
                INVALID,
                "request_error",
                "OPERATION_REQUIRED",
                "At least one operation is required.",
            )
        staged: list[tuple[Link, str, str]] = []
        errors: list[Any] = []
        with self.state.lock:
            for i, op in enumerate(req.operations):
                try:
                    name, at = op.update.resource_name, (("update", None), ("resource_name", None))
                    m = _parse_name(
                        name, req.customer_id, "customerManagerLinks", at, r"(\d+)~(\d+)"
                    )
                    link = self.state.links.get((m.group(2), req.customer_id))
                    if link is None or link.manager_link_id != m.group(3):
                        raise _not_found(name, at)
                    _inject(rules, "customer_manager_link", link.manager_id)
                    paths = _check_mask(
                        list(op.update_mask.paths),
                        "customer_manager_link",
                        ({"status"}, {"manager_customer", "manager_link_id"}),
                    )
                    status = link.status
                    if "status" in paths:
                        status = _link_status(
                            link,
                            op.update.status,
                            _MANAGER_LINK_MOVES,
                            (("update", None), ("status", None)),
                        )
                    staged.append((link, status, name))
                except _OpError as exc:
                    errors.append(exc.to_error((("operations", i),)))
            if errors:
                raise AdsFault(INVALID, errors)
            if not req.validate_only:
                for link, status, _name in staged:
                    link.status = status
        self._after_apply(rules)
        resp = cml_svc.MutateCustomerManagerLinkResponse.pb()()
        if not req.validate_only:
            for _link, _status, name in staged:
                resp.results.add(resource_name=name)
        return resp, ", ".join(f"{lk.manager_id}:{st}" for lk, st, _n in staged)
