"""Google Ads stand-in: the mutate services of campaigns and budgets.

GoogleAdsService.Mutate, CampaignService.MutateCampaigns and
CampaignBudgetService.MutateCampaignBudgets share one path (`_apply`): the same state, operation
rules (`operations`), atomicity unless partial_failure, validate_only, response_content_type and
change_event recording. Only the shape of the request and response differs, as in the API
(https://developers.google.com/google-ads/api/docs/mutating/overview,
https://developers.google.com/google-ads/api/docs/mutating/service-mutates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.ads.googleads.v26.enums.types import response_content_type as rct
from google.ads.googleads.v26.services.types import campaign_budget_service as cb_svc
from google.ads.googleads.v26.services.types import campaign_service as c_svc
from google.ads.googleads.v26.services.types import google_ads_service as ga_svc

from adoffboard.sandbox import gaql
from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.googleads.errors import (
    INVALID,
    AdsFault,
    Location,
    _fault,
    _OpError,
    _partial_failure_status,
)
from adoffboard.sandbox.googleads.links import LinkHandlers, _after_apply
from adoffboard.sandbox.googleads.model import MAX_OPERATIONS, ROW, SCHEMA
from adoffboard.sandbox.googleads.operations import _budget_op, _campaign_op
from adoffboard.sandbox.googleads.rows import _contexts
from adoffboard.sandbox.googleads.txn import _Txn

# The operation rules of each resource; each returns (resource, resource name).
Rule = Callable[[_Txn, Any, list[FaultRule]], tuple[str, str]]
_RULES: dict[str, Rule] = {"campaign": _campaign_op, "campaign_budget": _budget_op}
_MUTABLE_RESOURCE = int(rct.ResponseContentTypeEnum.ResponseContentType.MUTABLE_RESOURCE)


@dataclass
class _Outcome:
    """What one mutate request did: per operation (resource, resource name) or None when it
    failed; the GoogleAdsErrors of the failed ones; the resources after the change when the
    request asked for MUTABLE_RESOURCE."""

    results: list[tuple[str, str] | None]
    failures: list[Any]
    resources: dict[str, Any]

    def detail(self, validate_only: bool) -> str:
        ok = sum(r is not None for r in self.results)
        return f"{ok} ok, {len(self.failures)} failed" + (" (validate_only)" * validate_only)


def _resources(txn: _Txn, wanted: set[tuple[str, str]]) -> dict[str, Any]:
    """The resources named in `wanted` as the API returns them with MUTABLE_RESOURCE: every
    field the stand-in models, read back from the committed state."""
    out: dict[str, Any] = {}
    for resource in {r for r, _ in wanted}:
        specs = [s for s in SCHEMA.fields.values() if s.resource == resource]
        names = {n for r, n in wanted if r == resource}
        for ctx in _contexts(txn.state, txn.customer, resource):
            name = SCHEMA.fields[f"{resource}.resource_name"].get(ctx)
            if name in names:
                row = ROW()
                gaql.fill_fields(row, specs, ctx)
                out[name] = getattr(row, resource)
    return out


class MutateHandlers(LinkHandlers):
    """The work of the mutate services (the server wraps each in its common request path)."""

    def _apply(
        self,
        req: Any,
        rules: list[FaultRule],
        field: str,
        operations: Sequence[tuple[Location, str | None, Any]],
    ) -> _Outcome:
        """Run (location, resource or None when the operation is empty, operation) in one
        transaction: all or nothing unless req.partial_failure; nothing with validate_only."""
        if not operations:
            raise _fault(
                INVALID,
                "request_error",
                "OPERATION_REQUIRED",
                "At least one operation is required.",
                location=((field, None),),
            )
        if len(operations) > MAX_OPERATIONS:
            raise _fault(
                INVALID,
                "request_error",
                "TOO_MANY_MUTATE_OPERATIONS",
                f"Too many mutate operations: {len(operations)} > {MAX_OPERATIONS}.",
            )
        results: list[tuple[str, str] | None] = []
        failures: list[Any] = []
        resources: dict[str, Any] = {}
        with self.state.lock:
            txn = _Txn(self.state, self.state.customers[req.customer_id])
            for location, resource, op in operations:
                try:
                    if resource is None:
                        raise _OpError(
                            "request_error", "OPERATION_REQUIRED", "The operation is empty."
                        )
                    rule = _RULES.get(resource)
                    if rule is None:
                        raise _OpError(
                            "mutate_error",
                            "MUTATE_NOT_ALLOWED",
                            f"The stand-in does not model {resource} operations.",
                        )
                    results.append(rule(txn, op, rules))
                except _OpError as exc:
                    failures.append(exc.to_error(location))
                    results.append(None)
            if failures and not req.partial_failure:
                raise AdsFault(INVALID, failures)
            if not req.validate_only:
                txn.commit()
                if req.response_content_type == _MUTABLE_RESOURCE:
                    resources = _resources(txn, {r for r in results if r is not None})
        _after_apply(rules)
        return _Outcome(results, failures, resources)

    @staticmethod
    def _fill(
        resp: Any, outcome: _Outcome, request_id: str, validate_only: bool
    ) -> list[tuple[str, str] | None]:
        """Set partial_failure_error; return the results to write, none with validate_only."""
        if outcome.failures:
            resp.partial_failure_error.CopyFrom(
                _partial_failure_status(outcome.failures, request_id)
            )
        return [] if validate_only else outcome.results

    @staticmethod
    def _result(item: Any, result: tuple[str, str], outcome: _Outcome) -> None:
        """One result: the resource name, and the resource itself with MUTABLE_RESOURCE."""
        resource, name = result
        item.resource_name = name
        if name in outcome.resources:
            getattr(item, resource).CopyFrom(outcome.resources[name])

    # ---- GoogleAdsService
    def _do_mutate(self, req: Any, rules: list[FaultRule], request_id: str) -> tuple[Any, str]:
        ops = []
        for i, op in enumerate(req.mutate_operations):
            kind = op.WhichOneof("operation")
            resource = kind.removesuffix("_operation") if kind else None
            location: Location = (("mutate_operations", i), (kind or "operation", None))
            ops.append((location, resource, getattr(op, kind) if kind else None))
        outcome = self._apply(req, rules, "mutate_operations", ops)
        resp = ga_svc.MutateGoogleAdsResponse.pb()()
        for result in self._fill(resp, outcome, request_id, req.validate_only):
            item = resp.mutate_operation_responses.add()
            if result is not None:
                self._result(getattr(item, f"{result[0]}_result"), result, outcome)
        return resp, outcome.detail(req.validate_only)

    # ---- CampaignService and CampaignBudgetService
    def _do_mutate_campaigns(
        self, req: Any, rules: list[FaultRule], request_id: str
    ) -> tuple[Any, str]:
        return self._mutate_one_kind(
            req, rules, request_id, "campaign", c_svc.MutateCampaignsResponse.pb()()
        )

    def _do_mutate_budgets(
        self, req: Any, rules: list[FaultRule], request_id: str
    ) -> tuple[Any, str]:
        return self._mutate_one_kind(
            req, rules, request_id, "campaign_budget", cb_svc.MutateCampaignBudgetsResponse.pb()()
        )

    def _mutate_one_kind(
        self, req: Any, rules: list[FaultRule], request_id: str, resource: str, resp: Any
    ) -> tuple[Any, str]:
        """A per-resource service: `operations` of one kind, `results` of one kind."""
        ops = [
            ((("operations", i),), resource if op.WhichOneof("operation") else None, op)
            for i, op in enumerate(req.operations)
        ]
        outcome = self._apply(req, rules, "operations", ops)
        for result in self._fill(resp, outcome, request_id, req.validate_only):
            item = resp.results.add()
            if result is not None:
                self._result(item, result, outcome)
        return resp, outcome.detail(req.validate_only)
