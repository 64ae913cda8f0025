"""`adoffboard demo --console` as a person runs it: a real process, the console on loopback
until Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

from adoffboard.cli import EXIT_OK

START_S = 240  # the demo's whole run first, on a busy machine


def read_until_console(proc: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """The console's address, and the lines printed until the banner's last one."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_S
    url = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if found := re.match(r"Console: (http://127\.0\.0\.1:\d+)", line):
            url = found.group(1)
        if url and line.startswith("Ctrl-C"):
            return url, lines
    proc.kill()
    raise AssertionError(
        f"no console announced; printed: {lines}; stderr: {proc.stderr and proc.stderr.read()}"
    )


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.read().decode()


def test_demo_console_serves_the_demo_workspace_until_ctrl_c(tmp_path: Path) -> None:
    exe = shutil.which("adoffboard", path=str(Path(sys.executable).parent)) or "adoffboard"
    folder = tmp_path / "demo"
    proc = subprocess.Popen(
        [exe, "-q", "demo", "--console", "--keep", str(folder)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url, lines = read_until_console(proc)
        printed = "\n".join(lines)
        assert "Sign in as:" in printed
        assert re.search(
            r"Jeremy Bliesner\s+jeremy\.bliesner@agency\.example\s+approver_1", printed
        )
        assert re.search(r"Juniper team\s+removals@juniper\.example\s+juniper", printed)

        status, body = get(f"{url}/healthz")
        assert status == 200, body
        status, login = get(f"{url}/login")
        assert status == 200 and "Sign in" in login

        config = tomllib.loads((folder / "adoffboard.toml").read_text())
        console = config["console"]
        assert console["url"] == url and console["bind"] == "127.0.0.1"
        assert console["secret_key"] == "file:.adoffboard/console-secret-key"
        assert console["oidc"]["issuer"].startswith("http://127.0.0.1:")
        key_file = folder / ".adoffboard" / "console-secret-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert len(key) >= 32 and key not in printed

        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXIT_OK, err
    assert "Traceback" not in err and "Console stopped." in err
    assert key not in out + err
    # stopped: nothing answers there any more
    try:
        get(f"{url}/healthz")
    except OSError:
        pass
    else:
        raise AssertionError(f"{url} still answers after Ctrl-C")
