"""`adoffboard cr import`: change requests exported from the CRM, all rows or none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli

from adoffboard.cli import EXIT_INPUT, EXIT_OK

HEADER = (
    "client,type,departments,scope,effective_date,pause_end_date,credit_amount,"
    "monthly_total,campaign_budgets,addendum_ref,notes,escalated,crm_ref,created_by\n"
)
GOOD_ROWS = [
    "lakeside-powersports,cancellation,SEM;MA,platform,2026-12-01,,250.00,,,,"
    '"Leaving, for good",yes,CRM-101,\n',
    "harbor-marine,pause,SEM,dm,2026-12-15,2027-02-01,,,,,Winter pause,no,CRM-102,dana\n",
    "harbor-marine,addendum,SEM,dm,2026-12-01,,,1500,Brand Search=500;Used Inventory=250.50,"
    "DS-2026-118,Lower spend,,CRM-103,\n",
]


def ok(result):
    assert result.exit_code == EXIT_OK, result.output
    return result


def listed(cli: Cli) -> list[dict]:
    return json.loads(ok(cli("--json", "cr", "list")).output)


def test_csv_import_creates_drafts(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(GOOD_ROWS))
    result = ok(cli("cr", "import", str(path), "--as", "dana"))
    assert "Imported 3 change request(s) as drafts" in result.output
    crs = {c["crm_ref"]: c for c in listed(cli)}
    cancel, pause, addendum = crs["CRM-101"], crs["CRM-102"], crs["CRM-103"]
    assert (cancel["id"], cancel["status"], cancel["departments"], cancel["scope"]) == (
        "CR-0001",
        "draft",
        ["SEM", "MA"],
        "platform",
    )
    assert (cancel["credit_amount"], cancel["escalated"], cancel["notes"]) == (
        "250.00",
        True,
        "Leaving, for good",
    )
    assert (pause["pause_end_date"], pause["escalated"]) == ("2027-02-01", False)
    assert addendum["campaign_budgets"] == {"Brand Search": "500.00", "Used Inventory": "250.50"}
    assert (addendum["monthly_total"], addendum["addendum_ref"]) == ("1500.00", "DS-2026-118")
    history = json.loads(ok(cli("--json", "cr", "show", "CR-0002")).output)["history"]
    assert [(t["action"], t["by"]) for t in history] == [("imported", "dana")]
    assert history[0]["detail"] == f"imported from {path} row 2"
    # the imported request goes through the same chain
    ok(cli("cr", "submit", "CR-0002", "--as", "dana"))


def test_every_bad_row_is_reported_and_nothing_is_imported(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        HEADER
        + GOOD_ROWS[0]
        + "harbor-marine,pause,SEM,dm,2026-12-15,2026-12-01,,,,,,no,,\n"
        + "nobody,cancellation,SEM,dm,2026-12-01,,,,,,,no,,\n"
        + "harbor-marine,addendum,SEM,dm,2026-12-01,,,900,,,,,,\n"
        + "harbor-marine,cancellation,SEM,dm,2026-31-12,,ten,,,,,maybe,,jeremy\n"
    )
    result = cli("cr", "import", str(path), "--as", "dana")
    assert result.exit_code == EXIT_INPUT, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(f"{path}:row")]
    assert (
        f"{path}:row 2: pause_end_date: 2026-12-01 must be after the effective date "
        "2026-12-15" in lines
    )
    assert any(line.startswith(f"{path}:row 3: client: unknown client 'nobody'") for line in lines)
    assert (
        f"{path}:row 4: addendum_ref: required for an addendum: the reference of the "
        "signed addendum (e.g. its DocuSign id)" in lines
    )
    row5 = [line for line in lines if line.startswith(f"{path}:row 5:")]
    assert {line.split(": ")[1] for line in row5} == {
        "effective_date",
        "credit_amount",
        "escalated",
        "created_by",
    }
    assert not any(":row 1:" in line for line in lines)
    assert (
        result.output.splitlines()[-1]
        == f"adoffboard: error: {path}: 4 bad row(s), 7 problem(s): nothing imported"
    )
    assert listed(cli) == []


def test_json_export(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(
        json.dumps(
            {
                "change_requests": [
                    {
                        "client": "harbor-marine",
                        "type": "addendum",
                        "departments": ["SEM"],
                        "effective_date": "2026-12-01",
                        "campaign_budgets": {"Brand": 300},
                        "addendum_ref": "DS-9",
                        "Created By": "dana",
                    },
                    {"client": "lakeside-powersports", "type": "save-attempt", "notes": "unhappy"},
                ]
            }
        )
    )
    ok(cli("cr", "import", str(path), "--as", "dana"))
    crs = listed(cli)
    assert [(c["type"], c["escalated"]) for c in crs] == [
        ("addendum", False),
        ("save-attempt", True),
    ]
    assert crs[1]["departments"] == ["SEM", "MA"]  # default: the client's departments


@pytest.mark.parametrize(
    "content,fragment",
    [
        (
            [
                {
                    "client": "harbor-marine",
                    "type": "pause",
                    "effective_date": "2026-12-01",
                    "colour": "red",
                }
            ],
            "row 1: colour: unknown field",
        ),
        (["not an object"], "row 1: row: must be an object"),
    ],
    ids=["unknown-key", "not-an-object"],
)
def test_bad_json_rows(cli: Cli, tmp_path: Path, content, fragment) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(content))
    result = cli("cr", "import", str(path), "--as", "dana")
    assert result.exit_code == EXIT_INPUT and fragment in result.output, result.output
    assert listed(cli) == []


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("x.csv", "client,type,colour\n", "header: unknown column(s) 'colour'"),
        ("x.csv", "", "is empty"),
        ("x.json", "{oops", "is not valid JSON"),
        ("x.json", '{"a": 1}', "expected a list of change requests"),
        ("x.xlsx", "", "reads .csv or .json"),
    ],
    ids=["unknown-column", "empty", "bad-json", "json-not-a-list", "wrong-format"],
)
def test_unreadable_files(cli: Cli, tmp_path: Path, name: str, content: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = cli("cr", "import", str(path), "--as", "dana")
    assert result.exit_code == EXIT_INPUT and fragment in result.output, result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_a_crm_reference_is_imported_once(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + GOOD_ROWS[0])
    ok(cli("cr", "import", str(path), "--as", "dana"))
    again = cli("cr", "import", str(path), "--as", "dana")
    assert again.exit_code == EXIT_INPUT
    assert f"{path}:row 1: crm_ref: 'CRM-101' was already imported as CR-0001" in again.output
    twice = tmp_path / "twice.csv"
    twice.write_text(HEADER + GOOD_ROWS[1] + GOOD_ROWS[1])
    result = cli("cr", "import", str(twice), "--as", "dana")
    assert f"{twice}:row 2: crm_ref: 'CRM-102' is also on row 1" in result.output
    assert len(listed(cli)) == 1


def test_only_an_account_manager_imports(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + GOOD_ROWS[0])
    result = cli("cr", "import", str(path), "--as", "jeremy")
    assert result.exit_code == EXIT_INPUT
    assert "created_by: only an Account Manager creates a change request" in result.output
    assert listed(cli) == []
