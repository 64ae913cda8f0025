"""`plan`, `apply`, `verify`, `run`, `restore`, `resume`, `resend`, `history`: a client's runs.

Plans and applies go through `adoffboard.app` (the change request, the approval gate), as the
scheduler's do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from adoffboard.commands.common import (
    EXIT_DRIFT,
    EXIT_FAILED_CHANGES,
    EXIT_OK,
    EXIT_VERIFY_FAIL,
    EXIT_VERIFY_PENDING,
    BoundedInt,
    Ctx,
    ProgressView,
    emit_json,
    local,
    pass_ctx,
    plan_output,
    render_summary,
    report_paths,
    save_plan_file,
)
from adoffboard.commands.identity import AS_HELP, acting, audit_cli


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
    handover: Any = None,
) -> Any:
    """Make a plan carrying its change request (the one named, else the latest approved).
    `handover`: the caller holds the client's lock, for the apply to settle on this read."""
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
        handover=handover,
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
    from adoffboard.app import apply_judged
    from adoffboard.engine import load_plan

    the_plan = load_plan(plan_file, c.store.plan_key())
    with ProgressView(c) as view:
        result, report, _ = apply_judged(
            c.env(view), the_plan, c.store, plan_path=str(plan_file), now_ok=now_ok
        )
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
@click.argument("run_id")
@click.option(
    "--release-access",
    "release",
    multiple=True,
    metavar="PLATFORM",
    help="Remove the agency's access on PLATFORM (e.g. meta) although that account "
    "still fails its pause, budget or script check; repeatable. Takes --reason; recorded "
    "with the run.",
)
@click.option(
    "--as",
    "who",
    metavar="PERSON",
    help="Who releases the held removals: a team lead of the run's department, or the "
    "operations lead. " + AS_HELP,
)
@click.option("--reason", default="", help="Why the removal may go ahead (recorded).")
@pass_ctx
def resume(c: Ctx, run_id: str, release: tuple[str, ...], who: str | None, reason: str) -> None:
    """Finish an interrupted run without repeating what already took effect.

    Also finishes access removals held because an account still failed its checks, once the
    account is clean (or a team lead releases them with --release-access).
    """
    from adoffboard.app import judged, resume_approved

    acts = acting(c, who).who if release or who else None
    released_by = acts.person if acts else ""
    with ProgressView(c) as view:
        result = resume_approved(
            c.env(view),
            run_id,
            c.store,
            release=release,
            released_by=released_by,
            reason=reason,
            keep_reads=True,  # judged verifies from the run's own reads, and closes them
        )
        if acts is not None:
            audit_cli(c, acts, "run resume", run_id, _released(release, reason))
        report, _ = judged(c.env(view), c.store, result)
    render_summary(c, report, report_paths(c, report))
    sys.exit(_run_exit(result))


def _released(release: tuple[str, ...], reason: str) -> str:
    return f"released access removals on {', '.join(release)}: {reason}" if release else ""


@click.command()
@click.argument("client")
@click.option(
    "--as",
    "who",
    metavar="PERSON",
    help="Who decides: a person holding the export step's owner role, or the client's "
    "Account Manager. " + AS_HELP,
)
@click.option(
    "--received",
    is_flag=True,
    help="The Account Manager confirmed the email in doubt arrived: record it, send nothing.",
)
@pass_ctx
def resend(c: Ctx, client: str, who: str | None, received: bool) -> None:
    """Settle a SharpSpring export email that may have been sent: send it once more, or record
    that it arrived (--received). Apply and resume never send such an email again on their own.
    """
    from adoffboard.resend import resend as do_resend

    acts = acting(c, who).who
    record = do_resend(c.workspace, c.store, client, acts.person, received=received)
    decision = record.decisions[-1]
    action = "export recorded received" if received else "export sent again"
    audit_cli(c, acts, action, client, record.file)
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
        f"{', '.join(record.emailed_to)}, by {decision['by']} at {local(c, decision['at'])}. "
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

    zone = c.workspace.config.workspace.timezone
    table = Table(
        "run",
        "runbook",
        "status",
        "started",
        "finished",
        "plan",
        title=f"Runs of {client} (times in {zone})",
        title_justify="left",
    )
    for r in runs:
        table.add_row(
            r.id,
            f"{r.runbook} v{r.runbook_version}",
            r.status,
            local(c, r.started_at),
            local(c, r.finished_at),
            r.plan_hash[:12],
        )
    c.print_table(table)
