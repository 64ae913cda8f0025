"""One verdict, true to the end state: of a run, and of a client's case.

- `judge_run`: the verify pass of one run, with the lines its change request's own history settles
  (`settlements`): what `apply`, `run`, `verify --run`, the scheduler and the demo all report,
  so that a run's report and a standalone verify of it never disagree.
- `judge_client`: what `verify CLIENT` judges: the client's open case, i.e. its most recent
  approved cancellation, pause or addendum that has runs, every runbook of it by its latest run
  (the SEM removals and the MA lines alike), under one verdict; the client's latest run when it
  has no such request (a rehearsal).
- `settlements`: the runbook steps marked `settled_by` (create the request, submit it, each
  approval, the approval notice...), judged from the request's transitions and notices: PASS by
  whom and when, SKIPPED where the step does not apply (finance without a credit, the Retention
  team's submission when it was not involved), or still a task when the history lacks it.

The engine knows nothing of change requests: it receives the settlements as values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from adoffboard.config import LoadedWorkspace
from adoffboard.engine import Env, Reads, RunStore, Settlement, verify
from adoffboard.models import CheckStatus, Report
from adoffboard.records import RunRecord
from adoffboard.report_summary import Verdict, summarize
from adoffboard.runbook import LoadedRunbook, Step

# The change request types a case is opened by (a save attempt alone runs nothing).
CASE_TYPES = ("cancellation", "pause", "addendum")
SPECIALIST = {"SEM": "sem_specialist", "MA": "ma_specialist"}


def escalated(cr: Any) -> bool:
    """Whether the request was escalated to the Retention team: the escalation that takes a save
    attempt and the Retention team's submission (escalated to a team lead or a department
    manager, the Account Manager submits and no save attempt is made)."""
    return bool(cr.content.escalated)


# --- one run ----------------------------------------------------------------------------------


def judge_run(
    env: Env, store: RunStore, client: str, run_id: str, *, reads: Reads | None = None
) -> Report:
    """The verify pass of run `run_id`, with its change request's settlements (`reads`: the
    run's own, when it has just ended: see `engine.verify`)."""
    record = store.run(run_id)
    settled = (
        settlements(store, env.workspace, record.change_request, env.runbook(record.runbook))
        if record.change_request and record.client == client
        else {}
    )
    return verify(env, store, client, run_id=run_id, settlements=settled, reads=reads)


# --- a client's case --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseVerdict:
    """A client's case judged: one report per runbook (each by its latest run of the case), and
    the verdict over all of them. `change_request` is "" when there was no case to judge (the
    client's latest run, or a runbook without a run, was judged instead)."""

    client: str
    change_request: str
    reports: tuple[Report, ...]

    @property
    def verdict(self) -> Verdict:
        verdicts = {summarize(r).verdict for r in self.reports}
        if verdicts & {Verdict.FAIL, Verdict.FAILED}:
            return Verdict.FAIL
        if verdicts - {Verdict.PASS}:
            return Verdict.PASS_MANUAL_PENDING
        return Verdict.PASS

    @property
    def checks_status(self) -> str:
        """ "FAIL", "PENDING" or "PASS", as `verdict_of` says it of one report's checks."""
        return {Verdict.FAIL: "FAIL", Verdict.PASS: "PASS"}.get(self.verdict, "PENDING")


def open_case(store: Any, ws: LoadedWorkspace, client: str) -> tuple[str, list[RunRecord]]:
    """The client's open case: its most recent approved cancellation, pause or addendum request
    that has runs, and the latest run of each of its runbooks (in runbook order); ("", []) when
    there is none."""
    from adoffboard.cr.service import ChangeRequests

    requests = ChangeRequests(store, ws).find(client=client, status="approved")
    for cr in reversed(requests):  # newest first
        if cr.type not in CASE_TYPES:
            continue
        latest: dict[str, RunRecord] = {}
        for record in store.request_runs(cr.id):  # oldest first: the newest wins
            latest[record.runbook] = record
        if latest:
            return cr.id, [latest[name] for name in sorted(_current(ws, latest))]
    return "", []


