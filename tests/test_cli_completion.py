"""Shell completion (`_ADOFFBOARD_COMPLETE`) of client slugs, runbooks, request, run and
scheduled run ids: read from the workspace and its store, never written; silent on failure."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Cli, approved_cr

from adoffboard.cli import main
from adoffboard.config import load_workspace
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"


def complete(workspace: Path, line: str) -> list[str]:
    """What bash would be offered after typing `adoffboard -w WS <line>`."""
    words = ["adoffboard", "-w", str(workspace), *line.split()]
    current = len(words) if line.endswith(" ") or not line else len(words) - 1
    env = {
        "_ADOFFBOARD_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(words) + (" " if line.endswith(" ") else ""),
        "COMP_CWORD": str(current),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="adoffboard")
    assert result.exit_code == 0 and result.stderr == "", result.output
    return [row.split(",", 1)[1] for row in result.stdout.splitlines() if row]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_values_complete_from_the_workspace_and_store_without_writing(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    cr_id = approved_cr(cli, CLIENT)
    run_id = json.loads(cli("--json", "run", CLIENT, "--yes").stdout)["runs"][0]["run_id"]
    store = Path(load_workspace(workspace).store_url.removeprefix("sqlite:///"))
    before = digest(store)
    assert complete(workspace, "plan ") == ["harbor-marine", CLIENT]
    assert complete(workspace, "plan lake") == [CLIENT]
    assert complete(workspace, f"plan {CLIENT} -r sem-c") == ["sem-cancellation"]
    assert "sem-pause" in complete(workspace, "runbooks show ")
    assert complete(workspace, "cr show ") == [cr_id]
    assert complete(workspace, f"run {CLIENT} --cr ") == [cr_id]
    assert complete(workspace, "restore ") == [run_id]
    assert complete(workspace, f"verify {CLIENT} --run r-") == [run_id]
    assert complete(workspace, "history ") == ["harbor-marine", CLIENT]
    assert set(complete(workspace, "case show ")) == {"harbor-marine", CLIENT, cr_id}
    assert complete(workspace, "schedule show ")  # the approved request's scheduled runs
    assert digest(store) == before


@pytest.mark.parametrize("broken", ["no-workspace", "bad-toml"])
def test_a_completion_that_cannot_be_computed_offers_nothing_silently(
    tmp_path: Path, broken: str
) -> None:
    if broken == "bad-toml":
        (tmp_path / "adoffboard.toml").write_text("[workspace\n")
    files = sorted(tmp_path.rglob("*"))
    assert complete(tmp_path, "cr show ") == []
    assert complete(tmp_path, "plan ") == []
    assert sorted(tmp_path.rglob("*")) == files  # no store created
