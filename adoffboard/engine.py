"""Plan, apply, verify, resume: the loop every runbook goes through.

- `make_plan` reads live state through read-only connectors and asks each step for its changes.
- `apply_plan` takes a saved plan, refuses it if it was altered or its manifest or runbook changed,
  and applies exactly its changes, platform by platform in parallel, journaling every write.
  Changes that remove the agency's own access run last, after a verification pass has read
  everything that still needs that access.
- `verify` is an independent read-only pass: PASS / FAIL / MANUAL-PENDING per checklist line.
- `resume` finishes an interrupted run: only what has no final outcome is tried again, and the
  connectors' drift check turns "already done" into ALREADY instead of a second write.

Connectors see a step's `params` from the runbook plus one reserved key, `_context` (CONTEXT_KEY):
the plan-wide facts some actions need to render their values (effective date, the runbook's
process and department, the scope), the same at plan and at verify time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import ClientManifest, LoadedWorkspace
from adoffboard.errors import AuthError, InputError, SafetyRefusal, StalePlan
from adoffboard.holder import holder_name
from adoffboard.models import (
    PLAN_FORMAT,
    Change,
    Check,
    CheckStatus,
    ManualTask,
    Outcome,
    OutcomeStatus,
    Phase,
    Plan,
    Report,
    ReportKind,
    StepKind,
    StepPlan,
    content_hash,
)
from adoffboard.restore import RestoreSet, inverse_changes, judge, target_run
from adoffboard.retry import RetryPolicy
from adoffboard.runbook import SCOPES, LoadedRunbook, Step, load_runbook, settle_optional_actions

Progress = Callable[[str, str], None]  # (platform or "engine", message)
CONTEXT_KEY = "_context"
FINAL = {OutcomeStatus.APPLIED, OutcomeStatus.ALREADY, OutcomeStatus.DRIFT}


@dataclass
class Env:
    """What every engine call needs: the workspace, a clock, and where progress goes."""

    workspace: LoadedWorkspace
    clock: Clock = field(default_factory=SystemClock)
    progress: Progress = lambda platform, message: None

    def today(self) -> dt.date:
        tz = ZoneInfo(self.workspace.config.workspace.timezone)
        return self.clock.now().astimezone(tz).date()

    def connector(self, platform: str, *, read_only: bool) -> Any:
        from adoffboard.connectors import build, info
        from adoffboard.connectors.base import ConnectorContext

        settings = self.workspace.platform_settings(platform)
        if settings is None:
            title = info(platform).title
            raise InputError(
                f"{title} is not configured: add [platforms.{platform}] to adoffboard.toml"
            )
        if settings.get("ca_file"):
            # gRPC reads its trusted roots once per process, from this variable; a configured
            # ca_file (the sandbox's certificate) replaces the machine's roots for this process.
            ca = Path(settings["ca_file"])
            ca = ca if ca.is_absolute() else self.workspace.root / ca
            os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(ca)
        ctx = ConnectorContext(
            settings=settings,
            workspace_root=self.workspace.root,
            read_only=read_only,
            clock=self.clock,
            retry=RetryPolicy(
                attempts=int(settings.get("attempts", 5)),
                timeout=float(settings.get("timeout_s", 60.0)),
            ),
            progress=lambda message: self.progress(platform, message),
            agency_identities=tuple(self.workspace.config.agency.identities),
            notifications=self.workspace.config.notifications,
        )
        return build(platform, ctx)

    def runbook(self, name: str) -> LoadedRunbook:
        """The runbook, its `action_if_configured` steps settled for this workspace."""
        return settle_optional_actions(load_runbook(name, self.workspace.root),
                                       self.workspace.platform_settings)


# --- dates ------------------------------------------------------------------------------------


def parse_date(text: str | None, what: str = "--effective") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{what} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-01"
        ) from None


# --- planning ---------------------------------------------------------------------------------


def step_context(book: LoadedRunbook, scope: str, effective_date: str | None) -> dict[str, Any]:
    """The plan-wide facts handed to every action under `params[CONTEXT_KEY]`."""
    return {"effective_date": effective_date, "process": book.model.process, "scope": scope,
            "runbook": book.name, "department": book.model.department}


def _skip_reason(step: Step, scope: str, manifest: ClientManifest) -> str:
    if not step.applies(scope):
        return f"only when leaving the platform (scope: {SCOPES[scope]})"
    if step.if_manifest and getattr(manifest.model, step.if_manifest, None) is None:
        return f"not applicable: the manifest has no {step.if_manifest} account"
    return ""


def _platforms(book: LoadedRunbook, scope: str, manifest: ClientManifest) -> list[str]:
    wanted = []
    for step in book.model.steps:
        ref = step.action or step.check
        if ref and not _skip_reason(step, scope, manifest) and ref.connector not in wanted:
            wanted.append(ref.connector)
    return wanted


def _read_all(env: Env, platforms: Iterable[str], manifest: ClientManifest,
              *, read_only: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build one connector per platform and read their states in parallel."""
    connectors = {p: env.connector(p, read_only=read_only) for p in platforms}

    def read(platform: str) -> Any:
        env.progress(platform, "reading live state")
        state = connectors[platform].read_state(manifest.model)
        env.progress(platform, "read")
        return state

    with ThreadPoolExecutor(max_workers=max(1, len(connectors))) as pool:
        futures = {p: pool.submit(read, p) for p in connectors}
        states = {p: f.result() for p, f in futures.items()}
    return connectors, states


