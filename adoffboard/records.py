"""The state store's records, as handed back to callers (no database needed to use them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from adoffboard.models import Plan

# A run that carried out every change it could (some may have been left alone as drift).
APPLIED_STATUSES = ("applied", "applied-with-drift")


@dataclass(frozen=True)
class RunRecord:
    """One run as stored; `plan_json` is the exact document that was applied."""

    id: str
    client: str
    runbook: str
    runbook_version: int
    plan_hash: str
    plan_json: str
    plan_path: str
    change_request: str
    status: str
    started_at: str
    finished_at: str | None
    plan_mac: str = ""  # the plan's signature (adoffboard.signing), checked before a resume
    started_by: str = ""  # who made the run: a person's login and host, or "scheduler HOST"
    stage: str = "all"  # the steps it carries out: all, or immediately (at approval)

    def plan(self) -> Plan:
        """The applied plan, rebuilt from its saved JSON (without the file envelope keys)."""
        body = json.loads(self.plan_json)
        body.pop("sha256", None)
        body.pop("format", None)
        return Plan.from_body(body)


@dataclass(frozen=True)
class Snapshot:
    """A field a run changed: `before` is what an exact restore puts back, `after` what the run
    wrote (restore compares the live value with it to leave alone what someone changed since)."""

    run_id: str
    change_id: str
    platform: str
    account: str
    entity_type: str
    entity_id: str
    field: str
    before: Any
    after: Any
    at: str = ""


@dataclass(frozen=True)
class Attestation:
    """Someone's word that a manual task is done."""

    by: str
    note: str
    at: str


@dataclass(frozen=True)
class RunEvent:
    """Something that happened to a run besides its writes (see migration 0004)."""

    run_id: str
    at: str
    kind: str
    by: str
    platform: str
    detail: str


class VerificationSummary(NamedTuple):
    """One saved verify pass: unpacks as (id, run_id, at, counts); counts by check status."""

    id: int
    run_id: str | None
    at: str
    counts: dict[str, int]
