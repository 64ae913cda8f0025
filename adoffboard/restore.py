"""Exact restore: put back what a run changed, only where the live value is still ours.

A run's snapshots hold, for every field it changed, the value before (what restore puts back) and
the value it wrote. Restoring builds the inverse changes (before = what the run wrote, after = the
snapshot's before) and applies them like any plan: the connectors' drift check sends a write only
where the live value still equals what adoffboard wrote, and reports every other one as DRIFT,
left alone. Removals of the agency's own access are never restored (re-granting access is the
client's decision): they are listed as notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adoffboard.errors import InputError, NotFound
from adoffboard.models import Change, CheckStatus, Phase
from adoffboard.records import APPLIED_STATUSES

RESTORABLE_STATUSES = ("applied", "applied-with-drift", "failed")
# A restoring run (an un-pause) in one of these put its runs' values back: a later restore of
# the case starts after it. A failed one did not: restoring again retries it.
RESTORED = APPLIED_STATUSES
RESTORE_PREFIX = "restore:"  # the id of every inverse change
# Actions whose changes record what was done (a row appended to a tracker, e.g. the planner's):
# a restore keeps them, and says so.
RECORD_ACTIONS = frozenset({"append_row"})


def is_restore(change: Change) -> bool:
    """Whether a change puts back a value a run changed (an inverse change)."""
    return change.id.startswith(RESTORE_PREFIX)


@dataclass(frozen=True)
class RestoreSet:
    run_id: str
    runbook: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...]


def target_runs(
    store: Any, client: str, *, runbook: str = "", run_id: str = "", change_request: str = ""
) -> list[Any]:
    """The runs a restore puts back, oldest first.

    A run of a change request belongs to its case: restoring it (or un-pausing the case) puts
    back what every run of the same runbook in the case changed since the case was last
    restored, whoever made them, so that a second pause run (which found nothing left to change,
    or paused again what someone had restarted) never hides the original values. Without a
    change request: the run named, else the client's latest applied run of `runbook`."""
    if run_id:
        record = store.run(run_id)
        if record.client != client:
            raise InputError(f"run {run_id} is for client {record.client}, not {client}")
        if not record.change_request:
            return [record]
        found = case_runs(store, record.change_request, record.runbook)
        return found if any(r.id == record.id for r in found) else [record]
    if change_request:
        found = [r for r in case_runs(store, change_request, runbook) if r.client == client]
        if not found:
            raise NotFound(f"{change_request} has no applied {runbook} run to restore")
        return found
    for record in store.runs(client, limit=1000):  # newest first
        if record.runbook == runbook and record.status in RESTORABLE_STATUSES:
            return [record]
    raise NotFound(f"{client} has no applied {runbook} run to restore")


def case_runs(store: Any, change_request: str, runbook: str) -> list[Any]:
    """The applied runs of `runbook` made for `change_request`, oldest first, since the last run
    of the case that restored them (an un-pause, a restore) completely."""
    found: list[Any] = []
    for record in store.request_runs(change_request):
        if record.runbook == runbook and record.status in RESTORABLE_STATUSES:
            found.append(record)
        elif record.status in RESTORED and record.plan().restores_run:
            found = [r for r in found if r.id not in record.plan().restores_run.split(",")]
    return found


def inverse_changes(store: Any, records: Any, step_id: str) -> RestoreSet:
    """The changes that put back what `records` (one run, or a case's runs oldest first)
    changed: for each field, its value before the first run that changed it, expected to be
    what the last of them wrote."""
    from adoffboard.connectors import REGISTRY

    runs = [records] if not isinstance(records, list | tuple) else list(records)
    actions = {(r.id, st.step_id): st.action for r in runs for st in r.plan().steps}
    firsts: dict[tuple[str, ...], tuple[Any, Change, Any]] = {}  # key -> (run, change, before)
    lasts: dict[tuple[str, ...], tuple[Change, Any]] = {}  # key -> (change, what it wrote)
    for record in runs:
        planned = {c.id: c for c in record.plan().changes}
        for snap in store.snapshots(record.id):
            original = planned.get(snap.change_id)
            if original is None:
                continue
            key = (
                original.platform,
                original.account,
                original.entity_type,
                original.entity_id,
                original.field,
            )
            firsts.setdefault(key, (record, original, snap.before))
            lasts[key] = (original, snap.after)
    changes: list[Change] = []
    notes: list[str] = []
    unsupported: dict[tuple[str, str], int] = {}  # (platform, entity type if partly) -> count
    records_kept = 0  # tracker rows a run appended: its record (the planner row), not undone
    for field_key, (record, original, before) in firsts.items():
        last, wrote = lasts[field_key]
        entry = REGISTRY.get(original.platform)
        if actions.get((record.id, original.step_id)) in RECORD_ACTIONS:
            records_kept += 1
            continue
        if entry is None or not entry.restores(original):
            kind = original.entity_type if entry is not None and entry.restorable else ""
            unsupported[(original.platform, kind)] = (
                unsupported.get((original.platform, kind), 0) + 1
            )
            continue
        if original.phase == Phase.ACCESS:
            notes.append(
                f"not restored: {original.name} {original.field} (the agency's access "
                "was removed; re-granting it is the client's decision)"
            )
            continue
        changes.append(
            Change(
                id=f"{RESTORE_PREFIX}{record.id}:{original.id}",
                step_id=step_id,
                platform=original.platform,
                account=original.account,
                entity_type=original.entity_type,
                entity_id=original.entity_id,
                name=original.name,
                field=original.field,
                before=wrote,
                after=before,
                shown_before=last.shown_after,
                shown_after=original.shown_before,
                phase=original.phase,
                resource=original.resource,
            )
        )
    for (platform, kind), count in sorted(unsupported.items()):
        title = REGISTRY[platform].title if platform in REGISTRY else platform
        if kind:
            only = ", ".join(sorted(REGISTRY[platform].restorable_entities))
            notes.append(
                f"not restored: {count} {kind} change(s) on {title} (adoffboard restores "
                f"only {only} values there; the run's report lists them to put back "
                "by hand)"
            )
        else:
            notes.append(
                f"not restored: {count} change(s) on {title} (adoffboard does not "
                f"restore {title}; the run's report lists them to put back by hand)"
            )
    if records_kept:
        notes.append(
            f"kept: {records_kept} tracker row(s) the run appended (its record, such as the "
            "planner row: not undone)"
        )
    notes.insert(0, _restores_note(runs, len(changes)))
    ids = ",".join(r.id for r in runs)
    return RestoreSet(ids, runs[-1].runbook if runs else "", tuple(changes), tuple(notes))


