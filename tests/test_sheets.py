"""The Google Sheets trackers connector against its stand-in, through the official client.

Rows shift whenever someone edits a sheet: every test that matters here edits the stand-in's
sheet between plan and apply, the way a person would, and checks which row the connector touched.
"""

from __future__ import annotations

from sheets_support import (
    ALREADY,
    APPLIED,
    CONTEXT,
    DRIFT,
    MANIFEST,
    Journal,
    connect,
    first_column,
    plan,
)

from adoffboard.connectors.base import StepContext

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
