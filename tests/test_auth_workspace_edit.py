"""How `adoffboard auth` edits adoffboard.toml: one platform table merged in the file's text
(comments, other tables and keys kept), a missing table appended, a file that would not load
refused before any secret is stored."""

from __future__ import annotations

import tomllib

import pytest

from adoffboard.auth_flows import Obtained, merge_platform, save
from adoffboard.errors import InputError
from adoffboard.workspace_init import init_workspace

TEXT = """# the agency's settings
[workspace]
name = "Agency"  # shown in reports

[platforms.ga4]
# read through the agency's analytics user
endpoint = "https://analyticsadmin.googleapis.com"
access_token = "env:GA4_TOKEN"
timeout_s = 30.0

[platforms.trello]
key = "env:TRELLO_KEY"
"""


def test_set_keys_are_replaced_and_new_ones_added_inside_the_table():
    merged = merge_platform(
        TEXT, "ga4", {"access_token": "", "refresh_token": "keyring:adoffboard/ga4.refresh_token"}
    )
    assert "# the agency's settings" in merged and "# read through the agency's" in merged
    assert 'name = "Agency"  # shown in reports' in merged
    data = tomllib.loads(merged)
    assert data["platforms"]["ga4"] == {
        "endpoint": "https://analyticsadmin.googleapis.com",
        "access_token": "",
        "timeout_s": 30.0,
        "refresh_token": "keyring:adoffboard/ga4.refresh_token",
    }
    assert data["platforms"]["trello"] == {"key": "env:TRELLO_KEY"}


def test_a_missing_table_is_appended():
    merged = merge_platform(TEXT, "meta", {"app_id": "880000000000001"})
    assert merged.startswith(TEXT)
    assert tomllib.loads(merged)["platforms"]["meta"] == {"app_id": "880000000000001"}


def test_a_table_known_only_by_its_sub_tables_gets_its_own_keys():
    text = '[platforms.sheets.trackers.planner]\nspreadsheet_id = "1sEm"\ntab = "Planner"\n'
    merged = merge_platform(text, "sheets", {"credentials_file": "keys/sa.json"})
    sheets = tomllib.loads(merged)["platforms"]["sheets"]
    assert sheets["credentials_file"] == "keys/sa.json"
    assert sheets["trackers"]["planner"]["tab"] == "Planner"


def test_an_inline_platform_table_is_refused():
    text = 'platforms = { ga4 = { access_token = "env:X" } }\n'
    with pytest.raises(InputError, match=r"not written as a \[platforms.ga4\] table"):
        merge_platform(text, "ga4", {"access_token": ""})


def test_a_result_that_would_not_load_stores_nothing(tmp_path):
    init_workspace(tmp_path, platforms={})
    before = (tmp_path / "adoffboard.toml").read_text()
    obtained = Obtained("meta", {"app_id": "880000000000001"}, {"access_token": "EAAGsecret"})
    with pytest.raises(InputError, match="nothing was stored or changed"):
        save(obtained, tmp_path, "file")  # agency_business_id is missing: the table is invalid
    assert (tmp_path / "adoffboard.toml").read_text() == before
    assert not (tmp_path / ".adoffboard" / "secrets").exists()


def test_obtained_never_shows_its_secrets():
    obtained = Obtained("meta", {"app_id": "1"}, {"access_token": "EAAGsecret"})
    assert "EAAGsecret" not in repr(obtained) and "EAAGsecret" not in str(obtained)
