"""The Google Sheets trackers connector against its stand-in, through the official client.

Rows shift whenever someone edits a sheet: every test that matters here edits the stand-in's
sheet between plan and apply, the way a person would, and checks which row the connector touched.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from conftest import Cli, approved_cr
from pydantic import ValidationError

from adoffboard.cli import EXIT_INPUT, EXIT_OK, EXIT_VERIFY_PENDING
from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import Connector, ConnectorContext, StepContext
from adoffboard.connectors.sheets.declaration import SheetsSettings
from adoffboard.connectors.transport.google import ReadOnlyHttp
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import (
    AuthError,
    DryRunViolation,
    InputError,
    TenantMismatch,
    TransientError,
)
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

MANIFEST = Manifest.model_validate(DEMO_CLIENT)
CONTEXT = {
    "effective_date": "2026-12-01",
    "process": "cancellation",
    "scope": "dm",
    "department": "SEM",
    "runbook": "sem-cancellation",
}
APPLIED, ALREADY, DRIFT, FAILED = (
    OutcomeStatus.APPLIED,
    OutcomeStatus.ALREADY,
    OutcomeStatus.DRIFT,
    OutcomeStatus.FAILED,
)


@dataclass
class Journal:
    order: list[str] = field(default_factory=list)

    def intend(self, changes: list[Change]) -> None:
        self.order += [f"intent:{c.id}" for c in changes]

    def record(self, outcomes: list[Outcome]) -> None:
        self.order += [f"outcome:{o.change_id}" for o in outcomes]


def connect(
    sandbox: Sandbox,
    tmp_path: Path,
    *,
    read_only: bool,
    clock: FakeClock | None = None,
    **overrides: Any,
) -> Connector:
    settings = {**sandbox.platform_settings()["sheets"], **overrides}
    ctx = ConnectorContext(
        settings=settings,
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=4, timeout=10),
    )
    connector = build("sheets", ctx)
    connector.read_state(MANIFEST)
    return connector


def plan(
    connector: Connector, action: str, context: dict[str, Any] | None = None, **params: Any
) -> list[Change]:
    state = connector.read_state(MANIFEST)
    draft = connector.plan(action, params, state, "step", StepContext(**(context or CONTEXT)))
    return list(draft.changes)


def first_column(sandbox: Sandbox, tracker: str) -> list[str]:
    return [r[0] if r else "" for r in sandbox.sheets.rows(tracker)]


# --- remove_row --------------------------------------------------------------------------------


def test_removal_rereads_the_tab_and_deletes_the_row_where_it_now_is(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = plan(reader, "remove_row", tracker="client_tracker")
    assert [c.before["row"] for c in changes] == [4]
    assert changes[0].shown_before.startswith("row 4: Client=Lakeside Powersports; ")
    assert changes[0].shown_after == "(row deleted)"

    # between plan and apply someone adds a dealer above: Lakeside's row moves down to row 5
    sandbox.sheets.insert_row("client_tracker", 2, ["Aspen Trail RV", "Chris Lane"])
    writer = connect(sandbox, tmp_path, read_only=False)
    outcomes = writer.apply(changes, Journal())

    assert [o.status for o in outcomes] == [APPLIED]
    assert outcomes[0].message == "deleted row 5 (row 4 when planned)"
    assert first_column(sandbox, "client_tracker") == [
        "Client",
        "Aspen Trail RV",
        "Alpine Motorsports",
        "Bayou Boats & RV",
        "Lakeside Powersports North",
        "Harbor Marine Center",
        "Prairie Tractor Supply",
    ]
    # the delete was computed from a read made after the edit, right before it
    methods = [e.method for e in sandbox.log.entries("sheets")]
    assert methods[-2:] == ["spreadsheets.values.get", "spreadsheets.batchUpdate"]


def test_row_already_gone_is_already_and_sends_nothing(sandbox, tmp_path):
    changes = plan(
        connect(sandbox, tmp_path, read_only=True), "remove_row", tracker="client_tracker"
    )
    sandbox.sheets.delete_row("client_tracker", 4)  # someone removed it by hand
    outcomes = connect(sandbox, tmp_path, read_only=False).apply(changes, Journal())
    assert [o.status for o in outcomes] == [ALREADY]
    assert sandbox.log.mutating("sheets") == []
    assert "Lakeside Powersports North" in first_column(sandbox, "client_tracker")


def test_a_row_renamed_since_the_plan_is_drift_and_left_alone(sandbox, tmp_path):
    changes = plan(
        connect(sandbox, tmp_path, read_only=True), "remove_row", tracker="client_tracker"
    )
    sandbox.sheets.set_value("client_tracker", 4, 0, "Lakeside Marine Group")
    outcomes = connect(sandbox, tmp_path, read_only=False).apply(changes, Journal())
    assert [o.status for o in outcomes] == [DRIFT]
    assert outcomes[0].live == "Lakeside Marine Group"
    assert "row 4 now reads 'Lakeside Marine Group'" in outcomes[0].message
    assert sandbox.log.mutating("sheets") == []
    assert "Lakeside Marine Group" in first_column(sandbox, "client_tracker")


def test_every_row_of_the_client_goes_in_one_batch_and_only_those(sandbox, tmp_path):
    # a second row for the client, written loosely (case, spacing)
    sandbox.sheets.insert_row("client_tracker", 7, ["lakeside  POWERSPORTS", "Dana Whitfield"])
    changes = plan(
        connect(sandbox, tmp_path, read_only=True), "remove_row", tracker="client_tracker"
    )
    assert [c.before["row"] for c in changes] == [4, 7]
    sandbox.sheets.insert_row("client_tracker", 5, ["Aspen Trail RV"])  # between the two
    journal = Journal()
    outcomes = connect(sandbox, tmp_path, read_only=False).apply(changes, journal)
    assert {o.status for o in outcomes} == {APPLIED}
    assert sorted(o.request_id for o in outcomes) == [
        "'Client Tracker'!4:4",
        "'Client Tracker'!8:8",
    ]
    assert [e.method for e in sandbox.log.mutating("sheets")] == ["spreadsheets.batchUpdate"]
    assert first_column(sandbox, "client_tracker") == [
        "Client",
        "Alpine Motorsports",
        "Bayou Boats & RV",
        "Aspen Trail RV",
        "Lakeside Powersports North",
        "Harbor Marine Center",
        "Prairie Tractor Supply",
    ]
    for change in changes:  # intent journaled before the outcome
        assert journal.order.index(f"intent:{change.id}") < journal.order.index(
            f"outcome:{change.id}"
        )


def test_the_manifest_names_the_client_per_tracker(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    (change,) = plan(reader, "remove_row", tracker="belize_tracker")
    assert change.before["values"]["Dealer Name"] == "Lakeside Powersports LLC"
    assert "Lakeside Powersports LLC" in change.id
    state = reader.read_state(MANIFEST.model_copy(update={"trackers": {}}))
    draft = reader.plan("remove_row", {"tracker": "belize_tracker"}, state, "s")
    assert draft.changes == () and "no row for 'Lakeside Powersports'" in draft.notes[0]


# --- append_row --------------------------------------------------------------------------------


def test_append_is_idempotent(sandbox, tmp_path):
    writer = connect(sandbox, tmp_path, read_only=False)
    (change,) = plan(writer, "append_row", tracker="planner")
    assert change.before is None
    assert change.after == {
        "values": {
            "Client": "Lakeside Powersports",
            "Type": "Cancellation",
            "Department": "SEM",
            "Effective date": "2026-12-01",
            "Pause end": "",
            "Change request": "",
        }
    }
    assert [o.status for o in writer.apply([change], Journal())] == [APPLIED]
    assert [o.status for o in writer.apply([change], Journal())] == [ALREADY]
    assert sandbox.sheets.rows("planner")[-1] == [
        "Lakeside Powersports",
        "Cancellation",
        "SEM",
        "2026-12-01",
    ]
    assert len(sandbox.log.mutating("sheets")) == 1
    assert plan(writer, "append_row", tracker="planner") == []  # converged


def test_append_recognises_the_row_when_the_sheet_shows_the_date_its_own_way(sandbox, tmp_path):
    sandbox.sheets.insert_row(
        "planner", 4, ["Lakeside Powersports", "Cancellation", "SEM", "12/1/2026"]
    )
    reader = connect(sandbox, tmp_path, read_only=True)
    assert plan(reader, "append_row", tracker="planner") == []
    # another effective date, or the other department's runbook, is another row
    assert (
        len(
            plan(
                reader, "append_row", {**CONTEXT, "effective_date": "2027-01-15"}, tracker="planner"
            )
        )
        == 1
    )
    assert len(plan(reader, "append_row", {**CONTEXT, "department": "MA"}, tracker="planner")) == 1


def test_offboarding_row_carries_the_plan_context(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    (change,) = plan(
        reader, "append_row", {**CONTEXT, "scope": "platform"}, tracker="digms_offboarding"
    )
    assert change.after["values"] == {
        "Client": "Lakeside Powersports",
        "Cancellation date": "2026-12-01",
        "Departments": "SEM, MA",
        "Account Manager": "Dana Whitfield",
        "Scope": "Leaving the platform",
    }


# --- set_cell ----------------------------------------------------------------------------------


def test_set_cell_keeps_the_exact_before_value(sandbox, tmp_path):
    sandbox.sheets.set_value("ma_client_tracker", 3, 4, "=DATE(2026,11,30)")
    writer = connect(sandbox, tmp_path, read_only=False)
    (change,) = plan(writer, "set_cell", tracker="ma_client_tracker", cell="cancellation_date")
    assert (change.before, change.after) == ("=DATE(2026,11,30)", "2026-12-01")
    assert change.field == "Cancellation date"
    assert change.shown_before == "row 3 Cancellation date: =DATE(2026,11,30)"
    outcomes = writer.apply([change], Journal())
    assert [o.status for o in outcomes] == [APPLIED]
    assert outcomes[0].request_id == "'MA Clients'!E3:E3"
    assert sandbox.sheets.rows("ma_client_tracker")[2][4] == "2026-12-01"
    assert (
        writer.verify(
            "set_cell",
            {"tracker": "ma_client_tracker", "cell": "cancellation_date"},
            writer.read_state(MANIFEST),
            StepContext(**CONTEXT),
        ).status
        == "PASS"
    )


def test_set_cell_follows_the_row_and_refuses_drift(sandbox, tmp_path):
    changes = plan(
        connect(sandbox, tmp_path, read_only=True),
        "set_cell",
        tracker="ma_client_sheet",
        column="Status",
        value="Paused",
    )
    assert [(c.before, c.after) for c in changes] == [("Active", "Paused")]
    sandbox.sheets.insert_row("ma_client_sheet", 2, ["Aspen Trail RV", "Active"])
    writer = connect(sandbox, tmp_path, read_only=False)
    assert [o.status for o in writer.apply(changes, Journal())] == [APPLIED]
    assert sandbox.sheets.rows("ma_client_sheet")[3][:2] == ["Lakeside Powersports", "Paused"]
    assert sandbox.sheets.rows("ma_client_sheet")[1][:2] == ["Aspen Trail RV", "Active"]

    sandbox.sheets.set_value("ma_client_sheet", 4, 1, "Churned")  # someone else's edit
    assert [o.status for o in writer.apply(changes, Journal())] == [DRIFT]
    assert sandbox.sheets.rows("ma_client_sheet")[3][1] == "Churned"


def test_set_cell_then_removal_of_the_same_row_in_one_apply(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = plan(reader, "remove_row", tracker="ma_client_tracker") + plan(
        reader, "set_cell", tracker="ma_client_tracker", cell="cancellation_date"
    )
    outcomes = connect(sandbox, tmp_path, read_only=False).apply(changes, Journal())
    assert {o.status for o in outcomes} == {APPLIED}
    assert [e.method for e in sandbox.log.mutating("sheets")] == [
        "spreadsheets.values.update",
        "spreadsheets.batchUpdate",
    ]  # the cell first
    assert "Lakeside Powersports" not in first_column(sandbox, "ma_client_tracker")


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
        "spreadsheets.values.get",
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
    assert methods[0] == "oauth2.token" and "spreadsheets.values.get" in methods
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
            method="spreadsheets.values.get",
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
    assert clock.sleeps == [1.0, 2.0, 4.0]


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
