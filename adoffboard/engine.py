"""Plan, apply, verify, resume: the loop every runbook goes through.

- `make_plan` reads live state through read-only connectors and asks each step for its changes.
- `apply_plan` takes a saved plan, refuses it if it was altered or its manifest or runbook changed,
  and applies exactly its changes, platform by platform in parallel, journaling every write.
  Changes that remove the agency's own access run last, after a verification pass has read
  everything that still needs that access.
- `verify` is an independent read-only pass: PASS / FAIL / MANUAL-PENDING per checklist line.
- `resume` finishes an interrupted run: only what has no final outcome is tried again, and the
  connectors' drift check turns "already done" into ALREADY instead of a second write.

What may be written is decided by this workspace, never by the plan alone: `apply` takes only plans
signed with the workspace's key (adoffboard.signing), and before the first write every change is
checked against what its runbook step plans from the live state just read (`_admit`): a manifest
account, the step's own field and target value. The agency's access to an account is removed only
after that account passes its pause, budget and script checks (`_hold_removals`).

Connectors see a step's `params` from the runbook and a `StepContext`: the plan-wide facts some
actions need to render their values (effective date, the runbook's process and department, the
scope), the same at plan and at verify time, and at verify time when the run started.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import ClientManifest, LoadedWorkspace
from adoffboard.connectors.base import StepContext
from adoffboard.errors import (
    AdoffboardError,
    AuthError,
    InputError,
    NotPermitted,
    SafetyRefusal,
    StalePlan,
)
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
from adoffboard.records import Attestation, RunEvent, RunRecord, Snapshot
from adoffboard.restore import RestoreSet, inverse_changes, is_restore, judge, target_run
from adoffboard.retry import RetryPolicy
from adoffboard.runbook import SCOPES, LoadedRunbook, Step, load_runbook, settle_optional_actions

Progress = Callable[[str, str], None]  # (platform or "engine", message)
FINAL = {OutcomeStatus.APPLIED, OutcomeStatus.ALREADY, OutcomeStatus.DRIFT}


class RunStore(Protocol):
    """The state store as the engine uses it (`adoffboard.store.Store`)."""

    def plan_key(self) -> bytes: ...
    def client_lock(self, client: str, holder: str) -> AbstractContextManager[None]: ...
    def create_run(self, plan: Plan, *, plan_path: str = ..., change_request: str = ...,
                   plan_mac: str = ...) -> str: ...
    def finish_run(self, run_id: str, status: str) -> None: ...
    def run(self, run_id: str) -> RunRecord: ...
    def runs(self, client: str | None = ..., limit: int = ...) -> list[RunRecord]: ...
    def latest_run(self, client: str) -> RunRecord | None: ...
    def add_run_event(self, run_id: str, kind: str, detail: str, *, by: str = ...,
                      platform: str = ...) -> None: ...
    def run_events(self, run_id: str) -> list[RunEvent]: ...
    def intend(self, run_id: str, changes: Sequence[Change]) -> None: ...
    def record(self, run_id: str, outcomes: Sequence[Outcome]) -> None: ...
    def outcomes(self, run_id: str) -> dict[str, Outcome]: ...
    def snapshots(self, run_id: str) -> list[Snapshot]: ...
    def save_verification(self, run_id: str | None, client: str, runbook: str,
                          checks: Sequence[Check], *, kind: str = ...) -> int: ...
    def pre_removal_checks(self, run_id: str) -> list[Check]: ...
    def attestations(self, client: str, runbook: str) -> dict[str, Attestation]: ...


# The approval gate, supplied by the caller (`adoffboard.app` hands `cr.gate.require_approved`):
# (store, workspace, plan, runbook, the run's change request id or None) -> the approved request's
# id, or a SafetyRefusal. The engine itself knows nothing of change requests.
ApprovalGate = Callable[[Any, LoadedWorkspace, Plan, LoadedRunbook, "str | None"], str]


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


def step_context(book: LoadedRunbook, scope: str, effective_date: str | None) -> StepContext:
    """The plan-wide facts handed to every action."""
    return StepContext(effective_date=effective_date, process=book.model.process, scope=scope,
                       runbook=book.name, department=book.model.department)


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


def make_plan(env: Env, client: str, runbook: str, scope: str = "dm",
              effective: dt.date | None = None,
              change_request: dict[str, str] | None = None, *, store: RunStore | None = None,
              restore_run: str = "", inputs: dict[str, Any] | None = None,
              authorized_by: dict[str, str] | None = None) -> Plan:
    if scope not in SCOPES:
        raise InputError(f"--scope {scope!r} must be one of: {', '.join(SCOPES)}")
    manifest = env.workspace.load_client(client)
    book = env.runbook(runbook)
    effective = effective or env.today()
    restores = _restore_sets(book, manifest, store, restore_run)
    platforms = _platforms(book, scope, manifest)
    platforms += sorted({c.platform for r in restores.values() for c in r.changes}
                        - set(platforms))
    connectors = {p: env.connector(p, read_only=True) for p in platforms}
    context = step_context(book, scope, effective.isoformat())
    try:
        states, failed = _read_states(env, connectors, manifest)
        if failed:
            raise next(iter(failed.values()))
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
        restores_run=",".join(sorted({r.run_id for r in restores.values()})),
        authorized_by=authorized_by,
    )


def _restore_sets(book: LoadedRunbook, manifest: ClientManifest, store: RunStore | None,
                  restore_run: str) -> dict[str, RestoreSet]:
    """The inverse changes of each restore step, from the target run's snapshots: the run named
    (`adoffboard restore RUN`), else the client's latest applied run of the step's runbook."""
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


def _bound_restores(book: LoadedRunbook, manifest: ClientManifest, store: RunStore,
                    plan: Plan) -> dict[str, RestoreSet]:
    """At apply time, the restore steps' inverse changes from the very run the plan names, never
    a later one: a restore is bound to the run it was reviewed against."""
    if not any(step.restore is not None for step in book.model.steps):
        return {}
    runs = [r for r in plan.restores_run.split(",") if r]
    if len(runs) != 1:
        raise StalePlan(f"plan {plan.plan_id} restores {len(runs)} runs; a restore names exactly "
                        "one: re-plan")
    record = store.run(runs[0])
    for step in book.model.steps:
        wanted = step.restore.runbook if step.restore else ""
        if wanted and record.runbook != wanted:
            raise StalePlan(f"plan {plan.plan_id} restores run {record.id} ({record.runbook}); "
                            f"step {step.id} restores a {wanted} run: re-plan")
    if record.client != manifest.slug:
        raise StalePlan(f"plan {plan.plan_id} restores run {record.id} of {record.client}, not "
                        f"of {manifest.slug}")
    return {step.id: inverse_changes(store, record, step.id)
            for step in book.model.steps if step.restore is not None}


def _plan_step(step: Step, scope: str, manifest: ClientManifest,
               connectors: dict[str, Any], states: dict[str, Any],
               context: StepContext, restores: dict[str, RestoreSet] | None = None,
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
    params = step_params(step.action.params, inputs)
    draft = connectors[platform].plan(step.action.name, params, states[platform], step.id,
                                      context)
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


def save_plan(plan: Plan, path: Path, key: bytes | None = None) -> Path:
    """Write the plan, signed with the workspace's key (`Store.plan_key`) when one is given; an
    unsigned plan is for review only: `apply` refuses it. The file holds client data: 0600."""
    from adoffboard import signing
    from adoffboard.files import write_private

    document = {**plan.body(), "sha256": plan.content_hash}
    if key is not None:
        document["signature"] = signing.sign(key, plan.body())
    return write_private(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def load_plan(path: Path, key: bytes) -> Plan:
    """Read a plan file and prove it is one this workspace made, unchanged: whole (sha256) and
    signed with the workspace's key; refused otherwise (StalePlan), before anything is read."""
    from adoffboard import signing

    data = _read_plan_json(path)
    claimed, signature = data.pop("sha256"), data.pop("signature", None)
    if content_hash(data) != claimed:
        raise StalePlan(f"plan {path} was modified after it was made (sha256 mismatch): re-plan")
    if signature is None:
        raise StalePlan(f"plan {path} is not signed by this workspace (it was made for review "
                        "only, without the state store): re-plan with the store reachable")
    if not signing.verify(key, data, signature):
        raise StalePlan(f"plan {path} was modified after it was made, or made by another "
                        "workspace (its signature does not match this workspace's key): re-plan")
    return _plan_from_body(data, str(path))


