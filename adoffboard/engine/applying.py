"""Applying a plan, resuming a run, and holding access removals while an account still spends
(`_hold_removals`); what may be written at all is decided in `admitting`."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from adoffboard.config import ClientManifest
from adoffboard.engine.admitting import _admit
from adoffboard.engine.common import (
    FINAL,
    ApprovalGate,
    Env,
    RunStore,
    _open_read,
    _parallel,
    runbook_uses,
)
from adoffboard.engine.handover import PlanReads
from adoffboard.engine.holding import RELEASED, _before_removals, _hold_removals
from adoffboard.engine.planning import (
    _platforms,
    check_plan_current,
    parse_date,
    stored_plan,
)
from adoffboard.engine.verifying import Reads, _checks
from adoffboard.errors import (
    AdoffboardError,
    InputError,
    NotPermitted,
    RunInterrupted,
    SafetyRefusal,
)
from adoffboard.holder import holder_name
from adoffboard.models import (
    STAGE_ALL,
    Change,
    Check,
    Outcome,
    OutcomeStatus,
    Phase,
    Plan,
    Report,
    ReportKind,
)
from adoffboard.runbook import LoadedRunbook

# --- applying ---------------------------------------------------------------------------------


class StoreJournal:
    """Journals into the store and relays outcomes to the progress display."""

    def __init__(self, store: RunStore, run_id: str, env: Env, platform: str) -> None:
        self.store, self.run_id, self.env, self.platform = store, run_id, env, platform
        self._lock = threading.Lock()

    def intend(self, changes: Sequence[Change]) -> None:
        with self._lock:
            self.store.intend(self.run_id, changes)
        self.env.progress(self.platform, f"sending {len(changes)} change(s)")

    def record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        with self._lock:
            self.store.record(self.run_id, outcomes)
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        self.env.progress(self.platform, ", ".join(f"{n} {s}" for s, n in counts.items()))


@dataclass
class RunResult:
    run_id: str
    report: Report
    status: str
    # the first error that stopped part of the run (the CLI exits with its code); the others
    # are in the report
    error: AdoffboardError | None = None
    # with `keep_reads`: the run's connectors, still open, and the states read since its last
    # write on each platform, for the verify pass that follows (`Reads.close` when done)
    reads: Reads | None = None


# Who may ask for a restore no approved change request covers (`adoffboard restore RUN`), and who
# may release access removals held because an account still fails its pause checks.
RESTORE_ROLES = {
    "SEM": ("sem_specialist", "sem_team_lead"),
    "MA": ("ma_specialist", "ma_team_lead", "ma_department_manager"),
}
RELEASE_ROLES = {"SEM": ("sem_team_lead",), "MA": ("ma_team_lead", "ma_department_manager")}
OPERATIONS_LEAD = "dmo_lead"


def authorize(env: Env, who: str, roles: Sequence[str], what: str) -> dict[str, str]:
    """The person (key, name and the role that allows it) who may do `what`, or NotPermitted."""
    from adoffboard.tasks import find_person

    person = find_person(env.workspace, who)
    key = next(k for k, p in env.workspace.config.people.items() if p is person)
    role = next((r for r in (*roles, OPERATIONS_LEAD) if r in person.roles), None)
    if role is None:
        raise NotPermitted(
            f"{person.name} may not {what}: it takes one of the roles "
            f"{', '.join((*roles, OPERATIONS_LEAD))}"
        )
    return {"person": key, "name": person.name, "role": role}


def apply_plan(
    env: Env,
    plan: Plan,
    store: RunStore,
    *,
    gate: ApprovalGate,
    plan_path: str = "",
    holder: str | None = None,
    now_ok: bool = False,
    lock_held: bool = False,
    keep_reads: bool = False,
    handover: PlanReads | None = None,
) -> RunResult:
    """Apply `plan` under the client's lock (`lock_held`: the caller holds it already, as the
    scheduler does around re-plan, apply and verify), once `gate` approves it. `plan` is trusted
    as given: one made in this process, or read back by `load_plan`, which checked its
    signature. `keep_reads`: the result carries the run's open connectors and fresh states
    (`RunResult.reads`) for the verify pass that follows; the caller closes them. `handover`:
    the plan's own read, settled on instead of a second read when the caller held the lock
    since it (`lock_held`) and it is fresh (`adoffboard.engine.handover`)."""
    from adoffboard import signing

    manifest, book = check_plan_current(env, plan)
    env.preload(book, _platforms(book, plan.scope, manifest))
    effective = parse_date(plan.effective_date, "effective date")
    if effective and effective > env.today() and not now_ok and plan.stage == STAGE_ALL:
        raise SafetyRefusal(
            f"plan {plan.plan_id} takes effect on {effective}: not before "
            f"(today is {env.today()}); pass --now to apply early"
        )
    lock = nullcontext() if lock_held else store.client_lock(plan.client, holder or holder_name())
    with lock:
        cr_id = _authorised(env, store, plan, book, gate)
        run_id = store.create_run(
            plan,
            plan_path=plan_path,
            change_request=cr_id,
            plan_mac=signing.sign_plan(store.plan_key(), plan),
            started_by=holder or holder_name(),
            stage=plan.stage,
        )
        if plan.authorized_by:
            who = plan.authorized_by
            store.add_run_event(
                run_id, "authorized", f"{who.get('name', '')} as {who['role']}", by=who["person"]
            )
        env.progress("engine", f"run {run_id} started")
        adopted = handover.take(plan.plan_id, plan.client, env.clock.now()) if handover else {}
        return _execute(
            env,
            plan,
            store,
            run_id,
            manifest,
            book,
            plan.changes,
            cr_id,
            keep_reads,
            adopted if lock_held else {},
        )


def _authorised(
    env: Env,
    store: RunStore,
    plan: Plan,
    book: LoadedRunbook,
    gate: ApprovalGate,
    cr_id: str | None = None,
) -> str:
    """The approved change request behind `plan` (the gate), or for a restore, which no request
    covers, the person with a role to restore that the plan names."""
    if book.model.process != "restore":
        return gate(store, env.workspace, plan, book, cr_id)
    if not plan.restores_run:
        raise SafetyRefusal(
            f"plan {plan.plan_id} restores no named run: make it with "
            "`adoffboard restore RUN --as PERSON`"
        )
    target = store.run(plan.restores_run)
    if target.client != plan.client:
        raise SafetyRefusal(
            f"plan {plan.plan_id} restores run {target.id} of {target.client}, not of {plan.client}"
        )
    who = plan.authorized_by or {}
    if not who.get("person"):
        raise SafetyRefusal(
            f"plan {plan.plan_id} restores run {target.id} with no approved "
            "un-pause: it needs a person with a role to restore "
            "(`adoffboard restore RUN --as PERSON`)"
        )
    department = env.runbook(target.runbook).model.department
    authorize(env, who["person"], RESTORE_ROLES.get(department, ()), f"restore a {department} run")
    return ""


def resume_run(
    env: Env,
    run_id: str,
    store: RunStore,
    *,
    gate: ApprovalGate,
    holder: str | None = None,
    release: Sequence[str] = (),
    released_by: str = "",
    reason: str = "",
    keep_reads: bool = False,
) -> RunResult:
    """Finish an interrupted run: what has no final outcome is tried again. `release` names
    platforms whose held access removals a person (`released_by`, with a role to) lets go.
    `keep_reads` as in `apply_plan`."""
    record = store.run(run_id)
    plan = stored_plan(store, record)
    manifest, book = check_plan_current(env, plan)
    env.preload(book, _platforms(book, plan.scope, manifest))
    done = {cid for cid, o in store.outcomes(run_id).items() if o.status in FINAL}
    remaining = [c for c in plan.changes if c.id not in done]
    env.progress("engine", f"resuming {run_id}: {len(remaining)} change(s) without a final outcome")
    with store.client_lock(plan.client, holder or holder_name()):
        cr_id = _authorised(env, store, plan, book, gate, record.change_request or None)
        _release(env, store, run_id, book, release, released_by, reason)
        return _execute(env, plan, store, run_id, manifest, book, remaining, cr_id, keep_reads)


def _release(
    env: Env,
    store: RunStore,
    run_id: str,
    book: LoadedRunbook,
    platforms: Sequence[str],
    who: str,
    reason: str,
) -> None:
    if not platforms:
        return
    if not who or not reason.strip():
        raise InputError("releasing held access removals takes --as PERSON and --reason TEXT")
    from adoffboard.connectors import info

    department = book.model.department
    person = authorize(
        env,
        who,
        RELEASE_ROLES.get(department, ()),
        "release access removals held while ads still run",
    )
    for platform in platforms:
        store.add_run_event(
            run_id,
            RELEASED,
            f"{person['name']} as {person['role']}: {reason}",
            by=person["person"],
            platform=info(platform).platform,
        )


def _execute(
    env: Env,
    plan: Plan,
    store: RunStore,
    run_id: str,
    manifest: ClientManifest,
    book: LoadedRunbook,
    changes: Sequence[Change],
    change_request: str = "",
    keep_reads: bool = False,
    adopted: dict[str, tuple[Any, Any]] | None = None,
) -> RunResult:
    """Send `changes`: ads and visibility first on every platform in parallel, then a check of
    every account, then the removals of the agency's access on the accounts that passed it.

    Every platform the runbook uses is opened and read, not only those with changes left: the
    check before the removals reads them all, and after a crash any subset may be left. A
    platform whose connector takes over the plan's read (`adopted`) is not read again.
    """
    started = env.clock.now().isoformat(timespec="seconds")
    wanted = _platforms(book, plan.scope, manifest)
    wanted += sorted({c.platform for c in changes} - set(wanted))
    connectors: dict[str, Any] = {}
    errors: dict[str, AdoffboardError] = {}
    pre_checks: tuple[Check, ...] = ()
    refusal: SafetyRefusal | None = None
    # each platform's latest state read with nothing written there since: what the verify pass
    # after the run may judge from (`keep_reads`) instead of reading that platform again
    fresh: dict[str, Any] = {}
    removed: dict[str, Any] = {}  # platforms written by the access removals alone since `fresh`
    kept = False
    try:
        states, unread = _open_read(
            env,
            wanted,
            connectors,
            lambda p: env.connector(p, read_only=False, uses=runbook_uses(book, p, plan.inputs)),
            manifest,
            adopted=adopted,
        )
        fresh.update(states)
        for platform, exc in unread.items():
            if any(c.platform == platform for c in changes):
                errors[platform] = exc
                store.add_run_event(run_id, "error", str(exc), platform=platform)
        # The barrier before the first write: every platform has been read again above, and the
        # whole plan is admitted against those reads here, so that an altered or stale plan is
        # refused (StalePlan) before a single write on any platform. No write may move above it.
        to_send = _admit(
            plan,
            manifest,
            book,
            store,
            run_id,
            connectors,
            states,
            [c for c in changes if c.platform not in unread],
        )

        def run_phases(platform: str, phases: set[Phase]) -> list[Outcome]:
            mine = [c for c in to_send if c.platform == platform and c.phase in phases]
            if not mine or platform in errors:
                return []
            fresh.pop(platform, None)  # written from now on: read again to be judged
            try:
                return list(
                    connectors[platform].apply(mine, StoreJournal(store, run_id, env, platform))
                )
            except AdoffboardError as exc:  # the rest of the run goes on; resume finishes it
                errors[platform] = exc
                store.add_run_event(run_id, "error", str(exc), platform=platform)
                return []

        platforms = sorted({c.platform for c in to_send})
        _parallel(platforms, lambda p: run_phases(p, {Phase.ADS, Phase.VISIBILITY}))
        access = sorted({c.platform for c in to_send if c.phase == Phase.ACCESS})
        if access:
            env.progress("engine", "verifying before removing the agency's access")
            earlier = {c.step_id: c for c in store.pre_removal_checks(run_id)}
            seen: dict[str, Any] = {}
            pre_checks = _checks(
                env,
                plan,
                manifest,
                book,
                store,
                connectors,
                fallback=earlier,
                tolerate=AdoffboardError,
                seen=seen,
            )
            fresh.update(seen)
            store.save_verification(
                run_id, plan.client, plan.runbook, pre_checks, kind="pre-removal"
            )
            held = _hold_removals(
                env,
                store,
                run_id,
                book,
                pre_checks,
                access,
                errors,
                [c for c in to_send if c.phase == Phase.ACCESS],
            )
            removed.update({p: fresh[p] for p in access if p not in held and p in fresh})
            _parallel([p for p in access if p not in held], lambda p: run_phases(p, {Phase.ACCESS}))
        kept = keep_reads  # an error or a refusal closes them: the verify pass reads anew
    except KeyboardInterrupt as exc:
        store.finish_run(run_id, "interrupted")
        raise RunInterrupted(run_id) from exc
    except SafetyRefusal as exc:
        refusal = exc
        store.add_run_event(run_id, "refused", str(exc))
    except AdoffboardError as exc:
        errors["engine"] = exc
        store.add_run_event(run_id, "error", str(exc))
    finally:
        if not kept:
            for c in connectors.values():
                c.close()
    all_outcomes = store.outcomes(run_id)
    if refusal is not None:
        store.finish_run(
            run_id,
            _run_status(all_outcomes.values(), len(plan.changes)) if all_outcomes else "refused",
        )
        raise refusal
    status = _run_status(all_outcomes.values(), len(plan.changes))
    store.finish_run(run_id, status)
    calls = {p: dict(c.calls) for p, c in connectors.items()}
    report = Report(
        ReportKind.RUN,
        plan,
        run_id=run_id,
        started_at=started,
        finished_at=env.clock.now().isoformat(timespec="seconds"),
        outcomes=tuple(all_outcomes.values()),
        checks=_before_removals(pre_checks, plan),
        calls=calls,
        change_request=change_request,
        errors=tuple(f"{_title(p)}: {e}" for p, e in errors.items()),
    )
    reads = Reads(connectors, fresh, removed) if kept else None
    return RunResult(run_id, report, status, next(iter(errors.values()), None), reads)


def _title(platform: str) -> str:
    from adoffboard.connectors import REGISTRY

    return REGISTRY[platform].title if platform in REGISTRY else platform


def _run_status(outcomes: Iterable[Outcome], planned: int) -> str:
    statuses = [o.status for o in outcomes]
    if (
        any(s in (OutcomeStatus.FAILED, OutcomeStatus.NOT_SENT) for s in statuses)
        or len(statuses) < planned
    ):
        return "failed"
    if OutcomeStatus.DRIFT in statuses:
        return "applied-with-drift"
    return "applied"


def combined_report(result: RunResult, checked: Report) -> Report:
    """One report for a run followed by its verify pass (what `apply`, `run`, the scheduler and
    the demo show): the run's outcomes, and the verify pass's lines and verdict, so that the
    report says what a standalone verify of the run says, not what the check made before the
    access removals saw."""
    return Report(
        ReportKind.VERIFY,
        result.report.plan,
        run_id=result.run_id,
        started_at=result.report.started_at,
        finished_at=checked.finished_at,
        outcomes=result.report.outcomes,
        checks=checked.checks,
        calls=result.report.calls,
        attestations=checked.attestations,
        change_request=result.report.change_request,
        errors=result.report.errors,
        verification_id=checked.verification_id,
    )
