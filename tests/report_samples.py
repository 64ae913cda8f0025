"""Sample reports for the report tests, built directly from model values (no engine, no
connectors), so that each test states exactly what the report says."""

from __future__ import annotations

from typing import Any

from adoffboard.models import (
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
)

SCRIPT_NAME = "<script>alert(1)</script>"
ATTESTATION = "by Dana Lee at 2025-03-01T10:00:00Z"


# --- building reports ----------------------------------------------------------------------------


def change(
    step_id: str, platform: str, entity_type: str, entity_id: str, name: str, **kw: Any
) -> Change:
    values = {
        "field": "status",
        "before": "ENABLED",
        "after": "PAUSED",
        "shown_before": "ENABLED",
        "shown_after": "PAUSED",
        **kw,
    }
    return Change(
        id=f"{platform}:111:{entity_type}:{entity_id}:{values['field']}",
        step_id=step_id,
        platform=platform,
        account="111-222-3333",
        entity_type=entity_type,
        entity_id=entity_id,
        name=name,
        **values,
    )


def step(step_id: str, title: str, kind: StepKind, **kw) -> StepPlan:
    return StepPlan(
        step_id=step_id,
        title=title,
        part="Cancellation",
        section="On the effective date",
        department="SEM",
        owner=kw.pop("owner", "SEM Specialist"),
        timing="effective_date",
        kind=kind,
        **kw,
    )


BRAND = change("pause", "google_ads", "campaign", "901", "Brand Search")
EVIL = change("pause", "google_ads", "campaign", "902", SCRIPT_NAME)
BUDGET = change(
    "budgets",
    "google_ads",
    "campaign_budget",
    "77",
    "Main budget",
    field="amount_micros",
    before=25_000_000,
    after=10_000,
    shown_before="25.00 USD/day",
    shown_after="0.01 USD/day",
)
MS_ONE = change("ms_pause", "microsoft_ads", "campaign", "5001", "Used Cars | Exact")
MS_TWO = change("ms_pause", "microsoft_ads", "campaign", "5002", "New Cars")
HIDE = change(
    "hide",
    "google_ads",
    "manager_link",
    "999~1",
    "link to manager 999",
    field="hidden",
    before=False,
    after=True,
    shown_before="visible",
    shown_after="hidden",
    phase=Phase.VISIBILITY,
)
ALL_CHANGES = (BRAND, EVIL, BUDGET, MS_ONE, MS_TWO, HIDE)

SCRIPTS_TASK = ManualTask(
    step_id="scripts",
    title="Disable all scripts in Google Ads",
    owner="SEM Specialist",
    instructions="Tools > Scripts: disable each script.\nNote the names in the ticket.",
    items=("Script: Daily budget guard", "Script: Weather bids"),
)
FLUENCY_TASK = ManualTask(
    step_id="fluency",
    title="Put the Fluency account on hold",
    owner="SEM Specialist",
    instructions="Fluency > Account > Hold.",
)
SHARPSPRING_TASK = ManualTask(
    step_id="sharpspring",
    title="Deactivate the SharpSpring account",
    owner="MA Specialist",
    instructions="Send the final export to the Account Manager first.",
    items=("Export the dealer's email list",),
)

