"""Cold starts: platforms are read in parallel threads, and no two of them import a vendor SDK for
the first time at once (two first imports of shared Google packages racing can deadlock:
`_DeadlockError` / `ImportError`). Forty fresh processes, four at a time, each reading Google
Ads, Google Analytics, Search Console, Tag Manager, Sheets, Trello and Meta at once: all must
finish. The forty run as ten tests of four, so that pytest-xdist spreads them over its workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from adoffboard.sandbox import Sandbox

COLD_STARTS = 40
AT_ONCE = 4  # each process is mostly waiting on its reads: overlap them
CLIENT = "lakeside-powersports"


@pytest.mark.parametrize("batch", range(COLD_STARTS // AT_ONCE))
def test_forty_cold_starts_read_every_platform_in_parallel(
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