def refuse_without_access(store: Any, records: Any, restore: RestoreSet) -> None:
    """A restore is refused (NotPermitted, nothing read or sent) where a run removed the agency's
    own access: adoffboard can no longer read or change that account, and re-granting the
    access is the client's decision. Once access is granted again, the restore can be made."""
    from adoffboard.connectors import REGISTRY
    from adoffboard.errors import NotPermitted

    runs = [records] if not isinstance(records, list | tuple) else list(records)
    lost: dict[tuple[str, str], str] = {}
    for record in runs:
        planned = {c.id: c for c in record.plan().changes}
        for snap in store.snapshots(record.id):
            change = planned.get(snap.change_id)
            if change is not None and change.phase == Phase.ACCESS:
                lost[(change.platform, change.account)] = record.id
    blocked = sorted({(c.platform, c.account) for c in restore.changes} & set(lost))
    if blocked:
        where = ", ".join(
            f"{REGISTRY[p].title if p in REGISTRY else p} {account} (run {lost[(p, account)]})"
            for p, account in blocked
        )
        raise NotPermitted(
            f"the agency's access was removed on {where}: adoffboard can no longer read or "
            "change it there, so the restore is refused; once the client grants the access "
            f"again, `adoffboard restore {runs[-1].id} --as PERSON` can put the values back"
        )


def _restores_note(runs: list[Any], count: int) -> str:
    if len(runs) == 1:
        r = runs[0]
        return (
            f"restores run {r.id} ({r.runbook} v{r.runbook_version}, {r.started_at}): "
            f"{count} value(s)"
        )
    listed = ", ".join(f"{r.id} ({r.started_by or 'unknown'}, {r.started_at})" for r in runs)
    return (
        f"restores {len(runs)} {runs[0].runbook} runs of {runs[0].change_request}, each "
        f"field to its value before the first run that changed it: {listed}: {count} value(s)"
    )


def judge(
    changes: Sequence[Change], live: Mapping[str, Any], same: Callable[[Change, Any, Any], bool]
) -> tuple[CheckStatus, str, tuple[str, ...]]:
    """Verify a restore from freshly read values: restored, still ours, or someone else's
    (`same` is the connector's own comparison, e.g. BudgetPaused counts as Active)."""
    restored, still_ours, theirs = [], [], []
    for ch in changes:
        value = live.get(ch.id)
        if same(ch, value, ch.after):
            restored.append(ch)
        elif same(ch, value, ch.before):
            still_ours.append(ch)
        else:
            theirs.append((ch, value))
    evidence = tuple(
        [f"not restored: {c.name} {c.field} is still {c.shown_before}" for c in still_ours]
        + [
            f"left alone: {c.name} {c.field} was changed by someone else to {v!r} "
            f"(adoffboard had set {c.shown_before})"
            for c, v in theirs
        ]
    )
    detail = f"{len(restored)} of {len(changes)} value(s) restored"
    if still_ours:
        return (
            CheckStatus.FAIL,
            f"{detail}; {len(still_ours)} still as adoffboard set them",
            evidence,
        )
    if theirs:
        return (
            CheckStatus.MANUAL_PENDING,
            (f"{detail}; {len(theirs)} changed by someone else since and left alone: review them"),
            evidence,
        )
    return CheckStatus.PASS, detail, evidence
