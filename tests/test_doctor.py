"""`adoffboard doctor` and `clients validate --live` against the stand-ins: every kind of problem
found in one run, each with its hint, and not one mutating request on any platform; the
scheduler's check the day before a run, emailed once."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from conftest import Cli, approved_cr, edit_manifest
from test_scheduler import Desk, desk, subjects, today  # noqa: F401  (the desk fixture)

from adoffboard.commands.doctor import EXIT_CHECKS_FAILED
from adoffboard.config import load_workspace
from adoffboard.database import head_revision
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

LAKESIDE, HARBOR = "lakeside-powersports", "harbor-marine"
PLACEHOLDER = "sandbox-placeholder"  # what a `sandbox:` reference resolves to
UNSET = "ADOFFBOARD_DOCTOR_TEST_UNSET"


def _expired_and_refused(data: dict[str, Any]) -> None:
    # Microsoft answers 109 AuthenticationTokenExpired to the workspace's token; GA4 accepts
    # only a token the workspace does not hold (401 UNAUTHENTICATED).
    data["microsoft_ads"]["expired_tokens"] = [PLACEHOLDER]
    data["ga4"]["access_tokens"] = ["a-token-the-agency-does-not-hold"]


@pytest.fixture
def scenario(scenario: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    edit: Callable[[dict[str, Any]], None] | None = getattr(request, "param", None)
    if edit is not None:
        edit(scenario)
    return scenario


def edit_toml(workspace: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    edit(data)
    path.write_text(tomli_w.dumps(data))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def set_schema(workspace: Path, revision: str) -> str:
    url = load_workspace(workspace).store_url
    with Store.open(url) as store, store.transaction(write=True) as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = ?", (revision,))
    return url


def stored_schema(url: str) -> str:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def problems_by_kind(output: str) -> dict[str, list[dict[str, Any]]]:
    data = json.loads(output)
    found: dict[str, list[dict[str, Any]]] = {}
    for p in data["problems"]:
        found.setdefault(p["kind"], []).append(p)
    return found


@pytest.mark.parametrize("scenario", [_expired_and_refused], indirect=True, ids=["broken"])
def test_every_kind_of_problem_is_reported_in_one_run_with_its_hint(
    cli: Cli, sandbox: Sandbox, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNSET, raising=False)

    def break_workspace(doc: dict[str, Any]) -> None:
        doc["platforms"]["trello"]["token"] = f"env:{UNSET}"  # a reference that resolves nowhere
        doc["notifications"]["smtp_port"] = closed_port()

    edit_toml(workspace, break_workspace)
    edit_manifest(workspace, HARBOR, google_ads__expected_name="Harbour Marine")  # renamed?
    edit_manifest(workspace, LAKESIDE, meta__ad_account_id="act_5550001112")  # not the agency's
    old = str(int(head_revision()) - 1).zfill(4)
    url = set_schema(workspace, old)
    sandbox.log.clear()

    result = cli("doctor", "--json")

    assert result.exit_code == EXIT_CHECKS_FAILED, result.output
    found = problems_by_kind(result.stdout)
    assert set(found) == {
        "secret_missing",
        "token_refused",
        "token_expired",
        "smtp_unreachable",
        "name_mismatch",
        "account_unreachable",
        "schema_outdated",
    }, found
    assert all(p["hint"] for kind in found.values() for p in kind)
    [missing] = found["secret_missing"]
    assert missing["platform"] == "trello" and UNSET in missing["hint"]
    [refused] = found["token_refused"]
    assert (refused["subject"], refused["platform"]) == (LAKESIDE, "ga4")
    [expired] = found["token_expired"]
    assert (expired["subject"], expired["platform"]) == (LAKESIDE, "microsoft_ads")
    assert "109" in expired["message"] and PLACEHOLDER not in expired["message"]
    [mismatch] = found["name_mismatch"]
    assert (mismatch["subject"], mismatch["platform"]) == (HARBOR, "google_ads")
    assert "expected_name" in mismatch["hint"]
    [gone] = found["account_unreachable"]
    assert (gone["subject"], gone["platform"]) == (LAKESIDE, "meta")
    [schema] = found["schema_outdated"]
    assert old in schema["message"] and head_revision() in schema["message"]
    assert found["smtp_unreachable"][0]["subject"].startswith("127.0.0.1:")

    checks = json.loads(result.stdout)["checks"]
    skipped = [(k["subject"], k["platform"]) for k in checks if k["status"] == "skipped"]
    assert (LAKESIDE, "trello") in skipped  # its credentials are already reported, once
    ok = {(k["subject"], k["platform"]) for k in checks if k["status"] == "ok"}
    assert {(LAKESIDE, "google_ads"), (LAKESIDE, "tag_manager")} <= ok

    assert sandbox.log.mutating() == []
    assert len(sandbox.log) > 0  # the accounts were really read
    assert stored_schema(url) == old  # read, never upgraded


def test_a_ready_workspace_passes_and_says_so_in_a_table(cli: Cli, sandbox: Sandbox) -> None:
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    assert "2 client(s) checked: 0 problem(s)" in result.stdout
    assert "Lakeside Powersports" in result.stdout  # the live names read
    assert "access token valid, never expires (debug_token)" in result.stdout
    assert sandbox.log.mutating() == []

    one = cli("doctor", LAKESIDE, "--json")
    data = json.loads(one.stdout)
    assert one.exit_code == 0 and data["ok"] is True and data["schema"] == 1
    assert data["clients"] == [LAKESIDE] and data["problems"] == []
    assert {k["subject"] for k in data["checks"] if k["area"] == "client"} == {LAKESIDE}


def _meta_token(**token: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["meta"]["token"] = token

    return edit


IN_TWO_DAYS = int(time.time()) + 2 * 86400


@pytest.mark.parametrize(
    ("scenario", "kind", "accounts"),
    [
        (_meta_token(expires_at=IN_TWO_DAYS), "token_expiring", "ok"),  # still works: read
        (_meta_token(is_valid=False), "token_refused", "skipped"),
        (_meta_token(scopes=["ads_read"]), "token_scopes", "ok"),
    ],
    indirect=["scenario"],
    ids=["expiring", "invalid", "scopes"],
)
def test_metas_debug_token_tells_a_token_to_renew(
    cli: Cli, sandbox: Sandbox, kind: str, accounts: str
) -> None:
    result = cli("doctor", "--json", LAKESIDE)
    assert result.exit_code == EXIT_CHECKS_FAILED, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["kind"], problem["platform"]) == (kind, "meta")
    assert problem["hint"]
    checks = json.loads(result.stdout)["checks"]
    [meta] = [k for k in checks if k["area"] == "client" and k["platform"] == "meta"]
    assert meta["status"] == accounts
    assert sandbox.log.entries("meta")[0].method == "debug_token"
    assert (len(sandbox.log.entries("meta")) > 1) == (accounts == "ok")
    assert sandbox.log.mutating() == []


def test_global_json_and_an_unknown_client_is_one_problem(cli: Cli, sandbox: Sandbox) -> None:
    from click.testing import CliRunner

    from adoffboard.cli import main

    # without -q: progress on stderr, and stdout still one JSON document
    result = CliRunner().invoke(
        main, ["-w", str(cli.workspace), "--json", "doctor", "no-such-dealer"]
    )
    assert "[doctor] client no-such-dealer" in result.stderr
    assert result.exit_code == EXIT_CHECKS_FAILED
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["kind"] == "manifest_invalid" and "clients validate" in problem["hint"]


def test_clients_validate_live_reads_the_accounts(
    cli: Cli, sandbox: Sandbox, workspace: Path
) -> None:
    edit_manifest(workspace, HARBOR, google_ads__expected_name="Harbour Marine")

    static = cli("clients", "validate")
    assert static.exit_code == 0, static.output
    assert len(sandbox.log) == 0  # the static validation reads no platform

    live = cli("--json", "clients", "validate", "--live", HARBOR)
    assert live.exit_code == EXIT_CHECKS_FAILED, live.output
    data = json.loads(live.stdout)
    assert data["problems"] == []
    [mismatch] = [k for k in data["live"] if k["status"] == "problem"]
    assert (mismatch["kind"], mismatch["subject"]) == ("name_mismatch", HARBOR)
    assert sandbox.log.mutating() == []

    table = cli("clients", "validate", "--live", LAKESIDE)
    assert table.exit_code == 0, table.output
    assert "live checks: 0 problem(s)" in table.stdout


def test_the_scheduler_checks_the_day_before_and_emails_the_problems_once(
    cli: Cli,
    sandbox: Sandbox,
    workspace: Path,
    desk: Desk,  # noqa: F811
) -> None:
    d0 = today(cli)
    approved_cr(cli, HARBOR, effective=str(d0 + dt.timedelta(days=2)))
    desk.approval_steps(sandbox)
    edit_manifest(workspace, HARBOR, google_ads__expected_name="Harbour Marine")

    desk.at(d0 + dt.timedelta(days=1), 5)  # the day before, before run_at: not yet
    assert desk.tick() == {}
    assert not [s for s in subjects(sandbox) if s.startswith("Before tomorrow")]

    desk.at(d0 + dt.timedelta(days=1), 7)
    assert desk.tick() == {}  # nothing due: the doctor only reads and tells
    [notice] = [m for m in sandbox.smtp.messages if m["Subject"].startswith("Before tomorrow")]
    body = notice.get_body(("plain",)).get_content()
    assert "Harbor Marine Center" in notice["Subject"] and "1 problem(s)" in notice["Subject"]
    assert "[name_mismatch] google_ads" in body and "what to do:" in body
    assert f"adoffboard doctor {HARBOR}" in body
    reads = len(sandbox.log)

    desk.at(d0 + dt.timedelta(days=1), 9)  # later ticks that day: checked already, not again
    desk.tick()
    assert len(sandbox.log) == reads
    assert len([s for s in subjects(sandbox) if s.startswith("Before tomorrow")]) == 1
    assert {e.platform for e in sandbox.log.mutating()} == {"smtp"}
    events = [e.event for r in desk.rows().values() for e in _events(desk, r.id)]
    assert events.count("doctor") == 1


def _events(desk: Desk, row_id: str) -> list[Any]:  # noqa: F811
    from adoffboard.scheduling import repo

    with desk.store.transaction() as conn:
        return repo.events(conn, row_id)
