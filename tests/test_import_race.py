"""Cold starts: platforms are read in parallel threads, and no two of them import a vendor SDK for
the first time at once (two first imports of shared Google packages racing can deadlock:
`_DeadlockError` / `ImportError`).

The rule is checked exactly, in one fresh process that reads every platform at once: the thread
that first imports each module is recorded (`tests/import_watch.py`), and no module outside the
standard library is first imported in a platform's thread unless it belongs to a package that only
that one platform's SDK uses. A connector that starts importing a shared package lazily in its
thread fails this test every time, not once in many runs. Then eight fresh processes, four at a
time, read Google Ads, Google Analytics, Search Console, Tag Manager, Sheets, Trello and Meta at
once: all must finish (two tests of four, so that pytest-xdist spreads them over its workers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from adoffboard.connectors import REGISTRY
from adoffboard.engine.preload import THREAD_NAME as PRELOADING
from adoffboard.sandbox import Sandbox

COLD_STARTS = 8
AT_ONCE = 4  # each process is mostly waiting on its reads: overlap them
CLIENT = "lakeside-powersports"


@pytest.mark.parametrize("batch", range(COLD_STARTS // AT_ONCE))
def test_cold_starts_read_every_platform_in_parallel(
    workspace: Path, sandbox: Sandbox, batch: int
) -> None:
    manifest = workspace / "clients" / f"{CLIENT}.yaml"
    data = yaml.safe_load(manifest.read_text())
    data.pop("microsoft_ads", None)  # its SDK imports alone for seconds: not what races here
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    exe = shutil.which("adoffboard", path=str(Path(sys.executable).parent)) or "adoffboard"

    def cold_start(n: int) -> tuple[int, int, str] | None:
        done = subprocess.run(
            [
                exe,
                "-w",
                str(workspace),
                "-q",
                "--json",
                "verify",
                CLIENT,
                "-r",
                "sem-cancellation",
                "--scope",
                "platform",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=workspace.parent,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        # 12/13: lines FAIL or wait for people (nothing was applied); anything else is a crash
        if done.returncode not in (12, 13) or "Error" in done.stderr:
            return (n, done.returncode, done.stderr.strip()[-300:])
        return None

    with ThreadPoolExecutor(AT_ONCE) as pool:
        starts = range(batch * AT_ONCE, (batch + 1) * AT_ONCE)
        failures = [f for f in pool.map(cold_start, starts) if f is not None]
    assert failures == [], failures
    assert sandbox.log.mutating() == []


def _top(module: str) -> str:
    return module.split(".")[0]


def test_only_one_platforms_own_packages_are_first_imported_in_its_thread(
    workspace: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    record = tmp_path / "first-imports.json"
    watch = Path(__file__).with_name("import_watch.py")
    done = subprocess.run(
        [sys.executable, str(watch), str(record), "--"]
        + ["-w", str(workspace), "-q", "--json", "verify", CLIENT]
        + ["-r", "sem-cancellation", "--scope", "platform"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=workspace.parent,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode in (12, 13), done.stderr[-2000:]
    threads: dict[str, str] = json.loads(record.read_text())
    # the platforms' threads ran: each platform's SDK was imported, ahead of its reads, by the
    # one thread that imports them in turn (`adoffboard.engine.preload`), never by a platform's
    for platform in ("google_ads", "microsoft_ads", "meta", "ga4", "sheets"):
        assert all(name in threads for name in REGISTRY[platform].sdk), platform
        assert {threads[name] for name in REGISTRY[platform].sdk} <= {"MainThread", PRELOADING}
    print(sorted(set(threads.values())))
    owners: dict[str, set[str]] = {}
    for platform, declaration in REGISTRY.items():
        for name in declaration.sdk:
            owners.setdefault(_top(name), set()).add(platform)
    own = {top for top, platforms in owners.items() if len(platforms) == 1}
    shared_in_threads = sorted(
        f"{module} (in {thread})"
        for module, thread in threads.items()
        if thread not in ("MainThread", PRELOADING)
        and _top(module) not in sys.stdlib_module_names
        and _top(module) not in own
    )
    assert shared_in_threads == []
    assert sandbox.log.mutating() == []
