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
(`pytest -n 0 -m crash_campaign`, in one process so that the uninterrupted reference runs are made
once). The uninterrupted runs and the kill after the last journaled outcome, which prove the
harness itself, need those reference runs too: they carry the mark as well and run in that step.
The default run keeps the sandbox's own kill machinery (the last test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from crash_support import (
    AFTER_OUTCOME,
    RUNBOOKS,
    CrashLab,
    CrashPoint,
    Reference,
    Trial,
    judge,
    run_trials,
)

from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

pytestmark = pytest.mark.timeout(3600)
# trials run side by side, each on its own sandbox (ADOFFBOARD_CRASH_WORKERS, default 2)
WORKERS = max(1, int(os.environ.get("ADOFFBOARD_CRASH_WORKERS", "2")))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashLab]:
    the_lab = CrashLab(tmp_path_factory.mktemp("crash"))
    yield the_lab
    the_lab.close()


@pytest.fixture(scope="module")
def references(lab: CrashLab) -> dict[str, Reference]:
    return {runbook: lab.reference(runbook) for runbook in RUNBOOKS}


def _report(
    capsys: pytest.CaptureFixture[str],
    trials: list[Trial],
    seconds: float,
    failures: list[tuple[Trial, list[str]]],
) -> None:
    with capsys.disabled():
        print(
            f"\ncrash trials: {len(trials)} in {seconds:.0f} s "
            f"({seconds / max(len(trials), 1):.1f} s each); "
            f"{len(trials) - len(failures)} converged, {len(failures)} did not"
        )
        for trial, problems in failures:
            print(f"  {trial.point}: {' | '.join(problems)}")


@pytest.mark.crash_campaign
@pytest.mark.parametrize("runbook", RUNBOOKS)
def test_an_uninterrupted_run_writes_each_entity_once(
    lab: CrashLab, references: dict[str, Reference], runbook: str
) -> None:
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
    ordered = [line.split("]")[0].lstrip("[") for line in reference.run.apply_progress.splitlines()]
    platform = next(p for p in reversed(ordered) if p in reference.outcome_batches)
    return CrashPoint(
        reference.runbook, platform, reference.outcome_batches[platform], AFTER_OUTCOME
    )


@pytest.mark.crash_campaign
@pytest.mark.parametrize("runbook", RUNBOOKS)
def test_killed_after_the_last_outcome_is_finished_by_resume(
    lab: CrashLab, references: dict[str, Reference], runbook: str
) -> None:
    reference = references[runbook]
    trial = lab.trial(runbook, _last_outcome(reference))
    assert trial.killed
    assert judge(trial, reference.run) == []


@pytest.mark.crash_campaign
def test_every_crash_point_converges(
    lab: CrashLab,
    references: dict[str, Reference],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    helpers = [CrashLab(tmp_path / f"lab-{n}") for n in range(1, WORKERS)]
    try:
        results = run_trials(
            [lab, *helpers],
            [
                (point, references[runbook].run)
                for runbook in RUNBOOKS
                for point in references[runbook].crash_points()
            ],
        )
    finally:
        for helper in helpers:
            helper.close()
    results.sort(key=lambda r: str(r[0].point))
    trials = [trial for trial, _ in results]
    failures = [(trial, problems) for trial, problems in results if problems]
    _report(capsys, trials, time.monotonic() - started, failures)
    assert not failures, (
        f"{len(failures)} of {len(trials)} crash points did not converge: "
        + "; ".join(f"{t.point}: {' | '.join(p)}" for t, p in failures)
    )


@pytest.mark.crash_campaign
def test_the_campaign_covers_every_journal_point(references: dict[str, Reference]) -> None:
    """Both plans write on every stand-in they touch, the export email included, and every
    request is a crash point before and after it lands."""
    sem, ma = references["sem-cancellation"], references["ma-cancellation"]
    assert set(sem.requests) == {
        "google_ads",
        "microsoft_ads",
        "meta",
        "ga4",
        "search_console",
        "tag_manager",
        "sheets",
        "trello",
    }
    assert set(ma.requests) == {"sheets", "smtp"}
    assert "sharpspring" in ma.outcome_batches
    for reference in (sem, ma):
        points = reference.crash_points()
        assert len(points) == 2 * sum(reference.requests.values()) + sum(
            reference.outcome_batches.values()
        )
        assert len(set(points)) == len(points)


# --- the sandbox's crash machinery itself --------------------------------------------------------


@pytest.mark.parametrize(("phase", "landed"), [("before_apply", False), ("after_apply", True)])
def test_a_kill_fault_kills_the_client_at_its_nth_write_and_reset_forgets_it(
    phase: str, landed: bool
) -> None:
    accounts = [
        {"id": "FL-1", "name": "One", "hold": False},
        {"id": "FL-2", "name": "Two", "hold": False},
    ]
    auth = {"Authorization": "Bearer sandbox:"}
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with Sandbox({"http": {"accounts": accounts}}) as box:
            box.faults.add(
                FaultRule(
                    kind="kill",
                    platform="http",
                    after=1,
                    times=1,
                    pid=victim.pid,
                    mutating_only=True,
                    match={"phase": phase},
                )
            )
            url = box.http.url
            assert requests.post(f"{url}/accounts/FL-1/hold", headers=auth, timeout=10).ok
            assert requests.get(f"{url}/accounts/FL-2", headers=auth, timeout=10).ok  # a read
            assert victim.poll() is None
            with pytest.raises(requests.ConnectionError):  # never answered
                requests.post(f"{url}/accounts/FL-2/hold", headers=auth, timeout=10)
            assert victim.wait(timeout=10) == -signal.SIGKILL
            assert box.http.accounts["FL-2"]["hold"] is landed
            last = box.log.mutating()[-1]
            assert (last.entities, last.landed) == (("POST /accounts/FL-2/hold",), landed)

            box.reset()
            assert [a["hold"] for a in box.http.accounts.values()] == [False, False]
            assert len(box.log) == 0 and box.faults.rules == []
            assert requests.post(f"{url}/accounts/FL-2/hold", headers=auth, timeout=10).ok
    finally:
        victim.kill()
        victim.wait()
