"""A case: one change request and everything done for it, read back from the store.

The request and its transitions (who, when, what), the schedule's rows for it and their events,
the runs made for it (who made each, which stage, how it ended, its latest verify verdict), the
manual tasks of those runs (attested or pending), and for a contract pause the restore state of
its runs: which changed values, and whether an un-pause (or a restore) has put them back since.

`load_case` reads one request's case, `open_case` a client's current one, `cases` every request's
(`adoffboard case list`). Nothing here writes; the engine knows nothing of cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from adoffboard.config import LoadedWorkspace
from adoffboard.cr import repo as cr_repo
from adoffboard.cr import rules
from adoffboard.cr.model import EXECUTABLE_TYPES, ChangeRequest, Transition
from adoffboard.cr.service import normalise_id
from adoffboard.errors import AdoffboardError, NotFound
from adoffboard.models import CheckStatus, StepKind
from adoffboard.records import APPLIED_STATUSES, RunRecord
from adoffboard.restore import RESTORABLE_STATUSES
from adoffboard.scheduling import repo as schedule_repo

_CR_ID = re.compile(r"(?i)(cr-?)?\d+")
SCHEDULER = "scheduler"  # how a run the scheduler made names who started it


@dataclass(frozen=True)
class CaseRun:
    """A run made for the request, with the verdict of its latest verify pass ("" if none)."""

    record: RunRecord
    process: str
    verdict: str = ""
    verified_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        verified = {"verdict": self.verdict or None, "verified_at": self.verified_at or None}
        return {**_run_dict(self.record), "process": self.process, **verified}


def _run_dict(r: RunRecord) -> dict[str, Any]:
    keys = ("id", "runbook", "stage", "status", "started_by", "started_at", "finished_at")
    return {k: getattr(r, k) for k in keys}


@dataclass(frozen=True)
class CaseScheduled:
    row: schedule_repo.ScheduledRun
    events: tuple[schedule_repo.ScheduleEvent, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.row.to_dict(), "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class CaseTask:
    """A manual step of the case's latest run of a runbook, and its latest attestation."""

    id: str  # CLIENT/RUNBOOK/STEP, as `adoffboard tasks done` takes it
    runbook: str
    step_id: str
    title: str
    owner: str
    run_id: str
    run_at: str
    attested_by: str = ""
    attested_at: str = ""
    note: str = ""

    @property
    def done(self) -> bool:
        return bool(self.attested_by)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "done": self.done}


@dataclass(frozen=True)
class RestoreState:
    """A pause run: how many values it changed, and the runs that put them back since."""

    run_id: str
    runbook: str
    at: str
    changed: int
    restored_by: tuple[RunRecord, ...] = ()

    @property
    def restored(self) -> bool:
        return any(r.status in APPLIED_STATUSES for r in self.restored_by)

    def to_dict(self) -> dict[str, Any]:
        later = [_run_dict(r) for r in self.restored_by]
        return {**self.__dict__, "restored": self.restored, "restored_by": later}


class Event(NamedTuple):
    """One line of a case's timeline: when, what kind (request, schedule, run, task, restore)."""

    at: str
    kind: str
    text: str


@dataclass(frozen=True)
class Case:
    cr: ChangeRequest
    standing: str
    transitions: tuple[Transition, ...]
    scheduled: tuple[CaseScheduled, ...] = ()
    runs: tuple[CaseRun, ...] = ()
    tasks: tuple[CaseTask, ...] = ()
    restores: tuple[RestoreState, ...] = ()
    outstanding: tuple[str, ...] = ()  # what is left to do; nothing: the case is closed

    @property
    def open(self) -> bool:
        return bool(self.outstanding)

    @property
    def last_run(self) -> CaseRun | None:
        return self.runs[-1] if self.runs else None

    def timeline(self) -> list[Event]:
        """Everything that happened, oldest first; pending tasks (no date) come last."""
        found = [Event(t.at, "request", _transition_text(t)) for t in self.transitions] + [
            e for s in self.scheduled for e in _schedule_events(s, self.runs)
        ]
        found += [Event(r.record.started_at, "run", _run_text(r)) for r in self.runs]
        found += [Event(t.attested_at, "task", _task_text(t)) for t in self.tasks if t.done]
        for state in self.restores:  # when it was last restored, else when it paused
            at = max([state.at, *(r.started_at for r in state.restored_by)])
            found.append(Event(at, "restore", _restore_text(state)))
        found.sort(key=lambda e: e.at)
        found += [Event("", "task", _task_text(t)) for t in self.tasks if not t.done]
        return found

    def to_dict(self) -> dict[str, Any]:
        c = self.cr.content
        last = self.last_run
        return {
            "id": self.cr.id,
            "client": self.cr.client,
            "type": self.cr.type,
            "status": self.cr.status,
            "standing": self.standing,
            "created_at": self.cr.created_at,
            "effective_date": c.effective_date.isoformat() if c.effective_date else None,
            "pause_end_date": c.pause_end_date.isoformat() if c.pause_end_date else None,
            "open": self.open,
            "outstanding": list(self.outstanding),
            "runs_count": len(self.runs),
            "last_verdict": (last.verdict or None) if last else None,
            "request": self.cr.to_dict(),
            "transitions": [t.to_dict() for t in self.transitions],
            "scheduled": [s.to_dict() for s in self.scheduled],
            "runs": [r.to_dict() for r in self.runs],
            "tasks": [t.to_dict() for t in self.tasks],
            "restores": [s.to_dict() for s in self.restores],
            "timeline": [e._asdict() for e in self.timeline()],
        }


