"""How the Google Sheets connector reads: only the trackers the runbook names, two requests per
spreadsheet (its title and tabs, then all its tracker tabs' values in one batch), the
spreadsheets at once; and the discovery-built service it reads through, built once per process
and bound to each connector's (each thread's) own transport."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httplib2
import pytest
from conftest import Cli, approved_cr
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from sheets_support import APPLIED, MANIFEST, Journal, connect, first_column, plan

from adoffboard.cli import EXIT_OK
from adoffboard.connectors.base import Connector
from adoffboard.connectors.transport.google_discovery import (
    discovery_document,
    discovery_service,
    shared_resource,
)
from adoffboard.errors import DryRunViolation, InputError, TenantMismatch
from adoffboard.sandbox import Sandbox


def sheet_of(sandbox: Sandbox, tracker: str) -> str:
    return str(sandbox.platform_settings()["sheets"]["trackers"][tracker]["spreadsheet_id"])


def reads(sandbox: Sandbox) -> Counter[tuple[str, str | None]]:
    return Counter((e.method, e.account) for e in sandbox.log.entries("sheets"))


def test_a_pass_reads_only_the_trackers_the_runbook_names(sandbox, tmp_path):
    uses = (
        ("remove_row", {"tracker": "client_tracker"}),
        ("append_row", {"tracker": "planner"}),
        ("append_row", {"tracker": "planner"}),
    )
    reader = connect(sandbox, tmp_path, read_only=True, uses=uses)
    wanted = [sheet_of(sandbox, "client_tracker"), sheet_of(sandbox, "planner")]
    assert reads(sandbox) == Counter(
        {
            **{("spreadsheets.get", sid): 1 for sid in wanted},
            **{("spreadsheets.values.batchGet", sid): 1 for sid in wanted},
        }
    )
    state = reader.read_state(MANIFEST)
    assert sorted(state.tabs) == ["client_tracker", "planner"]
    with pytest.raises(InputError, match="'belize_tracker' was not read"):
        state.tab({"tracker": "belize_tracker"})


def test_without_uses_every_tracker_is_read_two_requests_per_spreadsheet(sandbox, tmp_path):
    settings = sandbox.platform_settings()["sheets"]
    trackers = settings["trackers"]
    trackers["ma_archive"] = {
        "spreadsheet_id": trackers["ma_client_tracker"]["spreadsheet_id"],
        "tab": "Archive",
        "key_column": "Client",
    }
    reader = connect(sandbox, tmp_path, read_only=True, trackers=trackers)
    books = {t["spreadsheet_id"] for t in trackers.values()}
    assert reads(sandbox) == Counter(
        {
            **{("spreadsheets.get", sid): 1 for sid in books},
            **{("spreadsheets.values.batchGet", sid): 1 for sid in books},
        }
    )
    state = reader.read_state(MANIFEST)
    assert state.tabs["ma_archive"].rows == (("Old Town Marine", "2025-08-31"),)
    assert state.tabs["ma_archive"].sheet_id == 731902245
    assert state.tabs["ma_client_tracker"].sheet_id == 0


def test_apply_reads_a_tracker_its_pass_skipped_title_guard_included(sandbox, tmp_path):
    changes = plan(
        connect(sandbox, tmp_path, read_only=True), "remove_row", tracker="client_tracker"
    )
    trackers = sandbox.platform_settings()["sheets"]["trackers"]

    def planner_writer(title: str) -> Connector:
        trackers["client_tracker"]["expected_title"] = title
        only = (("append_row", {"tracker": "planner"}),)
        return connect(sandbox, tmp_path, read_only=False, uses=only, trackers=trackers)

    with pytest.raises(TenantMismatch, match="titled 'SEM Client Tracker'"):
        planner_writer("SEM Client Tracker (Harbor)").apply(changes, Journal())
    assert sandbox.log.mutating() == []
    outcomes = planner_writer("SEM Client Tracker").apply(changes, Journal())
    assert [o.status for o in outcomes] == [APPLIED]
    assert "Lakeside Powersports" not in first_column(sandbox, "client_tracker")


def test_trackers_of_distinct_tabs_are_written_each_in_order(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = (
        plan(reader, "remove_row", tracker="client_tracker")
        + plan(reader, "append_row", tracker="planner")
        + plan(reader, "append_row", tracker="digms_offboarding")
    )
    journal = Journal()
    outcomes = connect(sandbox, tmp_path, read_only=False).apply(changes, journal)
    assert [o.status for o in outcomes] == [APPLIED] * 3
    for ch in changes:  # each change's intent before its outcome, once each
        assert journal.order.count(f"intent:{ch.id}") == 1
        assert journal.order.index(f"intent:{ch.id}") < journal.order.index(f"outcome:{ch.id}")
    assert "Lakeside Powersports" not in first_column(sandbox, "client_tracker")
    assert first_column(sandbox, "planner")[-1] == "Lakeside Powersports"
    assert first_column(sandbox, "digms_offboarding")[-1] == "Lakeside Powersports"


def test_a_plan_reads_the_trackers_its_runbook_names(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    approved_cr(cli, "lakeside-powersports", sandbox=sandbox)
    out = tmp_path / "sem.json"
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    named = {"planner", "client_tracker", "digms_offboarding"}  # sem-cancellation's trackers
    read = {e.account for e in sandbox.log.entries("sheets")}
    assert read == {sheet_of(sandbox, t) for t in named}
    steps = json.loads(out.read_text())["steps"]
    changed = {
        c["entity_id"].split(":")[0]
        for s in steps
        for c in s["changes"]
        if c["platform"] == "sheets"
    }
    assert changed == named


# --- the discovery-built service ---------------------------------------------------------------


def test_the_service_is_built_once_and_each_request_goes_over_its_own_transport(sandbox):
    endpoint = sandbox.platform_settings()["sheets"]["endpoint"]
    assert shared_resource("sheets", "v4", endpoint) is shared_resource("sheets", "v4", endpoint)
    first, second = httplib2.Http(), httplib2.Http()
    a = discovery_service("sheets", "v4", http=first, endpoint=endpoint)
    b = discovery_service("sheets", "v4", http=second, endpoint=endpoint)
    assert a.spreadsheets().values().get(spreadsheetId="x", range="A1").http is first
    assert b.spreadsheets().values().get(spreadsheetId="x", range="A1").http is second
    assert a.spreadsheets().get(spreadsheetId="x").http is first


def test_a_request_not_bound_to_a_transport_is_never_sent(sandbox):
    endpoint = sandbox.platform_settings()["sheets"]["endpoint"]
    unbound = shared_resource("sheets", "v4", endpoint).resource
    with pytest.raises(DryRunViolation, match="nothing was sent"):
        unbound.spreadsheets().get(spreadsheetId="x").execute(num_retries=0)
    assert sandbox.log.entries("sheets") == []


def test_the_lean_document_makes_the_same_requests_and_keeps_paging(sandbox):
    """Schemas cut to their property names: the requests come from the methods' descriptions,
    unchanged, and a list method whose reply pages still has its `list_next`."""
    endpoint = sandbox.platform_settings()["sheets"]["endpoint"]
    options = {"api_endpoint": endpoint}
    lean = build_from_document(
        discovery_document("sheets", "v4"), http=httplib2.Http(), client_options=options
    )
    whole = build_from_document(
        get_static_doc("sheets", "v4"), http=httplib2.Http(), client_options=options
    )
    schemas = json.loads(discovery_document("sheets", "v4"))["schemas"]
    assert set(schemas) == set(json.loads(get_static_doc("sheets", "v4"))["schemas"])
    made = [
        (r.uri, r.method, r.body)
        for api in (lean, whole)
        for r in (
            api.spreadsheets().values().batchGet(spreadsheetId="s", ranges=["'A'", "B"]),
            api.spreadsheets().batchUpdate(spreadsheetId="s", body={"requests": [{"x": 1}]}),
            api.spreadsheets()
            .values()
            .append(
                spreadsheetId="s",
                range="'A'!A1",
                valueInputOption="RAW",
                insertDataOption="INSERT_ROWS",
                body={"values": [["a"]]},
            ),
        )
    ]
    assert made[:3] == made[3:]
    manager = build_from_document(discovery_document("tagmanager", "v2"), http=httplib2.Http())
    assert callable(manager.accounts().user_permissions().list_next)
