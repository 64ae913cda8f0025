"""One due run, planned against live state, applied and verified under the client's lock the
scheduler holds around all three (`Scheduler.run_one`)."""

from __future__ import annotations

from typing import Any

from adoffboard.app import apply_approved, plan_for_request
from adoffboard.engine import Env, save_plan
from adoffboard.engine.handover import PlanReads
from adoffboard.scheduling.repo import ScheduledRun


def plan_apply_verify(
    env: Env, store: Any, row: ScheduledRun, stage: str, holder: str
) -> tuple[str, Any, Any]:
    """The run's id, its result and its verify pass. The lock is held since before the plan's
    read, so the apply settles on that read (`adoffboard.engine.handover`). A run stopped by an
    error has its report saved, and the error is raised: the retry policy decides."""
    from adoffboard.verdicts import judge_run

    handover = PlanReads(row.client)
    plan = plan_for_request(
        env,
        lambda: store,
        row.client,
        row.runbook,
        cr_id=row.cr_id,
        stage=stage,
        handover=handover,
    )
    path = save_plan(plan, env.workspace.root / "plans" / f"{plan.plan_id}.json", store.plan_key())
    result = apply_approved(
        env,
        plan,
        store,
        plan_path=str(path),
        holder=holder,
        lock_held=True,
        handover=handover,
    )
    if result.error is not None:  # the run's report says what stopped it; retry decides
        from adoffboard.report_store import save_reports

        save_reports(result.report, env.workspace.reports_dir, store, made_by=holder)
        raise result.error
    checked = judge_run(env, store, row.client, result.run_id)
    return result.run_id, result, checked