def make_plan(env: Env, client: str, runbook: str, scope: str = "dm",
              effective: dt.date | None = None,
              change_request: dict[str, str] | None = None, *, store: Any = None,
              restore_run: str = "", inputs: dict[str, Any] | None = None) -> Plan:
    if scope not in SCOPES:
        raise InputError(f"--scope {scope!r} must be one of: {', '.join(SCOPES)}")
    manifest = env.workspace.load_client(client)
    book = env.runbook(runbook)
    effective = effective or env.today()
    restores = _restore_sets(book, manifest, store, restore_run)
    platforms = _platforms(book, scope, manifest)
    platforms += sorted({c.platform for r in restores.values() for c in r.changes}
                        - set(platforms))
    connectors, states = _read_all(env, platforms, manifest, read_only=True)
    context = step_context(book, scope, effective.isoformat())
    try:
        for platform in sorted({c.platform for r in restores.values() for c in r.changes}):
            if not getattr(states[platform], "reachable", True):
                raise AuthError(f"cannot restore on {connectors[platform].title}: the agency no "
                                "longer has access to the client's account")
        steps = tuple(_plan_step(s, scope, manifest, connectors, states, context, restores,
                                 inputs)
                      for s in book.model.steps)
        reads = {p: c.calls["read"] for p, c in connectors.items()}
        writes = sum(c.calls["write"] for c in connectors.values())
        if writes:  # unreachable: read-only transports refuse writes; kept as a tripwire
            raise SafetyRefusal("a plan attempted a write")
    finally:
        for c in connectors.values():
            c.close()
    now = env.clock.now()
    return Plan(
        plan_id=f"p-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
        client=manifest.slug,
        client_name=manifest.name,
        runbook=book.name,
        runbook_version=book.version,
        scope=scope,
        effective_date=effective.isoformat(),
        created_at=now.isoformat(timespec="seconds"),
        manifest_hash=manifest.sha256,
        runbook_hash=book.sha256,
        steps=steps,
        reads=reads,
        inputs=dict(inputs or {}),
        change_request=change_request,
    )


def _restore_sets(book: LoadedRunbook, manifest: ClientManifest, store: Any,
                  restore_run: str) -> dict[str, RestoreSet]:
    """The inverse changes of each restore step, from the target run's snapshots."""
    found: dict[str, RestoreSet] = {}
    for step in book.model.steps:
        if step.restore is None:
            continue
        if store is None:
            raise InputError(f"runbook {book.name} restores a run: it needs the store")
        if not step.restore.runbook and not restore_run:
            raise InputError(f"runbook {book.name} restores a run named on the command line: "
                             "use `adoffboard restore RUN`")
        record = target_run(store, manifest.slug, runbook=step.restore.runbook,
                            run_id="" if step.restore.runbook else restore_run)
        found[step.id] = inverse_changes(store, record, step.id)
    return found


def _plan_step(step: Step, scope: str, manifest: ClientManifest,
               connectors: dict[str, Any], states: dict[str, Any],
               context: dict[str, Any], restores: dict[str, RestoreSet] | None = None,
               inputs: dict[str, Any] | None = None) -> StepPlan:
    base: dict[str, Any] = dict(step_id=step.id, title=step.title, part=step.part,
                                section=step.section, department=step.department,
                                owner=step.owner, timing=step.timing)
    reason = _skip_reason(step, scope, manifest)
    if reason:
        return StepPlan(**base, kind=StepKind.SKIPPED, reason=reason)
    if step.restore is not None:
        restore = (restores or {})[step.id]
        return StepPlan(**base, kind=StepKind.AUTOMATED, action="restore",
                        changes=restore.changes, notes=restore.notes)
    if step.manual is not None:
        notes = (f"automation planned: {step.automation_planned}",) if step.automation_planned \
            else ()
        return StepPlan(**base, kind=StepKind.MANUAL, notes=notes,
                        platform=step.check.connector if step.check else "",
                        manual=ManualTask(step.id, _label(step), step.owner,
                                          step.manual.instructions))
    assert step.action is not None
    platform = step.action.connector
    params = {**step_params(step.action.params, inputs), CONTEXT_KEY: context}
    draft = connectors[platform].plan(step.action.name, params, states[platform], step.id)
    manual = ManualTask(step.id, _label(step), step.owner,
                        "The API cannot do these: do them by hand.",
                        draft.manual_items) if draft.manual_items else None
    return StepPlan(**base, kind=StepKind.AUTOMATED, platform=platform,
                    action=step.action.name, changes=draft.changes, manual=manual,
                    notes=draft.notes)


