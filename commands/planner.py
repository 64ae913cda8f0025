"""The `planner` and `reminders` commands: parse, call `adoffboard.cr.service`, render.

Registered on the main group by `adoffboard.cli` (through `commands/cr.py`, beside the `cr`
group); they receive its context object (`adoffboard.commands.common.Ctx`: the workspace, the
store, `--json`) through `click.pass_obj`. Errors propagate to the main group, which turns them
into one line and a documented exit code.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import click

from adoffboard.commands.common import EXIT_TRANSIENT
from adoffboard.commands.common import emit_json as _emit


def _service(c: Any) -> Any:
    from adoffboard.scheduling.book import change_requests

    return change_requests(c.store, c.workspace)


def _date_option(value: str | None, what: str) -> dt.date | None:
    """A date option, held to the dates a change request may carry (`cr.model.parse_date`)."""
    from adoffboard.cr.model import parse_date
    from adoffboard.errors import FieldProblem, InputError

    if value is None:
        return None
    try:
        return parse_date(what, value)
    except FieldProblem as exc:
        raise InputError(str(exc)) from None


@click.command("planner")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="Dates from this day.")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Dates up to this day.")
@click.pass_obj
def planner(c: Any, start: str | None, end: str | None) -> None:
    """The planner of approved cancellations and pauses (effective and pause end dates)."""
    rows = _service(c).planner(_date_option(start, "--from"), _date_option(end, "--to"))
    if c.as_json:
        _emit(rows)
        return
    if not rows:
        click.echo("Nothing on the planner.")
        return
    from rich.table import Table

    table = Table("effective", "client", "type", "departments", "scope", "pause ends", "request")
    for r in rows:
        ends = r["pause_end_date"] or ("[red]NOT SET[/red]" if r["pause_end_missing"] else "")
        table.add_row(
            r["effective_date"] or "",
            r["client"],
            r["type"],
            r["departments"],
            r["scope"],
            ends,
            r["cr_id"],
        )
    c.print_table(table)
    missing = [r["cr_id"] for r in rows if r["pause_end_missing"]]
    if missing:
        click.echo(
            f"Pauses without an end date: {', '.join(missing)}: set one with the Account Manager."
        )


@click.group("reminders")
def reminders() -> None:
    """Reminders to the teams before effective and pause end dates."""


@reminders.command("send")
@click.option("--today", metavar="YYYY-MM-DD", help="Act as if today were this day.")
@click.pass_obj
def reminders_send(c: Any, today: str | None) -> None:
    """Send every reminder due today (each once), and any notice still queued."""
    from adoffboard.engine import Env

    day = _date_option(today, "--today") or Env(c.workspace).today()
    service = _service(c)
    queued, problems = service.queue_reminders(day)
    deliveries = service.deliver()
    failed = [d for d in deliveries if d.error]
    if c.as_json:
        _emit(
            {
                "today": day.isoformat(),
                "queued": queued,
                "problems": problems,
                "sent": [d.__dict__ for d in deliveries if not d.error],
                "failed": [d.__dict__ for d in failed],
            }
        )
    else:
        for d in deliveries:
            state = f"NOT SENT ({d.error})" if d.error else "sent"
            click.echo(f"{state}: {d.subject} -> {', '.join(d.recipients)}")
        for p in problems:
            click.echo(f"adoffboard: warning: {p}", err=True)
        click.echo(f"{day}: {len(deliveries) - len(failed)} sent, {len(failed)} not sent.")
    if failed:
        click.echo(
            f"adoffboard: error: {len(failed)} notice(s) could not be sent; they stay "
            "queued for the next `adoffboard reminders send`",
            err=True,
        )
        sys.exit(EXIT_TRANSIENT)
