"""Shared fixtures: a sandbox on loopback per test (running stand-ins are reused from test to
test, reset in between: tests/sandbox_support.py), a workspace pointing at it, the CLI.

Also the suite's own plumbing: `pytest -k <platform>` selects one platform's tests (a keyword
from the test file's name), `@pytest.mark.standins(...)` starts only the stand-ins a test
talks to, and the pytest-xdist options in pyproject's addopts are accepted (and ignored) when
xdist is switched off with `-p no:xdist`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w
import yaml
from click.testing import CliRunner, Result
from sandbox_support import SandboxPool

from adoffboard.cli import main
from adoffboard.demo import DEMO_CLIENT
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario
from adoffboard.sandbox.tls import sandbox_cert
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

HARBOR_CLIENT = {
    "slug": "harbor-marine",
    "name": "Harbor Marine Center",
    "departments": ["SEM"],
    "account_manager": {"name": "Dana Whitfield", "email": "dana.whitfield@agency.example"},
    "google_ads": {
        "customer_id": "234-567-8901",
        "manager_id": "111-222-3333",
        "expected_name": "Harbor Marine Center",
    },
}


# platforms a test file is about, when its name does not say it (`-k <platform>`)
PLATFORMS = (
    "google_ads",
    "microsoft_ads",
    "meta",
    "ga4",
    "search_console",
    "tag_manager",
    "sheets",
    "trello",
    "sharpspring",
)
FILE_PLATFORMS = {
    "test_googleads_standin": ("google_ads",),
    "test_google_rest_standins": ("ga4", "search_console", "tag_manager"),
    "test_e2e_google_rest": ("ga4", "search_console", "tag_manager"),
    "test_google_rest_credentials": ("ga4", "search_console", "tag_manager"),
    "test_ma_pause": ("sheets",),
}


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin("xdist"):
        # `-p no:xdist` (debugging in one process): pyproject's addopts still name xdist's options
        group = parser.getgroup("xdist", "pytest-xdist is switched off: its options are ignored")
        group.addoption("--numprocesses", dest="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")


RAM_TEMP = Path("/dev/shm")
RAM_TEMP_MIN_FREE = 1 << 30  # a run's folders take tens of megabytes; leave room to spare


def pytest_configure(config: pytest.Config) -> None:
    """Tests' folders (tmp_path: workspaces, their SQLite stores, plans) in memory when the
    machine has a roomy tmpfs and nobody chose a place: every run, apply and change request
    commits with fsync, which on a disk waits for it (a tenth of a second per test), and in
    memory returns at once. The code path is the same; only the folder's filesystem differs.
    `--basetemp`, TMPDIR or PYTEST_DEBUG_TEMPROOT still decide where they go."""
    chosen = os.environ.get("TMPDIR") or os.environ.get("PYTEST_DEBUG_TEMPROOT")
    if config.option.basetemp or chosen or not os.access(RAM_TEMP, os.W_OK | os.X_OK):
        return
    room = os.statvfs(RAM_TEMP)
    if room.f_bavail * room.f_frsize >= RAM_TEMP_MIN_FREE:
        tempfile.tempdir = str(RAM_TEMP)


def platforms_of(item: pytest.Item) -> set[str]:
    """The platforms a test is about: named in its file's name (or FILE_PLATFORMS), or the
    contract suite's harness it runs with."""
    stem = item.path.stem
    found = {p for p in PLATFORMS if p in stem} | set(FILE_PLATFORMS.get(stem, ()))
    harness = getattr(item, "callspec", None) and item.callspec.params.get("harness")
    if harness is not None:
        found.add(harness.platform)
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.extra_keyword_matches.update(platforms_of(item))


@pytest.fixture(scope="session", autouse=True)
def _grpc_trusts_the_sandbox() -> None:
    # gRPC reads its roots once per process: point it at the sandbox's certificate first.
    os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(sandbox_cert().ca_file)


@pytest.fixture(scope="session", autouse=True)
def _no_saved_identity(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Who the CLI acts as must not depend on the account running the tests: no personal token
    # from the environment, and tokens saved by `adoffboard login` go to a folder of the session.
    os.environ.pop("ADOFFBOARD_TOKEN", None)
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="session")
def _demo_scenario() -> dict[str, Any]:
    return load_scenario(DEMO_SCENARIO)  # parsed once; each test edits its own deep copy


@pytest.fixture
def scenario(_demo_scenario: dict[str, Any]) -> dict[str, Any]:
    """The demo scenario, with Lakeside's VIDEO campaign running: the API cannot pause it."""
    data = copy.deepcopy(_demo_scenario)
    lakeside = data["google_ads"]["accounts"][0]
    for campaign in lakeside["campaigns"]:
        if campaign["channel"] == "VIDEO":
            campaign["status"] = "ENABLED"
    return data


