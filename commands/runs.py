"""`plan`, `apply`, `verify`, `run`, `restore`, `resume`, `resend`, `history`: a client's runs.

Plans and applies go through `adoffboard.app` (the change request, the approval gate), as the
scheduler's do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from adoffboard.commands.common import (
    EXIT_DRIFT,
    EXIT_FAILED_CHANGES,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_VERIFY_FAIL,
    EXIT_VERIFY_PENDING,
    BoundedInt,
    Ctx,
    ProgressView,
    emit_json,
    fail,
    pass_ctx,
    plan_output,
    render_summary,
    report_paths,
    save_plan_file,
)


def budget_change_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--addendum-ref", default="", help="Reference of the signed addendum (budget addendums)."
    )(fn)
    return click.option(
        "--budget-change",
        multiple=True,
        metavar="monthly=AMOUNT | CAMPAIGN=AMOUNT",
        help="Budget addendums: a new monthly total, or a daily amount per campaign (id or "
        "name), in the account's currency; repeat for several campaigns.",
    )(fn)


def _inputs(budget_change: tuple[str, ...], addendum_ref: str) -> dict[str, Any]:
    from adoffboard.connectors.addendum import parse_cli_budget_change

    change = parse_cli_budget_change(budget_change, addendum_ref)
    return {"budget_change": change} if change else {}


def _plan_with_cr(
    c: Ctx,
    view: Any,
    client: str,
    runbook: str,
    scope: str | None,
    effective: str | None,
    cr_id: str | None,
    inputs: dict[str, Any] | None = None,
    *,
    stage: str = "all",
) -> Any:
    """Make a plan carrying its change request (the one named, else the latest approved)."""
    from adoffboard.app import plan_for_request

    def review_only(exc: Exception) -> None:
        # A dry run for review needs no store; apply checks the change request anyway.
        click.echo(
            f"adoffboard: warning: change requests not looked up ({exc}): planning for review only",
            err=True,
        )

    return plan_for_request(
        c.env(view),
        lambda: c.store,
        client,
        runbook,
        scope=scope,
        effective=effective,
        cr_id=cr_id,
        inputs=inputs,
        review_only=review_only,
        stage=stage,
    )


_SCOPE_HELP = (
    "dm: digital marketing services only; platform: leaving the platform "
    "(default: the change request's, else dm)."
)
_CR_HELP = (
    "Change request the plan carries out (default: the client's latest approved one "
    "for the runbook's process; apply needs one)."
)


@click.command()
@click.argument("client")
@click.option("-r", "--runbook", required=True, help="Runbook name, e.g. sem-cancellation.")
@click.option("--scope", type=click.Choice(["dm", "platform"]), help=_SCOPE_HELP)
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="Effective date (default: the change request's, else today).",
)
@click.option("--cr", "cr_id", metavar="ID", help=_CR_HELP)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Plan file to write (default: plans/<plan id>.json in the workspace).",
)
@budget_change_options
@pass_ctx
def plan(
    c: Ctx,
    client: str,
    runbook: str,
    scope: str | None,
    effective: str | None,
    cr_id: str | None,
    output: str | None,
    budget_change: tuple[str, ...],
    addendum_ref: str,
) -> None:
    """Dry run: read live state and write a plan file. Sends no mutating call anywhere."""
    from adoffboard.models import Report, ReportKind

    target = plan_output(output)
    with ProgressView(c) as view:
        the_plan = _plan_with_cr(
            c, view, client, runbook, scope, effective, cr_id, _inputs(budget_change, addendum_ref)
        )
    path = save_plan_file(
        the_plan, target or c.workspace.root / "plans" / f"{the_plan.plan_id}.json", _signing_key(c)
    )
    report = Report(
        ReportKind.PLAN, the_plan, calls={p: {"read": n} for p, n in the_plan.reads.items()}
    )
    paths = report_paths(c, report)
    render_summary(c, report, paths)
    if not c.as_json:
        ref = the_plan.change_request
        click.echo(
            f"Change request: {ref['id']}"
            if ref
            else "No approved change request yet: review only; apply needs one."
        )
        click.echo(f"Plan saved: {path}\nReview it, then: adoffboard apply {path}")


def _signing_key(c: Ctx) -> bytes | None:
    """The workspace's plan-signing key, or None when the store is out of reach: the plan is
    then saved for review only (apply refuses an unsigned plan)."""
    from adoffboard.errors import StoreError

    try:
        return bytes(c.store.plan_key())
    except StoreError as exc:
        click.echo(f"adoffboard: warning: plan not signed ({exc}): for review only", err=True)
        return None


def _apply_exit(status: str) -> int:
    return {"applied": EXIT_OK, "applied-with-drift": EXIT_DRIFT}.get(status, EXIT_FAILED_CHANGES)


def _run_exit(result: Any) -> int:
    """A run stopped by an error exits with that error's code (after its report is written)."""
    return result.error.exit_code if result.error else _apply_exit(result.status)


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--now", "now_ok", is_flag=True, help="Apply before the plan's effective date.")
@pass_ctx
def apply(c: Ctx, plan_file: Path, now_ok: bool) -> None:
    """Apply exactly a saved plan; entities whose live value changed since are left alone."""
    from adoffboard.app import apply_approved, judged
    from adoffboard.engine import load_plan

    the_plan = load_plan(plan_file, c.store.plan_key())
    with ProgressView(c) as view:
        result = apply_approved(
            c.env(view), the_plan, c.store, plan_path=str(plan_file), now_ok=now_ok
        )
        report, _ = judged(c.env(view), c.store, result)
    render_summary(c, report, report_paths(c, report))
    if not c.as_json:
        click.echo(
            f"Run {result.run_id}: {result.status}. Next: adoffboard verify "
            f"{the_plan.client} --run {result.run_id}"
        )
    sys.exit(_run_exit(result))


