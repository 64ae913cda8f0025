"""What the change-request CLI tests share: the demo client, and helpers to create a request, read
it back, check a refusal and fingerprint the store."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from conftest import Cli

from adoffboard.cli import (
    EXIT_OK,
)

LAKESIDE = "lakeside-powersports"
CID = "1234567890"
DISTRIBUTION = ["dmo-lead@agency.example", "dm-leads@agency.example", "dm-managers@agency.example"]
NOTES = "Dealer is moving SEM in-house after the winter season."
SAVE_NOTES = "Offered two months at half the management fee; the dealer declined."


def ok(result: Any) -> Any:
    assert result.exit_code == EXIT_OK, result.output
    return result


def refused(result: Any, code: int, fragment: str) -> None:
    """One line on stderr starting `adoffboard: error:`, the documented code, no traceback."""
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("adoffboard: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    assert "Traceback" not in result.output


def show(cli: Cli, cr_id: str) -> dict[str, Any]:
    return json.loads(ok(cli("--json", "cr", "show", cr_id)).output)


def store_state(cli: Cli) -> str:
    """Everything the store holds about change requests, as the CLI shows it."""
    listed = json.loads(ok(cli("--json", "cr", "list")).output)
    shown = [show(cli, cr["id"]) for cr in listed]
    planner = json.loads(ok(cli("--json", "planner")).output)
    return json.dumps([listed, shown, planner], sort_keys=True)


def add_person(workspace: Path, key: str, roles: list[str]) -> None:
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    data["people"][key] = {"name": key.title(), "email": f"{key}@agency.example", "roles": roles}
    path.write_text(tomli_w.dumps(data))


def new_cr(
    cli: Cli, *extra: str, client: str = LAKESIDE, type_: str = "cancellation", person: str = "dana"
) -> str:
    result = ok(
        cli(
            "--json",
            "cr",
            "new",
            client,
            "--type",
            type_,
            "--as",
            person,
            "--department",
            "SEM",
            *extra,
        )
    )
    return json.loads(result.output)["id"]
