"""One round of each contender, each on its own fresh sandbox; figures as flat {name: number}.

adoffboard runs as a user runs it: the CLI in a subprocess (its cold start included), its peak
RSS read from the kernel (its own VmHWM, written as it exits: `PEAK_WRAPPER`). Calls are
counted from the sandbox's request log, per platform: a Meta batch counts once (its items are
logged apart, as "graph-batch").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import minimum as minimums
import sdk_scripts
from dealer import AD_PLATFORMS, CLIENT, Dealer, World, box_quiet, world

from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

Figures = dict[str, float]
OK_EXITS = (0, 13)  # 13: verified, manual tasks pending attestation (the runbook has some)


# Meta stand-in calls per rolling hour for --apply-cpu: plan and apply of 10,000 campaigns stay
# far below it, so usage never nears the pacing threshold.
UNPACED_META_CALLS = 10_000_000


class ContenderFailed(Exception):
    pass


@dataclass(frozen=True)
class Process:
    wall: float
    rss_mib: float
    cpu: float = 0.0  # user + system seconds of the process (its children included)


# `python -m adoffboard.cli ARGS`, which writes its own peak RSS (the kernel's VmHWM of its
# memory map, in KiB) to the file named by PEAK_ENV as it exits. The rusage `os.wait4` returns
# cannot say it: Linux carries the parent's resident size over the fork and exec into the
# child's ru_maxrss, so a child of this (large) process would read as at least its size.
PEAK_ENV = "ADOFFBOARD_BENCH_PEAK_FILE"
PEAK_WRAPPER = """
import atexit, os, re, runpy, sys
PEAK_ENV = "ADOFFBOARD_BENCH_PEAK_FILE"
def _peak():
    with open("/proc/self/status") as status, open(os.environ[PEAK_ENV], "w") as out:
        out.write(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
atexit.register(_peak)
sys.argv[0] = "adoffboard"
runpy.run_module("adoffboard.cli", run_name="__main__", alter_sys=True)
"""


def cli(w: World, *args: str) -> Process:
    """`adoffboard ARGS` in the workspace, in a subprocess: wall time, the process's own peak
    RSS (see PEAK_WRAPPER) and its CPU time."""
    argv = [sys.executable, "-c", PEAK_WRAPPER, "-w", str(w.workspace.root), "-q", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        env = {**os.environ, PEAK_ENV: str(peak)}
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=w.workspace.root, stdout=out, stderr=out, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in OK_EXITS:
            out.seek(0)
            tail = out.read().decode(errors="replace").strip().splitlines()[-1:]
            raise ContenderFailed(f"adoffboard {' '.join(args)}: exit {proc.returncode}: {tail}")
        rss_kib = int(peak.read_text())
    return Process(wall, rss_kib / 1024, usage.ru_utime + usage.ru_stime)


def calls(box: Sandbox, latency_s: float, since: int = 0) -> Figures:
    """Reads, writes and the span (first call's arrival to last call's answer) per platform."""
    found: Figures = {}
    entries = [e for e in box.log.entries()[since:] if e.service != "graph-batch"]
    for e in entries:
        kind = "writes" if e.mutating else "reads"
        found[f"{e.platform}.{kind}"] = found.get(f"{e.platform}.{kind}", 0) + 1
    for platform in {e.platform for e in entries}:
        times = [e.at for e in entries if e.platform == platform]
        found[f"{platform}.span"] = max(times) - min(times) + latency_s
        found[f"{platform}.calls"] = found.get(f"{platform}.reads", 0) + found.get(
            f"{platform}.writes", 0
        )
    return found


def planned_changes(w: World) -> list[dict[str, Any]]:
    """Every change of the runs the CLI made, as stored (the exact plans applied)."""
    with Store.open(w.workspace.store_url) as store:
        runs = store.runs(CLIENT)
    return [
        change
        for run in runs
        for step in json.loads(run.plan_json)["steps"]
        for change in step.get("changes", [])
    ]


def with_minimum(figures: Figures, changes: list[dict[str, Any]], w: World) -> Figures:
    for platform in AD_PLATFORMS:
        if platform in w.manifest:
            mine = [c for c in changes if c["platform"] == platform]
            least = minimums.minimum(platform, mine, w.scenario[platform])
            figures[f"{platform}.changes"] = len(mine)
            figures[f"{platform}.minimum"] = least.calls
    return figures


def adoffboard_run(dealer: Dealer, latency_ms: int) -> Figures:
    """An approved cancellation, then `adoffboard run CLIENT --yes`."""
    with world(dealer, latency_ms) as w:
        since = len(w.box.log)
        proc = cli(w, "run", CLIENT, "--yes")
        figures = calls(w.box, latency_ms / 1000, since)
        figures.update({"wall": proc.wall, "rss_mib": proc.rss_mib})
        return with_minimum(figures, planned_changes(w), w)


def per_campaign_script(dealer: Dealer, latency_ms: int) -> Figures:
    """The one-call-per-campaign script, handed the plan's ad changes (computed untimed)."""
    from adoffboard.app import environment
    from adoffboard.engine import make_plan

    with world(dealer, latency_ms, request="") as w:
        with box_quiet(w.box):
            plan = make_plan(environment(w.workspace), CLIENT, "sem-cancellation", "platform")
        changes = [
            {
                "platform": c.platform,
                "entity_type": c.entity_type,
                "entity_id": c.entity_id,
                "account": c.account,
                "field": c.field,
                "after": c.after,
                "resource": c.resource,
                "phase": str(getattr(c.phase, "value", c.phase)),
            }
            for c in plan.changes
        ]
        since = len(w.box.log)
        start = time.perf_counter()
        sdk_scripts.per_campaign(w.box.platform_settings(), changes, w.manifest)
        figures = calls(w.box, latency_ms / 1000, since)
        figures["wall"] = time.perf_counter() - start
        return figures


def google_pause(dealer: Dealer, latency_ms: int) -> Figures:
    """adoffboard's Google pause alone: `run CLIENT -r sem-pause --yes` on an account with
    only Google Ads, the Google calls' span and count (the trackers' calls left out)."""
    with world(Dealer(dealer.google_ads, 0, 0), latency_ms, request="pause") as w:
        since = len(w.box.log)
        cli(w, "run", CLIENT, "-r", "sem-pause", "--yes")
        found = calls(w.box, latency_ms / 1000, since)
        return {k.removeprefix("google_ads."): v for k, v in found.items() if "google_ads" in k}


def replica(dealer: Dealer, latency_ms: int) -> Figures | None:
    """sem-emergency-stop's pause on the same account; None if the sandbox cannot serve it."""
    with world(Dealer(dealer.google_ads, 0, 0, trackers=False), latency_ms, request="") as w:
        from adoffboard.app import trust_ca_file

        trust_ca_file(w.workspace)
        since = len(w.box.log)
        start = time.perf_counter()
        try:
            sdk_scripts.sem_emergency_stop(
                w.box.platform_settings()["google_ads"], w.manifest["google_ads"]["manager_id"]
            )
        except sdk_scripts.Unimplemented:
            return None
        wall = time.perf_counter() - start
        found = calls(w.box, latency_ms / 1000, since)
        figures = {k.removeprefix("google_ads."): v for k, v in found.items() if "google_ads" in k}
        figures["wall"] = wall
        return figures


def large_plan(campaigns: int, latency_ms: int) -> Figures:
    """`adoffboard plan` of a Google account of `campaigns` campaigns with sem-cancellation."""
    with world(Dealer(campaigns, 0, 0), latency_ms, request="") as w:
        proc = cli(w, "plan", CLIENT, "-r", "sem-cancellation", "--scope", "platform")
        return {"wall": proc.wall, "rss_mib": proc.rss_mib}


def apply_cpu(platform: str, campaigns: int, latency_ms: int) -> Figures:
    """CPU of `adoffboard apply PLAN` on an account of `campaigns` campaigns of `platform`, the
    only ad platform (the demo's trackers stay: the runbook needs them): an approved
    cancellation, the plan made untimed, then the apply in a subprocess, its CPU (user +
    system) read from the kernel (`os.wait4`).

    The Meta stand-in's hourly call budget is raised so that the apply is never paced: Meta's
    pacing waits (up to a minute a call near the limit) cost wall time, not CPU, and would
    make a 10,000-campaign round last most of an hour."""
    dealer = Dealer(**{p: campaigns if p == platform else 0 for p in AD_PLATFORMS})
    with world(dealer, latency_ms, meta_call_capacity=UNPACED_META_CALLS) as w:
        plan_file = w.workspace.root / "bench-plan.json"
        with box_quiet(w.box):
            cli(w, "plan", CLIENT, "-r", "sem-cancellation", "-o", str(plan_file))
        proc = cli(w, "apply", str(plan_file))
        changes = [c for c in planned_changes(w) if c["platform"] == platform]
        return {
            "cpu": proc.cpu,
            "wall": proc.wall,
            "rss_mib": proc.rss_mib,
            "changes": len(changes),
        }


def warm_sdks() -> None:
    """Import the SDKs the in-process contenders use before anything is timed."""
    import bingads.service_client  # noqa: F401
    import facebook_business.api  # noqa: F401
    import google.ads.googleads.client  # noqa: F401


def prefixed(prefix: str, figures: Mapping[str, float] | None) -> Figures:
    return {f"{prefix}.{k}": v for k, v in (figures or {}).items()}
