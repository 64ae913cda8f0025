"""Shared fixtures: a sandbox on loopback per test, a workspace pointing at it, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner, Result

from adoffboard.cli import main
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario
from adoffboard.sandbox.tls import sandbox_cert
from adoffboard.workspace_init import init_workspace

HARBOR_CLIENT = {
    "slug": "harbor-marine",
    "name": "Harbor Marine Center",
    "departments": ["SEM"],
    "account_manager": {"name": "Dana Whitfield", "email": "dana.whitfield@agency.example"},
    "google_ads": {"customer_id": "234-567-8901", "manager_id": "111-222-3333",
                   "expected_name": "Harbor Marine Center"},
}


@pytest.fixture(scope="session", autouse=True)
def _grpc_trusts_the_sandbox() -> None:
    # gRPC reads its roots once per process: point it at the sandbox's certificate first.
    os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(sandbox_cert().ca_file)


@pytest.fixture
def scenario() -> dict[str, Any]:
    """The demo scenario, with Lakeside's VIDEO campaign running: the API cannot pause it."""
    data = load_scenario(DEMO_SCENARIO)
    lakeside = data["google_ads"]["accounts"][0]
    for campaign in lakeside["campaigns"]:
        if campaign["channel"] == "VIDEO":
            campaign["status"] = "ENABLED"
    return data


@pytest.fixture
def sandbox(scenario: dict[str, Any]) -> Iterator[Sandbox]:
    box = Sandbox(scenario).start()
    yield box
    box.stop()


@pytest.fixture
def workspace(tmp_path: Path, sandbox: Sandbox) -> Path:
    root = tmp_path / "ws"
    init_workspace(root, platforms=sandbox.platform_settings(),
                   notifications=sandbox.notification_settings(),
                   clients=[DEMO_CLIENT, HARBOR_CLIENT])
    return root


def edit_manifest(workspace: Path, client: str, /, **changes: Any) -> None:
    path = workspace / "clients" / f"{client}.yaml"
    data = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


class Cli:
    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(main, ["-w", str(self.workspace), "-q", *args], input=input)


@pytest.fixture
def cli(workspace: Path) -> Cli:
    return Cli(workspace)


# --- change requests --------------------------------------------------------------------------


def workspace_today(workspace: Path) -> str:
    """Today in the workspace's time zone (what `plan` uses by default)."""
    from adoffboard.config import load_workspace

    tz = load_workspace(workspace).config.workspace.timezone
    return dt.datetime.now(ZoneInfo(tz)).date().isoformat()


def approved_cr(cli: Cli, client: str, type_: str = "cancellation", *, scope: str = "dm",
                effective: str | None = None, departments: tuple[str, ...] = ("SEM",),
                sandbox: Sandbox | None = None, extra: tuple[str, ...] = ()) -> str:
    """Create a change request and take it through the whole chain, through the CLI, as the
    people `adoffboard init` names: Dana (Account Manager) creates and submits, Jeremy and Dustin
    approve, Accounting processes. Returns its id.

    With `sandbox`, the approval notice (SMTP) is checked to be the only traffic so far and the
    request log is cleared, so that tests keep asserting "no platform write" on the whole log.
    """
    args = ["--json", "cr", "new", client, "--type", type_, "--scope", scope,
            "--effective", effective or workspace_today(cli.workspace), "--as", "dana", *extra]
    for d in departments:
        args += ["--department", d]
    created = cli(*args)
    assert created.exit_code == 0, created.output
    cr_id = json.loads(created.output)["id"]
    for step in (("submit", cr_id, "--as", "dana"), ("approve", cr_id, "--as", "jeremy"),
                 ("approve", cr_id, "--as", "dustin"), ("approve", cr_id, "--as", "accounting")):
        result = cli("cr", *step)
        assert result.exit_code == 0, result.output
    if sandbox is not None:
        assert {e.platform for e in sandbox.log.entries()} <= {"smtp"}
        sandbox.log.clear()
    return cr_id