def _read_plan_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read plan {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"plan {path} is not a text (UTF-8) file") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"plan {path} is not valid JSON (line {exc.lineno})") from None
    except RecursionError:
        raise InputError(f"plan {path} is nested too deeply to be an adoffboard plan") from None
    if not isinstance(data, dict) or "sha256" not in data:
        raise InputError(f"{path} is not an adoffboard plan (no sha256)")
    if data.get("format") != PLAN_FORMAT:
        raise InputError(f"plan {path} has format {data.get('format')!r}; expected {PLAN_FORMAT}")
    return data


def _plan_from_body(body: dict[str, Any], where: str) -> Plan:
    try:
        return Plan.from_body(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"plan {where} is malformed: {type(exc).__name__}: {exc}") from None


def stored_plan(store: RunStore, record: RunRecord) -> Plan:
    """A run's plan as the store keeps it, refused if its signature no longer checks. (Runs
    recorded before plans were signed have none; like every plan, each of their changes is still
    checked against a fresh read of what its step would do before it is sent.)"""
    from adoffboard import signing

    plan = _plan_from_body({k: v for k, v in json.loads(record.plan_json).items()
                            if k not in ("sha256", "signature")}, f"of run {record.id}")
    if record.plan_mac and not signing.verify(store.plan_key(), plan.body(), record.plan_mac):
        raise StalePlan(f"the plan stored for run {record.id} is not the one that was applied "
                        "(its signature does not check): it cannot be resumed; re-plan")
    return plan


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


