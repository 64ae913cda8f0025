"""Running `adoffboard auth` as a person does: a real process whose consent address is opened
(by the test, against the stand-in's authorization endpoint) and whose redirect is pasted back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

CLI = "from adoffboard.cli import main; main()"


def consent(url: str) -> str:
    """What the user's browser does: open the consent address, follow it to the redirect, whose
    address (with the code) the user copies from the address bar."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def run_auth(
    workspace: Path,
    *args: str,
    lines_before: tuple[str, ...] = (),
    answer: Callable[[str], str] = consent,
) -> subprocess.CompletedProcess[str]:
    """`adoffboard -w WS auth ARGS` in its own process and session (no terminal: hidden prompts
    read standard input). `lines_before` are typed first (a developer token, a secret); the
    printed consent address is answered with `answer(url)`."""
    env = {k: v for k, v in os.environ.items() if k != "OAUTHLIB_INSECURE_TRANSPORT"}
    env.pop("ADOFFBOARD_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "-w", str(workspace), "auth", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stderr is not None
    for line in lines_before:
        proc.stdin.write(line + "\n")
    proc.stdin.flush()
    seen = []
    while True:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("  http"):
            proc.stdin.write(answer(line.strip()) + "\n")
            proc.stdin.flush()
            break
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(seen) + err)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def secret_files(workspace: Path) -> dict[str, str]:
    folder = workspace / ".adoffboard" / "secrets"
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text().strip() for p in folder.iterdir()}
