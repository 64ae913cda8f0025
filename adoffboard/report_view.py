"""What a report shows, as plain values: the view the templates and the JSON document render.

`ReportView` is computed once per report (and once for all three files). It holds no markup:
every string it returns is the text a reader sees, and each template escapes it for its own
format (HTML entities, Markdown backslashes). Table rows are lists of cells in column order; the
templates decide which column is a status badge and how a list cell (evidence) is joined.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from adoffboard.models import (
    Change,
    Check,
    CheckStatus,
    Outcome,
    OutcomeStatus,
    Report,
    ReportKind,
    StepKind,
    StepPlan,
)
from adoffboard.report_summary import (
    OUTCOME_ORDER,
    ActionCounts,
    ManualEntry,
    Problem,
    Summary,
    manual_entries,
    outcome_index,
    outcome_message,
    summarize,
)

REPORT_FORMAT = 1  # bump when the JSON layout changes incompatibly

TITLES = {
    ReportKind.PLAN: "Offboarding plan (dry run)",
    ReportKind.RUN: "Offboarding run",
    ReportKind.VERIFY: "Offboarding verification",
}

PROBLEM_HEADER = (
    "Kind",
    "Step",
    "Platform",
    "Entity",
    "Field",
    "Planned before",
    "Live value",
    "Detail",
)
CHANGE_HEADER = ("Entity", "Type", "ID", "Account", "Field", "Before", "After")
OUTCOME_HEADER = ("Outcome", "Message")
CHECKLIST_HEADER = ("#", "Checklist line", "Part", "Owner", "Status", "Detail", "Evidence")
ACTION_HEADER = ("Platform", "Action", "Planned")
ACTION_OUTCOME_HEADER = ("Applied", "Already", "Drift", "Failed", "Not sent")
CALL_LABELS = {"read": "Reads", "write": "Writes", "throttled_s": "Throttle wait (s)"}
SKIPPED_WITHOUT_REASON = "condition not met for this scope"

Cell = str | int | tuple[str, ...]


@dataclass(frozen=True)
class ReportView:
    """What every renderer needs, computed once per report (and once for all three files)."""

    report: Report
    summary: Summary
    outcomes: dict[str, Outcome]
    manual: list[ManualEntry]
    plan_sha256: str
    step_number: dict[str, int]

    @cached_property
    def body(self) -> dict[str, Any]:
        """The plan's body, for the JSON steps: built only by the JSON renderer (a summary on
        the terminal, Markdown and HTML have no use for it)."""
        return self.report.plan.body()

    problem_header: ClassVar[tuple[str, ...]] = PROBLEM_HEADER
    checklist_header: ClassVar[tuple[str, ...]] = CHECKLIST_HEADER

    @classmethod
    def of(cls, report: Report) -> ReportView:
        return cls(
            report=report,
            summary=summarize(report),
            outcomes=outcome_index(report),
            manual=manual_entries(report),
            plan_sha256=report.plan.content_hash,
            step_number={s.step_id: i for i, s in enumerate(report.plan.steps, start=1)},
        )

    # --- the header --------------------------------------------------------------------------

    @property
    def kind_title(self) -> str:
        return TITLES[self.report.kind]

    @property
    def is_plan(self) -> bool:
        """A dry run: the page says so at the top, since nothing was changed anywhere."""
        return self.report.kind is ReportKind.PLAN

    @property
    def shows_checks(self) -> bool:
        """A verify report always has a checklist section, even an empty one; others when they
        carry checks (a run reads some before access is removed)."""
        return bool(self.report.checks) or self.report.kind is ReportKind.VERIFY

    @property
    def sections(self) -> list[str]:
        """The page's sections in reading order (their anchors in HTML)."""
        return ["summary", "changes", "manual"] + (["checklist"] if self.shows_checks else [])

    def header_fields(self) -> list[tuple[str, str]]:
        """The identification block: which client, which runbook, which plan and run."""
        report, plan = self.report, self.report.plan
        fields = [
            ("Client", f"{plan.client_name} ({plan.client})"),
            ("Runbook", f"{plan.runbook} v{plan.runbook_version}"),
            ("Scope", plan.scope),
            ("Effective date", plan.effective_date or "not set"),
            ("Plan", f"{plan.plan_id}, made {plan.created_at}"),
            ("Plan sha256", self.plan_sha256),
        ]
        if self.change_request:
            fields.append(("Change request", self.change_request))
        if report.run_id:
            fields.append(("Run", report.run_id))
        if report.started_at or report.finished_at:
            fields.append(
                ("Started / finished", f"{report.started_at or '?'} / {report.finished_at or '?'}")
            )
        if report.errors:  # the run stopped short here: resume finishes it
            fields.append(("Stopped by", "; ".join(report.errors)))
        return fields

    @property
    def change_request(self) -> str:
        """The change request the run carried out, or the one the plan names."""
        planned = self.report.plan.change_request
        return self.report.change_request or (planned["id"] if planned else "")

    # --- the summary -------------------------------------------------------------------------

    def action_header(self) -> list[str]:
        ran = ACTION_OUTCOME_HEADER if self.summary.ran else ()
        return [*ACTION_HEADER, *ran]

    def action_rows(self) -> list[list[Cell]]:
        """One row per platform action, then the totals row."""
        s = self.summary
        return [_action_row(a, s.ran) for a in (*s.actions, s.totals)]

    @property
    def shows_drift(self) -> bool:
        """Drift is a run's notion: a verify-only report has no outcomes to drift."""
        return self.summary.ran

    @property
    def shows_failures(self) -> bool:
        return self.summary.ran or bool(self.report.checks)

    def problem_lists(self) -> list[tuple[str, tuple[Problem, ...]]]:
        """The drift and failures lists this report shows, each under its own heading."""
        drift = [("Drift", self.summary.drift)] if self.shows_drift else []
        failures = [("Failures", self.summary.failures)] if self.shows_failures else []
        return drift + failures

    def problem_rows(self, problems: tuple[Problem, ...]) -> list[list[Cell]]:
        return [
            [p.kind, p.step_title, p.platform, p.subject, p.field, p.expected, p.found, p.message]
            for p in problems
        ]

    def calls_columns(self) -> list[str]:
        """Call kinds present in the report: reads and writes first, then any other kind."""
        kinds = {kind for per in self.summary.calls.values() for kind in per}
        return [k for k in ("read", "write") if k in kinds] + sorted(kinds - {"read", "write"})

    def calls_header(self) -> list[str]:
        return ["Platform", *(CALL_LABELS.get(k, k) for k in self.calls_columns())]

    def calls_rows(self) -> list[list[Cell]]:
        columns = self.calls_columns()
        return [
            [platform, *(per.get(k, 0) for k in columns)]
            for platform, per in self.summary.calls.items()
        ]

    # --- the changes -------------------------------------------------------------------------

    def change_header(self) -> list[str]:
        return [*CHANGE_HEADER, *(OUTCOME_HEADER if self.summary.ran else ())]

    def change_rows(self, step: StepPlan) -> list[list[Cell]]:
        """Before -> after per change; a run adds its outcome and message."""
        ran = self.summary.ran
        return [_change_cells(c) + (list(self.outcome_of(c)) if ran else []) for c in step.changes]

    def outcome_of(self, change: Change) -> tuple[str, str]:
        """(status, message) as shown in a run report; a change without outcome was not sent."""
        outcome = self.outcomes.get(change.id)
        if outcome is None:
            return OutcomeStatus.NOT_SENT.value, "no outcome recorded"
        return outcome.status.value, outcome_message(outcome)

    def step_heading(self, step: StepPlan) -> str:
        return f"{self.step_number[step.step_id]}. {step.title}"

    def step_tally(self, step: StepPlan) -> str:
        """One phrase per step ("3 changes: 2 applied, 1 drift"), so a long report scans by
        heading."""
        if step.kind is StepKind.SKIPPED:
            return "skipped"
        if not step.changes:
            return "manual" if step.kind is StepKind.MANUAL else "no changes"
        n = len(step.changes)
        tally = f"{n} change{'' if n == 1 else 's'}"
        if not self.summary.ran:
            return tally
        statuses = Counter(self.outcome_of(c)[0] for c in step.changes)
        done = ", ".join(
            f"{statuses[o.value]} {o.value}" for o in OUTCOME_ORDER if statuses[o.value]
        )
        return f"{tally}: {done}"

    @staticmethod
    def step_meta(step: StepPlan) -> str:
        where = " / ".join(p for p in (step.part, step.section) if p)
        doing = ".".join(p for p in (step.platform, step.action) if p)
        parts = [
            step.step_id,
            where,
            f"owner: {step.owner}" if step.owner else "",
            step.timing,
            doing,
        ]
        return " · ".join(p for p in parts if p)

    @staticmethod
    def skip_reason(step: StepPlan) -> str:
        return step.reason or SKIPPED_WITHOUT_REASON

    # --- manual tasks and the checklist -----------------------------------------------------

    def owners(self) -> dict[str, list[ManualEntry]]:
        """Manual tasks by owner role, roles in the order the runbook first needs them."""
        groups: dict[str, list[ManualEntry]] = {}
        for entry in self.manual:
            groups.setdefault(entry.task.owner or "unassigned", []).append(entry)
        return groups

    @staticmethod
    def manual_line(entry: ManualEntry) -> str:
        return f"attested {entry.attestation}" if entry.attested else "pending"

    def check_detail(self, check: Check) -> str:
        """An ATTESTED line says by whom and when, when the report knows."""
        attestation = self.report.attestations.get(check.step_id, "")
        if check.status is CheckStatus.ATTESTED and attestation and attestation not in check.detail:
            return f"{check.detail} (attested {attestation})".strip()
        return check.detail

    def checklist_rows(self) -> list[list[Cell]]:
        """The last cell is the evidence, a tuple each format joins its own way."""
        return [
            [
                self.step_number.get(c.step_id, ""),
                c.title,
                c.part,
                c.owner,
                c.status.value,
                self.check_detail(c),
                c.evidence,
            ]
            for c in self.report.checks
        ]

    # --- JSON ---------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        """The JSON report: fixed key order, the plan's own step layout plus each outcome."""
        report, plan = self.report, self.report.plan
        steps = []
        for step in self.body["steps"]:
            changes = [
                {**change, "outcome": _outcome_dict(self.outcomes.get(change["id"]))}
                for change in step["changes"]
            ]
            steps.append({**step, "number": self.step_number[step["step_id"]], "changes": changes})
        return {
            "report_format": REPORT_FORMAT,
            "kind": report.kind.value,
            "client": plan.client,
            "client_name": plan.client_name,
            "runbook": plan.runbook,
            "runbook_version": plan.runbook_version,
            "scope": plan.scope,
            "effective_date": plan.effective_date,
            "plan_id": plan.plan_id,
            "plan_sha256": self.plan_sha256,
            "change_request": self.change_request,
            "plan_created_at": plan.created_at,
            "run_id": report.run_id,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "summary": self.summary.to_dict(),
            "steps": steps,
            "manual_tasks": [e.to_dict() for entries in self.owners().values() for e in entries],
            "checks": [{**c.to_dict(), "detail": self.check_detail(c)} for c in report.checks],
            "attestations": dict(report.attestations),
            "errors": list(report.errors),
        }


def _action_row(a: ActionCounts, ran: bool) -> list[Cell]:
    row: list[Cell] = [a.platform, a.action, a.planned]
    return row + [a.count(status) for status in OUTCOME_ORDER] if ran else row


def _change_cells(change: Change) -> list[Cell]:
    return [
        change.name,
        change.entity_type,
        change.entity_id,
        change.account,
        change.field,
        change.shown_before,
        change.shown_after,
    ]


def _outcome_dict(outcome: Outcome | None) -> dict[str, Any] | None:
    return outcome.to_dict() if outcome else None