def _verify_exit(report: Any) -> int:
    from adoffboard.engine import verdict_of

    return _verdict_exit(verdict_of(report.checks))


def _verdict_exit(verdict: str) -> int:
    return {"PASS": EXIT_OK, "PENDING": EXIT_VERIFY_PENDING}.get(verdict, EXIT_VERIFY_FAIL)


@click.command()
@click.argument("client")
@click.option(
    "--run",
    "run_id",
    help="Verify what this run set out to do (default: the client's open case, every runbook "
    "of it by its latest run; else the client's latest run).",
)
@click.option("-r", "--runbook", help="Verify against a runbook when the client has no run.")
@click.option("--scope", type=click.Choice(["dm", "platform"]), help="Scope, with --runbook.")
@pass_ctx
def verify(c: Ctx, client: str, run_id: str | None, runbook: str | None, scope: str | None) -> None:
    """Independent read-only pass: PASS / FAIL / MANUAL-PENDING per checklist line.

    Without --run, judges the client's open case: its most recent approved cancellation, pause
    or addendum, every runbook of it (SEM and MA) by its latest run, under one verdict.
    """
    from adoffboard.verdicts import judge_client

    with ProgressView(c) as view:
        case = judge_client(
            c.env(view), c.store, client, run_id=run_id, runbook=runbook, scope=scope
        )
    if len(case.reports) == 1:
        [report] = case.reports
        render_summary(c, report, report_paths(c, report))
    else:
        _render_case(c, case)
    sys.exit(_verdict_exit(case.checks_status))


def _render_case(c: Ctx, case: Any) -> None:
    """A case of several runbooks: its report's summary (or, with --json, the whole report)."""
    import json

    from adoffboard.report_case import render_case, write_case_reports

    paths = write_case_reports(case, c.workspace.reports_dir)
    rendered = render_case(case)
    if c.as_json:
        data = json.loads(rendered["json"])
        data["report_files"] = {k: str(v) for k, v in paths.items()}
        emit_json(data)
        return
    from rich.markdown import Markdown

    text = rendered["md"]
    cut = text.find("\n## ", text.find("## Summary") + 3)
    c.console().print(Markdown(text[:cut] if cut > 0 else text))
    c.console().print(
        f"Full report: {paths['md']}  (also {paths['html'].name}, {paths['json'].name})",
        markup=False,
    )


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
@click.option("-y", "--yes", is_flag=True, help="Skip the typed confirmation.")
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
        )
    path = _prepare(c, the_plan)
    _confirm(c, the_plan.client_name, yes)
    sys.exit(_apply_verify(c, the_plan, path, now_ok=False))


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
    plans = []
    for r in due:
        with ProgressView(c) as view:
            the_plan = _plan_with_cr(
                c, view, client, r.runbook, None, None, r.cr_id, None, stage=r.stage
            )
        plans.append((the_plan, _prepare(c, the_plan)))
    _confirm(
        c, plans[0][0].client_name, yes, what=f"these {len(plans)} run(s)" if len(plans) > 1 else ""
    )
    reports: list[Any] | None = [] if c.as_json else None
    codes = [
        _apply_verify(c, the_plan, path, now_ok=False, collect=reports) for the_plan, path in plans
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
    )
    if typed.strip() != client_name:
        fail(EXIT_SAFETY, "confirmation did not match the client's name: nothing applied")


