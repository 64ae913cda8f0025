"""The summary every report opens with, counted once from the `Report` model.

The verdict, the counts per platform and action, the drift and failures lists, the manual tasks
with their attestations and the calls per platform are computed here, in one pass, and shared by
every rendering (Markdown, HTML, JSON) so that they can never disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from adoffboard.models import (
    Change,
    CheckStatus,
    ManualTask,
    Outcome,
    OutcomeStatus,
    Report,
    ReportKind,
    StepKind,
    StepPlan,
)


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
        """The fields as they are (all text): `asdict` would deep-copy each, for every drifted
        or failed change of a run."""
        return {name: getattr(self, name) for name in _PROBLEM_FIELDS}


_PROBLEM_FIELDS = tuple(Problem.__dataclass_fields__)


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
    outcomes = outcome_index(report)
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
    step ATTESTED (then the who/when may be unknown to this report, and it says so). A manual
    step verify judged PASS or SKIPPED was settled without a person's attestation (by the change
    request's own history: who approved it and when, or why it does not apply), and says so.
    """
    attested_by_check = {c.step_id for c in report.checks if c.status is CheckStatus.ATTESTED}
    settled = {
        c.step_id: c.detail if c.status is CheckStatus.PASS else f"not needed: {c.detail}"
        for c in report.checks
        if c.status in (CheckStatus.PASS, CheckStatus.SKIPPED)
    }
    entries = []
    for task in report.plan.manual_tasks:
        attestation = report.attestations.get(task.step_id, "") or settled.get(task.step_id, "")
        if not attestation and task.step_id in attested_by_check:
            attestation = "(who and when not recorded in this report)"
        entries.append(ManualEntry(task, attestation))
    return entries


def outcome_index(report: Report) -> dict[str, Outcome]:
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
        message=outcome_message(outcome, with_live=False),
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


def outcome_message(outcome: Outcome, *, with_live: bool = True) -> str:
    """The platform's message, plus what a reader needs to follow up: the live value that made
    it drift (unless shown in a column of its own) and the request id of a refused write."""
    parts = [outcome.message] if outcome.message else []
    if with_live and outcome.status is OutcomeStatus.DRIFT and outcome.live is not None:
        parts.append(f"live value: {outcome.live}")
    if outcome.request_id and outcome.status is OutcomeStatus.FAILED:
        parts.append(f"request id {outcome.request_id}")
    return "; ".join(parts)
