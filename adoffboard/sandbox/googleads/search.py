"""Google Ads stand-in: GAQL reads (Search, SearchStream), page tokens, reports without traffic
and the query rules of change_event and change_status."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from google.ads.googleads.v26.services.types import google_ads_service as ga_svc

from adoffboard.sandbox import gaql
from adoffboard.sandbox.googleads.errors import INVALID, _fault
from adoffboard.sandbox.googleads.model import PAGE_SIZE, SCHEMA
from adoffboard.sandbox.googleads.rows import _contexts
from adoffboard.sandbox.googleads.state import GoogleAdsState


class SearchHandlers:
    """The work of GoogleAdsService.Search and SearchStream (the server wraps each in its
    common request path)."""

    state: GoogleAdsState

    def _bind(
        self, customer_id: str, query: str
    ) -> tuple[gaql.BoundQuery, list[dict[str, Any]], int]:
        """Parse, check and run a query; returns (bound, rows within LIMIT, total ignoring LIMIT).
        Call with the state lock held."""
        now = self.state.local_now(customer_id)
        customer = self.state.customers[customer_id]
        try:
            bound = gaql.bind(gaql.parse(query), SCHEMA, now.date())
            if bound.resource.name in _CHANGE_RULES:
                _check_change_query(bound, now, *_CHANGE_RULES[bound.resource.name])
            if customer.manager and _selects_metrics(bound):
                raise gaql.GaqlError(
                    "query_error",
                    "REQUESTED_METRICS_FOR_MANAGER",
                    "Metrics cannot be requested for a manager account. To retrieve metrics, "
                    "issue separate requests against each client account under the manager "
                    "account.",
                )
        except gaql.GaqlError as exc:
            raise _fault(
                INVALID, exc.code_field, exc.enum_name, exc.message, location=(("query", None),)
            ) from None
        if bound.segmented:
            # No traffic: a segmented report has no rows, as every selected metric would be
            # zero (https://developers.google.com/google-ads/api/docs/reporting/zero-metrics).
            return bound, [], 0
        contexts = _contexts(self.state, customer, bound.resource.name)
        matched = gaql.run(bound, contexts, apply_limit=False)
        limited = matched[: bound.limit] if bound.limit is not None else matched
        return bound, limited, len(matched)

    def _do_search(self, req: Any) -> tuple[Any, str]:
        if req.page_size:
            raise _fault(
                INVALID,
                "request_error",
                "PAGE_SIZE_NOT_SUPPORTED",
                "Setting the page size is not supported; pages hold 10,000 rows.",
            )
        resp = ga_svc.SearchGoogleAdsResponse.pb()()
        with self.state.lock:
            bound, rows, total = self._bind(req.customer_id, req.query)
            resp.field_mask.paths.extend(s.name for s in bound.select)
            if req.validate_only:
                return resp, "validate_only"
            key = hashlib.sha256(f"{req.customer_id}\n{req.query}".encode()).hexdigest()[:16]
            offset = 0
            if req.page_token:
                offset = _read_page_token(req.page_token, key)
            names = gaql.resource_name_specs(bound, SCHEMA)
            for ctx in rows[offset : offset + PAGE_SIZE]:
                gaql.fill_row(resp.results.add(), bound, ctx, names)
        if offset + PAGE_SIZE < len(rows):
            resp.next_page_token = _page_token(key, offset + PAGE_SIZE)
        if req.search_settings.return_total_results_count:
            resp.total_results_count = total
        return resp, f"{bound.resource.name}: {len(resp.results)} of {len(rows)} rows"

    def _do_search_stream(self, req: Any, request_id: str) -> tuple[list[Any], str]:
        response_cls = ga_svc.SearchGoogleAdsStreamResponse.pb()
        batches: list[Any] = []
        with self.state.lock:
            bound, rows, _total = self._bind(req.customer_id, req.query)
            names = gaql.resource_name_specs(bound, SCHEMA)
            for start in range(0, max(len(rows), 1), PAGE_SIZE):
                batch = response_cls(request_id=request_id)
                batch.field_mask.paths.extend(s.name for s in bound.select)
                for ctx in rows[start : start + PAGE_SIZE]:
                    gaql.fill_row(batch.results.add(), bound, ctx, names)
                batches.append(batch)
        return batches, f"{bound.resource.name}: {len(rows)} rows in {len(batches)} batches"


def _page_token(key: str, offset: int) -> str:
    raw = json.dumps({"k": key, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_page_token(token: str, key: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["k"] == key and isinstance(data["o"], int) and data["o"] >= 0:
            return int(data["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise _fault(
        INVALID,
        "request_error",
        "INVALID_PAGE_TOKEN",
        "Page token is invalid.",
        location=(("page_token", None),),
    )


def _selects_metrics(bound: gaql.BoundQuery) -> bool:
    specs = [*bound.select, *(s for s, _ in bound.where), *(s for s, _ in bound.order_by)]
    return any(s.resource == "metrics" for s in specs)


# The documented limits of the change resources: the filtered field, the error family and how
# far back a query may start (https://developers.google.com/google-ads/api/docs/change-event,
# https://developers.google.com/google-ads/api/docs/change-status).
_CHANGE_RULES = {
    "change_event": ("change_event.change_date_time", "change_event_error", 30),
    "change_status": ("change_status.last_change_date_time", "change_status_error", 90),
}


def _check_change_query(
    bound: gaql.BoundQuery, now: dt.datetime, field: str, code_field: str, days: int
) -> None:
    """A finite range on `field` starting within `days` days, and a LIMIT of at most 10,000."""
    lows: list[dt.datetime] = []
    highs: list[dt.datetime] = []
    for spec, cond in bound.where:
        if spec.name != field:
            continue
        if cond.op in (">", ">=", "=", "BETWEEN", "DURING"):
            lows.append(cond.typed[0])
        if cond.op in ("<", "<=", "="):
            highs.append(cond.typed[0])
        if cond.op in ("BETWEEN", "DURING"):
            highs.append(cond.typed[1])
    resource = field.split(".", 1)[0]
    if not lows or not highs:
        raise gaql.GaqlError(
            code_field,
            "CHANGE_DATE_RANGE_INFINITE",
            f"The {resource} search request must specify a finite range filter on {field}.",
        )
    low, high = max(lows), min(highs)
    if low > high:
        raise gaql.GaqlError(
            code_field,
            "CHANGE_DATE_RANGE_NEGATIVE",
            f"The {field} filters can never match (start after end).",
        )
    if low.date() < (now - dt.timedelta(days=days)).date():
        raise gaql.GaqlError(
            code_field,
            "START_DATE_TOO_OLD",
            f"The requested start date is too old. It cannot be older than {days} days.",
        )
    if bound.limit is None:
        raise gaql.GaqlError(
            code_field,
            "LIMIT_NOT_SPECIFIED",
            f"The {resource} search request must specify a LIMIT.",
        )
    if bound.limit > 10_000:
        raise gaql.GaqlError(
            code_field,
            "INVALID_LIMIT_CLAUSE",
            f"The LIMIT of a {resource} request must be at most 10,000.",
        )