# Who may ask for a restore no approved change request covers (`adoffboard restore RUN`), and who
# may release access removals held because an account still fails its pause checks.
RESTORE_ROLES = {"SEM": ("sem_specialist", "sem_team_lead"),
                 "MA": ("ma_specialist", "ma_team_lead", "ma_department_manager")}
RELEASE_ROLES = {"SEM": ("sem_team_lead",), "MA": ("ma_team_lead", "ma_department_manager")}
OPERATIONS_LEAD = "dmo_lead"
HELD, RELEASED = "access-held", "access-released"


def authorize(env: Env, who: str, roles: Sequence[str], what: str) -> dict[str, str]:
    """The person (key, name and the role that allows it) who may do `what`, or NotPermitted."""
    from adoffboard.tasks import find_person

    person = find_person(env.workspace, who)
    key = next(k for k, p in env.workspace.config.people.items() if p is person)
    role = next((r for r in (*roles, OPERATIONS_LEAD) if r in person.roles), None)
    if role is None:
        raise NotPermitted(f"{person.name} may not {what}: it takes one of the roles "
                           f"{', '.join((*roles, OPERATIONS_LEAD))}")
    return {"person": key, "name": person.name, "role": role}


def apply_plan(env: Env, plan: Plan, store: RunStore, *, gate: ApprovalGate,
               plan_path: str = "", holder: str | None = None, now_ok: bool = False,
               lock_held: bool = False) -> RunResult:
    """Apply `plan` under the client's lock (`lock_held`: the caller holds it already, as the
    scheduler does around re-plan, apply and verify), once `gate` approves it. `plan` is trusted
    as given: one made in this process, or read back by `load_plan`, which checked its
    signature."""
    from adoffboard import signing

    manifest, book = check_plan_current(env, plan)
    effective = parse_date(plan.effective_date, "effective date")
    if effective and effective > env.today() and not now_ok:
        raise SafetyRefusal(f"plan {plan.plan_id} takes effect on {effective}: not before "
                            f"(today is {env.today()}); pass --now to apply early")
    lock = nullcontext() if lock_held else store.client_lock(plan.client,
                                                             holder or holder_name())
    with lock:
        cr_id = _authorised(env, store, plan, book, gate)
        run_id = store.create_run(plan, plan_path=plan_path, change_request=cr_id,
                                  plan_mac=signing.sign(store.plan_key(), plan.body()))
        if plan.authorized_by:
            who = plan.authorized_by
            store.add_run_event(run_id, "authorized", f"{who.get('name', '')} as {who['role']}",
                                by=who["person"])
        env.progress("engine", f"run {run_id} started")
        return _execute(env, plan, store, run_id, manifest, book, plan.changes, cr_id)


def _authorised(env: Env, store: RunStore, plan: Plan, book: LoadedRunbook,
                gate: ApprovalGate, cr_id: str | None = None) -> str:
    """The approved change request behind `plan` (the gate), or for a restore, which no request
    covers, the person with a role to restore that the plan names."""
    if book.model.process != "restore":
        return gate(store, env.workspace, plan, book, cr_id)
    if not plan.restores_run:
        raise SafetyRefusal(f"plan {plan.plan_id} restores no named run: make it with "
                            "`adoffboard restore RUN --as PERSON`")
    target = store.run(plan.restores_run)
    if target.client != plan.client:
        raise SafetyRefusal(f"plan {plan.plan_id} restores run {target.id} of {target.client}, "
                            f"not of {plan.client}")
    who = plan.authorized_by or {}
    if not who.get("person"):
        raise SafetyRefusal(f"plan {plan.plan_id} restores run {target.id} with no approved "
                            "un-pause: it needs a person with a role to restore "
                            "(`adoffboard restore RUN --as PERSON`)")
    department = env.runbook(target.runbook).model.department
    authorize(env, who["person"], RESTORE_ROLES.get(department, ()),
              f"restore a {department} run")
    return ""


