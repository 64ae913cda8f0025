"""`clients discover` against the sandbox: what each platform lists, the manifests it proposes for
the demo dealers, an ambiguous pair flagged and never guessed, nothing written to any platform,
and manifests written only where asked and never over an existing one without --force."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from adoffboard.cli import EXIT_INPUT, EXIT_OK, main
from adoffboard.demo import DEMO_CLIENT
from adoffboard.discover import Client, propose
from adoffboard.discover_platforms import Found
from adoffboard.sandbox import Sandbox
from adoffboard.workspace_init import init_workspace

DISCOVERED = ("google_ads", "microsoft_ads", "meta", "ga4", "search_console", "tag_manager")
# a second Meta ad account named almost as Harbor Marine Center's: two accounts score alike
LOOKALIKE = {
    "id": "act_3049586712",
    "name": "Harbor Marine Centre",
    "currency": "CAD",
    "timezone_name": "America/Toronto",
    "owner_business": "200300400500800",
    "agencies": [{"business_id": "100200300400500", "permitted_tasks": ["ANALYZE"]}],
}


@pytest.fixture
def scenario(_demo_scenario: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(_demo_scenario)
    data["meta"]["ad_accounts"].append(LOOKALIKE)
    return data


@pytest.fixture
def ws(tmp_path: Path, sandbox: Sandbox) -> Path:
    root = tmp_path / "ws"
    init_workspace(
        root,
        platforms=sandbox.platform_settings(),
        notifications=sandbox.notification_settings(),
        clients=[],
    )
    return root


def run(ws: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-w", str(ws), "-q", "clients", *args])


def clients_csv(tmp_path: Path) -> Path:
    path = tmp_path / "clients.csv"
    path.write_text("name,slug\nLakeside Powersports\nHarbor Marine Center,harbor-marine\nNobody\n")
    return path


def discover(ws: Path, *args: str, code: int = EXIT_OK) -> dict[str, Any]:
    result = run(ws, "discover", *args, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_demo_dealers_get_their_manifests_and_the_lookalike_is_flagged(
    tmp_path: Path, ws: Path, sandbox: Sandbox
) -> None:
    data = discover(ws, "--clients-csv", str(clients_csv(tmp_path)), "--write")
    assert {a["platform"] for a in data["accounts"]} == set(DISCOVERED)
    by_slug = {p["slug"]: p for p in data["proposals"]}
    assert set(by_slug) == {"lakeside-powersports", "harbor-marine", "nobody"}

    lakeside = ws / "clients" / "lakeside-powersports.yaml"
    assert data["written"] == [str(lakeside)]
    assert stat.S_IMODE(lakeside.stat().st_mode) == 0o600
    written = yaml.safe_load(lakeside.read_text())
    for platform in DISCOVERED:
        assert written[platform] == DEMO_CLIENT[platform], platform
    assert written["name"] == "Lakeside Powersports"

    harbor = by_slug["harbor-marine"]
    assert not harbor["writable"] and "meta" not in harbor["matches"]
    assert sorted(c["section"]["ad_account_id"] for c in harbor["ambiguous"]["meta"]) == [
        "act_2039485761",
        "act_3049586712",
    ]
    assert harbor["matches"]["google_ads"]["section"]["customer_id"] == "234-567-8901"
    assert not (ws / "clients" / "harbor-marine.yaml").exists()
    assert by_slug["nobody"] == {**by_slug["nobody"], "matches": {}, "ambiguous": {}}
    assert sandbox.log.mutating() == []  # read-only: no write reached any stand-in

    assert run(ws, "validate").exit_code == EXIT_OK

    table = run(ws, "discover", "--clients-csv", str(clients_csv(tmp_path)))
    assert table.exit_code == EXIT_OK, table.output
    assert "ambiguous: not used" in table.output
    assert "1 with an ambiguous match" in table.output


def test_an_existing_manifest_is_kept_unless_forced(
    tmp_path: Path, ws: Path, sandbox: Sandbox
) -> None:
    mine = ws / "clients" / "lakeside-powersports.yaml"
    mine.write_text(yaml.safe_dump(DEMO_CLIENT | {"name": "Lakeside (hand-made)"}))
    before = mine.read_text()
    data = discover(ws, "--clients-csv", str(clients_csv(tmp_path)), "--write")
    assert data["written"] == [] and data["kept"] == [str(mine)]
    assert mine.read_text() == before
    data = discover(ws, "--clients-csv", str(clients_csv(tmp_path)), "--write", "--force")
    assert data["written"] == [str(mine)]
    assert yaml.safe_load(mine.read_text())["name"] == "Lakeside Powersports"
    assert sandbox.log.mutating() == []


def test_validate_catches_a_hand_made_mistake_in_a_proposed_manifest(
    tmp_path: Path, ws: Path
) -> None:
    discover(ws, "--clients-csv", str(clients_csv(tmp_path)), "--write")
    path = ws / "clients" / "lakeside-powersports.yaml"
    manifest = yaml.safe_load(path.read_text())
    manifest["google_ads"]["customer_id"] = "123-456-789"  # a digit lost
    path.write_text(yaml.safe_dump(manifest))
    result = run(ws, "validate")
    assert result.exit_code == EXIT_INPUT, result.output
    assert "google_ads.customer_id" in result.output


def test_the_client_tracker_is_the_default_list(ws: Path) -> None:
    data = discover(ws)
    names = {p["name"] for p in data["proposals"]}
    assert {"Lakeside Powersports", "Harbor Marine Center"} <= names
    assert data["written"] == []


@pytest.mark.standins("meta", "sheets")
def test_bad_client_lists_are_bad_input(tmp_path: Path, ws: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("name\n")
    bad_slug = tmp_path / "bad.csv"
    bad_slug.write_text("Lakeside Powersports,Not A Slug\n")
    for path, fragment in ((empty, "no client names"), (bad_slug, "is not a valid slug")):
        result = run(ws, "discover", "--clients-csv", str(path))
        assert result.exit_code == EXIT_INPUT, result.output
        assert fragment in result.output and "Traceback" not in result.output
    result = run(ws, "discover", "--tracker", "nope")
    assert result.exit_code == EXIT_INPUT and "no tracker 'nope'" in result.output


def test_an_account_goes_to_the_client_it_matches_best() -> None:
    found = [
        Found("meta", "Lakeside Powersports", {"ad_account_id": "act_1"}),
        Found("meta", "Lakeside Power Sports Inc.", {"ad_account_id": "act_2"}),
        Found("tag_manager", "Bayou Boats & RV", {"account_id": "1"}),
    ]
    clients = [
        Client("Lakeside Powersports", "lakeside"),
        Client("Lakeside Powersports North", "north"),
        Client("Bayou Boats and RV", "bayou"),
        Client("Bayou Boats & RV LLC", "bayou-llc"),
    ]
    lakeside, north, bayou, bayou_llc = propose(clients, found)
    assert set(lakeside.ambiguous["meta"][i][0].section["ad_account_id"] for i in (0, 1)) == {
        "act_1",
        "act_2",
    }
    assert not north.matches and not north.ambiguous  # Lakeside's accounts are Lakeside's
    # one account two clients match alike: flagged for both, given to neither
    assert "tag_manager" in bayou.ambiguous and "tag_manager" in bayou_llc.ambiguous
