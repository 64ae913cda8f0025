"""Files holding client data are the owner's alone (0600, folders 0700), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Cli, approved_cr

from adoffboard.config import load_workspace
from adoffboard.connectors.sharpspring.export import write_export
from adoffboard.files import private_dir, write_private
from adoffboard.models import Report, ReportKind
from adoffboard.reports import write_reports
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

CLIENT = "lakeside-powersports"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files would otherwise be 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.fresh_store  # the commands create the store: privately
def test_plan_apply_verify_leave_only_private_files(
    cli: Cli, workspace: Path, sandbox: Sandbox, umask_022: None
) -> None:
    approved_cr(cli, CLIENT, "cancellation", scope="platform", departments=("SEM", "MA"))
    plan_file = workspace / "out" / "nested" / "plan.json"
    planned = cli("plan", CLIENT, "-r", "ma-cancellation", "-o", str(plan_file))
    assert planned.exit_code == 0, planned.output
    applied = cli("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output
    cli("verify", CLIENT)
    exports = sorted((workspace / "exports").iterdir())
    reports = sorted((workspace / "reports").iterdir())
    store = workspace / ".adoffboard" / "state.db"
    assert any(p.suffix == ".csv" for p in exports) and len(reports) >= 6
    siblings = [store.with_name(store.name + s) for s in ("-wal", "-shm", "-journal")]
    for path in [plan_file, store, *exports, *reports, *[p for p in siblings if p.exists()]]:
        assert mode(path) == 0o600, (path, oct(mode(path)))
    for folder in (
        plan_file.parent,
        plan_file.parent.parent,
        workspace / "exports",
        workspace / "reports",
        store.parent,
    ):
        assert mode(folder) == 0o700, (folder, oct(mode(folder)))
    assert os.umask(0o022) == 0o022  # the command put the caller's umask back


def test_a_wider_store_file_is_tightened_when_opened(cli: Cli, workspace: Path) -> None:
    assert cli("cr", "list").exit_code == 0
    store = workspace / ".adoffboard" / "state.db"
    os.chmod(store, 0o644)
    Store.open(load_workspace(workspace).store_url).close()
    assert mode(store) == 0o600


def test_store_is_created_private_without_the_command_line(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "state" / "deep" / "state.db"
    with Store.open(f"sqlite:///{path}"):
        pass
    assert mode(path) == 0o600
    assert mode(path.parent) == mode(path.parent.parent) == 0o700


def test_reports_and_exports_are_private_without_the_command_line(
    workspace: Path, umask_022: None
) -> None:
    from report_samples import PLAN

    paths = write_reports(Report(ReportKind.PLAN, PLAN), workspace / "reports" / "2026")
    assert {mode(p) for p in paths.values()} == {0o600}
    assert mode(workspace / "reports") == mode(workspace / "reports" / "2026") == 0o700
    record, _ = write_export(
        workspace,
        CLIENT,
        "7A3F9C21D0",
        "2026-12-01",
        "now",
        [{"id": 1, "emailAddress": "a@example.com"}],
    )
    folder = workspace / "exports"
    assert mode(folder) == 0o700
    assert {mode(p) for p in folder.iterdir()} == {0o600}
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_write_private_replaces_a_wider_file_and_keeps_existing_folders(
    tmp_path: Path, umask_022: None
):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    target = shared / "client.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600
    assert mode(shared) == 0o755  # a folder someone shares on purpose stays as it is
    assert mode(private_dir(tmp_path / "a" / "b")) == 0o700 and mode(tmp_path / "a") == 0o700


def test_a_write_removes_the_half_written_copies_a_killed_process_left(tmp_path: Path) -> None:
    from adoffboard.files import write_private

    target = tmp_path / "exports" / "lakeside-sharpspring-2026-12-07.csv"
    write_private(target, "first\n")
    stale = target.parent / f".{target.name}.k1ll3d.tmp"  # what mkstemp leaves after SIGKILL
    stale.write_text("half a contact list")
    other = target.parent / ".another-file.csv.x.tmp"
    other.write_text("not ours")
    write_private(target, "second\n")
    assert target.read_text() == "second\n"
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == [other.name, target.name]
