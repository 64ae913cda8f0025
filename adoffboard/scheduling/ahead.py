"""The day before a scheduled run: the doctor checks its client, and the problems are emailed.

A problem found the day before (a token expired, an account renamed, the SMTP server moved) can
still be fixed before the run; found on the day, the run fails. From `run_at` on the day before a
row's run date, each client with runs due tomorrow is checked once (`adoffboard.doctor`, reading
only): the check is recorded as a `doctor` event on each of its rows, so later ticks that day do
not check again, and problems go to the runs' people in one notice, keyed by the client, the date
and the set of problems (the outbox sends a key once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from adoffboard.config import LoadedWorkspace
from adoffboard.cr import repo as cr_repo
from adoffboard.cr.notify import client_name
from adoffboard.engine import Env
from adoffboard.errors import AdoffboardError
from adoffboard.scheduling import notify, repo
from adoffboard.scheduling.repo import ScheduledRun

DOCTOR_EVENT = "doctor"


def rows_for_tomorrow(store: Any, today: dt.date) -> list[ScheduledRun]:
    """Waiting rows due tomorrow that the doctor has not checked yet."""
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    with store.transaction() as conn:
        return [
            r
            for r in repo.rows(conn, statuses=repo.WAITING)
            if r.run_date == tomorrow
            and not any(e.event == DOCTOR_EVENT for e in repo.events(conn, r.id))
        ]


def check_ahead(env: Env, store: Any, holder: str) -> list[str]:
    """Check tomorrow's clients once; returns the notice keys queued for problems found."""
    from adoffboard.doctor import run_doctor

    ws = env.workspace
    by_client: dict[str, list[ScheduledRun]] = {}
    for row in rows_for_tomorrow(store, env.today()):
        by_client.setdefault(row.client, []).append(row)
    queued: list[str] = []
    for client, rows in by_client.items():
        env.progress("scheduler", f"doctor: checking {client} before tomorrow's run")
        try:
            report = run_doctor(env, [client])
        except AdoffboardError:
            continue  # checked again at the next tick
        key = _record(store, ws, holder, client, rows, report)
        if key:
            queued.append(key)
    return queued


def _record(
    store: Any,
    ws: LoadedWorkspace,
    holder: str,
    client: str,
    rows: list[ScheduledRun],
    report: Any,
) -> str:
    from adoffboard.doctor_checks import problem_digest

    problems = report.problems
    summary = f"{len(problems)} problem(s)" + "".join(
        f"; {p.kind} ({p.platform or p.area})" for p in problems[:10]
    )
    key = f"doctor:{client}:{rows[0].run_date}:{problem_digest(problems)}" if problems else ""
    with store.transaction(write=True) as conn:
        at = store.now()
        for row in rows:
            repo.add_event(
                conn, row.id, at=at, event=DOCTOR_EVENT, by=holder, attempt=0, detail=summary
            )
        if problems:
            recipients = tuple(dict.fromkeys(a for r in rows for a in notify.recipients(r, ws)))
            name = client_name(ws, client)
            cr_repo.queue_notice(
                conn,
                key=key,
                cr_id=rows[0].cr_id,
                kind="scheduled-doctor",
                recipients=recipients,
                subject=f"Before tomorrow's run for {name}: {len(problems)} problem(s) to fix",
                body=_body(name, client, rows, problems),
                at=at,
            )
    return key


def _body(name: str, client: str, rows: list[ScheduledRun], problems: Sequence[Any]) -> str:
    lines = [
        f"adoffboard checked {name} ({client}) the day before its scheduled run(s), reading "
        "only, and found problems that would make the run fail:",
        "",
    ]
    lines += [f"  {r.id}: {r.runbook} on {r.run_date} ({r.cr_id})" for r in rows]
    lines.append("")
    for p in problems:
        where = p.platform or p.area
        lines += [f"- [{p.kind}] {where}: {p.message}", f"    what to do: {p.hint}"]
    lines += ["", f"Check again after fixing: adoffboard doctor {client}"]
    return "\n".join(lines) + "\n"
