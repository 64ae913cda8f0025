"""One pause, as a whole offboarding case, through the CLI on a rehearsal clock (ADOFFBOARD_NOW):
the specialist pauses by hand, the scheduler's tick the same day does nothing and says why, the
request is given its end date and approved again, a second pause run happens, and the un-pause on
the end date restores every original status and budget exactly (a value someone changed in
between is left alone and reported)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Cli, edit_config
from test_scheduler import google_ads_values

from adoffboard.cli import EXIT_INPUT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.config import load_workspace
from adoffboard.sandbox import Sandbox
from adoffboard.scheduling import repo
from adoffboard.store import Store

HARBOR, H_CID = "harbor-marine", "2345678901"
APPROVERS = (("approve", "jeremy"), ("approve", "dustin"), ("approve", "accounting"))


class Days:
    """The rehearsal clock: day N at 09:00 in the workspace's zone, from tomorrow on."""

    def __init__(self, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
        zone = ZoneInfo(load_workspace(cli.workspace).config.workspace.timezone)
        self.first = dt.datetime.now(zone).date() + dt.timedelta(days=1)
        self.zone, self.monkeypatch = zone, monkeypatch

    def date(self, n: int) -> str:
        return (self.first + dt.timedelta(days=n)).isoformat()

    def at(self, n: int, hour: int = 9) -> None:
        day = self.first + dt.timedelta(days=n)
        when = dt.datetime(day.year, day.month, day.day, hour, tzinfo=self.zone)
        self.monkeypatch.setenv("ADOFFBOARD_NOW", when.isoformat())


def ok(cli: Cli, *args: str, codes: tuple[int, ...] = (EXIT_OK,)) -> str:
    result = cli(*args)
    assert result.exit_code in codes, result.output
    assert "clock set to" in result.stderr  # the rehearsal clock is always said
    return result.stdout


def statuses(sandbox: Sandbox) -> dict[str, object]:
    ms = sandbox.microsoft_ads.accounts
    values = google_ads_values(sandbox, H_CID)
    for account_id, account in ms.items():
        for cid, camp in account.campaigns.items():
            values[f"ms:{account_id}:{cid}"] = (camp.status, camp.daily_budget)
    return values


def platform_writes(sandbox: Sandbox) -> int:
    """Writes to the ad platforms and trackers (emails, such as reminders, are not counted)."""
    return len([e for e in sandbox.log.mutating() if e.platform != "smtp"])


def schedule_rows(cli: Cli) -> list[repo.ScheduledRun]:
    with (
        Store.open(load_workspace(cli.workspace).store_url) as store,
        store.transaction() as conn,
    ):
        return repo.rows(conn, client=HARBOR)


def test_pause_by_hand_then_scheduler_then_end_date_restores_the_originals(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = Days(cli, monkeypatch)
    original = statuses(sandbox)
    days.at(0, 8)
    created = json.loads(
        ok(cli, "--json", "cr", "new", HARBOR, "--type", "pause", "--effective", days.date(0),
           "--department", "SEM", "--as", "dana")
    )  # fmt: skip
    cr_id = created["id"]
    ok(cli, "cr", "submit", cr_id, "--as", "dana")
    for action, who in APPROVERS:
        ok(cli, "cr", action, cr_id, "--as", who)

    # The specialist runs what the approved request calls for today: no -r needed.
    days.at(0, 9)
    first = ok(cli, "run", HARBOR, "--yes", codes=(EXIT_OK, EXIT_VERIFY_PENDING))
    assert f"sem-pause (all steps) for {cr_id}: due today" in first
    paused = google_ads_values(sandbox, H_CID)
    assert {paused[f"campaign:{c}"] for c in ("9101", "9102", "9103", "9104")} == {"PAUSED"}
    writes = platform_writes(sandbox)

    # The scheduler's tick the same day: the row is done by the specialist's run, nothing sent.
    tick = ok(cli, "--json", "scheduler", "tick")
    [result] = json.loads(tick)["results"]
    assert result["outcome"] == "done" and "done by a person" in result["detail"], result
    assert platform_writes(sandbox) == writes
    assert not [m for m in sandbox.smtp.messages if "FAILED" in m["Subject"]]
    # ... and `run` has nothing left to do today.
    again = ok(cli, "run", HARBOR, "--yes")
    assert "Nothing due today" in again and "done: run" in again
    assert platform_writes(sandbox) == writes

    # Someone restarts a campaign; the end date is agreed: edited and approved again.
    sandbox.google_ads.state.set_campaign_status(H_CID, "9102", "ENABLED")
    days.at(1)
    ok(cli, "cr", "edit", cr_id, "--pause-end", days.date(5), "--as", "dana")
    for action, who in APPROVERS:
        ok(cli, "cr", action, cr_id, "--as", who)
    rows = {(r.runbook, r.status) for r in schedule_rows(cli)}
    assert ("sem-unpause", "scheduled") in rows and ("sem-pause", "scheduled") not in rows

    # A second pause run (by hand, -r): pauses again what was restarted.
    second = ok(cli, "--json", "run", HARBOR, "-r", "sem-pause", "--yes",
                codes=(EXIT_OK, EXIT_VERIFY_PENDING))  # fmt: skip
    changed = [c for s in json.loads(second)["steps"] for c in s["changes"]]
    assert [(c["entity_id"], c["after"]) for c in changed if c["field"] == "status"] == [
        ("9102", "PAUSED")
    ]

    # In between, someone changes a budget adoffboard had set to the floor: theirs to keep.
    sandbox.google_ads.state.set_budget_amount(H_CID, "6002", 33_000_000)
    days.at(3)
    assert json.loads(ok(cli, "--json", "scheduler", "tick"))["results"] == []  # not yet

    # The end date: the scheduler un-pauses; every original value is back, but the budget.
    days.at(5)
    tick = json.loads(ok(cli, "--json", "scheduler", "tick"))
    [unpause] = tick["results"]
    assert (unpause["runbook"], unpause["outcome"]) == ("sem-unpause", "done"), unpause
    assert statuses(sandbox) == {**original, "budget:6002": (33_000_000, None)}
    with Store.open(load_workspace(cli.workspace).store_url) as store:
        plan = store.run(unpause["run_id"]).plan()
    [restore_step] = [s for s in plan.steps if s.step_id == "restore-pause"]
    assert restore_step.notes[0].startswith(f"restores 2 sem-pause runs of {cr_id}")
    assert restore_step.notes[1:] == (
        "kept: 1 tracker row(s) the run appended (its record, such as the planner row: not undone)",
    )
    report = (cli.workspace / "reports").glob(f"*{unpause['run_id']}*.md")
    text = "\n".join(p.read_text() for p in report)
    assert "left alone: Service dept daily amount_micros was changed by someone else" in text


def test_run_without_runbook_needs_an_approved_request(cli: Cli, sandbox: Sandbox) -> None:
    refused = cli("run", HARBOR, "--yes")
    assert refused.exit_code == EXIT_INPUT
    assert "no approved cancellation, pause or addendum" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert sandbox.log.mutating() == []
    mixed = cli("run", HARBOR, "--scope", "platform", "--yes")
    assert mixed.exit_code == EXIT_INPUT and "go with -r" in mixed.output


def test_a_persons_unfinished_run_is_finished_not_redone(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A person's run of the case that stopped half-way (a crash) is never repeated by a fresh
    run: the scheduler's row waits, and `run CLIENT` says to resume it."""
    from adoffboard.cli import EXIT_SAFETY
    from adoffboard.engine import load_plan

    days = Days(cli, monkeypatch)
    days.at(0, 8)
    cr_id = json.loads(
        ok(cli, "--json", "cr", "new", HARBOR, "--type", "pause", "--effective", days.date(0),
           "--department", "SEM", "--as", "dana")
    )["id"]  # fmt: skip
    ok(cli, "cr", "submit", cr_id, "--as", "dana")
    for action, who in APPROVERS:
        ok(cli, "cr", action, cr_id, "--as", who)
    days.at(0, 9)
    ok(cli, "plan", HARBOR, "-r", "sem-pause", "-o", str(tmp_path / "p.json"))
    with Store.open(load_workspace(cli.workspace).store_url) as store:
        plan = load_plan(tmp_path / "p.json", store.plan_key())
        run_id = store.create_run(
            plan, change_request=cr_id, started_by="alice@ops-laptop:4242", stage="all"
        )  # the person's process died here: the run stays "running"
    writes = platform_writes(sandbox)

    result = json.loads(ok(cli, "--json", "scheduler", "tick"))["results"]
    [row] = [r for r in result if r["runbook"] == "sem-pause"]
    assert row["outcome"] == "locked", row
    assert f"finish it with `adoffboard resume {run_id}`" in row["detail"]
    assert "alice@ops-laptop:4242" in row["detail"]
    refused = cli("run", HARBOR, "--yes")
    assert refused.exit_code == EXIT_SAFETY, refused.output
    assert f"adoffboard resume {run_id}" in refused.output
    assert platform_writes(sandbox) == writes  # nothing sent by either


def test_an_unpause_that_failed_is_retried_from_the_same_pause_runs(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An un-pause whose writes failed did not put the values back: the next un-pause restores
    from the same pause runs (a failed restore never hides them)."""
    from adoffboard.cli import EXIT_FAILED_CHANGES
    from adoffboard.sandbox.core import FaultRule

    # one attempt per call: the failed write is what counts here, not four backoffs (15 s)
    edit_config(cli.workspace, platforms__google_ads__attempts=1)
    days = Days(cli, monkeypatch)
    original = statuses(sandbox)
    days.at(0, 8)
    cr_id = json.loads(
        ok(cli, "--json", "cr", "new", HARBOR, "--type", "pause", "--effective", days.date(0),
           "--pause-end", days.date(1), "--department", "SEM", "--as", "dana")
    )["id"]  # fmt: skip
    ok(cli, "cr", "submit", cr_id, "--as", "dana")
    for action, who in APPROVERS:
        ok(cli, "cr", action, cr_id, "--as", who)
    days.at(0, 9)
    ok(cli, "run", HARBOR, "-r", "sem-pause", "--yes", codes=(EXIT_OK, EXIT_VERIFY_PENDING))
    assert statuses(sandbox) != original

    days.at(1, 9)
    sandbox.faults.add(FaultRule(kind="unavailable", platform="google_ads", method="Mutate"))
    ok(cli, "run", HARBOR, "-r", "sem-unpause", "--yes", codes=(EXIT_FAILED_CHANGES,))
    sandbox.faults.clear()
    again = ok(cli, "--json", "run", HARBOR, "-r", "sem-unpause", "--yes",
               codes=(EXIT_OK, EXIT_VERIFY_PENDING))  # fmt: skip
    assert statuses(sandbox) == original
    [step] = [s for s in json.loads(again)["steps"] if s["step_id"] == "restore-pause"]
    assert step["notes"][0].startswith("restores run "), step["notes"]
