"""What a plan may send: before the first write, every change is checked against what its step
plans now from the state just read (`_admit`); changes the step no longer plans are settled
without a write (already done, someone else's change: drift), anything else is refused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adoffboard.config import ClientManifest
from adoffboard.engine.common import RunStore
from adoffboard.engine.planning import (
    _bound_restores,
    _plan_step,
    _skip_reason,
    step_context,
)
from adoffboard.errors import (
    StalePlan,
)
from adoffboard.models import (
    Change,
    Outcome,
    OutcomeStatus,
    Phase,
    Plan,
)
from adoffboard.restore import RestoreSet, is_restore
from adoffboard.runbook import LoadedRunbook, Step


def _admit(
    plan: Plan,
    manifest: ClientManifest,
    book: LoadedRunbook,
    store: RunStore,
    run_id: str,
    connectors: dict[str, Any],
    states: dict[str, Any],
    changes: Sequence[Change],
) -> list[Change]:
    """The changes to send: each must be what its step would plan now from the live state just
    read (same entity of a manifest account, same field, same phase, same target value), so that
    a plan, however it was made, can only do what the runbook does. Changes the step no longer
    plans are settled here without a write (already done, or changed by someone: drift);
    anything else is refused before a single write (StalePlan)."""
    context = step_context(book, plan.scope, plan.effective_date, plan.change_request)
    steps = {s.id: s for s in book.model.steps}
    restores = _bound_restores(book, manifest, store, plan)
    expected: dict[str, Change] = {}
    for step_id in sorted({c.step_id for c in changes}):
        step = steps.get(step_id)
        if (
            step is None
            or _skip_reason(step, plan.scope, manifest, plan.stage)
            or (step.action is None and step.restore is None)
        ):
            raise StalePlan(
                f"plan {plan.plan_id} changes step {step_id!r}, which runbook "
                f"{book.name} does not run for {plan.client}: re-plan"
            )
        unreachable = [
            p
            for p in _step_platforms(step, restores)
            if p not in states or not getattr(states[p], "reachable", True)
        ]
        if unreachable:
            continue  # the agency's access is gone there: only removals remain (settled below)
        drafted = _plan_step(
            step, plan.scope, manifest, connectors, states, context, restores, plan.inputs
        )
        expected.update((c.id, c) for c in drafted.changes)
    to_send, absent = [], []
    for change in changes:
        mine = expected.get(change.id)
        if mine is None:
            absent.append(change)
            continue
        problem = _differs(change, mine, connectors[change.platform])
        if problem:
            raise StalePlan(
                f"plan {plan.plan_id}: {change.name} {change.field}: {problem}; the "
                "plan was altered or no longer matches the runbook: re-plan and "
                "review again"
            )
        to_send.append(change)
    settled = _settle_absent(plan, absent, connectors, states)
    if settled:
        store.record(run_id, settled)
    return to_send


def _step_platforms(step: Step, restores: dict[str, RestoreSet]) -> set[str]:
    if step.restore is not None:
        return {c.platform for c in restores[step.id].changes}
    return {step.action.connector} if step.action else set()


IDENTITY = ("step_id", "platform", "account", "entity_type", "entity_id", "field", "phase")


def _differs(change: Change, expected: Change, connector: Any) -> str:
    """Why `change` is not the change its step plans now (`expected`), or "" if it is."""
    for name in IDENTITY:
        ours, theirs = getattr(change, name), getattr(expected, name)
        if ours != theirs:
            return (
                f"its {name.replace('_', ' ')} is {str(ours)!r} where the step plans "
                f"{str(theirs)!r}"
            )
    if not connector.same_target(change, change.after, expected.after):
        return f"it sets {change.shown_after} where the step plans {expected.shown_after}"
    if change.before == expected.before and change.resource != expected.resource:
        return f"it addresses {change.resource!r} where the step plans {expected.resource!r}"
    return ""


def _settle_absent(
    plan: Plan, absent: Sequence[Change], connectors: dict[str, Any], states: dict[str, Any]
) -> list[Outcome]:
    """Outcomes, without a write, for changes the step no longer plans: where the value can be
    read back, already done or someone else's change (drift), and refused if it still holds the
    plan's before-value (the step would not make that change: a forged or foreign plan). Where
    it cannot be read back (removals, rows), the step planning nothing means nothing is left."""
    from adoffboard.connectors import info

    outcomes: list[Outcome] = []
    for platform in sorted({c.platform for c in absent}):
        mine = [c for c in absent if c.platform == platform]
        if not getattr(states[platform], "reachable", True):
            outcomes += [_after_access_removed(c) for c in mine]
            continue
        readable = [c for c in mine if info(platform).restores(c)]
        connector = connectors[platform]
        live = connector.live_values(readable) if readable else {}
        for change in mine:
            if change not in readable:
                outcomes.append(
                    Outcome(
                        change.id,
                        OutcomeStatus.ALREADY,
                        message="a fresh read finds nothing left to do",
                    )
                )
                continue
            value = live.get(change.id)
            if connector.same_value(change, value, change.after):
                outcomes.append(Outcome(change.id, OutcomeStatus.ALREADY, live=value))
            elif value is None and not is_restore(change):
                outcomes.append(
                    Outcome(
                        change.id,
                        OutcomeStatus.ALREADY,
                        message="no longer there: nothing left to do",
                    )
                )
            elif connector.same_value(change, value, change.before):
                raise StalePlan(
                    f"plan {plan.plan_id}: {change.name} {change.field}: its step "
                    f"would not change it now (it is {change.shown_before}); the "
                    "plan was altered or is stale: re-plan and review again"
                )
            else:
                outcomes.append(
                    Outcome(
                        change.id,
                        OutcomeStatus.DRIFT,
                        live=value,
                        message=f"live value {value!r} differs from planned {change.before!r}",
                    )
                )
    return outcomes


def _after_access_removed(change: Change) -> Outcome:
    """A change left on an account the agency can no longer reach: a removal took effect; any
    other change can no longer be made."""
    if change.phase == Phase.ACCESS:
        return Outcome(
            change.id,
            OutcomeStatus.ALREADY,
            message="the agency's access to this account is already removed",
        )
    return Outcome(
        change.id,
        OutcomeStatus.FAILED,
        message="cannot be applied: the agency's access to this account is already removed",
    )