def step_params(params: dict[str, Any], inputs: dict[str, Any] | None) -> dict[str, Any]:
    """A step's params with `$name` values taken from the plan's inputs."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in (inputs or {}):
                raise InputError(f"this runbook needs the input {name!r} "
                                 f"(e.g. --{name.replace('_', '-')})")
            value = (inputs or {})[name]
        out[key] = value
    return out


def _label(step: Step) -> str:
    return f"{step.title} [{step.part}]" if step.part else step.title


# --- plan files -------------------------------------------------------------------------------


def save_plan(plan: Plan, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plan.to_json() + "\n", encoding="utf-8")
    return path


def load_plan(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read plan {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"plan {path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict) or "sha256" not in data:
        raise InputError(f"{path} is not an adoffboard plan (no sha256)")
    if data.get("format") != PLAN_FORMAT:
        raise InputError(f"plan {path} has format {data.get('format')!r}; expected {PLAN_FORMAT}")
    claimed = data.pop("sha256")
    if content_hash(data) != claimed:
        raise StalePlan(f"plan {path} was modified after it was made (sha256 mismatch): re-plan")
    try:
        return Plan.from_body(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"plan {path} is malformed: {exc}") from None


def check_plan_current(env: Env, plan: Plan) -> tuple[ClientManifest, LoadedRunbook]:
    manifest = env.workspace.load_client(plan.client)
    if manifest.sha256 != plan.manifest_hash:
        raise StalePlan(f"the manifest of {plan.client} changed since plan {plan.plan_id} was "
                        "made: re-plan and review again")
    book = env.runbook(plan.runbook)
    if book.sha256 != plan.runbook_hash:
        raise StalePlan(f"runbook {plan.runbook} changed since plan {plan.plan_id} was made "
                        f"(plan: v{plan.runbook_version}, now: v{book.version}): re-plan")
    return manifest, book


# --- applying ---------------------------------------------------------------------------------


class StoreJournal:
    """Journals into the store and relays outcomes to the progress display."""

    def __init__(self, store: Any, run_id: str, env: Env, platform: str) -> None:
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


def apply_plan(env: Env, plan: Plan, store: Any, *, plan_path: str = "",
               holder: str | None = None, now_ok: bool = False,
               lock_held: bool = False) -> RunResult:
    """Apply `plan` under the client's lock (`lock_held`: the caller holds it already, as the
    scheduler does around re-plan, apply and verify)."""
    manifest, book = check_plan_current(env, plan)
    effective = parse_date(plan.effective_date, "effective date")
    if effective and effective > env.today() and not now_ok:
        raise SafetyRefusal(f"plan {plan.plan_id} takes effect on {effective}: not before "
                            f"(today is {env.today()}); pass --now to apply early")
    lock = nullcontext() if lock_held else store.client_lock(plan.client,
                                                             holder or holder_name())
    with lock:
        from adoffboard.cr.gate import require_approved  # imports the store: not when planning

        cr_id = require_approved(store, env.workspace, plan, book)
        run_id = store.create_run(plan, plan_path=plan_path, change_request=cr_id)
        env.progress("engine", f"run {run_id} started")
        return _execute(env, plan, store, run_id, manifest, book, plan.changes, cr_id)


def resume_run(env: Env, run_id: str, store: Any, *, holder: str | None = None) -> RunResult:
    record = store.run(run_id)
    plan = record.plan()
    manifest, book = check_plan_current(env, plan)
    done = {cid for cid, o in store.outcomes(run_id).items() if o.status in FINAL}
    remaining = [c for c in plan.changes if c.id not in done]
    env.progress("engine", f"resuming {run_id}: {len(remaining)} change(s) without a final outcome")
    with store.client_lock(plan.client, holder or holder_name()):
        from adoffboard.cr.gate import require_approved

        cr_id = require_approved(store, env.workspace, plan, book, record.change_request or None)
        return _execute(env, plan, store, run_id, manifest, book, remaining, cr_id)


def _execute(env: Env, plan: Plan, store: Any, run_id: str, manifest: ClientManifest,
             book: LoadedRunbook, changes: Sequence[Change], change_request: str = ""
             ) -> RunResult:
    platforms = sorted({c.platform for c in changes})
    started = env.clock.now().isoformat(timespec="seconds")
    connectors: dict[str, Any] = {}
    try:
        connectors, _ = _read_all(env, platforms, manifest, read_only=False)

        def run_phases(platform: str, phases: set[Phase]) -> list[Outcome]:
            mine = [c for c in changes if c.platform == platform and c.phase in phases]
            if not mine:
                return []
            journal = StoreJournal(store, run_id, env, platform)
            return connectors[platform].apply(mine, journal)

        outcomes = _parallel(platforms, lambda p: run_phases(p, {Phase.ADS, Phase.VISIBILITY}))
        pre_checks: tuple[Check, ...] = ()
        if any(c.phase == Phase.ACCESS for c in changes):
            env.progress("engine", "verifying before removing the agency's access")
            pre_checks = _checks(env, plan, manifest, book, store, connectors)
            store.save_verification(run_id, plan.client, plan.runbook, pre_checks)
            outcomes += _parallel(platforms, lambda p: run_phases(p, {Phase.ACCESS}))
    finally:
        for c in connectors.values():
            c.close()
    all_outcomes = store.outcomes(run_id)
    status = _run_status(all_outcomes.values(), len(plan.changes))
    store.finish_run(run_id, status)
    calls = {p: dict(c.calls) for p, c in connectors.items()}
    report = Report(ReportKind.RUN, plan, run_id=run_id, started_at=started,
                    finished_at=env.clock.now().isoformat(timespec="seconds"),
                    outcomes=tuple(all_outcomes.values()), checks=pre_checks, calls=calls,
                    change_request=change_request)
    return RunResult(run_id, report, status)


def _parallel(platforms: Sequence[str], fn: Callable[[str], list[Outcome]]) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=max(1, len(platforms))) as pool:
        return [o for result in pool.map(fn, platforms) for o in result]


def _run_status(outcomes: Iterable[Outcome], planned: int) -> str:
    statuses = [o.status for o in outcomes]
    if any(s in (OutcomeStatus.FAILED, OutcomeStatus.NOT_SENT) for s in statuses) or \
            len(statuses) < planned:
        return "failed"
    if OutcomeStatus.DRIFT in statuses:
        return "applied-with-drift"
    return "applied"


# --- verifying --------------------------------------------------------------------------------


def _checks(env: Env, plan: Plan, manifest: ClientManifest, book: LoadedRunbook, store: Any,
            connectors: dict[str, Any] | None = None, since: dt.datetime | None = None,
            fallback: dict[str, Check] | None = None) -> tuple[Check, ...]:
    owned = connectors is None
    if connectors is None:
        wanted = _platforms(book, plan.scope, manifest)
        wanted += sorted({c.platform for c in plan.changes} - set(wanted))
        connectors = {p: env.connector(p, read_only=True) for p in wanted}
    states: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    try:
        for platform, connector in connectors.items():
            env.progress(platform, "reading live state (verify)")
            try:
                states[platform] = connector.read_state(manifest.model)
            except AuthError as exc:
                unreadable[platform] = str(exc)
        attested = store.attestations(plan.client, plan.runbook) if store else {}
        for platform, state in states.items():
            if not getattr(state, "reachable", True):
                unreadable[platform] = "the agency no longer has access to this account"
        context = step_context(book, plan.scope, plan.effective_date)
        checks = []
        for step in book.model.steps:
            if step.restore is not None:
                checks.append(_check_restore(step, plan, connectors, unreadable))
                continue
            checks.append(_check_step(step, plan.scope, manifest, connectors, states,
                                      unreadable, attested, since, fallback or {}, context,
                                      plan.inputs))
        return tuple(checks)
    finally:
        if owned:
            for c in connectors.values():
                c.close()


def _check_step(step: Step, scope: str, manifest: ClientManifest, connectors: dict[str, Any],
                states: dict[str, Any], unreadable: dict[str, str], attested: dict[str, Any],
                since: dt.datetime | None, fallback: dict[str, Check],
                context: dict[str, Any], plan_inputs: dict[str, Any] | None = None) -> Check:
    base = Check(step.id, step.title, step.part, CheckStatus.PASS, owner=step.owner)
    reason = _skip_reason(step, scope, manifest)
    if reason:
        return base.with_status(CheckStatus.SKIPPED, reason)
    ref = step.action or step.check
    verdict = None
    if ref is not None:
        if ref.connector in unreadable and not _removes_access(ref.connector, ref.name):
            prior = fallback.get(step.id)
            if prior is not None and not (prior.status == CheckStatus.MANUAL_PENDING
                                          and step.id in attested):
                return prior.with_status(prior.status, f"{prior.detail} (checked before the "
                                                       "agency's access was removed)")
            if step.action is not None:
                return base.with_status(CheckStatus.FAIL, unreadable[ref.connector])
        else:
            params = {**step_params(ref.params, plan_inputs), CONTEXT_KEY: context}
            if since:
                params["since"] = since
            verdict = connectors[ref.connector].verify(ref.name, params, states[ref.connector])
    if step.action is not None and verdict is not None:
        return Check(step.id, step.title, step.part, verdict.status, verdict.detail,
                     step.owner, verdict.evidence)
    attestation = attested.get(step.id)
    if verdict is not None and verdict.status == CheckStatus.FAIL:
        return Check(step.id, step.title, step.part, CheckStatus.FAIL, verdict.detail,
                     step.owner, verdict.evidence)
    if attestation is not None:
        note = f": {attestation.note}" if attestation.note else ""
        return base.with_status(CheckStatus.ATTESTED,
                                f"by {attestation.by} at {attestation.at}{note}")
    detail = "waiting for attestation by the owner"
    if verdict is not None:
        detail += f"; {verdict.detail}"
    return Check(step.id, step.title, step.part, CheckStatus.MANUAL_PENDING, detail, step.owner,
                 verdict.evidence if verdict else ())


def _check_restore(step: Step, plan: Plan, connectors: dict[str, Any],
                   unreadable: dict[str, str]) -> Check:
    planned = next((s for s in plan.steps if s.step_id == step.id), None)
    changes = list(planned.changes) if planned else []
    base = Check(step.id, step.title, step.part, CheckStatus.PASS, owner=step.owner)
    if not changes:
        return base.with_status(CheckStatus.PASS, "nothing to restore")
    live: dict[str, Any] = {}
    for platform in sorted({c.platform for c in changes}):
        if platform in unreadable:
            return base.with_status(CheckStatus.FAIL, f"{platform}: {unreadable[platform]}")
        live.update(connectors[platform].live_values([c for c in changes
                                                      if c.platform == platform]))
    status, detail, evidence = judge(
        changes, live, lambda ch, a, b: connectors[ch.platform].same_value(ch, a, b))
    return Check(step.id, step.title, step.part, status, detail, step.owner, evidence)


def _removes_access(platform: str, action: str) -> bool:
    from adoffboard.connectors import info

    return info(platform).actions.get(action) == Phase.ACCESS


def verify(env: Env, store: Any, client: str, *, run_id: str | None = None,
           runbook: str | None = None, scope: str | None = None) -> Report:
    """Read everything again and judge each checklist line; writes nothing to any platform."""
    record = store.run(run_id) if run_id else (
        None if runbook else store.latest_run(client)
    )
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
    fallback: dict[str, Check] = {}
    if record is not None:
        fallback = {c.step_id: c for c in store.pre_removal_checks(record.id)}
    checks = _checks(env, plan, manifest, book, store, since=since, fallback=fallback)
    store.save_verification(record.id if record else None, client, plan.runbook, checks)
    attestations = {
        sid: f"by {a.by} at {a.at}" for sid, a in store.attestations(client, plan.runbook).items()
    }
    return Report(ReportKind.VERIFY, plan, run_id=record.id if record else "",
                  finished_at=env.clock.now().isoformat(timespec="seconds"), checks=checks,
                  attestations=attestations,
                  change_request=record.change_request if record else "")


def combined_report(result: RunResult, checked: Report) -> Report:
    """One report for a run followed by its verify pass (what `run` and `demo` show)."""
    return Report(ReportKind.VERIFY, result.report.plan, run_id=result.run_id,
                  started_at=result.report.started_at, finished_at=checked.finished_at,
                  outcomes=result.report.outcomes, checks=checked.checks,
                  calls=result.report.calls, attestations=checked.attestations,
                  change_request=result.report.change_request)


def verdict_of(checks: Sequence[Check]) -> str:
    statuses = {c.status for c in checks}
    if CheckStatus.FAIL in statuses:
        return "FAIL"
    if CheckStatus.MANUAL_PENDING in statuses:
        return "PENDING"
    return "PASS"