def resume_run(env: Env, run_id: str, store: RunStore, *, gate: ApprovalGate,
               holder: str | None = None,
               release: Sequence[str] = (), released_by: str = "", reason: str = ""
               ) -> RunResult:
    """Finish an interrupted run: what has no final outcome is tried again. `release` names
    platforms whose held access removals a person (`released_by`, with a role to) lets go."""
    record = store.run(run_id)
    plan = stored_plan(store, record)
    manifest, book = check_plan_current(env, plan)
    done = {cid for cid, o in store.outcomes(run_id).items() if o.status in FINAL}
    remaining = [c for c in plan.changes if c.id not in done]
    env.progress("engine", f"resuming {run_id}: {len(remaining)} change(s) without a final outcome")
    with store.client_lock(plan.client, holder or holder_name()):
        cr_id = _authorised(env, store, plan, book, gate, record.change_request or None)
        _release(env, store, run_id, book, release, released_by, reason)
        return _execute(env, plan, store, run_id, manifest, book, remaining, cr_id)


def _release(env: Env, store: RunStore, run_id: str, book: LoadedRunbook, platforms: Sequence[str],
             who: str, reason: str) -> None:
    if not platforms:
        return
    if not who or not reason.strip():
        raise InputError("releasing held access removals takes --as PERSON and --reason TEXT")
    from adoffboard.connectors import info

    department = book.model.department
    person = authorize(env, who, RELEASE_ROLES.get(department, ()),
                       "release access removals held while ads still run")
    for platform in platforms:
        store.add_run_event(run_id, RELEASED, f"{person['name']} as {person['role']}: {reason}",
                            by=person["person"], platform=info(platform).platform)


def _execute(env: Env, plan: Plan, store: RunStore, run_id: str, manifest: ClientManifest,
             book: LoadedRunbook, changes: Sequence[Change], change_request: str = ""
             ) -> RunResult:
    """Send `changes`: ads and visibility first on every platform in parallel, then a check of
    every account, then the removals of the agency's access on the accounts that passed it.

    Every platform the runbook uses is opened and read, not only those with changes left: the
    check before the removals reads them all, and after a crash any subset may be left.
    """
    started = env.clock.now().isoformat(timespec="seconds")
    wanted = _platforms(book, plan.scope, manifest)
    wanted += sorted({c.platform for c in changes} - set(wanted))
    connectors: dict[str, Any] = {}
    errors: dict[str, AdoffboardError] = {}
    pre_checks: tuple[Check, ...] = ()
    refusal: SafetyRefusal | None = None
    try:
        connectors = {p: env.connector(p, read_only=False) for p in wanted}
        states, unread = _read_states(env, connectors, manifest)
        for platform, exc in unread.items():
            if any(c.platform == platform for c in changes):
                errors[platform] = exc
                store.add_run_event(run_id, "error", str(exc), platform=platform)
        to_send = _admit(plan, manifest, book, store, run_id, connectors, states,
                         [c for c in changes if c.platform not in unread])

        def run_phases(platform: str, phases: set[Phase]) -> list[Outcome]:
            mine = [c for c in to_send if c.platform == platform and c.phase in phases]
            if not mine or platform in errors:
                return []
            try:
                return list(connectors[platform].apply(mine, StoreJournal(store, run_id, env,
                                                                          platform)))
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
            pre_checks = _checks(env, plan, manifest, book, store, connectors,
                                 fallback=earlier, tolerate=AdoffboardError)
            store.save_verification(run_id, plan.client, plan.runbook, pre_checks,
                                    kind="pre-removal")
            held = _hold_removals(env, store, run_id, book, pre_checks, access, errors,
                                  [c for c in to_send if c.phase == Phase.ACCESS])
            _parallel([p for p in access if p not in held],
                      lambda p: run_phases(p, {Phase.ACCESS}))
    except KeyboardInterrupt:
        store.finish_run(run_id, "interrupted")
        raise
    except SafetyRefusal as exc:
        refusal = exc
        store.add_run_event(run_id, "refused", str(exc))
    except AdoffboardError as exc:
        errors["engine"] = exc
        store.add_run_event(run_id, "error", str(exc))
    finally:
        for c in connectors.values():
            c.close()
    all_outcomes = store.outcomes(run_id)
    if refusal is not None:
        store.finish_run(run_id, _run_status(all_outcomes.values(), len(plan.changes))
                         if all_outcomes else "refused")
        raise refusal
    status = _run_status(all_outcomes.values(), len(plan.changes))
    store.finish_run(run_id, status)
    calls = {p: dict(c.calls) for p, c in connectors.items()}
    report = Report(ReportKind.RUN, plan, run_id=run_id, started_at=started,
                    finished_at=env.clock.now().isoformat(timespec="seconds"),
                    outcomes=tuple(all_outcomes.values()),
                    checks=_before_removals(pre_checks, plan), calls=calls,
                    change_request=change_request,
                    errors=tuple(f"{_title(p)}: {e}" for p, e in errors.items()))
    return RunResult(run_id, report, status, next(iter(errors.values()), None))


