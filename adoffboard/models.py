"""Values that flow between planning, applying, verifying and reporting.

All frozen: a plan, once made, is a document; applying it produces outcomes, never edits it.
Every value converts to and from plain JSON types so that plans and runs can be saved, hashed,
stored and rendered by one model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any


class Phase(StrEnum):
    """When a change runs relative to the others of its platform."""

    ADS = "ads"  # stop spend: pause, budgets
    VISIBILITY = "visibility"  # hide the account in the agency's tools
    ACCESS = "access"  # remove the agency's own access: last, after verification reads


PHASE_ORDER = {Phase.ADS: 0, Phase.VISIBILITY: 1, Phase.ACCESS: 2}


class StepKind(StrEnum):
    AUTOMATED = "automated"
    MANUAL = "manual"
    SKIPPED = "skipped"  # the step's condition does not hold for this scope


class OutcomeStatus(StrEnum):
    APPLIED = "applied"  # the platform accepted the write
    ALREADY = "already"  # live value already equals the planned after-value; nothing sent
    DRIFT = "drift"  # live value differs from the plan's before-value; left alone
    FAILED = "failed"  # the platform refused the write
    NOT_SENT = "not-sent"  # never sent (an earlier failure stopped the batch)


class CheckStatus(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    MANUAL_PENDING = "MANUAL-PENDING"
    ATTESTED = "ATTESTED"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Change:
    """One field of one entity, from `before` to `after`.

    `before`/`after` are the platform's raw values (e.g. micros); `shown_before`/`shown_after`
    are what people read (e.g. "$25.00/day"). `id` is stable across plan, journal and resume.
    """

    id: str
    step_id: str
    platform: str
    account: str
    entity_type: str
    entity_id: str
    name: str
    field: str
    before: Any
    after: Any
    shown_before: str
    shown_after: str
    phase: Phase = Phase.ADS
    resource: str = ""

    @property
    def changes_anything(self) -> bool:
        return bool(self.before != self.after)

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _CHANGE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(**{**data, "phase": Phase(data.get("phase", Phase.ADS))})


_CHANGE_FIELDS = tuple(Change.__dataclass_fields__)


@dataclass(frozen=True)
class ManualTask:
    """A checklist line (or part of one) that people do; it counts in verify until attested."""

    step_id: str
    title: str
    owner: str
    instructions: str
    items: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "items": list(self.items)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManualTask:
        return cls(**{**data, "items": tuple(data.get("items", ()))})


@dataclass(frozen=True)
class StepPlan:
    step_id: str
    title: str
    part: str
    section: str
    department: str
    owner: str
    timing: str
    kind: StepKind
    platform: str = ""
    action: str = ""
    reason: str = ""
    changes: tuple[Change, ...] = ()
    manual: ManualTask | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        scalars = (
            "step_id",
            "title",
            "part",
            "section",
            "department",
            "owner",
            "timing",
            "platform",
            "action",
            "reason",
        )
        return {
            **{k: getattr(self, k) for k in scalars},
            "kind": str(self.kind),
            "changes": [c.to_dict() for c in self.changes],
            "manual": self.manual.to_dict() if self.manual else None,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepPlan:
        return cls(
            **{
                **data,
                "kind": StepKind(data["kind"]),
                "changes": tuple(Change.from_dict(c) for c in data.get("changes", ())),
                "manual": ManualTask.from_dict(data["manual"]) if data.get("manual") else None,
                "notes": tuple(data.get("notes", ())),
            }
        )


PLAN_FORMAT = 1


# The stages of a runbook (see `Plan.stage`).
STAGE_ALL, STAGE_IMMEDIATELY = "all", "immediately"
STAGES = (STAGE_ALL, STAGE_IMMEDIATELY)


@dataclass(frozen=True)
class Plan:
    """What a run will do, read from live state; saved as JSON with a hash of its content."""

    plan_id: str
    client: str
    client_name: str
    runbook: str
    runbook_version: int
    scope: str
    effective_date: str | None
    created_at: str
    manifest_hash: str
    runbook_hash: str
    steps: tuple[StepPlan, ...]
    reads: dict[str, int] = field(default_factory=dict)
    # values the runbook's steps take from outside (e.g. a budget addendum's amounts)
    inputs: dict[str, Any] = field(default_factory=dict)
    # The change request the plan carries out ({"id", "type", "content_hash"}), or None for a
    # plan made for review only. Covered by the plan's hash; absent from the body when None, so
    # plans made before change requests keep their hash.
    change_request: dict[str, str] | None = None
    # A restore's bindings: the run whose values it puts back, and who asked for it when no
    # approved change request authorises it ({"person", "role"}). Absent from the body when
    # empty, like `change_request`.
    restores_run: str = ""
    authorized_by: dict[str, str] | None = None
    # Which of the runbook's steps the plan carries out: "all", or "immediately" (only the steps
    # due when the change request is approved; the others wait for the effective date). Absent
    # from the body when "all".
    stage: str = "all"

    @property
    def changes(self) -> list[Change]:
        return [c for s in self.steps for c in s.changes]

    @property
    def manual_tasks(self) -> list[ManualTask]:
        return [s.manual for s in self.steps if s.manual is not None]

    def body(self) -> dict[str, Any]:
        extra = {"change_request": dict(self.change_request)} if self.change_request else {}
        return extra | {
            "format": PLAN_FORMAT,
            "plan_id": self.plan_id,
            "client": self.client,
            "client_name": self.client_name,
            "runbook": self.runbook,
            "runbook_version": self.runbook_version,
            "scope": self.scope,
            "effective_date": self.effective_date,
            "created_at": self.created_at,
            "manifest_hash": self.manifest_hash,
            "runbook_hash": self.runbook_hash,
            "reads": dict(self.reads),
            "steps": [s.to_dict() for s in self.steps],
            **({"inputs": self.inputs} if self.inputs else {}),
            **({"restores_run": self.restores_run} if self.restores_run else {}),
            **({"authorized_by": dict(self.authorized_by)} if self.authorized_by else {}),
            **({"stage": self.stage} if self.stage != STAGE_ALL else {}),
        }

    @cached_property
    def canonical(self) -> str:
        """The body as canonical JSON text (`canonical_text`), computed once per plan: its hash,
        its signature, the plan file, the run's stored copy and the reports all reuse it, so a
        plan of 10,000 changes is serialised once per process, not once per use."""
        return canonical_text(self.body())

    @cached_property
    def content_hash(self) -> str:
        return text_hash(self.canonical)

    def to_json(self, **envelope: str) -> str:
        """The saved document: the canonical body with `sha256` (and any other `envelope` key,
        e.g. the signature) beside it, outside the hashed body."""
        added = {"sha256": self.content_hash, **envelope}
        return with_members(self.canonical, {k: json.dumps(v) for k, v in added.items()})

    @classmethod
    def from_canonical(cls, body: dict[str, Any], text: str | None = None) -> Plan:
        """The plan of a body read back, its canonical text that of the body as read (`text`,
        when the caller has it already): the hash and signature checks of what was read, and
        everything stored or written after them, share that one serialisation. A body that does
        not round-trip exactly (`Plan.body()` differs) keeps its own text, computed from the
        rebuilt plan."""
        plan = cls.from_body(body)
        if plan.body() == body:
            plan.__dict__["canonical"] = canonical_text(body) if text is None else text
        return plan

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Plan:
        return cls(
            plan_id=body["plan_id"],
            client=body["client"],
            client_name=body["client_name"],
            runbook=body["runbook"],
            runbook_version=int(body["runbook_version"]),
            scope=body["scope"],
            effective_date=body.get("effective_date"),
            created_at=body["created_at"],
            manifest_hash=body["manifest_hash"],
            runbook_hash=body["runbook_hash"],
            reads=dict(body.get("reads", {})),
            inputs=dict(body.get("inputs", {})),
            steps=tuple(StepPlan.from_dict(s) for s in body["steps"]),
            change_request=dict(body["change_request"]) if body.get("change_request") else None,
            restores_run=str(body.get("restores_run", "")),
            authorized_by=dict(body["authorized_by"]) if body.get("authorized_by") else None,
            stage=_stage(body.get("stage", STAGE_ALL)),
        )


def _stage(value: Any) -> str:
    if value not in STAGES:
        raise ValueError(f"stage {value!r} is not one of {', '.join(STAGES)}")
    return str(value)


def canonical_text(body: dict[str, Any]) -> str:
    """The one text form of a document that hashes and signatures are computed over: sorted
    keys, no spaces, ASCII only (non-ASCII characters escaped), so its bytes are its text."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def canonical_json(body: dict[str, Any]) -> bytes:
    """`canonical_text` as bytes."""
    return canonical_text(body).encode("ascii")


