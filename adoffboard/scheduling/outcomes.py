"""What one tick of the scheduler did: each due row's outcome (`Attempted`) and the tick's report
(`TickReport`), as `scheduler tick` prints them and emails summarise them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adoffboard.cr.service import Delivery
from adoffboard.scheduling.repo import ScheduledRun

# Outcomes of one row in one tick.
DONE, RETRYING, FAILED, LOCKED, WAITING, VOID, TAKEN = (
    "done",
    "retrying",
    "failed",
    "locked",
    "waiting",
    "void",
    "taken",
)


@dataclass(frozen=True)
class Attempted:
    """What happened to one due row in this tick."""

    row: ScheduledRun
    outcome: str
    detail: str
    attempt: int = 0
    run_id: str | None = None
    verdict: str | None = None
    next_at: str | None = None
    report: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.row.id,
            "client": self.row.client,
            "runbook": self.row.runbook,
            "run_date": self.row.run_date,
            "cr_id": self.row.cr_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "attempt": self.attempt,
            "run_id": self.run_id,
            "verdict": self.verdict,
            "next_attempt_at": self.next_at,
            "report": self.report,
        }


@dataclass
class TickReport:
    at: str
    scheduled: list[ScheduledRun] = field(default_factory=list)
    results: list[Attempted] = field(default_factory=list)
    reminders_queued: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stopped: bool = False
    doctor_notices: list[str] = field(default_factory=list)  # keys of the day-before notices

    @property
    def gave_up(self) -> list[Attempted]:
        return [r for r in self.results if r.outcome == FAILED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "scheduled": [r.id for r in self.scheduled],
            "results": [r.to_dict() for r in self.results],
            "reminders_queued": self.reminders_queued,
            "notices": [
                {"subject": d.subject, "recipients": list(d.recipients), "error": d.error}
                for d in self.deliveries
            ],
            "problems": self.problems,
            "stopped": self.stopped,
            "doctor_notices": self.doctor_notices,
        }
