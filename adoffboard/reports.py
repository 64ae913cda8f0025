"""Plan, run and verify reports: one model (`Report`), three renderings (Markdown, JSON, HTML).

Every rendering has the same order, because that is what the people reading them asked for:

1. the summary: verdict, counts per platform and action, manual tasks, drift, failures, calls;
2. every entity's before -> after, step by step in runbook order (with each outcome for a run),
   skipped steps listed with their reason;
3. the manual tasks, grouped by the role that owns them (with who attested what, for verify);
4. for verify, the checklist lines with PASS / FAIL / MANUAL-PENDING / ATTESTED / SKIPPED.

Reports render model fields only. They never see settings or credentials, so no secret can reach
a report through this module. Values that come from platforms (campaign names, error messages)
are untrusted text: HTML escapes every one with `html.escape`, Markdown backslash-escapes the
characters that would open raw HTML or break a table.

Rendering is linear in the number of changes (outcomes are indexed once, strings are joined
once), so a 5,000-change plan renders in a fraction of a second.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from adoffboard.errors import InputError
from adoffboard.files import write_private
from adoffboard.models import (
    Change,
    Check,
    CheckStatus,
    ManualTask,
    Outcome,
    OutcomeStatus,
    Report,
    ReportKind,
    StepKind,
    StepPlan,
    content_hash,
)

REPORT_FORMAT = 1  # bump when the JSON layout changes incompatibly


class Verdict(StrEnum):
    """The one line a reader looks at first. A `str`, so it compares equal to its wording."""

    PLAN = "PLAN"
    APPLIED = "APPLIED"
    APPLIED_WITH_DRIFT = "APPLIED WITH DRIFT"
    FAILED = "FAILED"
    PASS = "PASS"
    FAIL = "FAIL"
    PASS_MANUAL_PENDING = "PASS - MANUAL TASKS PENDING"


# Outcome columns in the order a reader scans them: done, nothing to do, left alone, broken.
OUTCOME_ORDER: tuple[OutcomeStatus, ...] = (
    OutcomeStatus.APPLIED,
    OutcomeStatus.ALREADY,
    OutcomeStatus.DRIFT,
    OutcomeStatus.FAILED,
    OutcomeStatus.NOT_SENT,
)
CHECK_ORDER: tuple[CheckStatus, ...] = (
    CheckStatus.PASS,
    CheckStatus.FAIL,
    CheckStatus.MANUAL_PENDING,
    CheckStatus.ATTESTED,
    CheckStatus.SKIPPED,
)


# --- the summary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCounts:
    """Changes of one platform action by what happened to them (a plan only has `planned`)."""

    platform: str
    action: str
    planned: int = 0
    applied: int = 0
    already: int = 0
    drift: int = 0
    failed: int = 0
    not_sent: int = 0

    def count(self, status: OutcomeStatus) -> int:
        return int(getattr(self, status.value.replace("-", "_")))

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "action": self.action,
            "planned": self.planned,
            **{status.value: self.count(status) for status in OUTCOME_ORDER},
        }


@dataclass(frozen=True)
class Problem:
    """One line of the drift or failures list: enough to find the entity without scrolling.

    `kind` is "drift" or "failed" (a change's outcome) or "check" (a FAIL verify line).
    """

    kind: str
    step_id: str
    step_title: str
    platform: str = ""
    account: str = ""
    entity_type: str = ""
    entity_id: str = ""
    name: str = ""
    field: str = ""
    expected: str = ""
    found: str = ""
    message: str = ""

    @property
    def subject(self) -> str:
        """What a person would call the thing: the entity, or the checklist line for a check."""
        if self.kind == "check":
            return "(verify check)"
        return f"{self.entity_type} {self.name} ({self.entity_id})"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class ManualEntry:
    """A manual task and whether someone has attested it ("" while it is pending)."""

    task: ManualTask
    attestation: str = ""

    @property
    def attested(self) -> bool:
        return bool(self.attestation)

    @property
    def status(self) -> str:
        return "attested" if self.attested else "pending"

    def to_dict(self) -> dict[str, Any]:
        return {**self.task.to_dict(), "status": self.status, "attestation": self.attestation}


@dataclass(frozen=True)
class Summary:
    """Everything the summary section shows, computed once and shared by all three renderings."""

    kind: ReportKind
    verdict: Verdict
    ran: bool  # outcomes are meaningful (a run, or a verify of a run)
    actions: tuple[ActionCounts, ...]
    totals: ActionCounts
    manual_pending: int
    manual_attested: int
    checks: dict[str, int]  # CheckStatus value -> count; every status present
    steps_skipped: int
    drift: tuple[Problem, ...]
    failures: tuple[Problem, ...]
    calls: dict[str, dict[str, int]]  # platform -> {"read": n, "write": n}

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "actions": [a.to_dict() for a in self.actions],
            "totals": self.totals.to_dict(),
            "manual_tasks": {"pending": self.manual_pending, "attested": self.manual_attested},
            "checks": dict(self.checks),
            "steps_skipped": self.steps_skipped,
            "drift": [p.to_dict() for p in self.drift],
            "failures": [p.to_dict() for p in self.failures],
            "calls": {platform: dict(kinds) for platform, kinds in self.calls.items()},
        }


def summarize(report: Report) -> Summary:
    """Count what the report says, in one pass over its changes, outcomes and checks."""
    plan = report.plan
    outcomes = _outcome_index(report)
    ran = report.kind is ReportKind.RUN or bool(report.outcomes)
    counters: dict[tuple[str, str], Counter[str]] = {}
    drift: list[Problem] = []
    failures: list[Problem] = []
    for step in plan.steps:
        for change in step.changes:
            key = (change.platform or step.platform, step.action or step.step_id)
            counter = counters.setdefault(key, Counter())
            counter["planned"] += 1
            if not ran:
                continue
            outcome = outcomes.get(change.id)
            status = outcome.status if outcome else OutcomeStatus.NOT_SENT
            counter[status.value] += 1
            if outcome and status in (OutcomeStatus.DRIFT, OutcomeStatus.FAILED):
                problem = _change_problem(step, change, outcome)
                (drift if status is OutcomeStatus.DRIFT else failures).append(problem)

    step_by_id = {s.step_id: s for s in plan.steps}
    for check in report.checks:
        if check.status is CheckStatus.FAIL:
            checked = step_by_id.get(check.step_id)
            failures.append(
                Problem(
                    kind="check",
                    step_id=check.step_id,
                    step_title=check.title,
                    platform=checked.platform if checked else "",
                    message=check.detail,
                )
            )

    actions = tuple(_counts(platform, action, c) for (platform, action), c in counters.items())
    totals = _counts("all", "all", sum(counters.values(), Counter()))
    check_counts = Counter(str(c.status) for c in report.checks)
    entries = manual_entries(report)
    pending = sum(1 for e in entries if not e.attested)
    return Summary(
        kind=report.kind,
        verdict=_verdict(report.kind, totals, check_counts, pending),
        ran=ran,
        actions=actions,
        totals=totals,
        manual_pending=pending,
        manual_attested=len(entries) - pending,
        checks={status.value: check_counts.get(status.value, 0) for status in CHECK_ORDER},
        steps_skipped=sum(1 for s in plan.steps if s.kind is StepKind.SKIPPED),
        drift=tuple(drift),
        failures=tuple(failures),
        calls=_calls(report),
    )


def manual_entries(report: Report) -> list[ManualEntry]:
    """Manual tasks in runbook order, each with its attestation if verify or a person recorded one.

    A task counts as attested if `report.attestations` names its step, or if verify marked the
    step ATTESTED (then the who/when may be unknown to this report, and it says so).
    """
    attested_by_check = {c.step_id for c in report.checks if c.status is CheckStatus.ATTESTED}
    entries = []
    for task in report.plan.manual_tasks:
        attestation = report.attestations.get(task.step_id, "")
        if not attestation and task.step_id in attested_by_check:
            attestation = "(who and when not recorded in this report)"
        entries.append(ManualEntry(task, attestation))
    return entries


def _outcome_index(report: Report) -> dict[str, Outcome]:
    """change id -> outcome; the last one wins, since a resumed run records the newest last.

    Built once because `Report.outcome_for` scans the list, which is quadratic over a big plan.
    """
    return {o.change_id: o for o in report.outcomes}


def _change_problem(step: StepPlan, change: Change, outcome: Outcome) -> Problem:
    return Problem(
        kind=str(outcome.status),
        step_id=step.step_id,
        step_title=step.title,
        platform=change.platform or step.platform,
        account=change.account,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        name=change.name,
        field=change.field,
        expected=change.shown_before,
        found="" if outcome.live is None else str(outcome.live),
        message=_outcome_message(outcome, with_live=False),
    )


def _counts(platform: str, action: str, counter: Counter[str]) -> ActionCounts:
    return ActionCounts(
        platform=platform,
        action=action,
        planned=counter["planned"],
        **{status.value.replace("-", "_"): counter[status.value] for status in OUTCOME_ORDER},
    )


def _verdict(
    kind: ReportKind, totals: ActionCounts, checks: Counter[str], manual_pending: int
) -> Verdict:
    """The report's kind decides which question the verdict answers.

    A verify report (alone, or merged with the run it checked) answers "is the end state right?",
    so its checks decide. A run report answers "did the writes go through?"; the checks it may
    carry (read before access is removed) can still make it FAILED. A change never sent
    (stopped batch, or no outcome recorded) also makes a run FAILED, so that nobody reads an
    incomplete run as done.
    """
    if kind is ReportKind.PLAN:
        return Verdict.PLAN
    failed_checks = checks[CheckStatus.FAIL.value]
    if kind is ReportKind.VERIFY:
        if failed_checks:
            return Verdict.FAIL
        if checks[CheckStatus.MANUAL_PENDING.value] or manual_pending:
            return Verdict.PASS_MANUAL_PENDING
        return Verdict.PASS
    if totals.failed or totals.not_sent or failed_checks:
        return Verdict.FAILED
    if totals.drift:
        return Verdict.APPLIED_WITH_DRIFT
    return Verdict.APPLIED


def _calls(report: Report) -> dict[str, dict[str, int]]:
    """Round trips per platform. A plan report made without counters falls back to `plan.reads`
    (the reads made while planning), since that is the only cost a dry run has."""
    if report.calls:
        return {platform: dict(kinds) for platform, kinds in sorted(report.calls.items())}
    if report.kind is ReportKind.PLAN and report.plan.reads:
        return {platform: {"read": n} for platform, n in sorted(report.plan.reads.items())}
    return {}


# --- shared view ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """What every renderer needs, computed once per report (and once for all three files)."""

    report: Report
    summary: Summary
    outcomes: dict[str, Outcome]
    manual: list[ManualEntry]
    body: dict[str, Any]  # the plan's body, for its hash and the JSON steps
    plan_sha256: str
    step_number: dict[str, int]

    @classmethod
    def of(cls, report: Report) -> _View:
        body = report.plan.body()
        return cls(
            report=report,
            summary=summarize(report),
            outcomes=_outcome_index(report),
            manual=manual_entries(report),
            body=body,
            plan_sha256=content_hash(body),
            step_number={s.step_id: i for i, s in enumerate(report.plan.steps, start=1)},
        )

    def outcome_of(self, change: Change) -> tuple[str, str]:
        """(status, message) as shown in a run report; a change without outcome was not sent."""
        outcome = self.outcomes.get(change.id)
        if outcome is None:
            return OutcomeStatus.NOT_SENT.value, "no outcome recorded"
        return outcome.status.value, _outcome_message(outcome)

    def owners(self) -> dict[str, list[ManualEntry]]:
        """Manual tasks by owner role, roles in the order the runbook first needs them."""
        groups: dict[str, list[ManualEntry]] = {}
        for entry in self.manual:
            groups.setdefault(entry.task.owner or "unassigned", []).append(entry)
        return groups

    def calls_columns(self) -> list[str]:
        """Call kinds present in the report: reads and writes first, then any other kind."""
        kinds = {kind for per in self.summary.calls.values() for kind in per}
        return [k for k in ("read", "write") if k in kinds] + sorted(kinds - {"read", "write"})

    def check_detail(self, check: Check) -> str:
        """An ATTESTED line says by whom and when, when the report knows."""
        attestation = self.report.attestations.get(check.step_id, "")
        if check.status is CheckStatus.ATTESTED and attestation and attestation not in check.detail:
            return f"{check.detail} (attested {attestation})".strip()
        return check.detail


def _call_label(kind: str) -> str:
    return {"read": "Reads", "write": "Writes"}.get(kind, kind)


def _outcome_message(outcome: Outcome, *, with_live: bool = True) -> str:
    """The platform's message, plus what a reader needs to follow up: the live value that made
    it drift (unless shown in a column of its own) and the request id of a refused write."""
    parts = [outcome.message] if outcome.message else []
    if with_live and outcome.status is OutcomeStatus.DRIFT and outcome.live is not None:
        parts.append(f"live value: {outcome.live}")
    if outcome.request_id and outcome.status is OutcomeStatus.FAILED:
        parts.append(f"request id {outcome.request_id}")
    return "; ".join(parts)


_TITLES = {
    ReportKind.PLAN: "Offboarding plan (dry run)",
    ReportKind.RUN: "Offboarding run",
    ReportKind.VERIFY: "Offboarding verification",
}


def _header_fields(view: _View) -> list[tuple[str, str]]:
    """The identification block: which client, which runbook, which plan and run."""
    report, plan = view.report, view.report.plan
    fields = [
        ("Client", f"{plan.client_name} ({plan.client})"),
        ("Runbook", f"{plan.runbook} v{plan.runbook_version}"),
        ("Scope", plan.scope),
        ("Effective date", plan.effective_date or "not set"),
        ("Plan", f"{plan.plan_id}, made {plan.created_at}"),
        ("Plan sha256", view.plan_sha256),
    ]
    if _change_request(report):
        fields.append(("Change request", _change_request(report)))
    if report.run_id:
        fields.append(("Run", report.run_id))
    if report.started_at or report.finished_at:
        fields.append(
            ("Started / finished", f"{report.started_at or '?'} / {report.finished_at or '?'}")
        )
    if report.errors:  # the run stopped short here: resume finishes it
        fields.append(("Stopped by", "; ".join(report.errors)))
    return fields


def _change_request(report: Report) -> str:
    """The change request the run carried out, or the one the plan names."""
    planned = report.plan.change_request
    return report.change_request or (planned["id"] if planned else "")


def _step_meta(step: StepPlan) -> str:
    where = " / ".join(p for p in (step.part, step.section) if p)
    doing = ".".join(p for p in (step.platform, step.action) if p)
    parts = [step.step_id, where, f"owner: {step.owner}" if step.owner else "", step.timing, doing]
    return " · ".join(p for p in parts if p)


def _step_heading(view: _View, step: StepPlan) -> str:
    return f"{view.step_number[step.step_id]}. {step.title}"


def _step_tally(view: _View, step: StepPlan) -> str:
    """One phrase per step ("3 changes: 2 applied, 1 drift"), so a long report scans by heading."""
    if step.kind is StepKind.SKIPPED:
        return "skipped"
    if not step.changes:
        return "manual" if step.kind is StepKind.MANUAL else "no changes"
    n = len(step.changes)
    tally = f"{n} change{'' if n == 1 else 's'}"
    if not view.summary.ran:
        return tally
    statuses = Counter(view.outcome_of(c)[0] for c in step.changes)
    done = ", ".join(f"{statuses[o.value]} {o.value}" for o in OUTCOME_ORDER if statuses[o.value])
    return f"{tally}: {done}"


def _manual_line(entry: ManualEntry) -> str:
    return f"attested {entry.attestation}" if entry.attested else "pending"


# --- Markdown ------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])|(?<!\w)_|_(?!\w)")


def _md(value: object) -> str:
    """Escape untrusted text for a Markdown line or table cell.

    A backslash before `<` stops raw HTML (a campaign named `<script>`), before `|` keeps the
    table's columns, before `*`, `_`, backquotes and brackets stops accidental formatting and links.
    Line breaks become spaces so that a value never ends a table row.
    """
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), str(value))
    return " ".join(text.splitlines())


def _md_row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(_md(c) for c in cells) + " |"


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    return [_md_row(header), "|" + "---|" * len(header), *(_md_row(r) for r in rows)]


def render_markdown(report: Report) -> str:
    """Markdown for tickets and chat: tables throughout, so that a big plan stays scannable."""
    return _render_markdown(_View.of(report))


def _render_markdown(view: _View) -> str:
    report = view.report
    out = [f"# {_md(_TITLES[report.kind])}: {_md(report.plan.client_name)}", ""]
    if report.kind is ReportKind.PLAN:
        out += ["*Dry run: nothing was changed anywhere.*", ""]
    out += [f"- **{_md(k)}:** {_md(v)}" for k, v in _header_fields(view)] + [""]
    out += _md_summary(view)
    out += _md_changes(view)
    out += _md_manual(view)
    if report.checks or report.kind is ReportKind.VERIFY:
        out += _md_checklist(view)
    return "\n".join(out).rstrip() + "\n"


def _md_summary(view: _View) -> list[str]:
    s = view.summary
    out = ["## Summary", "", f"**Verdict: {_md(s.verdict)}**", ""]
    header = ["Platform", "Action", "Planned"]
    if s.ran:
        header += ["Applied", "Already", "Drift", "Failed", "Not sent"]
    rows = [_action_row(a, s.ran) for a in (*s.actions, s.totals)]
    out += ["### Changes per platform and action", ""]
    out += (_md_table(header, rows) if s.actions else ["No changes."]) + [""]
    out += [
        f"**Manual tasks:** {s.manual_pending} pending, {s.manual_attested} attested.",
        "",
        f"**Skipped steps:** {s.steps_skipped} (listed below with their reason).",
        "",
    ]
    if view.report.checks or s.kind is ReportKind.VERIFY:
        counts = " · ".join(f"{status} {n}" for status, n in s.checks.items())
        out += [f"**Checklist:** {_md(counts)}", ""]
    if s.ran:  # drift is a run's notion: a verify-only report has no outcomes to drift
        out += _md_problems("Drift", s.drift)
    if s.ran or view.report.checks:
        out += _md_problems("Failures", s.failures)
    out += ["### Calls per platform", ""]
    columns = view.calls_columns()
    calls = [[p, *(per.get(k, 0) for k in columns)] for p, per in s.calls.items()]
    out += (
        _md_table(["Platform", *map(_call_label, columns)], calls) if calls else ["None recorded."]
    ) + [""]
    return out


def _action_row(a: ActionCounts, ran: bool) -> list[object]:
    row: list[object] = [a.platform, a.action, a.planned]
    return row + [a.count(status) for status in OUTCOME_ORDER] if ran else row


def _problem_row(p: Problem) -> list[str]:
    return [p.kind, p.step_title, p.platform, p.subject, p.field, p.expected, p.found, p.message]


_PROBLEM_HEADER = [
    "Kind",
    "Step",
    "Platform",
    "Entity",
    "Field",
    "Planned before",
    "Live value",
    "Detail",
]


def _md_problems(title: str, problems: Sequence[Problem]) -> list[str]:
    out = [f"### {title} ({len(problems)})", ""]
    if not problems:
        return out + ["None.", ""]
    return out + _md_table(_PROBLEM_HEADER, [_problem_row(p) for p in problems]) + [""]


_CHANGE_HEADER = ["Entity", "Type", "ID", "Account", "Field", "Before", "After"]


def _change_cells(change: Change) -> list[str]:
    return [
        change.name,
        change.entity_type,
        change.entity_id,
        change.account,
        change.field,
        change.shown_before,
        change.shown_after,
    ]


def _md_changes(view: _View) -> list[str]:
    ran = view.summary.ran
    header = _CHANGE_HEADER + (["Outcome", "Message"] if ran else [])
    out = ["## Changes, step by step", ""]
    for step in view.report.plan.steps:
        heading = f"{_step_heading(view, step)} ({_step_tally(view, step)})"
        out += [f"### {_md(heading)}", "", _md(_step_meta(step)), ""]
        if step.kind is StepKind.SKIPPED:
            out += [f"**Skipped:** {_md(step.reason or 'condition not met for this scope')}", ""]
        elif step.changes:
            rows = (
                _change_cells(c) + (list(view.outcome_of(c)) if ran else []) for c in step.changes
            )
            out += _md_table(header, rows) + [""]
        elif step.kind is StepKind.AUTOMATED:
            out += ["No changes needed.", ""]
        if step.manual is not None:
            out += [f"By hand: see Manual tasks, {_md(step.manual.owner)}.", ""]
        out += [f"- {_md(note)}" for note in step.notes] + ([""] if step.notes else [])
    return out


def _md_manual(view: _View) -> list[str]:
    out = ["## Manual tasks", ""]
    groups = view.owners()
    if not groups:
        return out + ["None.", ""]
    for owner, entries in groups.items():
        out += [f"### {_md(owner)}", ""]
        for entry in entries:
            task = entry.task
            out += [f"#### {_md(task.title)} ({_md(task.step_id)}): {_md(_manual_line(entry))}", ""]
            # Two trailing spaces: a hard line break, so the runbook's lines stay lines.
            out += [f"> {_md(line)}  " for line in task.instructions.splitlines()]
            out += [""] if task.instructions else []
            out += [f"- [{'x' if entry.attested else ' '}] {_md(item)}" for item in task.items]
            out += [""] if task.items else []
    return out


def _md_checklist(view: _View) -> list[str]:
    out = ["## Checklist", ""]
    if not view.report.checks:
        return out + ["No checks.", ""]
    header = ["#", "Checklist line", "Part", "Owner", "Status", "Detail", "Evidence"]
    rows = (
        [
            view.step_number.get(c.step_id, ""),
            c.title,
            c.part,
            c.owner,
            c.status.value,
            view.check_detail(c),
            "; ".join(c.evidence),
        ]
        for c in view.report.checks
    )
    return out + _md_table(header, rows) + [""]


# --- JSON ----------------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    """Stable, machine-readable: fixed key order, the plan's own step layout plus each outcome."""
    return _render_json(_View.of(report))


def _render_json(view: _View) -> str:
    report, plan = view.report, view.report.plan
    steps = []
    for step in view.body["steps"]:
        changes = [
            {**change, "outcome": _outcome_dict(view.outcomes.get(change["id"]))}
            for change in step["changes"]
        ]
        steps.append({**step, "number": view.step_number[step["step_id"]], "changes": changes})
    document = {
        "report_format": REPORT_FORMAT,
        "kind": report.kind.value,
        "client": plan.client,
        "client_name": plan.client_name,
        "runbook": plan.runbook,
        "runbook_version": plan.runbook_version,
        "scope": plan.scope,
        "effective_date": plan.effective_date,
        "plan_id": plan.plan_id,
        "plan_sha256": view.plan_sha256,
        "change_request": _change_request(report),
        "plan_created_at": plan.created_at,
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "summary": view.summary.to_dict(),
        "steps": steps,
        "manual_tasks": [e.to_dict() for e in _grouped(view)],
        "checks": [{**c.to_dict(), "detail": view.check_detail(c)} for c in report.checks],
        "attestations": dict(report.attestations),
        "errors": list(report.errors),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def _outcome_dict(outcome: Outcome | None) -> dict[str, Any] | None:
    return outcome.to_dict() if outcome else None


def _grouped(view: _View) -> list[ManualEntry]:
    return [entry for entries in view.owners().values() for entry in entries]


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
:root { --ok:#1a7f37; --ok-bg:#dafbe1; --warn:#9a6700; --warn-bg:#fff8c5; --bad:#cf222e;
  --bad-bg:#ffebe9; --info:#0550ae; --info-bg:#ddf4ff; --muted:#57606a; --muted-bg:#f6f8fa;
  --line:#d0d7de; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color:#1f2328;
  margin: 0 auto; padding: 1.5rem; max-width: 110rem; }
h1 { margin: 0 0 .5rem; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
nav a { margin-right: 1rem; }
.dry { background: var(--info-bg); color: var(--info); padding: .4rem .8rem; border-radius: 6px; }
.verdict { font-size: 1.4rem; font-weight: 700; padding: .5rem 1rem; border-radius: 6px;
  display: inline-block; }
table { border-collapse: separate; border-spacing: 0; margin: .5rem 0 1rem; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .5rem; text-align: left;
  vertical-align: top; }
th { position: sticky; top: 0; background: var(--muted-bg); z-index: 1; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; }
.st { font-weight: 600; padding: 0 .4rem; border-radius: 4px; white-space: nowrap; }
.st-applied, .st-pass, .st-attested, .v-pass, .v-applied {
  color: var(--ok); background: var(--ok-bg); }
.st-already, .st-skipped, .st-plan, .v-plan { color: var(--muted); background: var(--muted-bg); }
.st-drift, .st-manual-pending, .st-pending, .v-applied-with-drift, .v-pass-manual-tasks-pending {
  color: var(--warn); background: var(--warn-bg); }
.st-failed, .st-fail, .st-not-sent, .st-check, .v-failed, .v-fail {
  color: var(--bad); background: var(--bad-bg); }
.step { margin: 1rem 0; } .step summary { cursor: pointer; font-weight: 600; font-size: 1.05rem; }
.stepmeta { color: var(--muted); font-size: .9em; }
.instructions { white-space: pre-line; border-left: 3px solid var(--line); padding-left: .8rem; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _slug(value: str) -> str:
    """A CSS class from a status or verdict, so that colour follows the status."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _badge(status: str) -> str:
    return f'<span class="st st-{_slug(status)}">{_e(status)}</span>'


def _html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: frozenset[int] = frozenset(),
    total_last: bool = False,
) -> str:
    """`rows` hold HTML already escaped (cells may carry a badge); header labels are escaped here.

    Numeric columns align right so that counts line up; `total_last` sets off a totals row.
    """

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(header))
    body = [
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    ]
    if total_last and body:
        body[-1] = '<tr class="total">' + body[-1].removeprefix("<tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(report: Report) -> str:
    """One self-contained page: inline CSS, no script, no external asset (mailable, archivable)."""
    return _render_html(_View.of(report))


def _render_html(view: _View) -> str:
    report = view.report
    title = f"{_TITLES[report.kind]}: {report.plan.client_name}"
    show_checks = bool(report.checks) or report.kind is ReportKind.VERIFY
    nav = ["summary", "changes", "manual"] + (["checklist"] if show_checks else [])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No script can run even if a value slipped through unescaped.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
    ]
    if report.kind is ReportKind.PLAN:
        parts.append('<p class="dry">Dry run: nothing was changed anywhere.</p>')
    parts.append(
        '<dl class="meta">'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _header_fields(view))
        + "</dl>"
    )
    parts.append("<nav>" + "".join(f'<a href="#{n}">{_e(n.title())}</a>' for n in nav) + "</nav>")
    parts.append("</header>")
    parts += _html_summary(view)
    parts += _html_changes(view)
    parts += _html_manual(view)
    if show_checks:
        parts += _html_checklist(view)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_summary(view: _View) -> list[str]:
    s = view.summary
    out = [
        '<section id="summary"><h2>Summary</h2>',
        f'<p class="verdict v-{_slug(s.verdict)}">{_e(s.verdict)}</p>',
        "<h3>Changes per platform and action</h3>",
    ]
    if s.actions:
        header = ["Platform", "Action", "Planned"]
        if s.ran:
            header += ["Applied", "Already", "Drift", "Failed", "Not sent"]
        rows = [[_e(c) for c in _action_row(a, s.ran)] for a in (*s.actions, s.totals)]
        numeric = frozenset(range(2, len(header)))
        out.append(_html_table(header, rows, numeric, total_last=True))
    else:
        out.append("<p>No changes.</p>")
    out.append(
        f"<p><strong>Manual tasks:</strong> {s.manual_pending} pending, "
        f"{s.manual_attested} attested. <strong>Skipped steps:</strong> {s.steps_skipped} "
        "(listed below with their reason).</p>"
    )
    if view.report.checks or s.kind is ReportKind.VERIFY:
        counts = " ".join(f"{_badge(status)} {n}" for status, n in s.checks.items())
        out.append(f"<p><strong>Checklist:</strong> {counts}</p>")
    if s.ran:
        out += _html_problems("Drift", s.drift)
    if s.ran or view.report.checks:
        out += _html_problems("Failures", s.failures)
    out.append("<h3>Calls per platform</h3>")
    columns = view.calls_columns()
    if s.calls:
        rows = [[_e(p), *(_e(per.get(k, 0)) for k in columns)] for p, per in s.calls.items()]
        out.append(
            _html_table(
                ["Platform", *map(_call_label, columns)],
                rows,
                frozenset(range(1, len(columns) + 1)),
            )
        )
    else:
        out.append("<p>None recorded.</p>")
    out.append("</section>")
    return out


def _html_problems(title: str, problems: Sequence[Problem]) -> list[str]:
    out = [f"<h3>{_e(title)} ({len(problems)})</h3>"]
    if not problems:
        return out + ["<p>None.</p>"]
    rows = ([_badge(p.kind), *(_e(c) for c in _problem_row(p)[1:])] for p in problems)
    return out + [_html_table(_PROBLEM_HEADER, rows)]


def _html_changes(view: _View) -> list[str]:
    ran = view.summary.ran
    header = _CHANGE_HEADER + (["Outcome", "Message"] if ran else [])
    out = ['<section id="changes"><h2>Changes, step by step</h2>']
    for step in view.report.plan.steps:
        label = _step_tally(view, step)
        out.append(
            f'<details class="step" id="step-{_e(step.step_id)}" open><summary>'
            f'{_e(_step_heading(view, step))} <span class="stepmeta">({_e(label)})</span>'
            f'</summary><p class="stepmeta">{_e(_step_meta(step))}</p>'
        )
        if step.kind is StepKind.SKIPPED:
            reason = step.reason or "condition not met for this scope"
            out.append(f"<p>{_badge('skipped')} {_e(reason)}</p>")
        elif step.changes:
            out.append(_html_table(header, (_html_change_row(view, c, ran) for c in step.changes)))
        elif step.kind is StepKind.AUTOMATED:
            out.append("<p>No changes needed.</p>")
        if step.manual is not None:
            out.append(f"<p>By hand: see Manual tasks, {_e(step.manual.owner)}.</p>")
        if step.notes:
            out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in step.notes) + "</ul>")
        out.append("</details>")
    out.append("</section>")
    return out


def _html_change_row(view: _View, change: Change, ran: bool) -> list[str]:
    cells = [_e(c) for c in _change_cells(change)]
    if ran:
        status, message = view.outcome_of(change)
        cells += [_badge(status), _e(message)]
    return cells


def _html_manual(view: _View) -> list[str]:
    out = ['<section id="manual"><h2>Manual tasks</h2>']
    groups = view.owners()
    if not groups:
        out.append("<p>None.</p>")
    for owner, entries in groups.items():
        out.append(f"<h3>{_e(owner)}</h3>")
        for entry in entries:
            task = entry.task
            out.append(
                f'<h4>{_e(task.title)} <span class="stepmeta">({_e(task.step_id)})</span> '
                f"{_badge(entry.status)}"
                + (f" {_e(entry.attestation)}" if entry.attested else "")
                + "</h4>"
            )
            if task.instructions:
                out.append(f'<p class="instructions">{_e(task.instructions)}</p>')
            if task.items:
                out.append("<ul>" + "".join(f"<li>{_e(i)}</li>" for i in task.items) + "</ul>")
    out.append("</section>")
    return out


def _html_checklist(view: _View) -> list[str]:
    out = ['<section id="checklist"><h2>Checklist</h2>']
    if not view.report.checks:
        return out + ["<p>No checks.</p>", "</section>"]
    header = ["#", "Checklist line", "Part", "Owner", "Status", "Detail", "Evidence"]
    rows = (
        [
            _e(view.step_number.get(c.step_id, "")),
            _e(c.title),
            _e(c.part),
            _e(c.owner),
            _badge(c.status.value),
            _e(view.check_detail(c)),
            "<br>".join(_e(x) for x in c.evidence),
        ]
        for c in view.report.checks
    )
    return out + [_html_table(header, rows), "</section>"]


# --- files ---------------------------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def default_stem(report: Report) -> str:
    """`<client>-<kind>-<run id or plan id>`, reduced to characters safe in any file name."""
    raw = f"{report.plan.client}-{report.kind.value}-{report.run_id or report.plan.plan_id}"
    return _UNSAFE_IN_NAME.sub("-", raw).strip("-.") or "report"


def write_reports(report: Report, directory: Path, stem: str | None = None) -> dict[str, Path]:
    """Write `<stem>.md`, `.json` and `.html` into `directory` (created if needed).

    Each file is written to a temporary name and renamed, so a crash never leaves a half report
    that looks whole; files are 0600 and new folders 0700 (`adoffboard.files`): reports name the
    client's accounts. A `stem` with a path separator is refused: reports stay in `directory`.
    """
    name = stem if stem is not None else default_stem(report)
    if not name or Path(name).name != name or name in (".", ".."):
        raise InputError(f"report stem must be a plain file name, got {name!r}")
    directory = Path(directory)
    view = _View.of(report)
    rendered = {
        "md": _render_markdown(view),
        "json": _render_json(view),
        "html": _render_html(view),
    }
    paths = {}
    for suffix, text in rendered.items():
        path = directory / f"{name}.{suffix}"
        try:
            write_private(path, text)
        except OSError as exc:
            raise InputError(f"cannot write report {path}: {exc.strerror or exc} (check "
                             "[workspace] reports_dir)") from exc
        paths[suffix] = path
    return paths
