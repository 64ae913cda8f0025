"""Crash-safe and idempotent: kill `adoffboard apply` at any journal point, `resume` it, and the
world ends exactly as after an uninterrupted run, with no entity written twice and no email sent
twice.

The demo dealer leaves the platform (an approved cancellation, scope `platform`, SEM and MA); its
`sem-cancellation` and `ma-cancellation` plans are applied through the CLI in a subprocess against
the sandbox. Each trial kills the apply at one point: at the Nth mutating request to a stand-in
(SMTP included: the export email), before the stand-in applies it or after applying it but before
answering; or right after the Nth batch of a platform's outcomes is journaled. Then
`adoffboard resume RUN`, at most three times, until the run is finished.

The full campaign (every crash point of both plans) takes several minutes: it carries the
`crash_campaign` mark, which the default `pytest` run leaves out and CI runs on its own
(`pytest -m crash_campaign`). The default run keeps the uninterrupted runs and the kill after the
last journaled outcome, which prove the harness itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from crash_support import AFTER_OUTCOME, RUNBOOKS, CrashLab, CrashPoint, Reference, Trial, judge

pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashLab]:
    the_lab = CrashLab(tmp_path_factory.mktemp("crash"))
    yield the_lab
    the_lab.close()


@pytest.fixture(scope="module")
def references(lab: CrashLab) -> dict[str, Reference]:
    return {runbook: lab.reference(runbook) for runbook in RUNBOOKS}


def _report(capsys: pytest.CaptureFixture[str], trials: list[Trial], seconds: float,
            failures: list[tuple[Trial, list[str]]]) -> None:
    with capsys.disabled():
        print(f"\ncrash trials: {len(trials)} in {seconds:.0f} s "
              f"({seconds / max(len(trials), 1):.1f} s each); "
              f"{len(trials) - len(failures)} converged, {len(failures)} did not")
        for trial, problems in failures:
            print(f"  {trial.point}: {' | '.join(problems)}")


@pytest.mark.parametrize("runbook", RUNBOOKS)
def test_an_uninterrupted_run_writes_each_entity_once(lab: CrashLab,
                                                      references: dict[str, Reference],
                                                      runbook: str) -> None:
    reference = references[runbook]
    assert reference.run.finished, reference.run.commands
    assert reference.run.writes and max(reference.run.writes.values()) == 1
    assert all(n == 1 for n in reference.run.emails.values())
    assert reference.requests and reference.outcome_batches
    # the same plan again on a reset sandbox: the same world (the reset is complete)
    again = lab.trial(runbook)
    assert judge(again, reference.run) == []


def _last_outcome(reference: Reference) -> CrashPoint:
    """The kill right after the platform that journals its outcomes last in the uninterrupted
    run has journaled its final batch: nothing is left to send."""
    ordered = [line.split("]")[0].lstrip("[")
               for line in reference.run.apply_progress.splitlines()]
    platform = next(p for p in reversed(ordered) if p in reference.outcome_batches)
    return CrashPoint(reference.runbook, platform, reference.outcome_batches[platform],
                      AFTER_OUTCOME)


@pytest.mark.parametrize("runbook", RUNBOOKS)
def test_killed_after_the_last_outcome_is_finished_by_resume(
        lab: CrashLab, references: dict[str, Reference], runbook: str) -> None:
    reference = references[runbook]
    trial = lab.trial(runbook, _last_outcome(reference))
    assert trial.killed
    assert judge(trial, reference.run) == []


@pytest.mark.crash_campaign
def test_every_crash_point_converges(lab: CrashLab, references: dict[str, Reference],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    trials: list[Trial] = []
    failures: list[tuple[Trial, list[str]]] = []
    for runbook in RUNBOOKS:
        for point in references[runbook].crash_points():
            trial = lab.trial(runbook, point)
            trials.append(trial)
            problems = judge(trial, references[runbook].run)
            if problems:
                failures.append((trial, problems))
    _report(capsys, trials, time.monotonic() - started, failures)
    assert not failures, (f"{len(failures)} of {len(trials)} crash points did not converge: "
                          + "; ".join(f"{t.point}: {' | '.join(p)}" for t, p in failures))


def test_the_campaign_covers_every_journal_point(references: dict[str, Reference]) -> None:
    """Both plans write on every stand-in they touch, the export email included, and every
    request is a crash point before and after it lands."""
    sem, ma = references["sem-cancellation"], references["ma-cancellation"]
    assert set(sem.requests) == {"google_ads", "microsoft_ads", "meta", "ga4", "search_console",
                                 "tag_manager", "sheets", "trello"}
    assert set(ma.requests) == {"sheets", "smtp"}
    assert "sharpspring" in ma.outcome_batches
    for reference in (sem, ma):
        points = reference.crash_points()
        assert len(points) == 2 * sum(reference.requests.values()) + \
            sum(reference.outcome_batches.values())
        assert len(set(points)) == len(points)
