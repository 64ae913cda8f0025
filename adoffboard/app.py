"""What the command line, the scheduler and the demo do the same way: the application layer.

The engine plans, applies and verifies, and knows nothing of change requests; the approval gate
(`adoffboard.cr.gate.require_approved`) is handed to it from here. Every caller that makes a plan
for a change request, or applies one, goes through these functions, so the CLI and the scheduler
never each assemble the gate, the request's scope, date and inputs on their own. Change requests
are imported where used: making an `Env` (every command that reads a platform) stays light.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import LoadedWorkspace
from adoffboard.engine import Env, Progress, RunResult, RunStore, apply_plan, make_plan, parse_date
from adoffboard.engine import resume_run as engine_resume
from adoffboard.engine.handover import PlanReads
from adoffboard.errors import StoreError
from adoffboard.models import STAGE_ALL, STAGE_IMMEDIATELY, Plan, Report
from adoffboard.records import APPLIED_STATUSES, RunRecord
from adoffboard.runbook import load_runbook

GRPC_ROOTS = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"


def environment(
    workspace: LoadedWorkspace, *, clock: Clock | None = None, progress: Progress | None = None
) -> Env:
    """The engine's `Env` for `workspace`, with the Google Ads CA trusted (`trust_ca_file`)."""
    trust_ca_file(workspace)
    return Env(
        workspace,
        clock=clock or SystemClock(),
        progress=progress or (lambda platform, message: None),
    )


def trust_ca_file(workspace: LoadedWorkspace) -> None:
    """gRPC (the Google Ads client) reads its trusted roots once per process, from an environment
    variable: a configured `ca_file` (the sandbox's certificate) replaces the machine's roots for
    this process. Set before any connector opens a channel."""
    settings = workspace.platform_settings("google_ads") or {}
    if settings.get("ca_file"):
        ca = Path(settings["ca_file"])
        os.environ[GRPC_ROOTS] = str(ca if ca.is_absolute() else workspace.root / ca)


def plan_for_request(
    env: Env,
    open_store: Callable[[], Any],
    client: str,
    runbook: str,
    *,
    scope: str | None = None,
    effective: str | None = None,
    cr_id: str | None = None,
    inputs: dict[str, Any] | None = None,
    review_only: Callable[[StoreError], None] | None = None,
    stage: str = STAGE_ALL,
    handover: PlanReads | None = None,
) -> Plan:
    """A plan carrying its change request (the one named, else the client's latest approved one
    for the runbook's process), with the request's scope, date and budget change.

    `open_store` is called once the client, runbook and date are known to be good (a plan of an
    unknown client opens no store). `review_only`: when no request is named and the change
    requests cannot be read, the plan is made for review only (apply checks the request anyway)
    and this is told why; without it, the error is raised."""
    from adoffboard.cr.gate import for_plan, request_inputs

    ws = env.workspace
    ws.load_client(client)
    book = load_runbook(runbook, ws.root)
    env.preload(book)  # the SDKs import while the change request is looked up
    date = parse_date(effective)
    try:
        ref, scope, date = for_plan(open_store(), ws, client, book, cr_id, scope, date)
    except StoreError as exc:
        if cr_id or review_only is None:
            raise
        review_only(exc)
        ref, scope = None, scope or "dm"
    store = open_store()
    inputs = request_inputs(store, ws, ref, inputs)
    return make_plan(
        env,
        client,
        runbook,
        scope,
        date,
        change_request=ref,
        store=store,
        inputs=inputs,
        stage=stage,
        handover=handover,
    )


def require_approval(store: Any, ws: LoadedWorkspace, plan: Plan) -> None:
    """Refuse a plan its change request does not cover, before anyone is asked to confirm it
    (apply checks again, under the client's lock). A restore is authorised by a person instead."""
    from adoffboard.cr.gate import require_approved

    book = load_runbook(plan.runbook, ws.root)
    if book.model.process != "restore":
        require_approved(store, ws, plan, book)


def apply_approved(
    env: Env,
    plan: Plan,
    store: RunStore,
    *,
    plan_path: str = "",
    holder: str | None = None,
    now_ok: bool = False,
    lock_held: bool = False,
    keep_reads: bool = False,
    handover: PlanReads | None = None,
) -> RunResult:
    """Apply `plan` through the engine, behind the approval gate. `keep_reads`: for `judged`,
    which verifies the run from the run's own reads and closes its connectors. `handover`,
    with `lock_held`: the plan's own read (`adoffboard.engine.handover`)."""
    from adoffboard.cr.gate import require_approved

    return apply_plan(
        env,
        plan,
        store,
        gate=require_approved,
        plan_path=plan_path,
        holder=holder,
        now_ok=now_ok,
        lock_held=lock_held,
        keep_reads=keep_reads,
        handover=handover,
    )


def resume_approved(
    env: Env,
    run_id: str,
    store: RunStore,
    *,
    holder: str | None = None,
    release: Sequence[str] = (),
    released_by: str = "",
    reason: str = "",
    keep_reads: bool = False,
) -> RunResult:
    """Finish an interrupted run through the engine, behind the approval gate (`keep_reads`:
    as in `apply_approved`)."""
    from adoffboard.cr.gate import require_approved

    return engine_resume(
        env,
        run_id,
        store,
        gate=require_approved,
        holder=holder,
        release=release,
        released_by=released_by,
        reason=reason,
        keep_reads=keep_reads,
    )


