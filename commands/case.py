"""The `case` commands: a change request and everything done for it (`adoffboard.case`).

Registered on the main group by `adoffboard.cli`; errors propagate to it (one line, the class's
exit code: an unknown client or request is NotFound).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from adoffboard.commands.common import Ctx, emit_json, local, pass_ctx, said_once


@click.group("case")
def case_group() -> None:
    """Cases: a change request and everything done for it, oldest first.

    \b
      adoffboard case list [--client C] [--open]   one line per request: runs, last verdict
      adoffboard case show CLIENT|CR               the timeline: request, schedule, runs,
                                                   manual tasks, restore state of pause runs
    """


@case_group.command("list")
@click.option("--client", metavar="CLIENT", help="Only this client's cases.")
@click.option("--open", "only_open", is_flag=True, help="Only cases with something left to do.")
@pass_ctx
def case_list(c: Ctx, client: str | None, only_open: bool) -> None:
    """One line per case: request, client, type, status, dates, runs, last run's verdict."""
    from adoffboard.case import cases

    found = cases(c.store, c.workspace, client=client, only_open=only_open)
    if c.as_json:
        emit_json([_list_entry(case) for case in found])
        return
    if not found:
        click.echo("No open cases." if only_open else "No cases.")
        return
    header = ("CR", "CLIENT", "TYPE", "STATUS", "EFFECTIVE", "PAUSE END", "RUNS", "LAST", "OPEN")
    rows = [header]
    for case in found:
        e = _list_entry(case)
        rows.append(
            (
                e["id"],
                e["client"],
                e["type"],
                e["status"],
                e["effective_date"] or "-",
                e["pause_end_date"] or "-",
                str(e["runs"]),
                e["last_verdict"] or "-",
                "; ".join(e["outstanding"]) if e["open"] else "closed",
            )
        )
    for line in _aligned(rows):
        click.echo(line)


def _list_entry(case: Any) -> dict[str, Any]:
    data = case.to_dict()
    last = case.last_run
    return {
        **{k: data[k] for k in ("id", "client", "type", "status", "standing", "created_at")},
        "effective_date": data["effective_date"],
        "pause_end_date": data["pause_end_date"],
        "runs": len(case.runs),
        "last_run": last.record.id if last else None,
        "last_verdict": data["last_verdict"],
        "open": case.open,
        "outstanding": list(case.outstanding),
    }


@case_group.command("show")
@click.argument("what", metavar="CLIENT|CR")
@pass_ctx
def case_show(c: Ctx, what: str) -> None:
    """A case's timeline, oldest first. CLIENT means that client's case: its most recent
    approved cancellation, pause or addendum, else its most recent request."""
    from adoffboard.case import find_case

    case = find_case(c.store, c.workspace, what)
    if c.as_json:
        emit_json(case.to_dict())
        return
    cr = case.cr
    content = cr.content
    click.echo(f"{cr.id}: {cr.type} for {cr.client}, {said_once(cr.status, case.standing)}.")
    dates = [f"effective {content.effective_date or 'not set'}"]
    if cr.type == "pause":
        dates.append(f"pause ends {content.pause_end_date or 'NOT SET'}")
    click.echo(f"Dates: {', '.join(dates)}. Runs: {len(case.runs)}.")
    click.echo(
        "Open: " + "; ".join(case.outstanding) if case.open else "Closed: nothing left to do."
    )
    zone = c.workspace.config.workspace.timezone
    click.echo(f"\nTimeline (oldest first, times in {zone}):")
    rows = [(local(c, e.at) or "(pending)", e.kind, e.text) for e in case.timeline()]
    for line in _aligned(rows, indent="  "):
        click.echo(line)
    if case.restores:
        click.echo("\nRestore state of the pause runs:")
        for state in case.restores:
            mark = "restored" if state.restored else "NOT restored" if state.changed else "-"
            click.echo(f"  {state.run_id}  {state.runbook}  {state.changed} value(s)  {mark}")


def _aligned(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Rows as lines, each column as wide as its widest cell (the last one is not padded)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent + "  ".join([*(cell.ljust(w) for cell, w in zip(r, widths, strict=False)), r[-1]])
        for r in rows
    ]