# --- loading ----------------------------------------------------------------------------------


def load_case(store: Any, ws: LoadedWorkspace, cr_id: str) -> Case:
    wanted = normalise_id(cr_id)
    with store.transaction() as conn:
        cr = cr_repo.load_request(conn, wanted)
        if cr is None:
            raise NotFound(f"unknown change request {cr_id!r} (see `adoffboard case list`)")
        return _case(store, ws, conn, cr, _Runs(store))


def open_case(store: Any, ws: LoadedWorkspace, client: str) -> Case:
    """The client's case: its most recent approved cancellation, pause or addendum, else its
    most recent request."""
    ws.load_client(client)  # an unknown client is NotFound, a bad slug bad input
    with store.transaction() as conn:
        found = cr_repo.find_requests(conn, client=client)
    if not found:
        raise NotFound(f"{client} has no change requests (see `adoffboard cr new`)")
    approved = [c for c in found if c.status == "approved" and c.type in EXECUTABLE_TYPES]
    return load_case(store, ws, (approved or found)[-1].id)


def find_case(store: Any, ws: LoadedWorkspace, what: str) -> Case:
    """`CR-0003` (or `3`): that request's case; a client's slug: its case (`open_case`)."""
    text = what.strip()
    if _CR_ID.fullmatch(text):
        with store.transaction() as conn:
            exists = cr_repo.load_request(conn, normalise_id(text)) is not None
        if exists:
            return load_case(store, ws, text)
    if text in ws.client_slugs():
        return open_case(store, ws, text)
    known = ", ".join(ws.client_slugs()) or "none"
    raise NotFound(f"no client or change request {what!r} (clients: {known}; see `case list`)")


def cases(
    store: Any, ws: LoadedWorkspace, *, client: str | None = None, only_open: bool = False
) -> list[Case]:
    """Every request's case, oldest first (a client's only, or only the open ones)."""
    if client:
        ws.load_client(client)
    runs = _Runs(store)
    with store.transaction() as conn:
        found = [
            _case(store, ws, conn, cr, runs) for cr in cr_repo.find_requests(conn, client=client)
        ]
    return [c for c in found if c.open or not only_open]


class _Runs:
    """What the store keeps per client (runs, verify passes), read once per client and only
    when needed (a client's runs: for the restore state of pause runs)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._runs: dict[str, list[RunRecord]] = {}
        self._verdicts: dict[str, dict[str, tuple[str, str]]] = {}

    def of_client(self, client: str) -> list[RunRecord]:
        """The client's runs, oldest first."""
        if client not in self._runs:
            self._runs[client] = list(reversed(self.store.runs(client, limit=10_000)))
        return self._runs[client]

    def verdict(self, client: str, run_id: str) -> tuple[str, str]:
        """(verdict, at) of the run's latest verify pass, or ("", "")."""
        if client not in self._verdicts:
            latest: dict[str, tuple[str, str]] = {}
            for v in self.store.verifications(client):  # newest first
                if v.run_id and v.run_id not in latest:
                    latest[v.run_id] = (_verdict(v.counts), v.at)
            self._verdicts[client] = latest
        return self._verdicts[client].get(run_id, ("", ""))


def _case(store: Any, ws: LoadedWorkspace, conn: Any, cr: ChangeRequest, runs: _Runs) -> Case:
    transitions = tuple(cr_repo.transitions(conn, cr.id))
    scheduled = tuple(
        CaseScheduled(row, tuple(schedule_repo.events(conn, row.id)))
        for row in schedule_repo.rows(conn, cr_id=cr.id)
    )
    case_runs = tuple(
        CaseRun(r, _process(ws, r.runbook), *runs.verdict(cr.client, r.id))
        for r in store.request_runs(cr.id)
    )
    tasks = tuple(_tasks(store, cr.client, case_runs))
    restores = tuple(_restores(store, runs, case_runs))
    standing = rules.standing(cr, ws.config.approval)
    case = Case(cr, standing, transitions, scheduled, case_runs, tasks, restores)
    return replace(case, outstanding=tuple(_outstanding(case)))


def _process(ws: LoadedWorkspace, runbook: str) -> str:
    from adoffboard.runbook import load_runbook

    try:
        return str(load_runbook(runbook, ws.root).model.process)
    except AdoffboardError:  # a runbook since removed: the case still reads
        return ""


def _verdict(counts: dict[str, int]) -> str:
    """As `verify` judges a pass (`adoffboard.engine.verdict_of`), from its counts."""
    if counts.get(CheckStatus.FAIL.value):
        return "FAIL"
    if counts.get(CheckStatus.MANUAL_PENDING.value):
        return "PENDING"
    return "PASS"


