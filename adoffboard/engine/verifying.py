"""Verify: an independent read-only pass, PASS / FAIL / MANUAL-PENDING per checklist line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adoffboard.config import ClientManifest
from adoffboard.connectors.base import StepContext
from adoffboard.engine.common import Env, RunStore, _open_read, runbook_uses
from adoffboard.engine.planning import (
    _platforms,
    _skip_reason,
    make_plan,
    step_context,
    step_params,
)
from adoffboard.errors import (
    AdoffboardError,
    AuthError,
    InputError,
)
from adoffboard.models import (
    STAGE_ALL,
    Check,
    CheckStatus,
    OutcomeStatus,
    Phase,
    Plan,
    Report,
    ReportKind,
)
from adoffboard.restore import judge
from adoffboard.runbook import LoadedRunbook, Step

# --- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """How a change request's own history settles a runbook step marked `settled_by`: PASS by
    whom and when, SKIPPED with the reason it does not apply, or MANUAL_PENDING with what the
    history still lacks (the step then stays a task its owner may attest). Computed by the
    application layer (`adoffboard.verdicts`), which reads the request; the engine only judges
    with it."""

    step_id: str
    status: CheckStatus
    by: str = ""
    at: str = ""
    detail: str = ""
    evidence: tuple[str, ...] = ()

    @property
    def settled(self) -> bool:
        return self.status in (CheckStatus.PASS, CheckStatus.SKIPPED)

    def describe(self) -> str:
        who = f"by {self.by} at {self.at}" if self.by and self.at else ""
        return ": ".join(p for p in (who, self.detail) if p)


@dataclass(frozen=True)
class EndState:
    """What a run did, for judging the accounts it can no longer read: the platforms where it
    removed the agency's access (every removal took effect), and the steps whose changes all
    took effect. There, "the agency can no longer read this account" is the expected end
    state, not a failure."""

    removed: frozenset[str] = frozenset()
    done_steps: frozenset[str] = frozenset()
    settlements: Mapping[str, Settlement] = field(default_factory=dict)


NOTHING_YET = EndState()


@dataclass
class Reads:
    """A run's open connectors (apply's), and the states they read with nothing written to
    that platform since (`states`): what the verify pass that follows the run judges from
    instead of reading those platforms again. `close` closes the connectors; whoever asked the
    run to keep them (`keep_reads`) closes them once the verify pass is done."""

    connectors: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)
    # the platforms whose only writes since their last read were the agency's access
    # removals, with that read: read again only for what the removals changed
    removed: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for c in self.connectors.values():
            c.close()
        self.connectors.clear()
        self.states.clear()
        self.removed.clear()


def _checks(
    env: Env,
    plan: Plan,
    manifest: ClientManifest,
    book: LoadedRunbook,
    store: RunStore | None,
    connectors: dict[str, Any] | None = None,
    since: dt.datetime | None = None,
    fallback: dict[str, Check] | None = None,
    tolerate: type[AdoffboardError] = AuthError,
    end: EndState = NOTHING_YET,
    reads: Reads | None = None,
    seen: dict[str, Any] | None = None,
) -> tuple[Check, ...]:
    """Every checklist line judged from a read of each platform: through `connectors` when
    given (exactly those platforms), else those the plan uses, taking `reads`' connectors and
    states where it has them and opening read-only connectors for the rest. `seen` receives
    the states read."""
    shared = reads or Reads()
    if connectors is None:
        wanted = _platforms(book, plan.scope, manifest)
        wanted += sorted({c.platform for c in plan.changes} - set(wanted))
        given = {p: shared.connectors[p] for p in wanted if p in shared.connectors}
        connectors = dict(given)
    else:
        wanted, given = list(connectors), dict(connectors)
    try:
        read, failed = _open_read(
            env,
            [p for p in wanted if p not in shared.states],
            connectors,
            lambda p: env.connector(p, read_only=True, uses=runbook_uses(book, p, plan.inputs)),
            manifest,
            tolerate,
            " (verify)",
            after_removal=shared.removed,
            checks_since=(since,),
        )
        if seen is not None:
            seen.update(read)
        known = {**read, **shared.states}
        states = {p: known[p] for p in wanted if p in known}
        unreadable = {p: str(exc) for p, exc in failed.items()}
        attested = store.attestations(plan.client, plan.runbook) if store else {}
        for platform, state in states.items():
            if not getattr(state, "reachable", True):
                unreadable[platform] = "the agency no longer has access to this account"
        context = step_context(book, plan.scope, plan.effective_date, plan.change_request)
        checks = []
        for step in book.model.steps:
            later = _skip_reason(step, plan.scope, manifest, plan.stage, plan.effective_date or "")
            if plan.stage != STAGE_ALL and later:
                checks.append(
                    Check(step.id, step.title, step.part, CheckStatus.SKIPPED, later, step.owner)
                )
                continue
            if step.restore is not None:
                checks.append(_check_restore(step, plan, connectors, unreadable))
                continue
            checks.append(
                _check_step(
                    step,
                    plan.scope,
                    manifest,
                    connectors,
                    states,
                    unreadable,
                    attested,
                    since,
                    fallback or {},
                    context,
                    plan.inputs,
                    end,
                )
            )
        return tuple(checks)
    finally:
        for p, c in connectors.items():
            if p not in given:
                c.close()


def _check_step(
    step: Step,
    scope: str,
    manifest: ClientManifest,
    connectors: dict[str, Any],
    states: dict[str, Any],
    unreadable: dict[str, str],
    attested: dict[str, Any],
    since: dt.datetime | None,
    fallback: dict[str, Check],
    context: StepContext,
    plan_inputs: dict[str, Any] | None = None,
    end: EndState = NOTHING_YET,
) -> Check:
    base = Check(step.id, step.title, step.part, CheckStatus.PASS, owner=step.owner)
    reason = _skip_reason(step, scope, manifest)
    if reason:
        return base.with_status(CheckStatus.SKIPPED, reason)
    settlement = end.settlements.get(step.id) if step.settled_by else None
    if settlement is not None and settlement.settled:
        return Check(
            step.id,
            step.title,
            step.part,
            settlement.status,
            settlement.describe(),
            step.owner,
            settlement.evidence,
        )
    ref = step.action or step.check
    verdict = None
    if ref is not None:
        removed = ref.connector in end.removed
        if ref.connector in unreadable and not _removes_access(ref.connector, ref.name):
            prior = fallback.get(step.id)
            if prior is not None and not (
                prior.status == CheckStatus.MANUAL_PENDING and step.id in attested
            ):
                note = " (checked before the agency's access was removed)"
                return prior.with_status(prior.status, prior.detail.removesuffix(note) + note)
            if step.action is not None and removed and step.id in end.done_steps:
                return base.with_status(CheckStatus.PASS, f"{GONE}; its changes took effect before")
            if step.action is not None:
                return base.with_status(CheckStatus.FAIL, unreadable[ref.connector])
        elif ref.connector not in states:  # could not be read at all: nothing to judge from
            if step.action is not None and removed and _removes_access(ref.connector, ref.name):
                return base.with_status(CheckStatus.PASS, GONE)
            if step.action is not None:
                return base.with_status(CheckStatus.FAIL, unreadable[ref.connector])
        else:
            params = step_params(ref.params, plan_inputs)
            verdict = connectors[ref.connector].verify(
                ref.name,
                params,
                states[ref.connector],
                replace(context, since=since, states=states),
            )
    if step.action is not None and verdict is not None:
        return Check(
            step.id,
            step.title,
            step.part,
            verdict.status,
            verdict.detail,
            step.owner,
            verdict.evidence,
        )
    attestation = attested.get(step.id)
    if verdict is not None and verdict.status == CheckStatus.FAIL:
        return Check(
            step.id,
            step.title,
            step.part,
            CheckStatus.FAIL,
            verdict.detail,
            step.owner,
            verdict.evidence,
        )
    if attestation is not None:
        note = f": {attestation.note}" if attestation.note else ""
        return base.with_status(
            CheckStatus.ATTESTED, f"by {attestation.by} at {attestation.at}{note}"
        )
    detail = "waiting for attestation by the owner"
    if verdict is not None:
        detail += f"; {verdict.detail}"
    if settlement is not None and settlement.detail:
        detail += f"; {settlement.detail}"
    return Check(
        step.id,
        step.title,
        step.part,
        CheckStatus.MANUAL_PENDING,
        detail,
        step.owner,
        verdict.evidence if verdict else (),
    )


def _check_restore(
    step: Step, plan: Plan, connectors: dict[str, Any], unreadable: dict[str, str]
) -> Check:
    planned = next((s for s in plan.steps if s.step_id == step.id), None)
    changes = list(planned.changes) if planned else []
    base = Check(step.id, step.title, step.part, CheckStatus.PASS, owner=step.owner)
    if not changes:
        return base.with_status(CheckStatus.PASS, "nothing to restore")
    live: dict[str, Any] = {}
    for platform in sorted({c.platform for c in changes}):
        if platform in unreadable:
            return base.with_status(CheckStatus.FAIL, f"{platform}: {unreadable[platform]}")
        live.update(
            connectors[platform].live_values([c for c in changes if c.platform == platform])
        )
    status, detail, evidence = judge(
        changes, live, lambda ch, a, b: connectors[ch.platform].same_value(ch, a, b)
    )
    return Check(step.id, step.title, step.part, status, detail, step.owner, evidence)


GONE = "the agency can no longer read this account: its access was removed, as this run set out to"


def end_state(store: RunStore, run_id: str, plan: Plan) -> EndState:
    """What run `run_id` of `plan` did, read back from its outcomes (see `EndState`)."""
    took_effect = {
        cid
        for cid, o in store.outcomes(run_id).items()
        if o.status in (OutcomeStatus.APPLIED, OutcomeStatus.ALREADY)
    }
    removals = [c for c in plan.changes if c.phase == Phase.ACCESS]
    removed = {c.platform for c in removals} - {
        c.platform for c in removals if c.id not in took_effect
    }
    done = {
        s.step_id for s in plan.steps if s.changes and all(c.id in took_effect for c in s.changes)
    }
    return EndState(frozenset(removed), frozenset(done))


def _removes_access(platform: str, action: str) -> bool:
    from adoffboard.connectors import info

    return info(platform).phase(action) == Phase.ACCESS


def verify(
    env: Env,
    store: RunStore,
    client: str,
    *,
    run_id: str | None = None,
    runbook: str | None = None,
    scope: str | None = None,
    settlements: Mapping[str, Settlement] | None = None,
    reads: Reads | None = None,
) -> Report:
    """Read everything again and judge each checklist line; writes nothing to any platform.

    `settlements`: the lines a change request's history settles (`Settlement`), computed by the
    caller, which knows the request; without them those lines wait for attestation.
    `reads`: the run's own connectors and the states they read since its last write on each
    platform (the run that just ended, verified at once): those platforms are judged from
    those states, the others read again through the run's connectors. Standalone, everything
    is read."""
    record = store.run(run_id) if run_id else (None if runbook else store.latest_run(client))
    if record is not None:
        plan = record.plan()
        if plan.client != client:
            raise InputError(f"run {record.id} is for client {plan.client}, not {client}")
        since = dt.datetime.fromisoformat(record.started_at)
        since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    else:
        if runbook is None:
            raise InputError(f"{client} has no run yet: pass --runbook NAME (and --scope)")
        plan = make_plan(env, client, runbook, scope or "dm", store=store)
        since = None
    manifest = env.workspace.load_client(client)
    book = env.runbook(plan.runbook)
    env.preload(book, _platforms(book, plan.scope, manifest))
    fallback: dict[str, Check] = {}
    end = NOTHING_YET
    if record is not None:
        fallback = {c.step_id: c for c in store.pre_removal_checks(record.id)}
        end = end_state(store, record.id, plan)
    end = replace(end, settlements=dict(settlements or {}))
    checks = _checks(
        env, plan, manifest, book, store, since=since, fallback=fallback, end=end, reads=reads
    )
    kept = store.save_verification(record.id if record else None, client, plan.runbook, checks)
    attestations = {
        sid: f"by {a.by} at {a.at}" for sid, a in store.attestations(client, plan.runbook).items()
    }
    return Report(
        ReportKind.VERIFY,
        plan,
        run_id=record.id if record else "",
        finished_at=env.clock.now().isoformat(timespec="seconds"),
        checks=checks,
        attestations=attestations,
        change_request=record.change_request if record else "",
        verification_id=kept,
    )


def verdict_of(checks: Sequence[Check]) -> str:
    statuses = {c.status for c in checks}
    if CheckStatus.FAIL in statuses:
        return "FAIL"
    if CheckStatus.MANUAL_PENDING in statuses:
        return "PENDING"
    return "PASS"
