"""Graph batch calls for the Meta connector: node reads and updates of at most 50 items per call;
an unanswered (`null`) item, or one throttled or failed transiently, goes round again alone after
the wait its usage headers give. Mixed into `MetaConnector`, which provides the session."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from adoffboard.connectors.base import ConnectorContext
from adoffboard.connectors.meta.client import GraphError, Pacer, header_map
from adoffboard.connectors.meta.throttle import ThrottleBudget, minutes_text
from adoffboard.errors import PlatformError, ThrottledTooLong, TransientError
from adoffboard.models import Change, Outcome, OutcomeStatus

MAX_BATCH = 50
_CAMPAIGN_OF = re.compile(r"\(campaign (\w+)\)$")


def graph_batches(changes: Sequence[Change], size: int) -> list[Sequence[Change]]:
    """`changes` in Graph batches of at most `size`, never two ad sets of one campaign in the same
    batch ("Batch requests cannot include multiple Adsets under the same Campaign",
    https://developers.facebook.com/docs/graph-api/batch-requests).

    The order is kept: a change goes to the first batch with room that holds no ad set of its
    campaign, but never to a batch before the last one used by the changes of another kind that
    came before it (rules, campaigns and ad sets are sent in the connector's order).

    Linear in the changes: a campaign's next ad set may only go after the last batch that took
    one of its ad sets (`after`), so every batch from there on is free of that campaign, and the
    first of them with room is found through `_Room` without scanning the full ones."""
    batches: list[list[Change]] = []
    room = _Room()
    after: dict[str, int] = {}  # campaign -> the first batch that may take its next ad set
    floor, kind = 0, None
    for ch in changes:
        if ch.entity_type != kind:
            floor, kind = max(len(batches) - 1, 0), ch.entity_type
        found = _CAMPAIGN_OF.search(ch.resource) if ch.entity_type == "adset" else None
        campaign = found.group(1) if found else None
        n = room.first(max(floor, after.get(campaign, 0) if campaign else 0))
        if n == len(batches):
            batches.append([])
        batches[n].append(ch)
        if len(batches[n]) >= size:
            room.fill(n)
        if campaign is not None:
            after[campaign] = n + 1
    return list(batches)


class _Room:
    """The first batch with room at or after an index: full batches point past themselves
    (a disjoint-set forest with path compression), so each lookup is near constant time."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}  # a full batch -> a later batch that may have room

    def first(self, start: int) -> int:
        end = start
        while end in self._next:
            end = self._next[end]
        while start != end:  # compress the path just walked
            self._next[start], start = end, self._next[start]
        return end

    def fill(self, n: int) -> None:
        self._next[n] = n + 1


T = TypeVar("T")
Callback = Callable[[Any], None]
AddItem = Callable[[Any, Callback, Callback], None]  # (batch, success, failure): add one request


@dataclass(frozen=True)
class _Answer:
    """The final answer to one batch item: a success, or a failure that retrying cannot fix."""

    ok: bool
    response: Any  # the item's FacebookResponse
    headers: Mapping[str, str]
    trace: str  # the item's x-fb-trace-id, else the batch call's

    def error(self) -> GraphError:
        return GraphError(self.response.status(), self.response.body(), self.headers)


@dataclass
class _Rounds:
    """What the batch calls of one chunk came back with."""

    answers: dict[str, _Answer] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # key -> why it has no final answer
    calls: int = 0
    error: PlatformError | None = None  # a batch call itself failed: `pending` were not sent


class GraphBatches:
    """Batch reads and writes over the connector's Graph session (`_graph`, `_call`)."""

    ctx: ConnectorContext
    _retry: Any
    _pacer: Pacer
    _budget: ThrottleBudget

    def _graph(self) -> Any:
        raise NotImplementedError

    def _call(self, fn: Callable[[], T]) -> T:
        raise NotImplementedError

    def _last_trace(self) -> str:
        raise NotImplementedError

    def _read_statuses(
        self, objects: Sequence[tuple[str, str]], fields: Sequence[str] = ("status",)
    ) -> dict[str, dict[str, Any] | None]:
        """`fields` (`status`, and `daily_budget` for budgets) of each (entity type, id):
        `GET /<id>?fields=...` requests in Graph batches of at most 50; unanswered and throttled
        items go round again alone. None for an object Graph no longer returns."""
        found: dict[str, dict[str, Any] | None] = {}
        unique = list(dict.fromkeys(objects))
        for start in range(0, len(unique), MAX_BATCH):
            chunk = unique[start : start + MAX_BATCH]
            rounds = self._batch_rounds(
                [(oid, self._status_read(kind, oid, fields)) for kind, oid in chunk]
            )
            if rounds.error is not None:
                raise rounds.error
            if rounds.pending:
                oid, why = next(iter(rounds.pending.items()))
                raise TransientError(
                    f"Meta: {len(rounds.pending)} status read(s) without an "
                    f"answer after {rounds.calls} batch calls (object {oid}: "
                    f"{why})"
                )
            for _, oid in chunk:
                answer = rounds.answers[oid]
                if answer.ok:
                    body = answer.response.json()
                    row = dict(body) if isinstance(body, Mapping) else {}
                    found[oid] = row if row.get("status") else None
                    continue
                err = answer.error()
                if err.code == 100 and err.subcode == 33:  # no such object (any more)
                    found[oid] = None
                    continue
                raise err.to_exception()
        return found

    def _status_read(self, entity_type: str, object_id: str, fields: Sequence[str]) -> AddItem:
        def add(batch: Any, success: Callback, failure: Callback) -> None:
            _node_class(entity_type)(object_id, api=self._graph()).api_get(
                fields=list(fields), batch=batch, success=success, failure=failure
            )

        return add

    def _status_update(self, ch: Change) -> AddItem:
        def add(batch: Any, success: Callback, failure: Callback) -> None:
            _node_class(ch.entity_type)(ch.entity_id, api=self._graph()).api_update(
                params={ch.field: ch.after}, batch=batch, success=success, failure=failure
            )

        return add

    def _send_batch(self, chunk: Sequence[Change]) -> list[Outcome]:
        """One batch call per round; unanswered and throttled items go round again alone."""
        rounds = self._batch_rounds([(ch.id, self._status_update(ch)) for ch in chunk])
        outcomes: list[Outcome] = []
        for ch in chunk:
            answer = rounds.answers.get(ch.id)
            if answer is not None and answer.ok:
                outcomes.append(
                    Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=answer.trace)
                )
            elif answer is not None:
                err = answer.error()
                outcomes.append(
                    Outcome(
                        ch.id,
                        OutcomeStatus.FAILED,
                        request_id=err.trace,
                        message=f"{ch.entity_type} {ch.entity_id}: {err.describe()}",
                    )
                )
            elif rounds.error is not None:
                outcomes.append(
                    Outcome(
                        ch.id,
                        OutcomeStatus.FAILED,
                        message=str(rounds.error),
                        request_id=rounds.error.request_id or "",
                    )
                )
            else:
                outcomes.append(
                    Outcome(
                        ch.id,
                        OutcomeStatus.FAILED,
                        message=(
                            f"{ch.entity_type} {ch.entity_id}: {rounds.pending[ch.id]}, "
                            f"{rounds.calls} batch calls"
                        ),
                    )
                )
        return outcomes

    def _batch_rounds(self, items: Sequence[tuple[str, AddItem]]) -> _Rounds:
        """Send `items` (at most 50) in one Graph batch call per round. An unanswered (`null`)
        item, or one that failed transiently or was throttled, goes round again alone: after a
        throttle, once the time its usage headers give, or else the time Meta documents for its
        code, has passed (`throttle`); otherwise after the retry policy's back-off. Successes and
        other failures are final answers. Throttle waits count against the connector's budget:
        past it, `ThrottledTooLong` stops the run (the batch call itself throttled, likewise)."""
        adders = dict(items)
        rounds = _Rounds()
        pending = [key for key, _ in items]
        for round_no in range(1, self._retry.attempts + 1):
            raw: dict[str, tuple[bool, Any]] = {}
            batch = self._graph().new_batch()
            for key in pending:
                adders[key](batch, _answer(raw, key, True), _answer(raw, key, False))
            rounds.calls = round_no
            try:
                self._call(batch.execute)
            except ThrottledTooLong:
                raise
            except PlatformError as exc:
                rounds.error = exc
                rounds.pending = {key: str(exc) for key in pending}
                return rounds
            retry, waits = self._sort_answers(pending, raw, rounds)
            if not retry or round_no == self._retry.attempts:
                break
            if waits:
                wait, why = max(waits)
                reason = f"Meta: {len(retry)} batch item(s) throttled ({why})"
                self._budget.admit(wait, reason)
            else:
                wait = self._retry.delay(round_no, TransientError(""))
                reason = f"Meta: {len(retry)} batch item(s) unanswered or failed"
            self.ctx.progress(f"{reason} - again in {minutes_text(wait)}")
            if waits:  # no batch of this connector starts while a throttle holds
                self._pacer.hold(wait)
            else:
                self._pacer.reset()
                self.ctx.clock.sleep(wait)
            pending = retry
        return rounds

    def _sort_answers(
        self, pending: Sequence[str], raw: Mapping[str, tuple[bool, Any]], rounds: _Rounds
    ) -> tuple[list[str], list[tuple[float, str]]]:
        """File this round's final answers in `rounds`; return the items to send again and the
        waits their throttles ask for, each with its reason."""
        retry: list[str] = []
        waits: list[tuple[float, str]] = []
        for key in pending:
            if key not in raw:  # a null item: Graph gave no answer for it
                retry.append(key)
                rounds.pending[key] = "no answer (null batch item)"
                continue
            ok, response = raw[key]
            headers = header_map(response.headers())
            self._pacer.observe(headers, keep_higher=True)
            if not ok:
                err = GraphError(response.status(), response.body(), headers)
                if err.transient:
                    retry.append(key)
                    rounds.pending[key] = err.describe()
                    if err.rate_limited:
                        waits.append(err.regain())
                    continue
            rounds.answers[key] = _Answer(
                ok, response, headers, headers.get("x-fb-trace-id", "") or self._last_trace()
            )
            rounds.pending.pop(key, None)
        return retry, waits


def _answer(answers: dict[str, tuple[bool, Any]], key: str, ok: bool) -> Callback:
    """A batch callback that files the item's response under its key."""
    return lambda response: answers.__setitem__(key, (ok, response))


def _node_class(entity_type: str) -> Any:
    from facebook_business.adobjects.adrule import AdRule
    from facebook_business.adobjects.adset import AdSet
    from facebook_business.adobjects.campaign import Campaign

    return {"campaign": Campaign, "adset": AdSet, "rule": AdRule}[entity_type]
