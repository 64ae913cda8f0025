"""Google Ads stand-in: GAQL reads (Search, SearchStream), page tokens and the change_event
query rules."""

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
from adoffboard.sandbox.googleads.state import GoogleAdsState, _contexts


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
        try:
            bound = gaql.bind(gaql.parse(query), SCHEMA, now.date())
            if bound.resource.name == "change_event":
                _check_change_event_query(bound, now)
        except gaql.GaqlError as exc:
            raise _fault(
                INVALID, exc.code_field, exc.enum_name, exc.message, location=(("query", None),)
            ) from None
        contexts = _contexts(self.state, self.state.customers[customer_id], bound.resource.name)
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


def _check_change_event_query(bound: gaql.BoundQuery, now: dt.datetime) -> None:
    """change_event needs a finite change_date_time range within 30 days and LIMIT <= 10,000."""
    lows: list[dt.datetime] = []
    highs: list[dt.datetime] = []
    for spec, cond in bound.where:
        if spec.name != "change_event.change_date_time":
            continue
        if cond.op in (">", ">=", "=", "BETWEEN", "DURING"):
            lows.append(cond.typed[0])
        if cond.op in ("<", "<=", "="):
            highs.append(cond.typed[0])
        if cond.op in ("BETWEEN", "DURING"):
            highs.append(cond.typed[1])
    if not lows or not highs:
        raise gaql.GaqlError(
            "change_event_error",
            "CHANGE_DATE_RANGE_INFINITE",
            "The change_event search request must specify a finite range filter "
            "on change_date_time.",
        )
    low, high = max(lows), min(highs)
    if low > high:
        raise gaql.GaqlError(
            "change_event_error",
            "CHANGE_DATE_RANGE_NEGATIVE",
            "The change_date_time filters can never match (start after end).",
        )
    if low.date() < (now - dt.timedelta(days=30)).date():
        raise gaql.GaqlError(
            "change_event_error",
            "START_DATE_TOO_OLD",
            "The requested start date is too old. It cannot be older than 30 days.",
        )
    if bound.limit is None:
        raise gaql.GaqlError(
            "change_event_error",
            "LIMIT_NOT_SPECIFIED",
            "The change_event search request must specify a LIMIT.",
        )
    if bound.limit > 10_000:
        raise gaql.GaqlError(
            "change_event_error",
            "INVALID_LIMIT_CLAUSE",
            "The LIMIT of a change_event request must be at most 10,000.",
        )