def _current(ws: LoadedWorkspace, latest: dict[str, RunRecord]) -> list[str]:
    """The runbooks whose end state the case stands by: a pause that its un-pause (of the same
    department, run since) undid on purpose is no longer judged by its own checks."""
    from adoffboard.runbook import load_runbook

    books = {name: load_runbook(name, ws.root).model for name in latest}
    return [
        name
        for name, book in books.items()
        if not (
            book.process == "pause"
            and any(
                other.process == "unpause"
                and other.department == book.department
                and latest[o].started_at >= latest[name].started_at
                for o, other in books.items()
            )
        )
    ]


def judge_client(
    env: Env,
    store: Any,
    client: str,
    *,
    run_id: str | None = None,
    runbook: str | None = None,
    scope: str | None = None,
) -> CaseVerdict:
    """What `verify CLIENT` judges: one run (`run_id`), a runbook the client has no run of
    (`runbook`, `scope`), else the client's open case, else its latest run."""
    env.workspace.load_client(client)
    if run_id:
        report = judge_run(env, store, client, run_id)
        return CaseVerdict(client, report.change_request, (report,))
    if runbook:
        return CaseVerdict(client, "", (verify(env, store, client, runbook=runbook, scope=scope),))
    cr_id, runs = open_case(store, env.workspace, client)
    if not runs:
        latest = store.latest_run(client)
        if latest is None:  # the engine says how to verify a client with no run
            return CaseVerdict(client, "", (verify(env, store, client),))
        report = judge_run(env, store, client, latest.id)
        return CaseVerdict(client, "", (report,))
    return CaseVerdict(
        client, cr_id, tuple(judge_run(env, store, client, record.id) for record in runs)
    )


# --- settlements ------------------------------------------------------------------------------


def unsettled(ws: LoadedWorkspace, store: Any, tasks: Sequence[Any]) -> list[Any]:
    """The manual tasks (`adoffboard.tasks.Task`) left to people: without those whose step the
    run's change request has settled (PASS or SKIPPED from its history)."""
    from adoffboard.runbook import load_runbook

    settled: dict[str, set[str]] = {}
    for run_id in {t.run_id for t in tasks}:
        record = store.run(run_id)
        found: set[str] = set()
        if record.change_request:
            book = load_runbook(record.runbook, ws.root)
            found = {
                step_id
                for step_id, s in settlements(store, ws, record.change_request, book).items()
                if s.settled
            }
        settled[run_id] = found
    return [t for t in tasks if t.step_id not in settled[t.run_id]]


@dataclass(frozen=True)
class _History:
    """A change request with everything that happened to it, as settling reads it."""

    cr: Any
    transitions: Sequence[Any]
    notices: Sequence[dict[str, Any]]
    ws: LoadedWorkspace

    def who(self, key: str) -> str:
        person = self.ws.config.people.get(key)
        return person.name if person else key

    def last(self, *actions: str) -> Any | None:
        return next((t for t in reversed(self.transitions) if t.action in actions), None)

    def approval(self, role: str) -> Any | None:
        return next((a for a in self.cr.approvals if a.role == role), None)

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [n for n in self.notices if n["kind"] == kind and n["status"] == "sent"]

    def local_date(self, at: str) -> dt.date:
        when = dt.datetime.fromisoformat(at)
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        return when.astimezone(ZoneInfo(self.ws.config.workspace.timezone)).date()


def settlements(
    store: Any, ws: LoadedWorkspace, cr_id: str, book: LoadedRunbook
) -> dict[str, Settlement]:
    """Every `settled_by` step of `book`, judged from change request `cr_id`'s history."""
    from adoffboard.cr.service import ChangeRequests

    steps = [s for s in book.model.steps if s.settled_by]
    if not steps:
        return {}
    service = ChangeRequests(store, ws)
    cr = service.get(cr_id)
    history = _History(cr, service.history(cr.id), service.notices(cr.id), ws)
    return {s.id: _settle(s, history) for s in steps}


