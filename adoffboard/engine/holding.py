"""Holding the agency's access removals while an account still spends or its writes failed
(`_hold_removals`), and the check made before them as a run report shows it."""

from __future__ import annotations

from collections.abc import Sequence

from adoffboard.engine.common import Env, RunStore
from adoffboard.engine.verifying import _removes_access
from adoffboard.errors import AdoffboardError
from adoffboard.models import Change, Check, CheckStatus, Outcome, OutcomeStatus, Phase, Plan
from adoffboard.runbook import LoadedRunbook

HELD, RELEASED = "access-held", "access-released"


def _before_removals(checks: Sequence[Check], plan: Plan) -> tuple[Check, ...]:
    """The check made before the removals, as the run report shows it: without the removal
    steps' own lines, which can only fail before the removals they judge have run."""
    removals = {c.step_id for c in plan.changes if c.phase == Phase.ACCESS}
    return tuple(c for c in checks if c.step_id not in removals)


def _hold_removals(
    env: Env,
    store: RunStore,
    run_id: str,
    book: LoadedRunbook,
    checks: Sequence[Check],
    platforms: Sequence[str],
    errors: dict[str, AdoffboardError],
    removals: Sequence[Change],
) -> set[str]:
    """The platforms whose access removals wait: the agency keeps the only access that can still
    stop ads while an account's pause, budget or script check FAILs there, or its writes stopped
    on an error, unless a person with the role released it (`resume --release-access`)."""
    released = {e.platform for e in store.run_events(run_id) if e.kind == RELEASED}
    steps = {s.id: s for s in book.model.steps}
    removing = {c.step_id for c in removals}  # e.g. an http step whose params say "access"
    blocking: dict[str, list[str]] = {}
    for chk in checks:
        step = steps.get(chk.step_id)
        ref = (step.action or step.check) if step else None
        if (
            chk.status != CheckStatus.FAIL
            or ref is None
            or chk.step_id in removing
            or _removes_access(ref.connector, ref.name)
        ):
            continue
        blocking.setdefault(ref.connector, []).append(f"{chk.step_id}: {chk.detail}")
    for platform, exc in errors.items():
        blocking.setdefault(platform, []).append(f"its changes stopped on an error: {exc}")
    held = {p for p in platforms if p in blocking and p not in released}
    outcomes = []
    for platform in sorted(held):
        why = "; ".join(blocking[platform])
        store.add_run_event(run_id, HELD, why, platform=platform)
        env.progress(platform, f"access removal held: {why}")
        outcomes += [
            Outcome(
                c.id,
                OutcomeStatus.NOT_SENT,
                message=(
                    f"held: the agency keeps this access while the account still fails its checks "
                    f"({why}); once it is clean: adoffboard resume {run_id} (or a team lead: "
                    f"adoffboard "
                    f"resume {run_id} --release-access {platform} --as PERSON --reason TEXT)"
                ),
            )
            for c in removals
            if c.platform == platform
        ]
    if outcomes:
        store.record(run_id, outcomes)
    return held
