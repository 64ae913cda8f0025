"""Shared fixtures: a sandbox on loopback per test, a workspace pointing at it, the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
