"""Google Ads stand-in: CustomerClientLinkService (on the manager) and
CustomerManagerLinkService (on the client)."""

from __future__ import annotations

from typing import Any

from google.ads.googleads.v26.services.types import customer_client_link_service as ccl_svc
from google.ads.googleads.v26.services.types import customer_manager_link_service as cml_svc

from adoffboard.sandbox.core import FaultPlan, FaultRule
from adoffboard.sandbox.googleads.errors import INVALID, AdsFault, Location, _fault, _OpError
from adoffboard.sandbox.googleads.model import Link
from adoffboard.sandbox.googleads.state import GoogleAdsState
from adoffboard.sandbox.googleads.txn import _check_mask, _inject, _names, _not_found, _parse_name

_LINK_STATUS = _names("customer_client_link.status")
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


def _after_apply(rules: list[FaultRule]) -> None:
    """Latency faults that act after the state was changed."""
    FaultPlan.delay(
        [r for r in rules if r.kind == "latency" and r.match.get("phase") == "after_apply"]
    )


class LinkHandlers:
    """The work of the link services (the server wraps each in its common request path)."""

    state: GoogleAdsState

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
        _after_apply(rules)
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
        _after_apply(rules)
        resp = cml_svc.MutateCustomerManagerLinkResponse.pb()()
        if not req.validate_only:
            for _link, _status, name in staged:
                resp.results.add(resource_name=name)
        return resp, ", ".join(f"{lk.manager_id}:{st}" for lk, st, _n in staged)
