"""The crash campaign's machinery: kill `adoffboard apply` at a chosen journal point, resume it,
and compare the world it leaves with the one an uninterrupted run leaves.

One sandbox (the demo scenario) and one template workspace (the demo dealer, its approved
leaving-the-platform cancellation and the two plans) serve every trial: a trial resets the
sandbox to the scenario, copies the template, and runs the real CLI in a subprocess. The crash is
external where it can be: the stand-in that receives the chosen mutating request SIGKILLs the
apply process before applying it or after applying it but before answering (`kill` faults, see
adoffboard/sandbox/core.py). The point after an outcome is journaled is reached inside the process
through the store's test kill point (TEST_KILL_AFTER_OUTCOMES_ENV), the only one a stand-in cannot
reach when it follows the last write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from conftest import Cli, approved_cr

from adoffboard.config import load_workspace
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import KILL_PHASES, FaultRule, LoggedRequest, load_scenario
from adoffboard.store import TEST_KILL_AFTER_OUTCOMES_ENV, Store
from adoffboard.workspace_init import init_workspace

CLIENT = str(DEMO_CLIENT["slug"])
RUNBOOKS = ("sem-cancellation", "ma-cancellation")
AFTER_OUTCOME = "after_outcome"
PHASES = (*KILL_PHASES, AFTER_OUTCOME)
MAX_RESUMES = 3
COMMAND_TIMEOUT_S = 240
# the progress line that follows each batch of outcomes journaled, e.g. "[meta] 9 applied"
_OUTCOMES_LINE = re.compile(r"^\[(?P<platform>\w+)\] \d+ [a-z-]+(?:, \d+ [a-z-]+)*$", re.M)
_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")


@dataclass(frozen=True)
class CrashPoint:
    """Where a trial kills the apply: the `nth` mutating request to `platform` (before or after
    the stand-in applies it), or right after the `nth` batch of its outcomes is journaled."""

    runbook: str
    platform: str
    nth: int
    phase: str

    def __str__(self) -> str:
        return f"{self.runbook} {self.platform} #{self.nth} {self.phase}"


@dataclass
class Trial:
    point: CrashPoint | None
    killed: bool = False
    run_id: str = ""
    commands: list[tuple[str, int, str]] = field(default_factory=list)  # (command, exit, error)
    finished: bool = False
    world: dict[str, Any] = field(default_factory=dict)
    writes: Counter[str] = field(default_factory=Counter)  # landed mutating requests per entity
    emails: Counter[str] = field(default_factory=Counter)  # SMTP messages accepted, by entity
    seconds: float = 0.0
    apply_progress: str = ""  # the apply's progress lines (stderr), when not quiet

    def last_error(self) -> str:
        failing = [
            f"`{cmd}` exit {code}: {err}"
            for cmd, code, err in self.commands
            if code not in (0, -signal.SIGKILL)
        ]
        return failing[-1] if failing else ""


class CrashLab:
    """One running sandbox and one approved template workspace, reused by every trial."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.box = Sandbox(load_scenario(DEMO_SCENARIO)).start()
        self.template = root / "template"
        self._trials = 0
        try:
            self._prepare_template()
        except BaseException:
            self.box.stop()
            raise

    def close(self) -> None:
        self.box.stop()

    def _prepare_template(self) -> None:
        init_workspace(
            self.template,
            platforms=self.box.platform_settings(),
            notifications=self.box.notification_settings(),
            clients=[DEMO_CLIENT],
            single_user=True,
        )
        cli = Cli(self.template)
        approved_cr(cli, CLIENT, scope="platform", departments=("SEM", "MA"))
        for runbook in RUNBOOKS:
            made = cli(
                "plan",
                CLIENT,
                "-r",
                runbook,
                "--scope",
                "platform",
                "-o",
                str(self.plan_path(self.template, runbook)),
            )
            assert made.exit_code == 0, made.output

    @staticmethod
    def plan_path(workspace: Path, runbook: str) -> Path:
        return workspace / "plans" / f"{runbook}.json"

    # --- one trial --------------------------------------------------------------------------

    def trial(self, runbook: str, point: CrashPoint | None = None, *, quiet: bool = True) -> Trial:
        """Apply `runbook`'s plan on a fresh world, killed at `point` (None: never), then resume
        until the run is finished; the world and the writes it took are in the result."""
        started = time.monotonic()
        self.box.reset()
        self._trials += 1
        workspace = self.root / f"trial-{self._trials}"
        shutil.copytree(self.template, workspace)
        result = Trial(point)
        env = {k: v for k, v in os.environ.items() if k != TEST_KILL_AFTER_OUTCOMES_ENV}
        if point is not None and point.phase == AFTER_OUTCOME:
            env[TEST_KILL_AFTER_OUTCOMES_ENV] = f"{point.platform}:{point.nth}"
        code = self._apply(workspace, runbook, point, env, result, quiet)
        result.killed = code == -signal.SIGKILL
        env.pop(TEST_KILL_AFTER_OUTCOMES_ENV, None)
        result.run_id = self._run_id(workspace, runbook)
        result.finished = code == 0
        for _ in range(MAX_RESUMES if result.killed or code != 0 else 0):
            if not result.run_id:
                break
            self._settle_email_in_doubt(workspace, env, result)
            resumed = self._cli(workspace, env, "resume", result.run_id)
            result.commands.append(("resume", resumed.returncode, _last_line(resumed.stderr)))
            if resumed.returncode == 0:
                result.finished = True
                break
        result.world = world(self.box, workspace)
        result.writes = writes_per_entity(self.box.log.mutating(), exclude="smtp")
        result.emails = writes_per_entity(self.box.log.mutating("smtp"))
        result.seconds = time.monotonic() - started
        shutil.rmtree(workspace, ignore_errors=True)
        return result

    def _settle_email_in_doubt(self, workspace: Path, env: dict[str, str], result: Trial) -> None:
        """What the runbook asks of a person when the process stopped inside the export's SMTP
        exchange: check with the Account Manager (here: the SMTP server's mailbox), then record
        it received or have it sent again (`adoffboard resend`). No run sends it on its own."""
        for path in sorted((workspace / "exports").glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            if not record.get("sending_at") or record.get("message_id"):
                continue
            arrived = any(
                m.get_filename() == record["file"]
                for message in self.box.smtp.messages
                for m in message.walk()
            )
            args = ("resend", CLIENT, "--as", "dana", *(("--received",) if arrived else ()))
            settled = self._cli(workspace, env, *args)
            result.commands.append(("resend", settled.returncode, _last_line(settled.stderr)))

    def _apply(
        self,
        workspace: Path,
        runbook: str,
        point: CrashPoint | None,
        env: dict[str, str],
        result: Trial,
        quiet: bool,
    ) -> int:
        argv = self._argv(workspace, "apply", str(self.plan_path(workspace, runbook)))
        proc = subprocess.Popen(
            argv if quiet else [a for a in argv if a != "-q"],
            env=env,
            cwd=workspace,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if point is not None and point.phase in KILL_PHASES:
            # The process spends its first second importing and reading: the rule is in place
            # long before its first write.
            self.box.faults.add(
                FaultRule(
                    kind="kill",
                    platform=point.platform,
                    after=point.nth - 1,
                    times=1,
                    pid=proc.pid,
                    mutating_only=True,
                    match={"phase": point.phase},
                )
            )
        try:
            _out, err = proc.communicate(timeout=COMMAND_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            self.box.faults.clear()
        result.commands.append(("apply", proc.returncode, _last_line(err)))
        result.apply_progress = "" if quiet else err
        return proc.returncode

    @staticmethod
    def _run_id(workspace: Path, runbook: str) -> str:
        """The run the killed apply started, from the store (what `history` lists)."""
        with Store.open(load_workspace(workspace).store_url) as store:
            runs = [r for r in store.runs(CLIENT) if r.runbook == runbook]
        return runs[0].id if runs else ""

    @staticmethod
    def _argv(workspace: Path, *args: str) -> list[str]:
        # run in the workspace: a source checkout in the current folder would shadow the package
        return [sys.executable, "-m", "adoffboard.cli", "-w", str(workspace), "-q", *args]

    def _cli(
        self, workspace: Path, env: dict[str, str], *args: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._argv(workspace, *args),
            env=env,
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )

    # --- the reference and the crash points ------------------------------------------------

    def reference(self, runbook: str) -> Reference:
        """An uninterrupted run of `runbook` on a fresh world: what every trial must end with,
        and the mutating requests (per platform) whose arrival the trials kill at."""
        run = self.trial(runbook, quiet=False)
        requests = Counter(
            e.platform for e in self.box.log.mutating() if e.service != "graph-batch"
        )  # a Meta batch's items, again
        batches = Counter(m["platform"] for m in _OUTCOMES_LINE.finditer(run.apply_progress))
        return Reference(runbook, run, requests, batches)


@dataclass
class Reference:
    runbook: str
    run: Trial
    requests: Counter[str]  # mutating requests per platform
    outcome_batches: Counter[str]  # batches of outcomes journaled per platform

    def crash_points(self) -> list[CrashPoint]:
        """Every journal point of the uninterrupted run: each mutating request on each platform
        before and after it is applied, and each batch of outcomes once it is journaled."""
        points = [
            CrashPoint(self.runbook, platform, n, phase)
            for platform in sorted(self.requests)
            for n in range(1, self.requests[platform] + 1)
            for phase in KILL_PHASES
        ]
        points += [
            CrashPoint(self.runbook, platform, n, AFTER_OUTCOME)
            for platform in sorted(self.outcome_batches)
            for n in range(1, self.outcome_batches[platform] + 1)
        ]
        return points


def judge(trial: Trial, reference: Trial) -> list[str]:
    """Why a trial did not converge to the reference (nothing: it did)."""
    problems = []
    if trial.point is not None and not trial.killed:
        problems.append(f"the apply was not killed at this point: {trial.commands}")
    if not trial.finished:
        problems.append(f"not finished after {MAX_RESUMES} resumes; {trial.last_error()}")
    differing = sorted(k for k in reference.world if trial.world.get(k) != reference.world[k])
    if differing:
        problems.append(f"final state differs on {', '.join(differing)}")
    twice = sorted(f"{entity} x{n}" for entity, n in (trial.writes + trial.emails).items() if n > 1)
    if twice:
        problems.append(f"written more than once: {'; '.join(twice)}")
    extra = sorted(set(trial.writes) - set(reference.writes))
    if extra:
        problems.append(f"written but not by an uninterrupted run: {'; '.join(extra)}")
    return problems


def writes_per_entity(entries: list[LoggedRequest], exclude: str = "") -> Counter[str]:
    """How many mutating requests that reached the stand-ins' state named each entity."""
    counts: Counter[str] = Counter()
    for entry in entries:
        if entry.platform == exclude or not entry.landed:
            continue
        for entity in entry.entities:
            counts[f"{entry.platform} {entity}"] += 1
    return counts


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- the world a run leaves --------------------------------------------------------------------


def world(box: Sandbox, workspace: Path) -> dict[str, Any]:
    """Everything a cancellation may change, on every stand-in, plus the SharpSpring export on
    disk: what an interrupted-then-resumed run must leave exactly as an uninterrupted one."""
    return {
        "google_ads": _google_ads(box),
        "microsoft_ads": _microsoft_ads(box),
        "meta": _meta(box),
        "ga4": _ga4(box),
        "search_console": _search_console(box),
        "tag_manager": _tag_manager(box),
        "sheets": _sheets(box),
        "trello": _trello(box),
        "sharpspring_export": _export(workspace),
        "emails": _emails(box),
    }


def _google_ads(box: Sandbox) -> dict[str, Any]:
    state = box.google_ads.state
    with state.lock:
        return {
            "campaigns": {
                f"{cid}/{c.campaign_id}": c.status
                for cid, cs in state.campaigns.items()
                for c in cs.values()
            },
            "budgets": {
                f"{cid}/{b.budget_id}": (b.amount_micros, b.total_amount_micros)
                for cid, bs in state.budgets.items()
                for b in bs.values()
            },
            "links": {
                f"{m}~{c}": (link.status, link.hidden) for (m, c), link in state.links.items()
            },
        }


def _microsoft_ads(box: Sandbox) -> dict[str, Any]:
    standin = box.microsoft_ads
    with standin.lock:
        return {
            acct.account_id: {
                "campaigns": {c.id: (c.status, c.daily_budget) for c in acct.campaigns.values()},
                "budgets": {b.id: b.amount for b in acct.budgets.values()},
            }
            for acct in standin.accounts.values()
        }


def _meta(box: Sandbox) -> dict[str, Any]:
    standin = box.meta
    with standin.lock:
        return {
            acct.id: {
                "campaigns": {c.id: c.status for c in acct.campaigns.values()},
                "adsets": {a.id: a.status for a in acct.adsets.values()},
                "rules": {r.id: r.status for r in acct.rules.values()},
                "agencies": sorted(acct.agencies),
            }
            for acct in standin.accounts.values()
        }


def _ga4(box: Sandbox) -> dict[str, Any]:
    standin = box.ga4
    with standin.lock:
        return {
            name: sorted((b.id, b.user, tuple(b.roles)) for b in node.bindings.values())
            for name, node in standin.state.nodes.items()
        }


def _search_console(box: Sandbox) -> dict[str, Any]:
    standin = box.search_console
    with standin.lock:
        return {
            url: {
                "users": dict(site.users),
                "verified_owners": sorted(site.verified_owners),
                "tokens": sorted(site.tokens_in_place),
            }
            for url, site in standin.sites.items()
        }


def _tag_manager(box: Sandbox) -> dict[str, Any]:
    standin = box.tag_manager
    with standin.lock:
        return {
            acct.id: {
                p.id: (p.email, p.account, json.dumps(p.containers, sort_keys=True))
                for p in acct.permissions.values()
            }
            for acct in standin.accounts.values()
        }


def _sheets(box: Sandbox) -> dict[str, Any]:
    standin = box.sheets
    with standin.lock:
        return {
            book.id: {grid.title: [list(row) for row in grid.rows] for grid in book.grids}
            for book in standin.books.values()
        }


def _trello(box: Sandbox) -> dict[str, Any]:
    standin = box.trello
    with standin.lock:
        return {
            card.id: {"closed": card.closed, "name": card.name, "list": card.list_id}
            for card in standin.cards.values()
        }


def _export(workspace: Path) -> dict[str, Any]:
    """The export files: the CSV's bytes and its record, less the moments they were made."""
    out: dict[str, Any] = {}
    for path in sorted((workspace / "exports").glob("*")):
        if path.suffix == ".json":
            record = json.loads(path.read_text(encoding="utf-8"))
            out[path.name] = {
                k: v
                for k, v in record.items()
                if k
                not in (
                    "exported_at",
                    "emailed_at",
                    "message_id",
                    # the intent's moment, and a person's decision on an
                    # email in doubt (who and when)
                    "sending_at",
                    "sending_message_id",
                    "sending_note",
                    "decisions",
                )
            }
        else:
            out[path.name] = sha256(path.read_bytes()).hexdigest()
    return out


def _emails(box: Sandbox) -> list[dict[str, Any]]:
    """Every message the SMTP server accepted: envelope, subject, body and attachments."""
    standin = box.smtp
    with standin.lock:
        pairs = list(zip(standin.messages, standin.envelopes, strict=True))
    out = []
    for message, (sender, recipients) in pairs:
        parts = [
            (part.get_filename() or part.get_content_type(), _digest(part))
            for part in message.walk()
            if not part.is_multipart()
        ]
        out.append(
            {
                "from": sender,
                "to": sorted(recipients),
                "subject": str(message["Subject"]),
                "parts": parts,
            }
        )
    return sorted(out, key=lambda m: json.dumps(m, sort_keys=True))


def _digest(part: Any) -> str:
    """An attachment's bytes; a text body less the moments it names (when the export ran)."""
    data = part.get_payload(decode=True) or b""
    if part.get_filename() is None and part.get_content_maintype() == "text":
        data = _MOMENT.sub("<moment>", data.decode("utf-8")).encode("utf-8")
    return sha256(data).hexdigest()


def run_trials(
    labs: list[CrashLab], work: list[tuple[CrashPoint, Trial]]
) -> list[tuple[Trial, list[str]]]:
    """Every crash point, each judged against its reference run, spread over the labs (each
    lab's sandbox serves one trial at a time)."""
    queue: Queue[tuple[CrashPoint, Trial]] = Queue()
    for item in work:
        queue.put(item)
    results: list[tuple[Trial, list[str]]] = []

    def drain(lab: CrashLab) -> None:
        while True:
            try:
                point, reference = queue.get_nowait()
            except Empty:
                return
            trial = lab.trial(point.runbook, point)
            results.append((trial, judge(trial, reference)))

    with ThreadPoolExecutor(max_workers=len(labs)) as pool:
        for done in [pool.submit(drain, lab) for lab in labs]:
            done.result()
    return results