def with_members(document: str, members: dict[str, str]) -> str:
    """The JSON object text `document` (a non-empty object) with `members` (name: JSON text of
    the value) added at its end, without parsing or serialising the document again."""
    if not (document.startswith("{") and document.endswith("}")) or document == "{}":
        raise ValueError("with_members needs the text of a non-empty JSON object")
    added = ",".join(f"{json.dumps(name)}:{value}" for name, value in members.items())
    return f"{document[:-1]},{added}}}" if added else document


def content_hash(body: dict[str, Any]) -> str:
    return text_hash(canonical_text(body))


def text_hash(canonical: str) -> str:
    """The content hash of a body from its canonical text (`canonical_text`)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Outcome:
    change_id: str
    status: OutcomeStatus
    live: Any = None
    message: str = ""
    request_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain values. Not `asdict`: it deep-copies `live` (a platform's whole
        answer), and reports convert thousands of outcomes after a run's last call."""
        return {
            "change_id": self.change_id,
            "status": str(self.status),
            "live": self.live,
            "message": self.message,
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class Check:
    """One verify result for one runbook step."""

    step_id: str
    title: str
    part: str
    status: CheckStatus
    detail: str = ""
    owner: str = ""
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": str(self.status), "evidence": list(self.evidence)}

    def with_status(self, status: CheckStatus, detail: str) -> Check:
        return replace(self, status=status, detail=detail)


class ReportKind(StrEnum):
    PLAN = "plan"
    RUN = "run"
    VERIFY = "verify"


@dataclass(frozen=True)
class Report:
    """One model behind every report: a plan, what a run did with it, and what verify saw.

    A plan report has only `plan`; a run report adds `outcomes`; a verify report adds `checks`
    (a run followed by verify has both). `calls` counts round trips per platform and kind
    ("read"/"write"), for the summary.
    """

    kind: ReportKind
    plan: Plan
    run_id: str = ""
    started_at: str = ""
    finished_at: str = ""
    outcomes: tuple[Outcome, ...] = ()
    checks: tuple[Check, ...] = ()
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    attestations: dict[str, str] = field(default_factory=dict)  # step_id -> "by NAME at TIME"
    change_request: str = ""  # the approved change request a run carried out
    errors: tuple[str, ...] = ()  # what stopped part of a run ("Platform: message")
    verification_id: int | None = None  # the kept verify pass whose lines `checks` are

    def outcome_for(self, change_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.change_id == change_id), None)
