"""`adoffboard serve`: what it refuses before serving (one line, the documented exit code), and
that it serves the console where it says it does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import Cli
from console_support import configure_console

from adoffboard.cli import EXIT_AUTH, EXIT_INPUT
from adoffboard.sandbox import Sandbox

pytestmark = pytest.mark.standins("oidc", "smtp")


def one_error(result: object, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    lines = [line for line in result.output.splitlines() if line.startswith("adoffboard: error:")]  # type: ignore[attr-defined]
    assert len(lines) == 1 and fragment in lines[0], result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_serve_without_console_settings_is_refused(workspace: Path) -> None:
    one_error(Cli(workspace)("serve", "--port", "0"), EXIT_INPUT, "[console] secret_key is not set")


def test_serve_without_the_identity_provider_is_refused(workspace: Path, sandbox: Sandbox) -> None:
    configure_console(workspace, sandbox, oidc={"issuer": ""})
    one_error(Cli(workspace)("serve", "--port", "0"), EXIT_INPUT, "[console.oidc] issuer not set")


def test_an_unresolvable_secret_is_an_auth_error(workspace: Path, sandbox: Sandbox) -> None:
    configure_console(workspace, sandbox, secret_key="env:ADOFFBOARD_TEST_NO_SUCH_KEY")
    one_error(Cli(workspace)("serve", "--port", "0"), EXIT_AUTH, "ADOFFBOARD_TEST_NO_SUCH_KEY")


def test_a_sandbox_secret_needs_a_loopback_console(workspace: Path, sandbox: Sandbox) -> None:
    configure_console(workspace, sandbox, url="https://console.agency.example")
    one_error(Cli(workspace)("serve", "--port", "0"), EXIT_INPUT, "only works with a loopback")


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_serve_prints_its_url_and_serves(workspace: Path, sandbox: Sandbox, as_json: bool) -> None:
    configure_console(workspace, sandbox)
    json_flag = ["--json"] if as_json else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adoffboard.cli",
            "-w",
            str(workspace),
            "serve",
            "--port",
            "0",
            *json_flag,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if as_json:
            event = json.loads(line)
            assert event["event"] == "serving" and event["network"] is False
            line = f"console on {event['url']}"
        found = re.search(r"console on (http://127\.0\.0\.1:\d+)", line)
        assert found, line + (process.stderr.read() if process.poll() is not None else "")
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = requests.get(found.group(1) + "/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.json() == {"status": "ok"}
    finally:
        # Ctrl-C, or a service manager's SIGTERM: either stops it cleanly
        process.send_signal(signal.SIGTERM if as_json else signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[-1] == ('{"event": "stopped"}' if as_json else "Console stopped.")
