"""`run` and `restore`: plan, show, confirm once by typing the client's name, apply, verify.

`run CLIENT` runs what the client's approved change requests call for today (`adoffboard.app`);
`run CLIENT -r RUNBOOK` one runbook; `restore RUN` puts back what a run (and its case) changed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from adoffboard.commands.common import (
    EXIT_DRIFT,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_VERIFY_PENDING,
    Ctx,
    ProgressView,
    emit_json,
    fail,
    pass_ctx,
    render_summary,
    report_paths,
    save_plan_file,
)
from adoffboard.commands.identity import AS_HELP, acting, audit_cli
from adoffboard.commands.runs import (
    _CR_HELP,
    _SCOPE_HELP,
    _inputs,
    _plan_with_cr,
    _run_exit,
    _verify_exit,
    budget_change_options,
)

if TYPE_CHECKING:
    from adoffboard.engine.handover import PlanReads


@click.command()
@click.argument("client")
@click.option(
    "-r",
    "--runbook",
    help="Run this runbook (rehearsals, or a runbook the change request does not call for "
    "today). Default: what the client's approved change requests call for today.",
)
@click.option("--scope", type=click.Choice(["dm", "platform"]), help=_SCOPE_HELP)
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="Effective date, with -r (default: the change request's, else today).",
)
@click.option("--cr", "cr_id", metavar="ID", help=_CR_HELP)
@click.option(
    "--stage",
    type=click.Choice(["all", "immediately"]),
    default="all",
    show_default=True,
    help="With -r: all the runbook's steps, or only those due at approval.",
)
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Skip the typed confirmation. The client is then locked from the plan's read until "
    "the run is verified, and the apply settles on that read instead of reading again.",
)
@budget_change_options
@pass_ctx
def run(
    c: Ctx,
    client: str,
    runbook: str | None,
    scope: str | None,
    effective: str | None,
    cr_id: str | None,
    stage: str,
    yes: bool,
    budget_change: tuple[str, ...],
    addendum_ref: str,
) -> None:
    """Plan, show the summary, confirm by typing the client's name, apply, verify.

    Without -r: the runs the client's approved change requests call for today (the steps due at
    approval before the effective date; every step from that date on; the un-pause from the
    pause's end date), leaving out what a run (by anyone, or the scheduler) already did. They
    are listed, planned and shown, then confirmed once.
    """
    if runbook is None:
        if scope or effective or budget_change or addendum_ref or stage != "all":
            fail(
                EXIT_INPUT,
                "--scope, --effective, --stage and --budget-change go with -r: without -r "
                "they come from the approved change request",
            )
        _run_called_for(c, client, cr_id, yes)
    with _held(c, client, yes) as handover:
        with ProgressView(c) as view:
            the_plan = _plan_with_cr(
                c,
                view,
                client,
                runbook,
                scope,
                effective,
                cr_id,
                _inputs(budget_change, addendum_ref),
                stage=stage,
                handover=handover,
            )
        path = _prepare(c, the_plan)
        _confirm(c, the_plan.client_name, yes)
        code = _apply_verify(c, the_plan, path, now_ok=False, handover=handover)
    sys.exit(code)


@contextmanager
def _held(c: Ctx, client: str, yes: bool) -> Iterator[PlanReads | None]:
    """With --yes, nothing waits between the plan and its apply: the client's lock is taken
    before the plan's read and held until the run is verified, and the apply settles on that
    read (`adoffboard.engine.handover`: no other run can have written since). Without it, the
    lock is taken at the apply, which reads every platform again (a prompt may be answered
    much later)."""
    from adoffboard.engine.handover import PlanReads
    from adoffboard.holder import holder_name

    if not yes:
        yield None
        return
    slug = c.workspace.load_client(client).slug
    with c.store.client_lock(slug, holder_name()):
        yield PlanReads(slug)


def _run_called_for(c: Ctx, client: str, cr_id: str | None, yes: bool) -> NoReturn:
    """`run CLIENT`: what the client's approved change requests call for today, confirmed once."""
    from adoffboard.app import runs_called_for
    from adoffboard.cr.service import normalise_id

    c.workspace.load_client(client)
    env = c.env()
    today = env.today()
    called = [
        r
        for r in runs_called_for(c.store, c.workspace, client, today)
        if not cr_id or r.cr_id == normalise_id(cr_id)
    ]
    unfinished = [r for r in called if r.unfinished and not r.done_by]
    if unfinished:
        r = unfinished[0]
        fail(
            EXIT_SAFETY,
            f"run {r.unfinished} ({r.label}) is unfinished: finish it with "
            f"`adoffboard resume {r.unfinished}` first",
        )
    due = [r for r in called if r.on <= today and not r.done_by]
    if not c.as_json:
        for r in called:
            state = (
                f"done: run {r.done_by}"
                if r.done_by
                else "due today"
                if r.on <= today
                else f"on {r.on}"
            )
            click.echo(f"  {r.label}: {state}")
    if not due:
        if not called:
            fail(
                EXIT_INPUT,
                f"{client} has no approved cancellation, pause or addendum change request: "
                f"run a runbook with -r (rehearsal), or see `adoffboard cr list --client {client}`",
            )
        if c.as_json:
            emit_json({"client": client, "called_for": [_due_dict(r) for r in called], "runs": []})
        else:
            click.echo(f"Nothing due today for {client}.")
        sys.exit(EXIT_OK)
    reports: list[Any] | None = [] if c.as_json else None
    with _held(c, client, yes) as handover:
        plans: list[tuple[Any, Path]] = []
        for r in due:
            with ProgressView(c) as view:
                the_plan = _plan_with_cr(
                    c,
                    view,
                    client,
                    r.runbook,
                    None,
                    None,
                    r.cr_id,
                    None,
                    stage=r.stage,
                    handover=None if plans else handover,  # the first run's plan read only
                )
            plans.append((the_plan, _prepare(c, the_plan)))
        what = f"these {len(plans)} run(s)" if len(plans) > 1 else ""
        _confirm(c, plans[0][0].client_name, yes, what=what)
        # a later run's plan was read before the earlier runs wrote: it is read again
        codes = [
            _apply_verify(
                c,
                the_plan,
                path,
                now_ok=False,
                collect=reports,
                handover=handover,
            )
            for the_plan, path in plans
        ]
    if reports is not None:  # one document: what was called for, and each run's report
        from adoffboard.reports import render_json

        emit_json(
            {
                "client": client,
                "called_for": [_due_dict(r) for r in called],
                "runs": [
                    {
                        **json.loads(render_json(merged)),
                        "report_files": {k: str(v) for k, v in paths.items()},
                    }
                    for merged, paths in reports
                ],
            }
        )
    sys.exit(max(codes, key=_severity))