def _settle(step: Step, h: _History) -> Settlement:
    event = step.settled_by or ""
    judge = _JUDGES[event]
    status, by, at, detail, *rest = judge(step, h)
    evidence = tuple(rest[0]) if rest else ()
    return Settlement(step.id, status, by, at, detail, evidence)


Judged = tuple[Any, ...]  # (status, by, at, detail[, evidence])
PASS, SKIPPED, WAITING = CheckStatus.PASS, CheckStatus.SKIPPED, CheckStatus.MANUAL_PENDING


def _done(t: Any, h: _History, detail: str) -> Judged:
    return PASS, h.who(t.by), t.at, detail


def _created(step: Step, h: _History) -> Judged:
    t = h.last("created", "imported")
    if t is None:
        return WAITING, "", "", f"no creation of {h.cr.id} is recorded"
    return _done(t, h, f"{h.cr.id} {t.action} ({t.detail})" if t.detail else h.cr.id)


def _save_attempt(step: Step, h: _History) -> Judged:
    t = h.last("save-attempt")
    if t is not None:
        return _done(t, h, f"save attempt recorded: {t.detail}")
    if h.cr.type == "addendum":
        return SKIPPED, "", "", "an addendum carries no save attempt"
    if not escalated(h.cr):
        return SKIPPED, "", "", "not escalated to the Retention team: no save attempt"
    return WAITING, "", "", "escalated, but no save attempt is recorded"


def _submitted(step: Step, h: _History) -> Judged:
    t = h.last("submitted")
    if t is None:
        return WAITING, "", "", f"{h.cr.id} is not submitted"
    return _done(t, h, f"submitted for approval as {t.role}")


def _submitted_as(role: str) -> Any:
    def judge(step: Step, h: _History) -> Judged:
        t = h.last("submitted")
        if t is None:
            return WAITING, "", "", f"{h.cr.id} is not submitted"
        if t.role == role:
            return _done(t, h, f"submitted for approval as {role}")
        if role == "retention":
            why = (
                "not escalated to the Retention team"
                if not escalated(h.cr)
                else "the Retention team did not submit it"
            )
        else:
            why = "escalated to the Retention team"
        return SKIPPED, "", "", f"{why}: {h.who(t.by)} submitted it as {t.role} at {t.at}"

    return judge


def _chain(index: int) -> Any:
    def judge(step: Step, h: _History) -> Judged:
        chain = h.ws.config.approval.chain
        if index >= len(chain):
            return SKIPPED, "", "", f"the approval chain has {len(chain)} approver(s)"
        return _approved(chain[index], h)

    return judge


def _approved(role: str, h: _History, what: str = "approved") -> Judged:
    a = h.approval(role)
    if a is None:
        return WAITING, "", "", f"{h.cr.id} waits for the {role} step of its approval chain"
    t = next((t for t in reversed(h.transitions) if t.role == role and t.action == a.action), None)
    note = f": {t.detail}" if t is not None and t.detail else ""
    return PASS, h.who(a.by), a.at, f"{what} as {role}{note}"


def _finance(step: Step, h: _History) -> Judged:
    c = h.cr.content
    if not c.issues_credit:
        return SKIPPED, "", "", "no credit is issued: the Finance Team does not approve it"
    credit = f"credit of ${c.credit_amount:,.2f} approved"
    return _approved(h.ws.config.approval.finance_role, h, credit)


def _processed(step: Step, h: _History) -> Judged:
    return _approved(h.ws.config.approval.processing_role, h, "processed")


def _approval_notice(h: _History) -> dict[str, Any] | None:
    notices = [n for n in h.notices if n["kind"] == "approval"]
    return notices[-1] if notices else None


