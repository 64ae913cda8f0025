"""Planning (a dry run through read-only connectors) and plan files: signed on save, checked
on load, and checked again against the manifest and runbook they were made from.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from adoffboard.config import ClientManifest
from adoffboard.connectors.base import StepContext
from adoffboard.engine.common import Env, RunStore, _open_read, runbook_uses
from adoffboard.engine.common import step_params as step_params  # re-exported
from adoffboard.engine.handover import PlanReads
from adoffboard.errors import (
    AuthError,
    InputError,
    SafetyRefusal,
    StalePlan,
)
from adoffboard.models import (
    PLAN_FORMAT,
    STAGE_ALL,
    STAGE_IMMEDIATELY,
    STAGES,
    ManualTask,
    Plan,
    StepKind,
    StepPlan,
    canonical_text,
    text_hash,
)
from adoffboard.records import RunRecord
from adoffboard.restore import RestoreSet, inverse_changes, refuse_without_access, target_runs
from adoffboard.runbook import SCOPES, LoadedRunbook, Step

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


def step_context(
    book: LoadedRunbook,
    scope: str,
    effective_date: str | None,
    change_request: dict[str, str] | None = None,
) -> StepContext:
    """The plan-wide facts handed to every action (the change request's id and a pause's end
    date come from the plan's change request reference)."""
    ref = change_request or {}
    return StepContext(
        effective_date=effective_date,
        process=book.model.process,
        scope=scope,
        runbook=book.name,
        department=book.model.department,
        change_request=ref.get("id", ""),
        pause_end=ref.get("pause_end_date", ""),
    )


def _skip_reason(
    step: Step, scope: str, manifest: ClientManifest, stage: str = STAGE_ALL, effective: str = ""
) -> str:
    if stage == STAGE_IMMEDIATELY and step.timing != "immediately":
        return f"on the effective date ({effective}): not part of the run at approval"
    if not step.applies(scope):
        return f"only when leaving the platform (scope: {SCOPES[scope]})"
    if step.if_manifest and getattr(manifest.model, step.if_manifest, None) is None:
        return f"not applicable: the manifest has no {step.if_manifest} account"
    return ""


def _platforms(
    book: LoadedRunbook, scope: str, manifest: ClientManifest, stage: str = STAGE_ALL
) -> list[str]:
    wanted = []
    for step in book.model.steps:
        ref = step.action or step.check
        if ref and not _skip_reason(step, scope, manifest, stage) and ref.connector not in wanted:
            wanted.append(ref.connector)
    return wanted


def make_plan(
    env: Env,
    client: str,
    runbook: str,
    scope: str = "dm",
    effective: dt.date | None = None,
    change_request: dict[str, str] | None = None,
    *,
    store: RunStore | None = None,
    restore_run: str = "",
    inputs: dict[str, Any] | None = None,
    authorized_by: dict[str, str] | None = None,
    stage: str = STAGE_ALL,
    handover: PlanReads | None = None,
) -> Plan:
    """The plan of `runbook` for `client`, from a read of every platform it uses.

    `handover`: filled with that read, for the apply of this plan in this process
    (`adoffboard.engine.handover`: only a caller holding the client's lock passes one)."""
    if scope not in SCOPES:
        raise InputError(f"--scope {scope!r} must be one of: {', '.join(SCOPES)}")
    if stage not in STAGES:
        raise InputError(f"--stage {stage!r} must be one of: {', '.join(STAGES)}")
    manifest = env.workspace.load_client(client)
    book = env.runbook(runbook)
    env.preload(book)
    effective = effective or env.today()
    restores = (
        _restore_sets(book, manifest, store, restore_run, change_request)
        if stage == STAGE_ALL
        else {}
    )
    platforms = _platforms(book, scope, manifest, stage)
    platforms += sorted({c.platform for r in restores.values() for c in r.changes} - set(platforms))
    connectors: dict[str, Any] = {}
    context = step_context(book, scope, effective.isoformat(), change_request)
    read_at = env.clock.now()
    try:
        states, failed = _open_read(
            env,
            platforms,
            connectors,
            lambda p: env.connector(p, read_only=True, uses=runbook_uses(book, p, inputs)),
            manifest,
        )
        if failed:
            raise next(iter(failed.values()))
        for platform in sorted({c.platform for r in restores.values() for c in r.changes}):
            if not getattr(states[platform], "reachable", True):
                raise AuthError(
                    f"cannot restore on {connectors[platform].title}: the agency no "
                    "longer has access to the client's account"
                )
        steps = tuple(
            _plan_step(s, scope, manifest, connectors, states, context, restores, inputs, stage)
            for s in book.model.steps
        )
        reads = {p: c.calls["read"] for p, c in connectors.items()}
        writes = sum(c.calls["write"] for c in connectors.values())
        if writes:  # unreachable: read-only transports refuse writes; kept as a tripwire
            raise SafetyRefusal("a plan attempted a write")
    finally:
        for c in connectors.values():
            c.close()
    now = env.clock.now()
    plan = Plan(
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
        restores_run=",".join(dict.fromkeys(r.run_id for r in restores.values())),
        authorized_by=authorized_by,
        stage=stage,
    )
    if handover is not None:
        handover.record(plan.plan_id, plan.client, read_at, states, connectors)
    return plan


def _restore_sets(
    book: LoadedRunbook,
    manifest: ClientManifest,
    store: RunStore | None,
    restore_run: str,
    change_request: dict[str, str] | None = None,
) -> dict[str, RestoreSet]:
    """The inverse changes of each restore step, from the target runs' snapshots: the run named
    (`adoffboard restore RUN`) with the other runs of its case, else the case's runs of the
    step's runbook (an un-pause restores every pause run of its change request), else the
    client's latest applied run of that runbook."""
    found: dict[str, RestoreSet] = {}
    for step in book.model.steps:
        if step.restore is None:
            continue
        if store is None:
            raise InputError(f"runbook {book.name} restores a run: it needs the store")
        if not step.restore.runbook and not restore_run:
            raise InputError(
                f"runbook {book.name} restores a run named on the command line: "
                "use `adoffboard restore RUN`"
            )
        records = target_runs(
            store,
            manifest.slug,
            runbook=step.restore.runbook,
            run_id="" if step.restore.runbook else restore_run,
            change_request=(change_request or {}).get("id", "") if step.restore.runbook else "",
        )
        found[step.id] = inverse_changes(store, records, step.id)
        refuse_without_access(store, records, found[step.id])
    return found


def _bound_restores(
    book: LoadedRunbook, manifest: ClientManifest, store: RunStore, plan: Plan
) -> dict[str, RestoreSet]:
    """At apply time, the restore steps' inverse changes from the very runs the plan names,
    never later ones: a restore is bound to the runs it was reviewed against (one run, or the
    runs of one case, put back oldest first)."""
    if not any(step.restore is not None for step in book.model.steps):
        return {}
    ids = [r for r in plan.restores_run.split(",") if r]
    if not ids:
        raise StalePlan(f"plan {plan.plan_id} restores no run: re-plan")
    records = [store.run(r) for r in ids]
    cases = {r.change_request for r in records}
    if len(records) > 1:
        if len(cases) != 1 or "" in cases or len({r.runbook for r in records}) != 1:
            raise StalePlan(
                f"plan {plan.plan_id} restores runs of different runbooks or change "
                "requests: re-plan"
            )
        order = {r.id: n for n, r in enumerate(store.request_runs(next(iter(cases))))}
        records.sort(key=lambda r: order.get(r.id, len(order)))
    ref = (plan.change_request or {}).get("id", "")
    for record in records:
        for step in book.model.steps:
            wanted = step.restore.runbook if step.restore else ""
            if wanted and record.runbook != wanted:
                raise StalePlan(
                    f"plan {plan.plan_id} restores run {record.id} ({record.runbook}); "
                    f"step {step.id} restores a {wanted} run: re-plan"
                )
            if wanted and ref and record.change_request != ref:
                raise StalePlan(
                    f"plan {plan.plan_id} restores run {record.id}, not made for {ref}: re-plan"
                )
        if record.client != manifest.slug:
            raise StalePlan(
                f"plan {plan.plan_id} restores run {record.id} of {record.client}, not "
                f"of {manifest.slug}"
            )
    return {
        step.id: inverse_changes(store, records, step.id)
        for step in book.model.steps
        if step.restore is not None
    }


def _plan_step(
    step: Step,
    scope: str,
    manifest: ClientManifest,
    connectors: dict[str, Any],
    states: dict[str, Any],
    context: StepContext,
    restores: dict[str, RestoreSet] | None = None,
    inputs: dict[str, Any] | None = None,
    stage: str = STAGE_ALL,
) -> StepPlan:
    base: dict[str, Any] = dict(
        step_id=step.id,
        title=step.title,
        part=step.part,
        section=step.section,
        department=step.department,
        owner=step.owner,
        timing=step.timing,
    )
    reason = _skip_reason(step, scope, manifest, stage, context.effective_date or "")
    if reason:
        return StepPlan(**base, kind=StepKind.SKIPPED, reason=reason)
    if step.restore is not None:
        restore = (restores or {})[step.id]
        return StepPlan(
            **base,
            kind=StepKind.AUTOMATED,
            action="restore",
            changes=restore.changes,
            notes=restore.notes,
        )
    if step.manual is not None:
        notes = (
            (f"automation planned: {step.automation_planned}",) if step.automation_planned else ()
        )
        return StepPlan(
            **base,
            kind=StepKind.MANUAL,
            notes=notes,
            platform=step.check.connector if step.check else "",
            manual=ManualTask(step.id, _label(step), step.owner, step.manual.instructions),
        )
    assert step.action is not None
    platform = step.action.connector
    params = step_params(step.action.params, inputs)
    draft = connectors[platform].plan(
        step.action.name, params, states[platform], step.id, replace(context, states=states)
    )
    manual = (
        ManualTask(
            step.id,
            _label(step),
            step.owner,
            "The API cannot do these: do them by hand.",
            draft.manual_items,
        )
        if draft.manual_items
        else None
    )
    return StepPlan(
        **base,
        kind=StepKind.AUTOMATED,
        platform=platform,
        action=step.action.name,
        changes=draft.changes,
        manual=manual,
        notes=draft.notes,
    )


def _label(step: Step) -> str:
    return f"{step.title} [{step.part}]" if step.part else step.title


# --- plan files -------------------------------------------------------------------------------


def save_plan(plan: Plan, path: Path, key: bytes | None = None) -> Path:
    """Write the plan, signed with the workspace's key (`Store.plan_key`) when one is given; an
    unsigned plan is for review only: `apply` refuses it. The file holds client data: 0600."""
    from adoffboard import signing
    from adoffboard.files import write_private

    envelope = {} if key is None else {"signature": signing.sign_plan(key, plan)}
    return write_private(path, plan.to_json(**envelope) + "\n")


def load_plan(path: Path, key: bytes) -> Plan:
    """Read a plan file and prove it is one this workspace made, unchanged: whole (sha256) and
    signed with the workspace's key; refused otherwise (StalePlan), before anything is read."""
    from adoffboard import signing

    data = _read_plan_json(path)
    claimed, signature = data.pop("sha256"), data.pop("signature", None)
    canonical = canonical_text(data)  # once: the hash, the signature and the plan share it
    if text_hash(canonical) != claimed:
        raise StalePlan(f"plan {path} was modified after it was made (sha256 mismatch): re-plan")
    if signature is None:
        raise StalePlan(
            f"plan {path} is not signed by this workspace (it was made for review "
            "only, without the state store): re-plan with the store reachable"
        )
    if not signing.verify_text(key, canonical, signature):
        raise StalePlan(
            f"plan {path} was modified after it was made, or made by another "
            "workspace (its signature does not match this workspace's key): re-plan"
        )
    return _plan_from_body(data, str(path), canonical)


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


def _plan_from_body(body: dict[str, Any], where: str, canonical: str | None = None) -> Plan:
    try:
        return Plan.from_canonical(body, canonical)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"plan {where} is malformed: {type(exc).__name__}: {exc}") from None


