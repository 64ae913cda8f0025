"""`run --yes` holds the client's lock from before its plan's read until the run is verified,
and the apply settles on that read instead of reading every platform again: nothing waits
between the plan and its apply, and no other run can write to the client meanwhile. A run
confirmed at the prompt (which may be answered much later) takes the lock at the apply and
reads again. Through the CLI, against the sandbox; `PlanReads`' own rules directly."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from conftest import Cli, approved_cr
from test_scheduler import HARBOR, Desk, desk, today  # noqa: F401 - desk: the fixture

from adoffboard.cli import EXIT_STORE, EXIT_VERIFY_PENDING
from adoffboard.config import load_workspace
from adoffboard.engine.handover import FRESH_S, PlanReads
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

LAKESIDE = "lakeside-powersports"
NAME = "Lakeside Powersports"
AD_PLATFORMS = ("google_ads", "microsoft_ads", "meta")
T0 = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)


def reads_before_writes(sandbox: Sandbox, since: int = 0) -> Counter[tuple[str, str]]:
    """Each ad platform's reads, up to its own first write."""
    found: Counter[tuple[str, str]] = Counter()
    written: set[str] = set()
    for e in sandbox.log.entries()[since:]:
        if e.mutating:
            written.add(e.platform)
        elif e.platform in AD_PLATFORMS and e.platform not in written:
            found[e.platform, e.method] += 1
    return found


def plan_reads(cli: Cli, sandbox: Sandbox, client: str = LAKESIDE) -> Counter[tuple[str, str]]:
    """What a dry run of the pause reads on the ad platforms, once the per-process caches (such
    as Google's currency constants, read once per process) are warm, as they then are for the
    runs that follow in this process."""
    assert cli("plan", client, "-r", "sem-pause").exit_code == 0
    since = len(sandbox.log.entries())
    assert cli("plan", client, "-r", "sem-pause").exit_code == 0
    return reads_before_writes(sandbox, since)


def pause(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(cli, LAKESIDE, "pause", extra=("--pause-end", "2099-01-15"), sandbox=sandbox)


def outcomes(output: str) -> Counter[str]:
    report = json.loads(output)
    return Counter(c["outcome"]["status"] for s in report["steps"] for c in s["changes"])


def test_run_yes_applies_on_the_plans_own_read(cli: Cli, sandbox: Sandbox) -> None:
    pause(cli, sandbox)
    planned = plan_reads(cli, sandbox)
    assert {p for p, _ in planned} == set(AD_PLATFORMS)
    since = len(sandbox.log.entries())
    result = cli("--json", "run", LAKESIDE, "-r", "sem-pause", "--yes")
    assert result.exit_code == EXIT_VERIFY_PENDING, result.output
    # every ad platform was read once, by the plan, before its writes: not again by the apply
    assert reads_before_writes(sandbox, since) == planned
    done = outcomes(result.output)
    assert done["applied"] > 0 and set(done) <= {"applied", "already"}
    for platform in AD_PLATFORMS:
        assert sandbox.log.mutating(platform), platform


def test_a_run_confirmed_at_the_prompt_reads_again_before_it_writes(
    cli: Cli, sandbox: Sandbox
) -> None:
    pause(cli, sandbox)
    planned = plan_reads(cli, sandbox)
    since = len(sandbox.log.entries())
    result = cli("--json", "run", LAKESIDE, "-r", "sem-pause", input=f"{NAME}\n")
    assert result.exit_code == EXIT_VERIFY_PENDING, result.output
    assert reads_before_writes(sandbox, since) == planned + planned


def test_run_yes_on_a_client_someone_is_running_reads_nothing(cli: Cli, sandbox: Sandbox) -> None:
    pause(cli, sandbox)
    url = load_workspace(cli.workspace).store_url
    with Store.open(url) as store, store.client_lock(LAKESIDE, "alice@ops-laptop:4242"):
        result = cli("run", LAKESIDE, "-r", "sem-pause", "--yes")
    assert result.exit_code == EXIT_STORE, result.output
    assert "alice@ops-laptop:4242" in result.output
    assert "Traceback" not in result.output
    assert sandbox.log.entries() == []  # refused before the plan read anything


def test_the_schedulers_run_applies_on_its_plans_own_read(
    cli: Cli,
    sandbox: Sandbox,
    desk: Desk,  # noqa: F811
) -> None:
    """The scheduler holds the client's lock around its re-plan, apply and verify: its apply,
    too, settles on the plan's read."""
    d0 = today(cli)
    approved_cr(
        cli,
        HARBOR,
        "pause",
        effective=str(d0 + dt.timedelta(days=1)),
        extra=("--pause-end", str(d0 + dt.timedelta(days=5))),
    )
    desk.approval_steps(sandbox)
    planned = plan_reads(cli, sandbox, HARBOR)
    assert planned
    desk.at(d0 + dt.timedelta(days=1), 6, 0)
    since = len(sandbox.log.entries())
    assert desk.tick() == {"sem-pause:" + HARBOR: "done"}
    assert reads_before_writes(sandbox, since) == planned
    assert {e.platform for e in sandbox.log.mutating()} & set(AD_PLATFORMS)


# --- PlanReads: whose read, how old, how many times ----------------------------------------


def handed(client: str = LAKESIDE, plan_id: str = "p-1") -> PlanReads:
    reads = PlanReads(LAKESIDE)
    states: dict[str, Any] = {"google_ads": "state"}
    reads.record(plan_id, client, T0, states, {"google_ads": "reader"})
    return reads


def test_the_plans_read_is_handed_once_to_that_plans_apply() -> None:
    reads = handed()
    assert reads.take("p-1", LAKESIDE, T0 + dt.timedelta(seconds=2)) == {
        "google_ads": ("reader", "state")
    }
    assert reads.take("p-1", LAKESIDE, T0 + dt.timedelta(seconds=2)) == {}  # once


def test_a_read_too_old_another_plans_or_another_clients_is_not_handed() -> None:
    late = T0 + dt.timedelta(seconds=FRESH_S + 1)
    assert handed().take("p-1", LAKESIDE, late) == {}
    assert handed().take("p-2", LAKESIDE, T0) == {}
    assert handed().take("p-1", "harbor-auto", T0) == {}
    assert handed().take("p-1", LAKESIDE, T0 - dt.timedelta(seconds=1)) == {}  # clock went back
    other = handed(client="harbor-auto")  # a plan of a client whose lock is not the one held
    assert other.take("p-1", "harbor-auto", T0) == {}
    assert other.take("p-1", LAKESIDE, T0) == {}