def _before_removals(checks: Sequence[Check], plan: Plan) -> tuple[Check, ...]:
    """The check made before the removals, as the run report shows it: without the removal
    steps' own lines, which can only fail before the removals they judge have run."""
    removals = {c.step_id for c in plan.changes if c.phase == Phase.ACCESS}
    return tuple(c for c in checks if c.step_id not in removals)


def _title(platform: str) -> str:
    from adoffboard.connectors import REGISTRY

    return REGISTRY[platform].title if platform in REGISTRY else platform


def _read_states(env: Env, connectors: dict[str, Any], manifest: ClientManifest,
                 tolerate: type[AdoffboardError] = AdoffboardError, what: str = ""
                 ) -> tuple[dict[str, Any], dict[str, AdoffboardError]]:
    """Every platform's state, read in parallel. A platform that cannot be read for a reason in
    `tolerate` (its access already removed, credentials refused, unavailable) is returned among
    the failures instead of stopping the others; a tenant mismatch always stops everything."""

    def read(platform: str) -> Any:
        env.progress(platform, f"reading live state{what}")
        try:
            return connectors[platform].read_state(manifest.model)
        except SafetyRefusal:
            raise
        except tolerate as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, len(connectors))) as pool:
        read_back = dict(zip(connectors, pool.map(read, connectors), strict=True))
    failed = {p: v for p, v in read_back.items() if isinstance(v, AdoffboardError)}
    return {p: v for p, v in read_back.items() if p not in failed}, failed


def _admit(plan: Plan, manifest: ClientManifest, book: LoadedRunbook, store: RunStore,
           run_id: str,
           connectors: dict[str, Any], states: dict[str, Any], changes: Sequence[Change]
           ) -> list[Change]:
    """The changes to send: each must be what its step would plan now from the live state just
    read (same entity of a manifest account, same field, same phase, same target value), so that
    a plan, however it was made, can only do what the runbook does. Changes the step no longer
    plans are settled here without a write (already done, or changed by someone: drift);
    anything else is refused before a single write (StalePlan)."""
    context = step_context(book, plan.scope, plan.effective_date)
    steps = {s.id: s for s in book.model.steps}
    restores = _bound_restores(book, manifest, store, plan)
    expected: dict[str, Change] = {}
    for step_id in sorted({c.step_id for c in changes}):
        step = steps.get(step_id)
        if step is None or _skip_reason(step, plan.scope, manifest) or \
                (step.action is None and step.restore is None):
            raise StalePlan(f"plan {plan.plan_id} changes step {step_id!r}, which runbook "
                            f"{book.name} does not run for {plan.client}: re-plan")
        unreachable = [p for p in _step_platforms(step, restores)
                       if p not in states or not getattr(states[p], "reachable", True)]
        if unreachable:
            continue  # the agency's access is gone there: only removals remain (settled below)
        drafted = _plan_step(step, plan.scope, manifest, connectors, states, context, restores,
                             plan.inputs)
        expected.update((c.id, c) for c in drafted.changes)
    to_send, absent = [], []
    for change in changes:
        mine = expected.get(change.id)
        if mine is None:
            absent.append(change)
            continue
        problem = _differs(change, mine, connectors[change.platform])
        if problem:
            raise StalePlan(f"plan {plan.plan_id}: {change.name} {change.field}: {problem}; the "
                            "plan was altered or no longer matches the runbook: re-plan and "
                            "review again")
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
            return (f"its {name.replace('_', ' ')} is {str(ours)!r} where the step plans "
                    f"{str(theirs)!r}")
    if not connector.same_target(change, change.after, expected.after):
        return f"it sets {change.shown_after} where the step plans {expected.shown_after}"
    if change.before == expected.before and change.resource != expected.resource:
        return f"it addresses {change.resource!r} where the step plans {expected.resource!r}"
    return ""


