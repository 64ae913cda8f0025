"""A rehearsal in one step: `init`, `sandbox up --workspace`, then `clients validate` and `plan`
with no edit by hand; what `sandbox up` keeps of the user's file, and what `clients validate` says
of a manifest whose platform the workspace does not configure."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from adoffboard.cli import EXIT_INPUT, EXIT_OK, main
from adoffboard.sandbox import DEFAULT_PORTS, STANDINS, Sandbox
from adoffboard.sandbox.tls import sandbox_cert
from adoffboard.sandbox.workspace_file import MARK, merged
from adoffboard.workspace_init import init_workspace

CLIENT = "lakeside-powersports"  # the example client `init` writes: an account of the demo's


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["-q", *args])


@contextmanager
def sandbox_up(tmp_path: Path, *args: str) -> Iterator[dict[str, Any]]:
    """`adoffboard sandbox up --json ...` in the background: its first event, while it serves."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "adoffboard.cli", "sandbox", "up", "--json", *args]
        # the test process's certificate: its gRPC trusts that one only (read once per process)
        + ["--cert-dir", str(sandbox_cert().ca_file.parent)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert json.loads(out.splitlines()[-1]) == {"event": "stopped"}


def test_init_sandbox_up_validate_and_plan_with_no_edit(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == EXIT_OK
    config = ws / "adoffboard.toml"
    config.write_text(
        "# our agency's workspace\n" + config.read_text() + "\n[platforms.trello] # ours\n"
        'endpoint = "https://api.trello.example"\napi_key = "env:TRELLO_KEY"\n'
        'token = "env:TRELLO_TOKEN"\nboard_id = "our-board"\n'
    )
    with sandbox_up(tmp_path, "--workspace", str(ws), "--any-ports") as up:
        assert up["workspace"] == str(config)
        assert set(up["endpoints"]) == set(STANDINS)
        text = config.read_text()
        data = tomllib.loads(text)  # one table per platform: no "declared twice"
        assert data["platforms"]["google_ads"]["endpoint"] == up["endpoints"]["google_ads"]
        assert data["platforms"]["trello"]["board_id"] == up["platforms"]["trello"]["board_id"]
        assert data["notifications"]["smtp_port"] == up["notifications"]["smtp_port"]
        assert data["notifications"]["sender"] == "adoffboard@agency.example"  # kept
        assert text.startswith("# our agency's workspace\n")
        assert f"[platforms.google_ads] # {MARK}" in text
        assert text.count("[platforms.trello]") == 1 and "# ours" not in text
        assert stat.S_IMODE(config.stat().st_mode) == 0o600

        validated = run("-w", str(ws), "clients", "validate")
        assert validated.exit_code == EXIT_OK, validated.output
        planned = run("-w", str(ws), "plan", CLIENT, "-r", "sem-cancellation")
        assert planned.exit_code == EXIT_OK, planned.output
        assert "Plan saved:" in planned.output

    # a restart on the same ports writes nothing new
    ports = [f"--port={key}={int(e.rsplit(':', 1)[1])}" for key, e in up["endpoints"].items()]
    with sandbox_up(tmp_path, "--workspace", str(ws), *ports) as again:
        assert again["endpoints"] == up["endpoints"]
        assert config.read_text() == text


def test_merging_keeps_the_users_file_and_is_stable() -> None:
    with Sandbox.only({"meta": {}, "smtp": {}}, ["meta", "smtp"]) as box:
        platforms, notifications = box.platform_settings(), box.notification_settings()
    original = (
        "# top comment\n[workspace]\nname = 'Ours' # our name\n\n[notifications]\n"
        "sender = 'x@agency.example'\nsmtp_port = 25\n\n[platforms.meta]\n"
        "endpoint = 'https://graph.facebook.com'\n\n[platforms.google_ads] # real\n"
        "developer_token = 'env:T'\n"
    )
    once = merged(original, platforms, notifications)
    assert merged(once, platforms, notifications) == once
    data = tomllib.loads(once)
    assert data["platforms"]["meta"] == platforms["meta"]
    assert data["platforms"]["google_ads"] == {"developer_token": "env:T"}
    assert data["notifications"] == {"sender": "x@agency.example", **notifications}
    assert "# top comment" in once and "# our name" in once and "# real" in once
    # a file without [platforms] or [notifications] gets them
    assert tomllib.loads(merged("", platforms, notifications))["platforms"] == platforms


def test_stand_ins_have_distinct_default_ports_and_the_scenarios_win(tmp_path: Path) -> None:
    from adoffboard.commands.sandbox import default_ports

    assert set(DEFAULT_PORTS) == set(STANDINS)
    assert len(set(DEFAULT_PORTS.values())) == len(DEFAULT_PORTS)
    box = Sandbox({"meta": {}, "trello": {}, "ports": {"meta": 0}})
    assert default_ports(box) == {"trello": DEFAULT_PORTS["trello"]}


def test_sandbox_up_refuses_a_folder_without_a_readable_workspace(tmp_path: Path) -> None:
    missing = run("sandbox", "up", "--workspace", str(tmp_path), "--any-ports")
    assert missing.exit_code == EXIT_INPUT, missing.output
    assert "no adoffboard.toml in" in missing.output
    (tmp_path / "adoffboard.toml").write_text("[platforms\n")
    broken = run("sandbox", "up", "--workspace", str(tmp_path), "--any-ports")
    assert broken.exit_code == EXIT_INPUT, broken.output
    assert "not valid TOML" in broken.output and "Traceback" not in broken.output
    assert (tmp_path / "adoffboard.toml").read_text() == "[platforms\n"


def test_validate_names_a_platform_the_workspace_does_not_configure(tmp_path: Path) -> None:
    init_workspace(tmp_path)  # configures Google Ads only
    manifest = tmp_path / "clients" / f"{CLIENT}.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["meta"] = {"ad_account_id": "act_1029384756", "expected_name": "Lakeside Powersports"}
    manifest.write_text(yaml.safe_dump(data))
    result = run("-w", str(tmp_path), "clients", "validate")
    assert result.exit_code == EXIT_INPUT, result.output
    assert f"{manifest}: meta: needs [platforms.meta], which adoffboard.toml does not" in (
        result.output
    )
    assert "1 problem(s)" in result.output