def standins_for(request: pytest.FixtureRequest) -> set[str] | None:
    """The stand-ins a test needs: its `standins` marks (test, class or module), or its contract
    harness's stand-ins (its `standins`, else its platform); None (all of the scenario's) when it says nothing."""
    names = {name for mark in request.node.iter_markers("standins") for name in mark.args}
    if "harness" in request.fixturenames:
        harness = request.getfixturevalue("harness")
        names.update(getattr(harness, "standins", (harness.platform,)))
    return names or None


@pytest.fixture(scope="session")
def sandbox_pool() -> Iterator[SandboxPool]:
    pool = SandboxPool()
    yield pool
    pool.close()


@pytest.fixture
def sandbox(
    request: pytest.FixtureRequest, scenario: dict[str, Any], sandbox_pool: SandboxPool
) -> Iterator[Sandbox]:
    """The test's stand-ins, serving its scenario from a clean slate (a fresh or reset sandbox)."""
    box = sandbox_pool.acquire(scenario, standins_for(request))
    yield box
    sandbox_pool.release(box)


@pytest.fixture(scope="session")
def _store_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite store that `Store.open` created and upgraded to head, once per process."""
    path = tmp_path_factory.mktemp("store-at-head") / "state.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def workspace(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox: Sandbox, _store_at_head: Path
) -> Path:
    """The demo dealer and Harbor Marine on the test's stand-ins. Its store is a copy of one made
    at the schema's head, private as `Store.open` leaves it (running every migration again for
    each test is most of a short test's time); a test about the store's creation marks itself
    `fresh_store` and its first command creates the store."""
    root = tmp_path / "ws"
    init_workspace(
        root,
        platforms=sandbox.platform_settings(),
        notifications=sandbox.notification_settings(),
        clients=[DEMO_CLIENT, HARBOR_CLIENT],
        single_user=True,  # the tests act as every person from one account
    )
    if request.node.get_closest_marker("fresh_store") is None:
        store = root / ".adoffboard" / "state.db"
        store.parent.mkdir(mode=0o700)
        shutil.copyfile(_store_at_head, store)
        store.chmod(0o600)
    return root


def set_keys(data: dict[str, Any], changes: dict[str, Any]) -> None:
    """Set nested keys named with `__` between levels (`google_ads__customer_id`)."""
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value


def edit_manifest(workspace: Path, client: str, /, **changes: Any) -> None:
    path = workspace / "clients" / f"{client}.yaml"
    data = yaml.safe_load(path.read_text())
    set_keys(data, changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_config(workspace: Path, /, **changes: Any) -> None:
    """Set keys of the workspace's adoffboard.toml, named like `edit_manifest`'s
    (`platforms__google_ads__attempts=1`)."""
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    set_keys(data, changes)
    path.write_text(tomli_w.dumps(data))


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


def approved_cr(
    cli: Cli,
    client: str,
    type_: str = "cancellation",
    *,
    scope: str = "dm",
    effective: str | None = None,
    departments: tuple[str, ...] = ("SEM",),
    sandbox: Sandbox | None = None,
    extra: tuple[str, ...] = (),
) -> str:
    """Create a change request and take it through the whole chain, through the CLI, as the
    people `adoffboard init` names: Dana (Account Manager) creates and submits, Jeremy and Dustin
    approve, Accounting processes. Returns its id.

    With `sandbox`, the approval notice (SMTP) is checked to be the only traffic so far and the
    request log is cleared, so that tests keep asserting "no platform write" on the whole log.
    """
    args = [
        "--json",
        "cr",
        "new",
        client,
        "--type",
        type_,
        "--scope",
        scope,
        "--effective",
        effective or workspace_today(cli.workspace),
        "--as",
        "dana",
        *extra,
    ]
    for d in departments:
        args += ["--department", d]
    created = cli(*args)
    assert created.exit_code == 0, created.output
    cr_id = json.loads(created.output)["id"]
    for step in (
        ("submit", cr_id, "--as", "dana"),
        ("approve", cr_id, "--as", "jeremy"),
        ("approve", cr_id, "--as", "dustin"),
        ("approve", cr_id, "--as", "accounting"),
    ):
        result = cli("cr", *step)
        assert result.exit_code == 0, result.output
    if sandbox is not None:
        assert {e.platform for e in sandbox.log.entries()} <= {"smtp"}
        sandbox.log.clear()
    return cr_id