# --- what a client's case calls for -----------------------------------------------------------

UNFINISHED = ("running", "interrupted")


def covering_run(
    store: RunStore, cr_id: str, runbook: str, stage: str, scope: str
) -> tuple[RunRecord | None, RunRecord | None]:
    """(the run of the case that already did what a run of `runbook` at `stage` would, or None;
    the newest unfinished run of it, or None). A run covers a stage when it was applied, for the
    request's current `scope`, carrying out that stage or all steps: whoever made it (a person,
    or the scheduler). An unfinished run is finished with `adoffboard resume`, never redone."""
    unfinished = None
    for record in reversed(store.request_runs(cr_id)):
        if record.runbook != runbook or (stage == STAGE_ALL and record.stage != STAGE_ALL):
            continue
        if record.status in UNFINISHED and unfinished is None:
            unfinished = record
        if record.status in APPLIED_STATUSES and record.plan().scope == scope:
            return record, unfinished
    return None, unfinished


@dataclass(frozen=True)
class DueRun:
    """One run a client's approved change requests call for: due today, or later (`on`)."""

    cr_id: str
    cr_type: str
    runbook: str
    stage: str  # STAGE_ALL or STAGE_IMMEDIATELY
    on: dt.date
    scope: str
    done_by: str = ""  # the run that already covers it
    unfinished: str = ""  # a run of it still to finish (`adoffboard resume`)

    @property
    def label(self) -> str:
        steps = "steps due at approval" if self.stage == STAGE_IMMEDIATELY else "all steps"
        return f"{self.runbook} ({steps}) for {self.cr_id}"


def runs_called_for(store: Any, ws: LoadedWorkspace, client: str, today: dt.date) -> list[DueRun]:
    """What the client's approved cancellations, pauses and addendums call for, in run order:
    each runbook of the request's type and departments, with the steps due at approval before
    its date and all steps from its date on (an un-pause from the pause's end date, once the
    pause has run). `adoffboard run CLIENT` runs those due and not yet done."""
    from adoffboard.cr.model import EXECUTABLE_TYPES
    from adoffboard.cr.service import ChangeRequests
    from adoffboard.timing import AT_APPROVAL, runs_for

    found: list[DueRun] = []
    for cr in ChangeRequests(store, ws).find(client=client):
        if cr.status != "approved" or cr.type not in EXECUTABLE_TYPES:
            continue
        scope = cr.content.scope if cr.type == "cancellation" else "dm"
        paused = False
        for run in runs_for(cr, ws, today):
            stage = STAGE_IMMEDIATELY if run["stage"] == AT_APPROVAL else STAGE_ALL
            done, unfinished = covering_run(store, cr.id, run["runbook"], stage, scope)
            if run["process"] == "pause" and stage == STAGE_ALL and done is not None:
                paused = True
            if run["process"] == "unpause" and not paused:
                continue  # nothing to un-pause before the pause has run
            found.append(
                DueRun(
                    cr.id,
                    cr.type,
                    run["runbook"],
                    stage,
                    run["run_date"],
                    scope,
                    done.id if done else "",
                    unfinished.id if unfinished else "",
                )
            )
    return found


def apply_judged(
    env: Env,
    plan: Plan,
    store: RunStore,
    *,
    plan_path: str = "",
    now_ok: bool = False,
    always: bool = False,
    lock_held: bool = False,
    handover: PlanReads | None = None,
) -> tuple[RunResult, Report, Report | None]:
    """`apply_approved`, then `judged`: the run, its report and its verify pass, the verify
    pass judging from the run's own reads (`keep_reads`). `lock_held`: the caller holds the
    client's lock, and has since before the plan's own read it hands over (`handover`)."""
    result = apply_approved(
        env,
        plan,
        store,
        plan_path=plan_path,
        now_ok=now_ok,
        keep_reads=True,
        lock_held=lock_held,
        handover=handover,
    )
    return (result, *judged(env, store, result, always=always))


def judged(
    env: Env, store: RunStore, result: RunResult, *, always: bool = False
) -> tuple[Report, Report | None]:
    """The report of a finished run and the verify pass it carries (`adoffboard.verdicts`).

    Once the run's writes all went through (nothing stopped, failed or held), or `always`, the
    run is verified at once and its report carries that verdict: what a standalone `verify
    --run` of the run says, with the change request's lines settled from its history, and the
    accounts whose access the run removed judged by the checks made before (the expected end
    state). Otherwise the run's own report, and None: it says what stopped or failed.

    A run applied with `keep_reads` is verified from its own reads: the check made before the
    access removals read every platform after the other writes, so only the platforms written
    since (the removals) are read again, through the run's connectors, which are closed here."""
    from adoffboard.engine import combined_report
    from adoffboard.verdicts import judge_run

    try:
        if not always and (result.error is not None or result.status == "failed"):
            return result.report, None
        checked = judge_run(
            env, store, result.report.plan.client, result.run_id, reads=result.reads
        )
    finally:
        if result.reads is not None:
            result.reads.close()
    return combined_report(result, checked), checked
