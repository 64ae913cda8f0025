"""How the command line behaves in a shell: closed pipes, piped tables, the live display."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"


def adoffboard(workspace: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "adoffboard.cli", "-w", str(workspace), "-q", *args]
    return subprocess.run(command, text=True, capture_output=False, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "args",
    [("cr", "show", "{cr}"), ("--json", "cr", "list"), ("cr", "list"), ("runbooks", "list")],
    ids=["cr-show", "cr-list-json", "cr-list-table", "runbooks-list"],
)
def test_a_closed_pipe_ends_quietly(
    cli: Cli, sandbox: Sandbox, workspace: Path, args: tuple[str, ...]
) -> None:
    """`adoffboard cr show X | head -1`: the reader is gone before the first line is written."""
    cr_id = approved_cr(cli, CLIENT)
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before anything is written: the first write fails (EPIPE)
    try:
        done = adoffboard(
            workspace,
            *(a.format(cr=cr_id) for a in args),
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stderr == ""


def test_piped_tables_show_full_values(cli: Cli, sandbox: Sandbox) -> None:
    """Not a terminal: every cell whole (no `…`, no value cut over two lines)."""
    cr_id = approved_cr(cli, CLIENT)
    standing = json.loads(cli("--json", "cr", "show", cr_id).stdout)["standing"]
    table = cli("cr", "list").stdout
    assert "…" not in table
    assert standing in table, table
