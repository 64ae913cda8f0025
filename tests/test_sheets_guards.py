"""The Google Sheets trackers connector: its dry run, throttling and errors, the guards on the
spreadsheet it touches, and the trackers through the engine and the CLI."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

import pytest
import tomli_w
from conftest import Cli, approved_cr
from pydantic import ValidationError
from sheets_support import (
    APPLIED,
    FAILED,
    MANIFEST,
    Journal,
    connect,
    first_column,
    plan,
)

from adoffboard.cli import EXIT_INPUT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.clock import FakeClock
from adoffboard.connectors.sheets.declaration import SheetsSettings
from adoffboard.connectors.transport.google import ReadOnlyHttp
from adoffboard.errors import (
    AuthError,
    DryRunViolation,
    InputError,
    TenantMismatch,
    TransientError,
)
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

# --- the dry run --------------------------------------------------------------------------------


def test_read_only_connector_cannot_send_any_write(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = (
        plan(reader, "remove_row", tracker="client_tracker")
        + plan(reader, "append_row", tracker="planner")
        + plan(reader, "set_cell", tracker="ma_client_sheet", cell="paused")
    )
    assert len(changes) == 3
    for change in changes:
        with pytest.raises(DryRunViolation, match="nothing was sent"):
            reader.apply([change], Journal())
    assert sandbox.log.mutating() == []
    assert {e.method for e in sandbox.log.entries("sheets")} == {
        "spreadsheets.get",
        "spreadsheets.values.batchGet",  # the read pass
        "spreadsheets.values.get",  # each write's fresh read of its tab, before it is refused
    }


def test_read_only_transport_refuses_before_the_socket(sandbox):
    url = sandbox.platform_settings()["sheets"]["endpoint"] + "v4/spreadsheets/x:batchUpdate"
    seen = len(sandbox.log)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        with pytest.raises(DryRunViolation):
            ReadOnlyHttp(timeout=5).request(url, method, body="{}")
    assert len(sandbox.log) == seen  # the stand-in never heard of them


def test_a_service_account_gets_its_token_even_in_a_dry_run(sandbox, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    endpoint = sandbox.platform_settings()["sheets"]["endpoint"]
    (tmp_path / "sa.json").write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "agency",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "offboarding@agency.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": endpoint + "token",
            }
        )
    )
    sandbox.sheets.access_token = "only-issued-tokens-pass"
    reader = connect(sandbox, tmp_path, read_only=True, access_token="", credentials_file="sa.json")
    methods = [e.method for e in sandbox.log.entries("sheets")]
    assert methods[0] == "oauth2.token" and "spreadsheets.values.batchGet" in methods
    (change,) = plan(reader, "remove_row", tracker="client_tracker")
    with pytest.raises(DryRunViolation):
        reader.apply([change], Journal())
    assert sandbox.log.mutating() == []


# --- throttling, errors, guards ------------------------------------------------------------------


def test_throttled_delete_is_retried_on_the_injected_clock(sandbox, tmp_path):
    changes = plan(
        connect(sandbox, tmp_path, read_only=True), "remove_row", tracker="client_tracker"
    )
    sandbox.faults.add(
        FaultRule(
            kind="resource_exhausted",
            platform="sheets",
            method="spreadsheets.batchUpdate",
            retry_delay_s=3,
            times=2,
        )
    )
    clock = FakeClock()
    outcomes = connect(sandbox, tmp_path, read_only=False, clock=clock).apply(changes, Journal())
    assert [o.status for o in outcomes] == [APPLIED]
    assert clock.sleeps == [3.0, 3.0]
    assert len(sandbox.sheets.rows("client_tracker")) == 6  # deleted once, not three times


def test_rate_limit_403_backs_off_exponentially(sandbox, tmp_path):
    sandbox.faults.add(
        FaultRule(
            kind="resource_exhausted",
            platform="sheets",
            method="spreadsheets.values.batchGet",
            account=sandbox.platform_settings()["sheets"]["trackers"]["planner"]["spreadsheet_id"],
            times=2,
            match={"http_status": "403"},
        )
    )
    clock = FakeClock()
    connect(sandbox, tmp_path, read_only=True, clock=clock)
    assert clock.sleeps == [1.0, 2.0]


def test_unavailable_until_attempts_run_out(sandbox, tmp_path):
    sandbox.faults.add(FaultRule(kind="unavailable", platform="sheets"))
    clock = FakeClock()
    with pytest.raises(TransientError, match="503"):
        connect(sandbox, tmp_path, read_only=True, clock=clock)
    # the read pass's requests go out at once: each is tried `attempts` (4) times, backing off
    # 1, 2 and 4 s in between, and none after the pass has failed
    tried = Counter((e.method, e.account) for e in sandbox.log.entries("sheets"))
    assert set(tried.values()) == {4}
    assert sorted(clock.sleeps) == sorted([1.0, 2.0, 4.0] * len(tried))


def test_a_failing_append_fails_alone(sandbox, tmp_path):
    writer = connect(sandbox, tmp_path, read_only=False)
    changes = plan(writer, "append_row", tracker="planner") + plan(
        writer, "append_row", tracker="digms_offboarding"
    )
    sandbox.faults.add(
        FaultRule(
            kind="internal",
            platform="sheets",
            method="spreadsheets.values.append",
            account=changes[0].account,
        )
    )
    outcomes = {o.change_id: o for o in writer.apply(changes, Journal())}
    assert outcomes[changes[0].id].status == FAILED
    assert "500" in outcomes[changes[0].id].message
    assert outcomes[changes[1].id].status == APPLIED


def test_refused_token_is_an_auth_error_without_the_token(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("ADOFFBOARD_TEST_SHEETS_TOKEN", "ya29.wrong-SECRET")
    sandbox.sheets.access_token = "ya29.right"
    with pytest.raises(AuthError) as exc:
        connect(sandbox, tmp_path, read_only=True, access_token="env:ADOFFBOARD_TEST_SHEETS_TOKEN")
    assert "SECRET" not in str(exc.value)


def test_spreadsheet_title_guard(sandbox, tmp_path):
    trackers = sandbox.platform_settings()["sheets"]["trackers"]
    trackers["client_tracker"]["expected_title"] = "SEM Client Tracker (Harbor)"
    with pytest.raises(TenantMismatch, match="titled 'SEM Client Tracker'"):
        connect(sandbox, tmp_path, read_only=True, trackers=trackers)
    assert {e.method for e in sandbox.log.entries("sheets")} == {"spreadsheets.get"}


@pytest.mark.parametrize(
    "edit,message",
    [
        ({"tab": "Clients 2027"}, "has no tab 'Clients 2027'"),
        ({"key_column": "Dealer"}, "has no column(s) ['Dealer']"),
    ],
    ids=["tab", "column"],
)
def test_configuration_that_does_not_match_the_sheet(sandbox, tmp_path, edit, message):
    trackers = sandbox.platform_settings()["sheets"]["trackers"]
    trackers["client_tracker"].update(edit)
    with pytest.raises(InputError) as exc:
        connect(sandbox, tmp_path, read_only=True, trackers=trackers)
    assert message in str(exc.value)


def test_unknown_tracker_and_bad_templates_are_input_errors(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    with pytest.raises(InputError, match="tracker 'nope' is not configured"):
        plan(reader, "remove_row", tracker="nope")
    with pytest.raises(InputError, match=r"trackers \['belize'\] are not configured"):
        reader.read_state(MANIFEST.model_copy(update={"trackers": {"belize": "X"}}))
    with pytest.raises(ValidationError, match="unknown placeholder"):
        SheetsSettings.model_validate(
            {
                "trackers": {
                    "planner": {
                        "spreadsheet_id": "x",
                        "tab": "t",
                        "append": {"Client": "{client_name}"},
                    }
                }
            }
        )


# --- through the engine and the CLI ------------------------------------------------------------


def test_ma_cancellation_end_to_end(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    approved_cr(
        cli, "lakeside-powersports", effective="2026-12-01", departments=("MA",), sandbox=sandbox
    )
    out = tmp_path / "ma.json"
    result = cli(
        "plan",
        "lakeside-powersports",
        "-r",
        "ma-cancellation",
        "--effective",
        "2026-12-01",
        "-o",
        str(out),
    )
    assert result.exit_code == EXIT_OK, result.output
    assert sandbox.log.mutating() == []
    steps = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    (date,) = steps["ma-tracker-cancellation-date"]["changes"]
    assert (date["before"], date["after"]) == ("", "2026-12-01")  # the engine's StepContext
    (planner,) = steps["dmo-planner-sheet"]["changes"]
    assert planner["after"]["values"]["Department"] == "MA"
    assert planner["after"]["values"]["Type"] == "Cancellation"
    assert steps["ma-remove-from-belize"]["changes"][0]["before"]["row"] == 3

    applied = cli("apply", str(out), "--now")
    assert applied.exit_code == EXIT_OK, applied.output
    assert "Lakeside Powersports" not in first_column(sandbox, "ma_client_tracker")
    assert "Lakeside Powersports LLC" not in first_column(sandbox, "belize_tracker")
    assert "Alpine Motorsports Inc" in first_column(sandbox, "belize_tracker")

    checks = {
        c["step_id"]: c
        for c in json.loads(cli("--json", "verify", "lakeside-powersports").output)["checks"]
    }
    for step in (
        "ma-tracker-cancellation-date",
        "dmo-planner-sheet",
        "dmo-offboarding-sheet",
        "ma-remove-from-tracker",
        "ma-remove-from-belize",
    ):
        assert checks[step]["status"] == "PASS", (step, checks[step])

    writes = len(sandbox.log.mutating())
    again = cli("--json", "apply", str(out), "--now")
    assert again.exit_code == EXIT_OK, again.output
    assert len(sandbox.log.mutating()) == writes


def test_sem_cancellation_needs_the_sheets_platform(cli: Cli, workspace: Path) -> None:
    path = workspace / "adoffboard.toml"
    document = tomllib.loads(path.read_text())
    del document["platforms"]["sheets"]
    path.write_text(tomli_w.dumps(document))
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation")
    assert result.exit_code == EXIT_INPUT
    assert "Google Sheets is not configured" in result.output


def test_verify_reads_the_trackers_again(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out = tmp_path / "sem.json"
    assert (
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out)).exit_code
        == EXIT_OK
    )
    assert cli("apply", str(out), "--now").exit_code == EXIT_OK
    sandbox.sheets.insert_row("client_tracker", 3, ["Lakeside Powersports", "re-added"])
    result = cli("--json", "verify", "lakeside-powersports")
    checks = {c["step_id"]: c for c in json.loads(result.output)["checks"]}
    assert checks["dmo-client-tracker"]["status"] == "FAIL"
    assert checks["dmo-client-tracker"]["evidence"] == [
        "row 3: Client=Lakeside Powersports; Account Manager=re-added"
    ]
    assert checks["dmo-planner-sheet"]["status"] == "PASS"
    assert result.exit_code != EXIT_VERIFY_PENDING