def _notice(step: Step, h: _History) -> Judged:
    n = _approval_notice(h)
    if n is None:
        return WAITING, "", "", f"no approval notice of {h.cr.id} is queued"
    if n["status"] != "sent":
        error = f" ({n['error']})" if n.get("error") else ""
        return (
            WAITING,
            "",
            "",
            (f"the approval notice is {n['status']}, not sent{error}: `adoffboard reminders send`"),
        )
    to = ", ".join(n["recipients"])
    return (
        PASS,
        h.ws.config.notifications.sender or "adoffboard",
        n["sent_at"],
        f"approval notice sent to {to}",
        (f"subject: {n['subject']}", f"message id: {n.get('message_id') or ''}"),
    )


def _forwarded(step: Step, h: _History) -> Judged:
    role = SPECIALIST.get(step.department, "")
    people = h.ws.people_with_role(role) if role else []
    n = _approval_notice(h)
    reached = [
        p.name
        for p in people
        if n is not None and n["status"] == "sent" and p.email in n["recipients"]
    ]
    if n is not None and reached:
        return (
            PASS,
            h.ws.config.notifications.sender or "adoffboard",
            n["sent_at"],
            f"the approval notice went to the {step.department} Specialist directly "
            f"({', '.join(reached)})",
        )
    return WAITING, "", "", "the approval notice does not reach the specialist: forward it"


def _reminders(step: Step, h: _History) -> Judged:
    c = h.cr.content
    dept = step.department
    sent = [n for n in h.sent("reminder-effective") if f":effective:{dept}:" in n["key"]]
    if sent:
        first = sent[0]
        return (
            PASS,
            h.ws.config.notifications.sender or "adoffboard",
            first["sent_at"],
            f"{len(sent)} reminder(s) sent to the {dept} team ({', '.join(first['recipients'])})",
        )
    if c.effective_date is None:
        return SKIPPED, "", "", "the request has no effective date to remind of"
    days = h.ws.config.notifications.reminder_days
    approved = h.last("processed", "approved")
    if approved is not None and days:
        when = h.local_date(approved.at)
        if when > c.effective_date - dt.timedelta(days=min(days)):
            return (
                SKIPPED,
                "",
                "",
                f"approved on {when}, fewer than {min(days)} day(s) before the effective date "
                f"{c.effective_date}: no reminder was due; the approval notice told the team",
            )
    queued = [n for n in h.notices if n["kind"] == "reminder-effective" and f":{dept}:" in n["key"]]
    if queued:
        return WAITING, "", "", "a reminder is queued, not sent yet: `adoffboard reminders send`"
    return (
        WAITING,
        "",
        "",
        (
            f"no reminder sent yet: `adoffboard reminders send` sends them {days} day(s) before "
            f"{c.effective_date}"
        ),
    )


def _pause_end(step: Step, h: _History) -> Judged:
    c = h.cr.content
    if c.pause_end_date is None:
        return (
            WAITING,
            "",
            "",
            (
                f"{h.cr.id} has no pause end date: agree one with the Account Manager "
                f"(`adoffboard cr edit {h.cr.id} --pause-end YYYY-MM-DD`)"
            ),
        )
    setter = next(
        (
            t
            for t in reversed(h.transitions)
            if t.action == "edited" and "pause_end_date" in t.data.get("changed", {})
        ),
        None,
    ) or h.last("created", "imported")
    approved = h.last("processed", "approved")
    tail = f", approved with the request at {approved.at}" if approved is not None else ""
    if setter is None:
        return PASS, "", "", f"the pause ends on {c.pause_end_date}{tail}"
    return _done(setter, h, f"the pause ends on {c.pause_end_date}{tail}")


_JUDGES: dict[str, Any] = {
    "created": _created,
    "save-attempt": _save_attempt,
    "submitted": _submitted,
    "submitted-by-account-manager": _submitted_as("account_manager"),
    "submitted-by-retention": _submitted_as("retention"),
    "approval-first": _chain(0),
    "approval-second": _chain(1),
    "approval-finance": _finance,
    "processed": _processed,
    "approval-notice": _notice,
    "forwarded-to-specialist": _forwarded,
    "reminders": _reminders,
    "pause-end-date": _pause_end,
}