STEPS = (
    step(
        "pause",
        "Pause all ads on Google Ads",
        StepKind.AUTOMATED,
        platform="google_ads",
        action="pause_campaigns",
        changes=(BRAND, EVIL),
    ),
    step(
        "budgets",
        "Set all budgets to $.01",
        StepKind.AUTOMATED,
        platform="google_ads",
        action="budgets_to_floor",
        changes=(BUDGET,),
        notes=("'Main budget' is shared by 2 campaigns: changed once",),
    ),
    step(
        "ms_pause",
        "Pause all ads on Microsoft Advertising",
        StepKind.AUTOMATED,
        platform="microsoft_ads",
        action="pause_campaigns",
        changes=(MS_ONE, MS_TWO),
    ),
    step(
        "ga_access",
        "Remove our access from Google Analytics",
        StepKind.SKIPPED,
        platform="ga4",
        action="remove_users",
        reason="only when the client leaves the platform; scope is services-only",
    ),
    step("scripts", "Disable scripts", StepKind.MANUAL, manual=SCRIPTS_TASK),
    step(
        "hide",
        "Hide the account in the manager",
        StepKind.AUTOMATED,
        platform="google_ads",
        action="hide_account",
        changes=(HIDE,),
    ),
    step("fluency", "Fluency: put on hold", StepKind.MANUAL, manual=FLUENCY_TASK),
    step(
        "sharpspring",
        "Deactivate SharpSpring",
        StepKind.MANUAL,
        owner="MA Specialist",
        manual=SHARPSPRING_TASK,
    ),
)

PLAN = Plan(
    plan_id="plan-0001",
    client="acme-motors",
    client_name="Acme Motors",
    runbook="sem-cancellation",
    runbook_version=3,
    scope="services-only",
    effective_date="2025-03-01",
    created_at="2025-02-28T09:00:00Z",
    manifest_hash="m" * 64,
    runbook_hash="r" * 64,
    steps=STEPS,
    reads={"google_ads": 2, "microsoft_ads": 1},
)

OUTCOMES = (
    Outcome(BRAND.id, OutcomeStatus.APPLIED, request_id="req-1"),
    Outcome(EVIL.id, OutcomeStatus.ALREADY, live="PAUSED"),
    Outcome(BUDGET.id, OutcomeStatus.DRIFT, live=30_000_000, message="changed since the plan"),
    Outcome(MS_ONE.id, OutcomeStatus.FAILED, message="CampaignStatusInvalid", request_id="ms-42"),
    Outcome(MS_TWO.id, OutcomeStatus.NOT_SENT, message="batch stopped by an earlier failure"),
    Outcome(HIDE.id, OutcomeStatus.APPLIED),
)

CHECKS = (
    Check(
        "pause",
        "Pause all ads on Google Ads",
        "Cancellation",
        CheckStatus.PASS,
        "0 enabled campaigns",
        "SEM Specialist",
    ),
    Check(
        "budgets",
        "Set all budgets to $.01",
        "Cancellation",
        CheckStatus.FAIL,
        "1 budget above the floor",
        "SEM Specialist",
        ("Main budget: 30.00 USD/day",),
    ),
    Check(
        "ga_access",
        "Remove our access from Google Analytics",
        "Cancellation",
        CheckStatus.SKIPPED,
        "not for this scope",
    ),
    Check("scripts", "Disable scripts", "Cancellation", CheckStatus.ATTESTED, "", "SEM Specialist"),
    Check(
        "fluency",
        "Fluency: put on hold",
        "Cancellation",
        CheckStatus.MANUAL_PENDING,
        "nobody has attested it yet",
        "SEM Specialist",
    ),
)


def plan_report() -> Report:
    return Report(kind=ReportKind.PLAN, plan=PLAN)


def run_report(outcomes: tuple[Outcome, ...] = OUTCOMES) -> Report:
    return Report(
        kind=ReportKind.RUN,
        plan=PLAN,
        run_id="run-0007",
        started_at="2025-03-01T06:00:00Z",
        finished_at="2025-03-01T06:00:09Z",
        outcomes=outcomes,
        calls={"google_ads": {"read": 3, "write": 1}, "microsoft_ads": {"read": 1, "write": 1}},
    )


def verify_report(checks: tuple[Check, ...] = CHECKS) -> Report:
    return Report(
        kind=ReportKind.VERIFY,
        plan=PLAN,
        run_id="run-0007",
        checks=checks,
        calls={"google_ads": {"read": 4}},
        attestations={"scripts": ATTESTATION},
    )


def all_statuses(status: OutcomeStatus) -> tuple[Outcome, ...]:
    return tuple(Outcome(c.id, status) for c in ALL_CHANGES)
