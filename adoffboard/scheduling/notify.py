"""The emails a scheduled run sends: done (with what needs a person), retrying, failed.

They go to the distribution list and the department's team (`[notifications] reminder_roles`),
through the store's outbox (one per key, so a crash between queueing and sending never sends one
twice), and are delivered at the end of each tick. Only composition here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adoffboard.clock import local_time
from adoffboard.config import LoadedWorkspace
from adoffboard.cr.notify import NoticeSpec, client_name, role_emails
from adoffboard.models import Check, CheckStatus, Outcome, OutcomeStatus
from adoffboard.scheduling.repo import ScheduledRun

_NEEDS_A_PERSON = (CheckStatus.FAIL, CheckStatus.MANUAL_PENDING)


def recipients(row: ScheduledRun, ws: LoadedWorkspace) -> tuple[str, ...]:
    team = role_emails(ws, ws.config.notifications.reminder_roles.get(row.department, []))
    return tuple(dict.fromkeys([*ws.config.notifications.distribution_list, *team]))


def done_notice(
    row: ScheduledRun,
    ws: LoadedWorkspace,
    attempt: int,
    run_id: str,
    run_status: str,
    verdict: str,
    outcomes: Sequence[Outcome],
    checks: Sequence[Check],
    report: Path | None,
) -> NoticeSpec:
    name = client_name(ws, row.client)
    drift = [o for o in outcomes if o.status == OutcomeStatus.DRIFT]
    subject = f"Done: {_what(row)} for {name} ({row.id}, {row.cr_id}): verify {verdict}"
    lines = [
        f"Scheduled run {row.id} ran {row.runbook} for {name} ({row.client}), due "
        f"{_local(row.due_at, ws)}, for change request {row.cr_id}.",
        "",
        f"Run:      {run_id} ({run_status}), attempt {attempt}",
        f"Verify:   {verdict}",
        f"Changes:  {_count(outcomes, OutcomeStatus.APPLIED)} applied, "
        f"{_count(outcomes, OutcomeStatus.ALREADY)} already so, {len(drift)} left alone "
        "(changed by someone else since the plan)",
    ]
    if report is not None:
        lines.append(f"Report:   {report}")
    pending = [c for c in checks if c.status in _NEEDS_A_PERSON]
    if pending:
        lines += ["", "Needs a person:"]
        for c in pending:
            lines.append(
                f"  - [{c.status}] {c.title}{f' ({c.part})' if c.part else ''}: {c.detail}"
            )
            lines += [f"      {e}" for e in c.evidence[:20]]
    if drift:
        lines += ["", "Left alone (someone changed them after adoffboard read them):"]
        lines += [f"  - {o.change_id}: {o.message}" for o in drift[:50]]
    lines += [
        "",
        f"Manual tasks: adoffboard tasks {row.client}",
        f"Verify again: adoffboard verify {row.client} --run {run_id}",
    ]
    return NoticeSpec(
        f"schedule:{row.id}:done:{attempt}",
        row.cr_id,
        "scheduled-done",
        recipients(row, ws),
        subject,
        "\n".join(lines) + "\n",
    )


def failure_notice(
    row: ScheduledRun,
    ws: LoadedWorkspace,
    attempt: int,
    max_attempts: int,
    error: str,
    next_at: str | None,
    run_id: str | None,
) -> NoticeSpec:
    name = client_name(ws, row.client)
    if next_at:
        subject = (
            f"Retrying at {_local(next_at, ws)}: {_what(row)} for {name} "
            f"({row.id}, attempt {attempt} of {max_attempts} failed)"
        )
        then = [
            f"adoffboard tries again at {_local(next_at, ws)} (re-planned against the "
            "live accounts, so what already took effect is not sent again).",
            f"To stop it: adoffboard schedule cancel {row.id} --as PERSON --reason TEXT",
        ]
    else:
        subject = f"FAILED: {_what(row)} for {name} ({row.id}, {row.cr_id}): needs a person"
        then = [
            "adoffboard will not try again on its own. Fix the cause, then:",
            f"  adoffboard schedule retry {row.id} --as PERSON",
            f"or carry it out by hand: adoffboard run {row.client} -r {row.runbook} "
            f"--cr {row.cr_id}",
        ]
    lines = [
        f"Scheduled run {row.id} ({row.runbook} for {name}, {row.client}, due "
        f"{_local(row.due_at, ws)}, change request {row.cr_id}) failed on attempt "
        f"{attempt} of {max_attempts}:",
        "",
        f"  {error}",
        "",
    ]
    if run_id:
        lines += [f"Run: {run_id} (adoffboard verify {row.client} --run {run_id})", ""]
    lines += [*then, "", f"Details: adoffboard schedule show {row.id}"]
    kind = "scheduled-retrying" if next_at else "scheduled-failed"
    return NoticeSpec(
        f"schedule:{row.id}:failed:{attempt}",
        row.cr_id,
        kind,
        recipients(row, ws),
        subject,
        "\n".join(lines) + "\n",
    )


def _count(outcomes: Sequence[Outcome], status: OutcomeStatus) -> int:
    return sum(1 for o in outcomes if o.status == status)


def _local(stored: str, ws: LoadedWorkspace) -> str:
    return local_time(stored, ws.config.workspace.timezone)


def _what(row: ScheduledRun) -> str:
    """The runbook, and which of its steps when only those due at approval ran."""
    return f"{row.runbook} (steps due at approval)" if row.stage == "immediately" else row.runbook