def stored_plan(store: RunStore, record: RunRecord) -> Plan:
    """A run's plan as the store keeps it, refused if its signature no longer checks. (Runs
    recorded before plans were signed have none; like every plan, each of their changes is still
    checked against a fresh read of what its step would do before it is sent.)"""
    from adoffboard import signing

    plan = _plan_from_body(
        {k: v for k, v in json.loads(record.plan_json).items() if k not in ("sha256", "signature")},
        f"of run {record.id}",
    )
    if record.plan_mac and not signing.verify_plan(store.plan_key(), plan, record.plan_mac):
        raise StalePlan(
            f"the plan stored for run {record.id} is not the one that was applied "
            "(its signature does not check): it cannot be resumed; re-plan"
        )
    return plan


def check_plan_current(env: Env, plan: Plan) -> tuple[ClientManifest, LoadedRunbook]:
    manifest = env.workspace.load_client(plan.client)
    if manifest.sha256 != plan.manifest_hash:
        raise StalePlan(
            f"the manifest of {plan.client} changed since plan {plan.plan_id} was "
            "made: re-plan and review again"
        )
    book = env.runbook(plan.runbook)
    if book.sha256 != plan.runbook_hash:
        raise StalePlan(
            f"runbook {plan.runbook} changed since plan {plan.plan_id} was made "
            f"(plan: v{plan.runbook_version}, now: v{book.version}): re-plan"
        )
    return manifest, book
