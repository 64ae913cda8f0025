"""The `schedule` and `scheduler` commands: parse, call `adoffboard.scheduling`, render.

Registered on the main group by `adoffboard.cli`; they receive its context object
(`adoffboard.commands.common.Ctx`: the workspace, the store, `--json`, `--quiet`) through
`click.pass_obj`. Errors propagate to the main group,
which turns them into one line and a documented exit code.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from adoffboard.commands.common import EXIT_FAILED_CHANGES as EXIT_FAILED  # a run gave up
from adoffboard.commands.common import local
from adoffboard.commands.identity import AS_HELP, acting, as_option


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _local(c: Any, stored: str | None) -> str:
    return local(c, stored)


# --- schedule ---------------------------------------------------------------------------------


@click.group("schedule")
def schedule_group() -> None:
    """Runs scheduled from approved change requests: list, show, cancel, retry.

    \b
    An approved request is carried out on its effective date (an un-pause on the pause's end
    date) at [schedule] run_at in the workspace's time zone, by `adoffboard scheduler`.
    """


@schedule_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include done, cancelled and void runs.")
@click.option("--client", help="Only this client's runs.")
@click.pass_obj
def schedule_list(c: Any, show_all: bool, client: str | None) -> None:
    """Scheduled runs, by due time (default: the ones still to run, or failed)."""
    from adoffboard.scheduling import book, repo

    if client:
        c.workspace.load_client(client)
    book.sync(c.store, c.workspace)
    with c.store.transaction() as conn:
        found = repo.rows(conn, statuses=None if show_all else repo.OPEN, client=client)
    if c.as_json:
        _emit([r.to_dict() for r in found])
        return
    if not found:
        click.echo("Nothing scheduled." if not show_all else "No scheduled runs.")
        return
    from rich.table import Table

    tz = c.workspace.config.workspace.timezone
    table = Table(title=f"Scheduled runs (times in {tz})", title_justify="left")
    for name in ("id", "due", "client", "runbook", "request", "status", "tries"):
        table.add_column(name, overflow="fold")
    styles = {"failed": "red", "retrying": "yellow", "running": "cyan", "done": "green"}
    notes = []
    for r in found:
        status = r.status
        if r.status == repo.RETRYING:
            status += f" at {_local(c, r.next_attempt_at)[:16]}"
        style = styles.get(r.status)
        table.add_row(
            r.id,
            _local(c, r.due_at)[:16],
            r.client,
            r.runbook + (" (at approval)" if r.stage == repo.AT_APPROVAL else ""),
            r.cr_id,
            f"[{style}]{status}[/]" if style else status,
            str(r.attempts),
        )
        note = r.note or r.last_error or (f"runs after {r.after_id}" if r.after_id else "")
        if note:
            notes.append(f"{r.id}: {note}")
    c.print_table(table)
    console = c.console()
    for note in notes:
        console.print(note, markup=False, soft_wrap=True)


@schedule_group.command("show")
@click.argument("row_id", metavar="ID")
@click.pass_obj
def schedule_show(c: Any, row_id: str) -> None:
    """One scheduled run: what, when, where it stands, and every attempt."""
    row, history = _get(c, row_id)
    if c.as_json:
        _emit({**row.to_dict(), "events": [e.to_dict() for e in history]})
        return
    fields = [
        ("Client", row.client),
        ("Runbook", f"{row.runbook} ({row.process}, {row.department})"),
        ("Change request", row.cr_id),
        (
            "Steps",
            "those due at approval"
            if row.stage == "immediately"
            else "all of the runbook, on its date",
        ),
        ("Date", row.run_date),
        ("Due", _local(c, row.due_at)),
        ("Status", row.status),
        ("Attempts", f"{row.attempts} of {c.workspace.config.schedule.max_attempts}"),
    ]
    if row.status == "retrying":
        fields.append(("Next attempt", _local(c, row.next_attempt_at)))
    if row.after_id:
        fields.append(("Runs after", row.after_id))
    if row.claimed_by:
        fields.append(("Running under", f"{row.claimed_by} since {_local(c, row.claimed_at)}"))
    if row.run_id:
        fields.append(("Last run", f"{row.run_id} (verify {row.verdict or 'not reached'})"))
    if row.last_error:
        fields.append(("Last error", row.last_error))
    if row.note:
        fields.append(("Note", row.note))
    click.echo(f"{row.id}: {row.runbook} for {row.client}")
    for name, value in fields:
        click.echo(f"  {name + ':':<16}{value}")
    click.echo("History:")
    for e in history:
        run = f" [{e.run_id}]" if e.run_id else ""
        click.echo(f"  {_local(c, e.at)}  {e.event:<11} {e.by}{run}: {e.detail}")


@schedule_group.command("cancel")
@click.argument("row_id", metavar="ID")
@as_option("Who cancels. " + AS_HELP)
@click.option("--reason", required=True, help="Why: kept in the history.")
@click.pass_obj
def schedule_cancel(c: Any, row_id: str, as_person: str | None, reason: str) -> None:
    """Cancel a run that has not run yet (a pause's un-pause is cancelled with it)."""
    from adoffboard.scheduling.manage import cancel

    cancelled = cancel(c.store, c.workspace, row_id, acting(c, as_person).who, reason)
    if c.as_json:
        _emit({"cancelled": cancelled})
        return
    click.echo(f"Cancelled {', '.join(cancelled)}.")


@schedule_group.command("retry")
@click.argument("row_id", metavar="ID")
@as_option("Who re-arms it. " + AS_HELP)
@click.pass_obj
def schedule_retry(c: Any, row_id: str, as_person: str | None) -> None:
    """Run a failed (or retrying) run again at the next tick, with its attempts reset."""
    from adoffboard.scheduling.manage import retry

    row_id = retry(c.store, c.workspace, row_id, acting(c, as_person).who)
    if c.as_json:
        _emit({"retry": row_id})
        return
    click.echo(f"{row_id} runs at the next scheduler tick.")


def _get(c: Any, row_id: str) -> tuple[Any, list[Any]]:
    from adoffboard.scheduling import repo

    with c.store.transaction() as conn:
        row = _row(conn, row_id)
        return row, repo.events(conn, row.id)


def _row(conn: Any, row_id: str) -> Any:
    from adoffboard.scheduling.manage import find_row

    return find_row(conn, row_id)


# --- scheduler --------------------------------------------------------------------------------


@click.group("scheduler")
def scheduler_group() -> None:
    """Carry out approved change requests on their dates.

    \b
      adoffboard scheduler run    a service: sleeps until the next due run; stops on SIGTERM
      adoffboard scheduler tick   everything due now, once (for cron or a systemd timer)
    """


@scheduler_group.command("tick")
@click.pass_obj
def scheduler_tick(c: Any) -> None:
    """Run everything due now once: catch up missed runs, retry failed ones whose time came,
    send reminders and notices. Exit 0, or 11 when a run gave up (it was emailed). With -q, a
    tick with nothing to report prints nothing (for cron)."""
    from adoffboard.scheduling.runner import Scheduler

    scheduler = Scheduler(c.workspace, c.store, progress=_progress(c))
    report = scheduler.tick()
    if c.as_json:
        _emit(report.to_dict())
    else:  # with --quiet (cron), a tick with nothing to report prints nothing
        _render_tick(c, report, quiet_when_idle=c.quiet)
        if not c.quiet:
            click.echo(_next_line(c, scheduler.next_wake()[1]))
    if report.gave_up:
        sys.exit(EXIT_FAILED)


@scheduler_group.command("run")
@click.pass_obj
def scheduler_run(c: Any) -> None:
    """Run as a service: tick, sleep until the next due run, repeat. SIGTERM or Ctrl-C stops it
    cleanly (a run under way is finished first). Exit 0 when stopped."""
    import signal
    import threading

    from adoffboard.scheduling.runner import Scheduler

    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    scheduler = Scheduler(c.workspace, c.store, progress=_progress(c))
    settings = c.workspace.config.schedule
    _say(
        f"scheduler started as {scheduler.holder}: runs due at {settings.run_at} "
        f"{c.workspace.config.workspace.timezone}, checking at least every "
        f"{settings.poll_seconds}s"
    )

    def on_tick(report: Any) -> None:
        if c.as_json:
            click.echo(json.dumps(report.to_dict(), default=str))
        else:
            _render_tick(c, report, quiet_when_idle=True)

    def on_sleep(wake: Any, row: Any) -> None:
        if not c.as_json and row is not None:
            _say(_next_line(c, row))

    def on_error(exc: Any) -> None:
        _say(f"warning: this tick failed ({exc}); trying again in {settings.poll_seconds}s")

    scheduler.serve(stop, on_tick=on_tick, on_sleep=on_sleep, on_error=on_error)
    why = received[0] if received else "stop requested"
    _say(f"scheduler stopped ({why})")


def _progress(c: Any) -> Any:
    if c.quiet:
        return None
    return lambda who, message: click.echo(f"[{who}] {message}", err=True)


def _say(message: str) -> None:
    click.echo(f"adoffboard: {message}", err=True)


def _next_line(c: Any, row: Any) -> str:
    if row is None:
        return "Nothing else scheduled."
    return f"Next: {row.id} {row.runbook} for {row.client} at {_local(c, row.next_attempt_at)}"


def _render_tick(c: Any, report: Any, quiet_when_idle: bool = False) -> None:
    idle = not (report.scheduled or report.results or report.deliveries or report.problems)
    if idle and quiet_when_idle:
        return
    head = _local(c, report.at)
    for row in report.scheduled:
        click.echo(
            f"{head}  scheduled {row.id}: {row.runbook} for {row.client} at "
            f"{_local(c, row.due_at)} ({row.cr_id})"
        )
    for r in report.results:
        line = f"{head}  {r.row.id} {r.row.runbook} for {r.row.client}: {r.outcome}"
        if r.outcome == "done":
            line += f" ({r.detail}); report {r.report}"
        elif r.outcome == "retrying":
            line += (
                f" at {_local(c, r.next_at)} (attempt {r.attempt} of "
                f"{c.workspace.config.schedule.max_attempts} failed: {r.detail})"
            )
        else:
            line += f": {r.detail}"
        click.echo(line)
    for d in report.deliveries:
        state = f"NOT SENT ({d.error})" if d.error else "sent"
        click.echo(f"{head}  email {state}: {d.subject}")
    for p in report.problems:
        click.echo(f"adoffboard: warning: {p}", err=True)
    if idle:
        click.echo(f"{head}  nothing due.")
    if report.stopped:
        click.echo(f"{head}  stopped before the remaining due runs; they run at the next start.")
