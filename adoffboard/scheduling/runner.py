"""The scheduler: due runs re-planned against live state, applied, verified, reported.

One `tick` does everything that is due now, once (what `adoffboard scheduler tick` runs from cron
or a systemd timer); `serve` ticks, then sleeps until the next due run (at most `poll_seconds`, so
newly approved requests are picked up), until asked to stop (`adoffboard scheduler run`).

For each due row, in due order:

1. Claim it (compare-and-swap on the row): two schedulers never take the same row.
2. Check its change request is still approved with the content it was scheduled for.
3. Under the client's lock (a person's run, or another scheduler, on the same client makes this
   attempt wait `lock_retry_minutes`; the message names the holder), make a fresh plan from the
   live accounts (so a run missed for days, or retried, never re-sends what already took effect),
   apply exactly it through the engine (which checks the approval again), and verify.
4. Record the outcome: done (verify PASS, or manual tasks pending); retrying, with exponential
   backoff, when the apply failed or a platform was unavailable; failed (needs a person) when the
   input, the approval or a safety guard refused, when verify found a line FAIL, or when attempts
   ran out. Done and failed runs, and every retry, are emailed.

Runs missed while no scheduler ran are simply due: the next tick catches them up, oldest first.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from typing import Any

from adoffboard.app import covering_run, environment
from adoffboard.clock import Clock, SystemClock, local_time
from adoffboard.config import LoadedWorkspace
from adoffboard.cr import repo as cr_repo
from adoffboard.cr.notify import NoticeSpec
from adoffboard.engine import Progress
from adoffboard.errors import (
    AdoffboardError,
    ClientLocked,
    InputError,
    NotPermitted,
    SafetyRefusal,
    TransientError,
)
from adoffboard.holder import holder_is_gone, holder_name
from adoffboard.models import STAGE_ALL, STAGE_IMMEDIATELY
from adoffboard.records import RunRecord
from adoffboard.scheduling import ahead, book, notify, repo
from adoffboard.scheduling.held import plan_apply_verify
from adoffboard.scheduling.outcomes import (
    DONE,
    FAILED,
    LOCKED,
    RETRYING,
    TAKEN,
    VOID,
    WAITING,
    Attempted,
    TickReport,
)
from adoffboard.scheduling.repo import ScheduledRun

# Refusals a retry cannot fix: a person has to change something first.
_NEEDS_A_PERSON = (InputError, SafetyRefusal, NotPermitted)


class Scheduler:
    def __init__(
        self,
        workspace: LoadedWorkspace,
        store: Any,
        *,
        clock: Clock | None = None,
        progress: Progress | None = None,
        holder: str | None = None,
    ) -> None:
        self.ws = workspace
        self.store = store
        self.clock = clock or SystemClock()
        self.env = environment(workspace, clock=self.clock, progress=progress)
        self.holder = holder or f"scheduler {holder_name()}"
        self.settings = workspace.config.schedule
        self.requests = book.change_requests(store, workspace, clock=self.clock)

    # -- what is due

    def _now(self) -> str:
        return self.clock.now().astimezone(dt.UTC).isoformat(timespec="seconds")

    def due(self) -> list[ScheduledRun]:
        """Rows due now, oldest first: waiting ones whose time came, and runs whose scheduler
        vanished (crashed, or its claim is older than the store's lock lifetime)."""
        now = self._now()
        stale = (
            (self.clock.now() - self.store.lock_ttl)
            .astimezone(dt.UTC)
            .isoformat(timespec="seconds")
        )
        with self.store.transaction() as conn:
            found = repo.rows(conn, statuses=(*repo.WAITING, repo.RUNNING))
        return [
            r
            for r in found
            if (r.status in repo.WAITING and r.next_attempt_at <= now)
            or (
                r.status == repo.RUNNING
                and ((r.claimed_at or "") < stale or holder_is_gone(r.claimed_by or ""))
            )
        ]

    def blocked_by(self, row: ScheduledRun) -> ScheduledRun | None:
        """The run this one waits for (an un-pause waits for its pause), if it has yet to run."""
        if not row.after_id:
            return None
        with self.store.transaction() as conn:
            first = repo.get(conn, row.after_id)
        if first is not None and first.status in (repo.SCHEDULED, repo.RUNNING, repo.RETRYING):
            return first
        return None

    def next_wake(self) -> tuple[dt.datetime, ScheduledRun | None]:
        """When to tick next (at most `poll_seconds` away) and the row due then, if any."""
        limit = self.clock.now() + dt.timedelta(seconds=self.settings.poll_seconds)
        with self.store.transaction() as conn:
            unfinished = repo.rows(conn, statuses=(*repo.WAITING, repo.RUNNING))
        first_pending = {r.id for r in unfinished}  # what an un-pause could still wait for
        for row in sorted(
            (r for r in unfinished if r.status in repo.WAITING), key=lambda r: r.next_attempt_at
        ):
            if row.after_id in first_pending:
                continue
            at = dt.datetime.fromisoformat(row.next_attempt_at)
            return (at, row) if at < limit else (limit, row)
        return limit, None

    # -- one tick

    def tick(self, stop: threading.Event | None = None) -> TickReport:
        report = TickReport(at=self._now())
        report.scheduled = book.sync(self.store, self.ws)
        for row in self.due():
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            report.results.append(self.run_one(row))
        if self._reminder_time():
            report.reminders_queued, report.problems = self.requests.queue_reminders(
                self.env.today()
            )
            report.doctor_notices = ahead.check_ahead(self.env, self.store, self.holder)
        report.deliveries = self.requests.deliver()
        return report

    def _reminder_time(self) -> bool:
        """Reminders go out from `run_at` on (not at midnight), and any time later that day."""
        from zoneinfo import ZoneInfo

        local = self.clock.now().astimezone(ZoneInfo(self.ws.config.workspace.timezone))
        return local.time() >= self.settings.time_of_day

    def run_one(self, row: ScheduledRun) -> Attempted:
        first = self.blocked_by(row)
        if first is not None:
            return Attempted(
                row, WAITING, f"waits for {first.id} ({first.runbook}, {first.status})"
            )
        claimed = self._claim(row)
        if claimed is None:
            return Attempted(row, TAKEN, "another scheduler took it first")
        attempt = claimed.attempts + 1
        self.env.progress(
            "scheduler", f"{row.id}: {row.runbook} for {row.client} (attempt {attempt})"
        )
        run_id: str | None = None
        try:
            cr = self.requests.get(row.cr_id)
            if cr.status != "approved" or cr.content_hash != row.cr_hash:
                return self._void(claimed, book.void_reason(cr))
            with self.store.client_lock(row.client, self.holder):
                done = self._done_already(claimed, cr.content.scope)
                if done is not None:
                    return self._done_by(claimed, done)
                run_id, result, checked = self._plan_apply_verify(claimed)
        except ClientLocked as exc:
            return self._locked(claimed, exc)
        except _NEEDS_A_PERSON as exc:
            return self._failed(claimed, attempt, str(exc), run_id, permanent=True)
        except AdoffboardError as exc:
            wait = exc.retry_after if isinstance(exc, TransientError) else None
            return self._failed(claimed, attempt, str(exc), run_id, at_least=wait)
        except Exception as exc:  # noqa: BLE001 - one row's bug must not stop the others
            if os.environ.get("ADOFFBOARD_DEBUG"):
                raise
            return self._failed(
                claimed, attempt, f"internal error: {type(exc).__name__}: {exc}", run_id
            )
        return self._judge(claimed, attempt, result, checked)

    def _plan_apply_verify(self, row: ScheduledRun) -> tuple[str, Any, Any]:
        stage = STAGE_IMMEDIATELY if row.stage == repo.AT_APPROVAL else STAGE_ALL
        return plan_apply_verify(self.env, self.store, row, stage, self.holder)

    def _done_already(self, row: ScheduledRun, scope: str) -> RunRecord | None:
        """A run of the same case that already did what this row would (`covering_run`): by a
        person, or by this row before its scheduler vanished. A person's run still under way
        or interrupted is finished by `adoffboard resume`, never repeated by a fresh run."""
        stage = STAGE_IMMEDIATELY if row.stage == repo.AT_APPROVAL else STAGE_ALL
        done, unfinished = covering_run(self.store, row.cr_id, row.runbook, stage, scope)
        if done is None and unfinished and not unfinished.started_by.startswith("scheduler "):
            who = unfinished.started_by or "someone"
            raise ClientLocked(
                f"run {unfinished.id} of {unfinished.runbook} by {who} is {unfinished.status}: "
                f"finish it with `adoffboard resume {unfinished.id}`"
            )
        return done

    def _done_by(self, row: ScheduledRun, record: RunRecord) -> Attempted:
        who = record.started_by or "someone"
        by = "the scheduler" if who.startswith("scheduler ") else f"a person ({who})"
        detail = (
            f"done by {by}, run {record.id} ({record.status}, {record.started_at}): "
            "nothing left for this row to run"
        )
        after = self._release(
            row,
            event="done",
            attempt=row.attempts,
            detail=detail,
            status=repo.DONE,
            run_id=record.id,
            note=detail,
            last_error=None,
        )
        return Attempted(after, DONE, detail, row.attempts, record.id)

    # -- recording outcomes

    def _claim(self, row: ScheduledRun) -> ScheduledRun | None:
        with self.store.transaction(write=True) as conn:
            at = self.store.now()
            if not repo.update_row(
                conn, row, at, status=repo.RUNNING, claimed_by=self.holder, claimed_at=at
            ):
                return None
            if row.status == repo.RUNNING:  # its scheduler vanished mid-run
                repo.add_event(
                    conn,
                    row.id,
                    at=at,
                    event="reclaimed",
                    by=self.holder,
                    attempt=row.attempts,
                    detail=f"{row.claimed_by} left it running since {row.claimed_at}",
                )
            attempt = row.attempts + 1
            repo.audit_step(conn, row, at=at, by=self.holder, event="started", attempt=attempt)
            claimed = repo.get(conn, row.id)
        assert claimed is not None
        return claimed

    def _release(
        self,
        row: ScheduledRun,
        *,
        event: str,
        attempt: int,
        detail: str,
        notice: NoticeSpec | None = None,
        **values: Any,
    ) -> ScheduledRun:
        """Record the attempt's end on our claimed row, its event and its email, at once."""
        with self.store.transaction(write=True) as conn:
            at = self.store.now()
            current = repo.get(conn, row.id)
            assert current is not None
            repo.update_row(conn, current, at, claimed_by=None, claimed_at=None, **values)
            repo.add_event(
                conn,
                row.id,
                at=at,
                event=event,
                by=self.holder,
                attempt=attempt,
                run_id=values.get("run_id"),
                detail=detail,
            )
            repo.audit_step(
                conn, row, at=at, by=self.holder, event=event, attempt=attempt, detail=detail
            )
            if notice is not None:
                cr_repo.queue_notice(
                    conn,
                    key=notice.key,
                    cr_id=notice.cr_id,
                    kind=notice.kind,
                    recipients=notice.recipients,
                    subject=notice.subject,
                    body=notice.body,
                    at=at,
                )
            after = repo.get(conn, row.id)
        assert after is not None
        return after

    def _void(self, row: ScheduledRun, reason: str) -> Attempted:
        after = self._release(
            row, event="void", attempt=row.attempts, detail=reason, status=repo.VOID, note=reason
        )
        return Attempted(after, VOID, reason)

    def _locked(self, row: ScheduledRun, exc: ClientLocked) -> Attempted:
        next_at = self._later(self.settings.lock_retry_minutes * 60)
        previous = repo.RETRYING if row.attempts else repo.SCHEDULED
        after = self._release(
            row,
            event="locked",
            attempt=row.attempts,
            detail=str(exc),
            status=previous,
            next_attempt_at=next_at,
            last_error=str(exc),
        )
        zone = self.ws.config.workspace.timezone
        return Attempted(
            after,
            LOCKED,
            f"{exc}; trying again at {local_time(next_at, zone)}",
            row.attempts,
            next_at=next_at,
        )

    def _failed(
        self,
        row: ScheduledRun,
        attempt: int,
        error: str,
        run_id: str | None,
        *,
        permanent: bool = False,
        at_least: float | None = None,
    ) -> Attempted:
        limit = self.settings.max_attempts
        next_at = None
        if not permanent and attempt < limit:
            minutes = min(
                self.settings.retry_minutes * 2 ** (attempt - 1), self.settings.retry_max_minutes
            )
            next_at = self._later(max(minutes * 60, at_least or 0))
        spec = notify.failure_notice(row, self.ws, attempt, limit, error, next_at, run_id)
        if next_at:
            after = self._release(
                row,
                event="retrying",
                attempt=attempt,
                detail=error,
                notice=spec,
                status=repo.RETRYING,
                attempts=attempt,
                next_attempt_at=next_at,
                last_error=error,
                run_id=run_id or row.run_id,
            )
            return Attempted(after, RETRYING, error, attempt, run_id, next_at=next_at)
        after = self._release(
            row,
            event="failed",
            attempt=attempt,
            detail=error,
            notice=spec,
            status=repo.FAILED,
            attempts=attempt,
            last_error=error,
            run_id=run_id or row.run_id,
        )
        return Attempted(after, FAILED, error, attempt, run_id)

    def _judge(self, row: ScheduledRun, attempt: int, result: Any, checked: Any) -> Attempted:
        from adoffboard.engine import combined_report, verdict_of
        from adoffboard.models import CheckStatus, OutcomeStatus
        from adoffboard.report_store import save_reports

        merged = combined_report(result, checked)
        paths = save_reports(merged, self.ws.reports_dir, self.store, made_by=self.holder)
        verdict = verdict_of(checked.checks)
        outcomes = result.report.outcomes
        if result.status == "failed":
            failed = [
                o for o in outcomes if o.status in (OutcomeStatus.FAILED, OutcomeStatus.NOT_SENT)
            ]
            first = f": {failed[0].change_id}: {failed[0].message}" if failed else ""
            return self._failed(
                row,
                attempt,
                f"run {result.run_id}: {len(failed)} change(s) failed{first}",
                result.run_id,
            )
        if verdict == "FAIL":
            lines = [
                f"{c.title}: {c.detail}" for c in checked.checks if c.status == CheckStatus.FAIL
            ]
            return self._failed(
                row,
                attempt,
                f"run {result.run_id} applied but verify FAILs "
                f"{len(lines)} line(s): {'; '.join(lines)}",
                result.run_id,
                permanent=True,
            )
        spec = notify.done_notice(
            row,
            self.ws,
            attempt,
            result.run_id,
            result.status,
            verdict,
            outcomes,
            checked.checks,
            paths.get("md"),
        )
        detail = f"run {result.run_id} {result.status}; verify {verdict}"
        after = self._release(
            row,
            event="done",
            attempt=attempt,
            detail=detail,
            notice=spec,
            status=repo.DONE,
            attempts=attempt,
            run_id=result.run_id,
            verdict=verdict,
            last_error=None,
        )
        return Attempted(
            after, DONE, detail, attempt, result.run_id, verdict, report=str(paths.get("md", ""))
        )

    def _later(self, seconds: float) -> str:
        return (
            (self.clock.now() + dt.timedelta(seconds=seconds))
            .astimezone(dt.UTC)
            .isoformat(timespec="seconds")
        )

    # -- the long-running service

    def serve(
        self,
        stop: threading.Event,
        *,
        wait: Callable[[float], object] | None = None,
        on_tick: Callable[[TickReport], None] | None = None,
        on_sleep: Callable[[dt.datetime, ScheduledRun | None], None] | None = None,
        on_error: Callable[[AdoffboardError], None] | None = None,
    ) -> None:
        """Tick, sleep until the next due run (or `poll_seconds`), repeat until `stop` is set.

        `stop` is checked between rows: a run under way is finished (its writes are journaled
        and verified), never cut in the middle. A tick that fails as a whole (the state store
        unreachable, say) is reported and tried again after `poll_seconds`: the service stays up.
        """
        pause = wait or stop.wait
        while not stop.is_set():
            try:
                report = self.tick(stop)
            except AdoffboardError as exc:
                if on_error is not None:
                    on_error(exc)
                pause(float(self.settings.poll_seconds))
                continue
            if on_tick is not None:
                on_tick(report)
            if stop.is_set():
                break
            wake, row = self.next_wake()
            if on_sleep is not None:
                on_sleep(wake, row)
            pause(max(0.0, (wake - self.clock.now()).total_seconds()))