def _settle_absent(plan: Plan, absent: Sequence[Change], connectors: dict[str, Any],
                   states: dict[str, Any]) -> list[Outcome]:
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
                outcomes.append(Outcome(change.id, OutcomeStatus.ALREADY,
                                        message="a fresh read finds nothing left to do"))
                continue
            value = live.get(change.id)
            if connector.same_value(change, value, change.after):
                outcomes.append(Outcome(change.id, OutcomeStatus.ALREADY, live=value))
            elif value is None and not is_restore(change):
                outcomes.append(Outcome(change.id, OutcomeStatus.ALREADY,
                                        message="no longer there: nothing left to do"))
            elif connector.same_value(change, value, change.before):
                raise StalePlan(f"plan {plan.plan_id}: {change.name} {change.field}: its step "
                                f"would not change it now (it is {change.shown_before}); the "
                                "plan was altered or is stale: re-plan and review again")
            else:
                outcomes.append(Outcome(change.id, OutcomeStatus.DRIFT, live=value,
                                        message=f"live value {value!r} differs from planned "
                                                f"{change.before!r}"))
    return outcomes


def _after_access_removed(change: Change) -> Outcome:
    """A change left on an account the agency can no longer reach: a removal took effect; any
    other change can no longer be made."""
    if change.phase == Phase.ACCESS:
        return Outcome(change.id, OutcomeStatus.ALREADY,
                       message="the agency's access to this account is already removed")
    return Outcome(change.id, OutcomeStatus.FAILED, message="cannot be applied: the agency's "
                   "access to this account is already removed")


def _hold_removals(env: Env, store: RunStore, run_id: str, book: LoadedRunbook,
                   checks: Sequence[Check], platforms: Sequence[str],
                   errors: dict[str, AdoffboardError], removals: Sequence[Change]) -> set[str]:
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
        if chk.status != CheckStatus.FAIL or ref is None or chk.step_id in removing or \
                _removes_access(ref.connector, ref.name):
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
        outcomes += [Outcome(c.id, OutcomeStatus.NOT_SENT, message=(
            f"held: the agency keeps this access while the account still fails its checks "
            f"({why}); once it is clean: adoffboard resume {run_id} (or a team lead: adoffboard "
            f"resume {run_id} --release-access {platform} --as PERSON --reason TEXT)"))
            for c in removals if c.platform == platform]
    if outcomes:
        store.record(run_id, outcomes)
    return held


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


def _checks(env: Env, plan: Plan, manifest: ClientManifest, book: LoadedRunbook,
            store: RunStore | None,
            connectors: dict[str, Any] | None = None, since: dt.datetime | None = None,
            fallback: dict[str, Check] | None = None,
            tolerate: type[AdoffboardError] = AuthError) -> tuple[Check, ...]:
    owned = connectors is None
    if connectors is None:
        wanted = _platforms(book, plan.scope, manifest)
        wanted += sorted({c.platform for c in plan.changes} - set(wanted))
        connectors = {p: env.connector(p, read_only=True) for p in wanted}
    try:
        states, failed = _read_states(env, connectors, manifest, tolerate, " (verify)")
        unreadable = {p: str(exc) for p, exc in failed.items()}
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
                context: StepContext, plan_inputs: dict[str, Any] | None = None) -> Check:
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
                note = " (checked before the agency's access was removed)"
                return prior.with_status(prior.status, prior.detail.removesuffix(note) + note)
            if step.action is not None:
                return base.with_status(CheckStatus.FAIL, unreadable[ref.connector])
        elif ref.connector not in states:  # could not be read at all: nothing to judge from
            if step.action is not None:
                return base.with_status(CheckStatus.FAIL, unreadable[ref.connector])
        else:
            params = step_params(ref.params, plan_inputs)
            verdict = connectors[ref.connector].verify(ref.name, params, states[ref.connector],
                                                       replace(context, since=since))
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

    return info(platform).phase(action) == Phase.ACCESS


def verify(env: Env, store: RunStore, client: str, *, run_id: str | None = None,
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
