"""Change requests, end to end: who may do what (rules), what is kept (repo), who is told (notify).

Every action is one store transaction: load the request, decide with `adoffboard.cr.rules`, write
the new state with its transitions, and queue what follows (the approval notice, the planner
entry) in the same transaction. A refusal raises before anything is written. Notices are sent
after the commit, from the outbox; one that cannot be sent stays queued for `reminders send`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from adoffboard import audit
from adoffboard.audit import Who
from adoffboard.clock import Clock, SystemClock
from adoffboard.config import ROLES, LoadedWorkspace
from adoffboard.cr import notify, notify_html, notify_turns, repo, rules
from adoffboard.cr.model import (
    PLANNED_TYPES,
    ChangeRequest,
    Content,
    Transition,
    type_name,
)
from adoffboard.cr.rules import Actor, Decision
from adoffboard.cr.validate import build_content, check_content, parse_values
from adoffboard.errors import (
    AdoffboardError,
    FieldProblem,
    ImportProblems,
    InputError,
    NotFound,
    NotPermitted,
    TransientError,
)

CLAIM_TIMEOUT = dt.timedelta(minutes=10)  # a sender that crashed mid-send loses its claim


@dataclass(frozen=True)
class Delivery:
    key: str
    kind: str
    subject: str
    recipients: tuple[str, ...]
    error: str = ""


@dataclass(frozen=True)
class RowProblem:
    row: int
    problem: FieldProblem


class Follower(Protocol):
    """What else an approval, or its voiding, sets off in the action's own transaction: the
    schedule (`adoffboard.scheduling.book.Schedule`). Change requests know it only as this."""

    def approved(
        self, conn: Any, cr: ChangeRequest, ws: LoadedWorkspace, at: str
    ) -> Sequence[Any]: ...

    def voided(self, conn: Any, cr: ChangeRequest, at: str) -> None: ...


class ChangeRequests:
    def __init__(
        self,
        store: Any,
        workspace: LoadedWorkspace,
        clock: Clock | None = None,
        *,
        follower: Follower | None = None,
    ) -> None:
        self.store = store
        self.ws = workspace
        self.clock = clock or SystemClock()
        self.follower = follower

    # -- people and lookups

    def actor(self, by: str | Who) -> Actor:
        key = audit.person_of(by)
        person = self.ws.config.people.get(key)
        if person is None:
            known = ", ".join(sorted(self.ws.config.people)) or "none"
            raise InputError(
                f"unknown person {key!r}: --as takes a person key from [people] in "
                f"adoffboard.toml (known: {known})"
            )
        return Actor(key, person.name, tuple(person.roles))

    def get(self, cr_id: str) -> ChangeRequest:
        with self.store.transaction() as conn:
            cr = repo.load_request(conn, normalise_id(cr_id))
        if cr is None:
            raise NotFound(f"unknown change request {cr_id!r} (see `adoffboard cr list`)")
        return cr

    def find(
        self, *, client: str | None = None, status: str | None = None, type_: str | None = None
    ) -> list[ChangeRequest]:
        with self.store.transaction() as conn:
            return repo.find_requests(conn, client=client, status=status, type_=type_)

    def history(self, cr_id: str) -> list[Transition]:
        with self.store.transaction() as conn:
            return repo.transitions(conn, normalise_id(cr_id))

    def notices(self, cr_id: str) -> list[dict[str, Any]]:
        with self.store.transaction() as conn:
            return repo.notices_of(conn, normalise_id(cr_id))

    def standing(self, cr: ChangeRequest) -> str:
        return rules.standing(cr, self.ws.config.approval)

    def pending_step(self, cr: ChangeRequest) -> rules.ChainStep | None:
        return rules.pending_step(cr, self.ws.config.approval)

    # -- creating

    # Every action takes who acts: a `Who` (the CLI's, the console's: its audit event is written
    # in the action's own transaction), or a bare person key (nothing audited).
    def create(self, actor_key: str | Who, raw: dict[str, Any]) -> ChangeRequest:
        actor = self.actor(actor_key)
        content, problems = self._content(raw)
        if problems:
            raise InputError(_first(problems))
        rules.create(actor, content)  # refuse early, before an id is allocated
        [cr] = self._insert([(actor, content, "created", "")], actor_key)
        return cr

    def import_rows(
        self, actor_key: str | Who, source: str, rows: list[tuple[int, dict[str, Any]]]
    ) -> list[ChangeRequest]:
        """All rows or none: every bad row is reported (`ImportProblems`), nothing is written."""
        default = self.actor(actor_key)
        problems: list[RowProblem] = []
        ready: list[tuple[Actor, Content, str, str]] = []
        with self.store.transaction() as conn:
            known_refs = repo.crm_refs(conn)
        seen_refs: dict[str, int] = {}
        for number, raw in rows:
            raw = dict(raw)
            if "(row)" in raw:
                problems.append(
                    RowProblem(
                        number,
                        FieldProblem("row", "must be an object with the change request's fields"),
                    )
                )
                continue
            extra = raw.pop("(extra cells)", None)
            if extra is not None:
                problems.append(
                    RowProblem(
                        number, FieldProblem("row", f"more cells than header columns ({extra!r})")
                    )
                )
            by = raw.pop("created_by", None)
            content, found = self._content(raw)
            found = list(found)
            if by is not None and not isinstance(by, str):
                found.append(
                    FieldProblem("created_by", f"expected a person key (text), got {type_name(by)}")
                )
                by = ""
            by = (by or "").strip()
            try:
                actor = self.actor(by) if by else default
                rules.create(actor, content)
            except (InputError, NotPermitted) as exc:
                found.append(FieldProblem("created_by", str(exc)))
                actor = default
            ref = content.crm_ref
            if ref and ref in known_refs:
                found.append(
                    FieldProblem("crm_ref", f"{ref!r} was already imported as {known_refs[ref]}")
                )
            elif ref and ref in seen_refs:
                found.append(FieldProblem("crm_ref", f"{ref!r} is also on row {seen_refs[ref]}"))
            if ref:
                seen_refs.setdefault(ref, number)
            problems += [RowProblem(number, p) for p in found]
            if not found:
                ready.append((actor, content, "imported", f"imported from {source} row {number}"))
        if problems:
            raise ImportProblems(source, problems)
        if not ready:
            raise InputError(f"{source}: no change requests in it")
        return self._insert(ready, actor_key)

    def _content(
        self, raw: dict[str, Any], base: Content | None = None
    ) -> tuple[Content, list[FieldProblem]]:
        values, problems = parse_values(raw)
        if base is None:
            client = str(values.get("client", ""))
            departments: list[str] | None = None
            try:
                manifest = self.ws.load_client(client) if client else None
                if manifest is not None:
                    departments = list(manifest.model.departments)
                elif not any(p.field == "client" for p in problems):  # not already refused
                    problems.append(FieldProblem("client", "required: a client slug"))
            except AdoffboardError as exc:
                problems.append(FieldProblem("client", str(exc)))
            if "departments" not in values and departments:
                values["departments"] = tuple(departments)
        else:
            departments = list(self.ws.load_client(base.client).model.departments)
        content = build_content(values, base)
        bad = {p.field for p in problems}
        problems += [p for p in check_content(content, departments) if p.field not in bad]
        before = rules.escalation_roles(base) if base else ()
        if rules.escalation_roles(content) != before and not any(
            p.field in ("escalated_to", "escalated", "departments", "client") for p in problems
        ):
            problems += self._nobody_to_escalate_to(content)
        return content, problems

    def _nobody_to_escalate_to(self, content: Content) -> list[FieldProblem]:
        """An escalation must reach someone: each role it goes to is somebody's in [people]."""
        missing = [r for r in rules.escalation_roles(content) if not self.ws.people_with_role(r)]
        if not missing:
            return []
        return [
            FieldProblem(
                "escalated_to",
                f"nobody in [people] has the role {', '.join(missing)} "
                f"({', '.join(ROLES[r] for r in missing)}): add them to adoffboard.toml "
                "to escalate to them",
            )
        ]

    def _insert(
        self, items: list[tuple[Actor, Content, str, str]], by: str | Who
    ) -> list[ChangeRequest]:
        created = []
        with self.store.transaction(write=True) as conn:
            at = self.store.now()
            for actor, content, via, detail in items:
                cr_id = repo.allocate_id(conn)
                decision = rules.create(actor, content, cr_id, at, via, detail)
                repo.insert_request(conn, decision.cr, decision.events, at)
                audit.note(conn, by, at=at, action=f"cr {via}", subject=cr_id, detail=detail)
                cr = repo.load_request(conn, cr_id)
                assert cr is not None
                if cr.content.escalated_to:
                    spec = notify.escalation_notice(cr, self.ws, cr.version, actor.key)
                    self._queue(conn, spec, at)
                created.append(cr)
        return created

    # -- acting on a request

    def edit(self, cr_id: str, actor_key: str | Who, raw: dict[str, Any]) -> ChangeRequest:
        actor = self.actor(actor_key)
        if "client" in raw:
            raise InputError("the client of a change request cannot change: create a new one")

        def decide(cr: ChangeRequest) -> Decision:
            content, problems = self._content(raw, cr.content)
            if problems:
                raise InputError(_first(problems))
            return rules.edit(cr, actor, content)

        return self._act(cr_id, decide, actor_key)

    def save_attempt(self, cr_id: str, by: str | Who, outcome: str, notes: str) -> ChangeRequest:
        actor = self.actor(by)
        return self._act(cr_id, lambda cr: rules.record_save_attempt(cr, actor, outcome, notes), by)

    def submit(self, cr_id: str, by: str | Who) -> ChangeRequest:
        actor = self.actor(by)
        return self._act(cr_id, lambda cr: rules.submit(cr, actor), by)

    def approve(self, cr_id: str, by: str | Who, note: str = "") -> ChangeRequest:
        actor, approval, at = self.actor(by), self.ws.config.approval, self.store.now()
        return self._act(cr_id, lambda cr: rules.approve(cr, actor, approval, note, at), by)

    def reject(self, cr_id: str, by: str | Who, reason: str) -> ChangeRequest:
        actor, approval = self.actor(by), self.ws.config.approval
        return self._act(cr_id, lambda cr: rules.reject(cr, actor, approval, reason), by)

    def _act(
        self, cr_id: str, decide: Callable[[ChangeRequest], Decision], by: str | Who
    ) -> ChangeRequest:
        wanted = normalise_id(cr_id)
        with self.store.transaction(write=True) as conn:
            before = repo.load_request(conn, wanted)
            if before is None:
                raise NotFound(f"unknown change request {cr_id!r} (see `adoffboard cr list`)")
            decision = decide(before)
            at = self.store.now()
            repo.save_request(conn, before, decision.cr, decision.events, at)
            done = decision.events[0]
            audit.note(
                conn, by, at=at, action=f"cr {done.action}", subject=wanted, detail=done.detail
            )
            after = repo.load_request(conn, wanted)
            assert after is not None
            self._follow_up(conn, before, after, decision, at)
        return after

    def _follow_up(
        self, conn: Any, before: ChangeRequest, after: ChangeRequest, decision: Decision, at: str
    ) -> None:
        """What an action sets off, in the action's transaction: planner, schedule (the
        follower's), notices (`notify_turns`: whose turn it is now)."""
        scheduled: Sequence[Any] = ()
        if decision.approved_now:
            if after.type in PLANNED_TYPES:
                repo.planner_add(conn, after, at)
            scheduled = self.follower.approved(conn, after, self.ws, at) if self.follower else ()
        if decision.voided:
            repo.planner_remove(conn, after.id)
            repo.drop_pending(conn, after.id, at)
            if self.follower:
                self.follower.voided(conn, after, at)
            if before.status == "approved":
                edit = decision.events[0]
                spec = notify.voided_notice(after, self.ws, after.version, edit.by, edit.detail)
                self._queue(conn, spec, at)
        now_to = rules.escalation_roles(after.content)
        if now_to != rules.escalation_roles(before.content):
            # an unsent notice to whom it was escalated before no longer holds
            repo.drop_pending(conn, after.id, at, "escalation", "escalated to someone else since")
            if now_to:
                by = decision.events[0].by
                self._queue(conn, notify.escalation_notice(after, self.ws, after.version, by), at)
        for spec in notify_turns.turn_notices(before, after, decision, self.ws, scheduled):
            self._queue(conn, spec, at)  # whose turn it is now (or the approval, the rejection)

    def _queue(self, conn: Any, spec: notify.NoticeSpec, at: str) -> bool:
        return repo.queue_notice(
            conn,
            key=spec.key,
            cr_id=spec.cr_id,
            kind=spec.kind,
            recipients=spec.recipients,
            subject=spec.subject,
            body=spec.body,
            at=at,
        )

    # -- planner, reminders, delivery

    def planner(
        self, start: dt.date | None = None, end: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """Approved cancellations and pauses whose effective or end date falls in the range."""
        with self.store.transaction() as conn:
            return repo.planner_between(conn, start, end)

    def queue_reminders(self, today: dt.date) -> tuple[int, list[str]]:
        """Queue every reminder due today that was never queued; returns (queued, problems)."""
        problems: list[str] = []
        queued = 0
        with self.store.transaction(write=True) as conn:
            at = self.store.now()
            horizon = today + dt.timedelta(
                days=max(self.ws.config.notifications.reminder_days, default=0)
            )
            for row in repo.planner_rows(conn):
                dates = [
                    dt.date.fromisoformat(d)
                    for d in (row["effective_date"], row["pause_end_date"])
                    if d
                ]
                missing_end = row["type"] == "pause" and not row["pause_end_date"]
                if not missing_end and not any(today <= d <= horizon for d in dates):
                    continue  # nothing of this request can be due today: skip loading it
                cr = repo.load_request(conn, row["cr_id"])
                if cr is None or cr.status != "approved":
                    continue
                specs, found = notify.reminders_due(cr, self.ws, today)
                problems += found
                for spec in specs:
                    queued += self._queue(conn, spec, at)
        return queued, problems

    def deliver(self, cr_id: str | None = None) -> list[Delivery]:
        """Send queued notices (of one request, or all); failures stay queued with the error."""
        from adoffboard.mail import Email, Mailer

        # A server that cannot be reached is not tried again in line: the notice stays queued
        # (`reminders send` and the scheduler send it later) and the person is not kept waiting.
        mailer = Mailer(
            self.ws.config.notifications,
            workspace_root=self.ws.root,
            read_only=False,
            clock=self.clock,
            retry_unreachable=False,
        )
        with self.store.transaction() as conn:
            pending = repo.pending_notices(conn, normalise_id(cr_id) if cr_id else None)
        results = []
        down = ""  # the server failed us: the others are not tried in this pass, they stay queued
        for notice in pending:
            if down:
                to = tuple(notice["recipients"])
                results.append(Delivery(notice["key"], notice["kind"], notice["subject"], to, down))
                continue
            stale = (self.clock.now() - CLAIM_TIMEOUT).astimezone(dt.UTC)
            with self.store.transaction(write=True) as conn:
                if not repo.claim_notice(
                    conn, notice["seq"], stale.isoformat(timespec="seconds"), self.store.now()
                ):
                    continue
            recipients = tuple(notice["recipients"])
            error, message_id = "", ""
            try:
                subject, body = notice["subject"], notice["body"]
                html = notify_html.html_of(subject, body)
                sent = mailer.send(Email(to=recipients, subject=subject, body=body, html=html))
                message_id = sent.message_id
            except AdoffboardError as exc:
                error = str(exc)
                down = f"not tried after: {exc}" if isinstance(exc, TransientError) else ""
            with self.store.transaction(write=True) as conn:
                repo.mark_notice(
                    conn,
                    notice["seq"],
                    sent_at=None if error else self.store.now(),
                    message_id=message_id,
                    error=error,
                )
            results.append(
                Delivery(notice["key"], notice["kind"], notice["subject"], recipients, error)
            )
        return results


def normalise_id(text: str) -> str:
    """`CR-0003`, `cr-3` and `3` all name the same request."""
    raw = text.strip().upper().removeprefix("CR-").removeprefix("CR")
    return f"CR-{int(raw):04d}" if raw.isdigit() else text.strip()


def _first(problems: Iterable[FieldProblem]) -> str:
    items = list(problems)
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"{items[0]}{more}"