def _due_dict(r: Any) -> dict[str, Any]:
    return {
        "cr_id": r.cr_id,
        "runbook": r.runbook,
        "stage": r.stage,
        "on": r.on.isoformat(),
        "done_by": r.done_by,
        "unfinished": r.unfinished,
    }


def _severity(code: int) -> int:
    """Which exit code speaks for several runs: any failure over pending work over success."""
    order = [EXIT_OK, EXIT_VERIFY_PENDING, EXIT_DRIFT]
    return order.index(code) if code in order else len(order) + code


def _prepare(c: Ctx, the_plan: Any) -> Path:
    """Save and show the plan, and check its approval before anyone is asked to confirm it
    (apply checks again, under the client's lock)."""
    from adoffboard.app import require_approval
    from adoffboard.models import Report, ReportKind

    path = save_plan_file(
        the_plan, c.workspace.root / "plans" / f"{the_plan.plan_id}.json", c.store.plan_key()
    )
    if not c.as_json:  # with --json, stdout carries one document: the final report
        render_summary(c, Report(ReportKind.PLAN, the_plan), None)
        if not the_plan.changes:
            click.echo("Nothing to change on any platform.")
    require_approval(c.store, c.workspace, the_plan)
    return path


def _confirm(c: Ctx, client_name: str, yes: bool, what: str = "") -> None:
    if yes:
        return
    typed = click.prompt(
        f"Type the client's name ({client_name}) to apply{' ' + what if what else ''}",
        default="",
        show_default=False,
        err=True,  # stdout holds only the result (with --json, one JSON document)
    )
    if typed.strip() != client_name:
        fail(EXIT_SAFETY, "confirmation did not match the client's name: nothing applied")


def _apply_verify(
    c: Ctx,
    the_plan: Any,
    path: Path,
    *,
    now_ok: bool,
    collect: list[Any] | None = None,
    handover: PlanReads | None = None,
) -> int:
    """Apply a prepared plan, verify the run, write the combined report; its exit code. With
    `collect`, the report (and its files) is added there instead of being shown. `handover`:
    the caller holds the client's lock (`_held`), and this plan's read if it was made under
    it with nothing applied since."""
    from adoffboard.app import apply_judged

    with ProgressView(c) as view:
        result, merged, report = apply_judged(
            c.env(view),
            the_plan,
            c.store,
            plan_path=str(path),
            now_ok=now_ok,
            always=True,
            lock_held=handover is not None,
            handover=handover,
        )
    paths = report_paths(c, merged)
    if collect is not None:
        collect.append((merged, paths))
    else:
        render_summary(c, merged, paths)
    code = _run_exit(result)
    return code if code or report is None else _verify_exit(report)


def _confirm_apply_verify(c: Ctx, the_plan: Any, yes: bool, *, now_ok: bool) -> NoReturn:
    """Save and show the plan, check its approval, confirm by the client's name, apply, verify."""
    path = _prepare(c, the_plan)
    _confirm(c, the_plan.client_name, yes)
    sys.exit(_apply_verify(c, the_plan, path, now_ok=now_ok))


@click.command()
@click.argument("run_id")
@click.option(
    "--as",
    "who",
    metavar="PERSON",
    help="Who asks for the restore: a person holding a role that may restore (the run's "
    "department specialist or team lead, or the operations lead). " + AS_HELP,
)
@click.option("-y", "--yes", is_flag=True, help="Skip the typed confirmation.")
@pass_ctx
def restore(c: Ctx, run_id: str, who: str | None, yes: bool) -> None:
    """Put back what a run changed, where the live value is still the one it set.

    Values someone changed since the run are left alone and reported; removals of the agency's
    access are not restored. The restore is planned (and shown) before anything is sent, and is
    bound to that run and to the person who asked for it (recorded with the run).
    """
    from adoffboard.engine import RESTORE_ROLES, authorize, make_plan

    acts = acting(c, who).who
    record = c.store.run(run_id)
    env = c.env()
    department = env.runbook(record.runbook).model.department
    roles = RESTORE_ROLES.get(department, ())
    person = authorize(env, acts.person, roles, f"restore a {department} run")
    with ProgressView(c) as view:
        the_plan = make_plan(
            c.env(view),
            record.client,
            "restore",
            record.plan().scope,
            store=c.store,
            restore_run=run_id,
            authorized_by=person,
        )
    audit_cli(c, acts, "restore planned", run_id, f"plan {the_plan.plan_id}")
    _confirm_apply_verify(c, the_plan, yes, now_ok=True)