def _tasks(store: Any, client: str, runs: tuple[CaseRun, ...]) -> list[CaseTask]:
    latest = {r.record.runbook: r.record for r in runs}  # runs are oldest first
    found = []
    for runbook, record in sorted(latest.items()):
        attested = store.attestations(client, runbook)
        for step in record.plan().steps:
            if step.kind == StepKind.SKIPPED or step.manual is None:
                continue
            a = attested.get(step.step_id)
            done = (a.by, a.at, a.note) if a else ("", "", "")
            task_id = f"{client}/{runbook}/{step.step_id}"
            found.append(
                CaseTask(
                    task_id,
                    runbook,
                    step.step_id,
                    step.manual.title,
                    step.owner,
                    record.id,
                    record.started_at,
                    *done,
                )  # fmt: skip
            )
    return found


def _restores(store: Any, client: _Runs, runs: tuple[CaseRun, ...]) -> list[RestoreState]:
    """For each pause run: what it changed, and the later runs (an un-pause, a restore) whose
    plan restores it."""
    found = []
    for run in runs:
        r = run.record
        if run.process != "pause" or r.status not in RESTORABLE_STATUSES:
            continue
        later = [
            other
            for other in client.of_client(r.client)
            # started in the same second or later: run ids are random, they say nothing of order
            if other.started_at >= r.started_at
            and other.id != r.id
            and r.id in other.plan().restores_run.split(",")
        ]
        found.append(
            RestoreState(r.id, r.runbook, r.started_at, len(store.snapshots(r.id)), tuple(later))
        )
    return found


def _outstanding(case: Case) -> list[str]:
    """What is left to do for the case; nothing means it is closed."""
    cr = case.cr
    if cr.status in ("draft", "submitted"):
        return [f"the request {case.standing}"]
    if cr.status == "rejected" or cr.type not in EXECUTABLE_TYPES:
        return []
    left = [
        f"{s.row.id} {s.row.runbook} {s.row.status} ({s.row.run_date})"
        for s in case.scheduled
        if s.row.status in schedule_repo.OPEN
    ]
    if not case.runs and not left:
        left.append("no run yet")
    latest: dict[str, CaseRun] = {r.record.runbook: r for r in case.runs}
    for run in latest.values():
        if run.record.status in ("running", "interrupted", "failed"):
            left.append(f"run {run.record.id} {run.record.status}")
        elif run.verdict in ("FAIL", "PENDING", ""):
            left.append(f"run {run.record.id} verify {run.verdict or 'not run'}")
    pending = [t for t in case.tasks if not t.done]
    if pending:
        left.append(f"{len(pending)} manual task(s) pending")
    left += [
        f"pause run {s.run_id} not restored yet"
        for s in case.restores
        if s.changed and not s.restored
    ]
    return left


# --- timeline lines ---------------------------------------------------------------------------


def _transition_text(t: Transition) -> str:
    detail = f": {t.detail}" if t.detail else ""
    return f"{t.action} by {t.by} ({t.role}) -> {t.status}{detail}"


def _schedule_events(s: CaseScheduled, runs: tuple[CaseRun, ...]) -> list[Event]:
    row = s.row
    by_id = {r.record.id: r for r in runs}
    out = []
    for e in s.events:
        notes = []
        run = by_id.get(e.run_id or "")
        if run is not None and not run.record.started_by.startswith(SCHEDULER):
            notes.append(f"done by a person ({run.record.started_by}), run {run.record.id}")
        elif run is not None:
            notes.append(f"by the scheduler, run {run.record.id}")
        elif e.run_id:
            notes.append(f"run {e.run_id}")
        if e.detail and e.event != "scheduled":  # its detail says what the line says
            notes.append(e.detail)
        tail = f" ({'; '.join(notes)})" if notes else ""
        out.append(
            Event(e.at, "schedule", f"{row.id} {row.runbook} on {row.run_date}: {e.event}{tail}")
        )
    return out


def _run_text(r: CaseRun) -> str:
    rec = r.record
    verdict = f", verify {r.verdict}" if r.verdict else ", not verified"
    ended = f", ended {rec.finished_at}" if rec.finished_at else ""
    who = rec.started_by or "unknown"
    return f"run {rec.id} {rec.runbook} ({rec.stage}) by {who}: {rec.status}{verdict}{ended}"


def _task_text(t: CaseTask) -> str:
    if t.done:
        note = f": {t.note}" if t.note else ""
        return f"{t.id} done by {t.attested_by}{note} ({t.title})"
    return f"{t.id} pending, owner {t.owner} ({t.title}; run {t.run_id})"


def _restore_text(s: RestoreState) -> str:
    if not s.changed:
        return f"pause run {s.run_id} ({s.runbook}) changed nothing: nothing to restore"
    head = f"pause run {s.run_id} ({s.runbook}) changed {s.changed} value(s)"
    if not s.restored_by:
        return f"{head}: not restored yet"
    done = ", ".join(f"{r.id} {r.runbook} {r.status} at {r.started_at}" for r in s.restored_by)
    return f"{head}: {'restored' if s.restored else 'restore tried'} by {done}"