def _apply_verify(
    c: Ctx, the_plan: Any, path: Path, *, now_ok: bool, collect: list[Any] | None = None
) -> int:
    """Apply a prepared plan, verify the run, write the combined report; its exit code. With
    `collect`, the report (and its files) is added there instead of being shown."""
    from adoffboard.app import apply_approved, judged

    with ProgressView(c) as view:
        result = apply_approved(c.env(view), the_plan, c.store, plan_path=str(path), now_ok=now_ok)
        merged, report = judged(c.env(view), c.store, result, always=True)
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
    required=True,
    metavar="PERSON",
    help="Who asks for the restore: a key, name or email from [people] holding a role "
    "that may restore (the run's department specialist or team lead, or the "
    "operations lead).",
)
@click.option("-y", "--yes", is_flag=True, help="Skip the typed confirmation.")
@pass_ctx
def restore(c: Ctx, run_id: str, who: str, yes: bool) -> None:
    """Put back what a run changed, where the live value is still the one it set.

    Values someone changed since the run are left alone and reported; removals of the agency's
    access are not restored. The restore is planned (and shown) before anything is sent, and is
    bound to that run and to the person who asked for it (recorded with the run).
    """
    from adoffboard.engine import RESTORE_ROLES, authorize, make_plan

    record = c.store.run(run_id)
    env = c.env()
    department = env.runbook(record.runbook).model.department
    person = authorize(env, who, RESTORE_ROLES.get(department, ()), f"restore a {department} run")
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
    _confirm_apply_verify(c, the_plan, yes, now_ok=True)


@click.command()
@click.argument("run_id")
@click.option(
    "--release-access",
    "release",
    multiple=True,
    metavar="PLATFORM",
    help="Remove the agency's access on PLATFORM (e.g. meta) although that account "
    "still fails its pause, budget or script check; repeatable. Takes --as and "
    "--reason; recorded with the run.",
)
@click.option(
    "--as",
    "who",
    metavar="PERSON",
    help="Who releases the held removals: a team lead of the run's department, or the "
    "operations lead.",
)
@click.option("--reason", default="", help="Why the removal may go ahead (recorded).")
@pass_ctx
def resume(c: Ctx, run_id: str, release: tuple[str, ...], who: str | None, reason: str) -> None:
    """Finish an interrupted run without repeating what already took effect.

    Also finishes access removals held because an account still failed its checks, once the
    account is clean (or a team lead releases them with --release-access).
    """
    from adoffboard.app import judged, resume_approved

    with ProgressView(c) as view:
        result = resume_approved(
            c.env(view), run_id, c.store, release=release, released_by=who or "", reason=reason
        )
        report, _ = judged(c.env(view), c.store, result)
    render_summary(c, report, report_paths(c, report))
    sys.exit(_run_exit(result))


@click.command()
@click.argument("client")
@click.option(
    "--as",
    "who",
    required=True,
    help="Who decides: a key, name or email from [people] holding the export step's "
    "owner role, or the client's Account Manager.",
)
@click.option(
    "--received",
    is_flag=True,
    help="The Account Manager confirmed the email in doubt arrived: record it, send nothing.",
)
@pass_ctx
def resend(c: Ctx, client: str, who: str, received: bool) -> None:
    """Settle a SharpSpring export email that may have been sent: send it once more, or record
    that it arrived (--received). Apply and resume never send such an email again on their own.
    """
    from adoffboard.resend import resend as do_resend

    record = do_resend(c.workspace, c.store, client, who, received=received)
    decision = record.decisions[-1]
    if c.as_json:
        emit_json(
            {
                "client": client,
                "file": record.file,
                "rows": record.rows,
                "sha256": record.sha256,
                "emailed_to": list(record.emailed_to),
                "message_id": record.message_id,
                "emailed_at": record.emailed_at,
                "decision": decision,
            }
        )
        return
    what = "Recorded as received" if received else "Sent again"
    click.echo(
        f"{what}: exports/{record.file} ({record.rows} contacts) to "
        f"{', '.join(record.emailed_to)}, by {decision['by']} at {decision['at']}. "
        f"Next: adoffboard verify {client}"
    )


@click.command()
@click.argument("client")
@click.option(
    "-n",
    "--limit",
    type=BoundedInt(1, 10_000),
    default=20,
    show_default=True,
    help="How many runs to show (1 to 10000).",
)
@pass_ctx
def history(c: Ctx, client: str, limit: int) -> None:
    """The client's runs, newest first."""
    c.workspace.load_client(client)
    runs = c.store.runs(client, limit=limit)
    if c.as_json:
        emit_json([{k: v for k, v in r.__dict__.items() if k != "plan_json"} for r in runs])
        return
    if not runs:
        click.echo(f"No runs for {client}.")
        return
    from rich.table import Table

    table = Table("run", "runbook", "status", "started", "finished", "plan")
    for r in runs:
        table.add_row(
            r.id,
            f"{r.runbook} v{r.runbook_version}",
            r.status,
            r.started_at,
            r.finished_at or "",
            r.plan_hash[:12],
        )
    c.console().print(table)
