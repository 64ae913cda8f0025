"""Recorded read-only Graph exchanges (vcrpy cassettes): scrubbed, replayed with no server.

The cassettes in tests/cassettes/meta were recorded against the sandbox's Graph stand-in:

    ADOFFBOARD_RECORD=1 pytest tests/test_meta_cassettes.py -k record

re-records them. With ADOFFBOARD_META_AD_ACCOUNT set (and the other ADOFFBOARD_META_* variables
below), the same command records the read-only calls of a real test ad account instead, through
a read-only connector: its transport cannot send anything but GET.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import yaml
from cassette_scrub_meta import REDACTED, leaks, meta_vcr
from requests.adapters import HTTPAdapter

from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario

CASSETTES = Path(__file__).parent / "cassettes" / "meta"
SECRET = "cassette-app-secret-SECRET-4410"
TOKEN = "EAAGcassette-token-SECRET-93b"
RECORDINGS = {"read_state_lakeside": 500, "read_state_lakeside_paged": 2}  # name -> page_size


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADOFFBOARD_TEST_META_CASSETTE_SECRET", SECRET)
    monkeypatch.setenv("ADOFFBOARD_TEST_META_CASSETTE_TOKEN", TOKEN)


def reader(tmp_path: Path, settings: dict[str, Any]) -> Any:
    ctx = ConnectorContext(
        settings=settings,
        workspace_root=tmp_path,
        read_only=True,
        clock=FakeClock(),
        retry=RetryPolicy(attempts=1, timeout=10),
    )
    return build("meta", ctx)


def sandbox_settings(box: Sandbox, page_size: int) -> dict[str, Any]:
    box.meta.app_secret = SECRET
    return {
        **box.platform_settings()["meta"],
        "page_size": page_size,
        "app_secret": "env:ADOFFBOARD_TEST_META_CASSETTE_SECRET",
        "access_token": "env:ADOFFBOARD_TEST_META_CASSETTE_TOKEN",
    }


@contextmanager
def one_request_at_a_time() -> Iterator[None]:
    """vcrpy records by un-patching `http.client` for the whole process while it sends
    (`vcr.patch.force_reset`): a request another thread sends meanwhile goes unrecorded, or on
    replay reaches the network. The connector reads an account's edges at once, so under a
    cassette requests take turns."""
    send = HTTPAdapter.send
    turn = threading.Lock()

    def one_at_a_time(self: HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        with turn:
            return send(self, *args, **kwargs)

    with patch.object(HTTPAdapter, "send", one_at_a_time):
        yield


def record(folder: Path, tmp_path: Path) -> list[Path]:
    """Record read_state into `folder`: a real test account when configured, else the sandbox."""
    env = os.environ
    if env.get("ADOFFBOARD_META_AD_ACCOUNT"):
        settings = {
            "endpoint": env.get("ADOFFBOARD_META_ENDPOINT", "https://graph.facebook.com"),
            "app_id": env["ADOFFBOARD_META_APP_ID"],
            "app_secret": "env:ADOFFBOARD_META_APP_SECRET",
            "access_token": "env:ADOFFBOARD_META_ACCESS_TOKEN",
            "agency_business_id": env["ADOFFBOARD_META_AGENCY_BUSINESS"],
        }
        manifest = Manifest.model_validate(
            {
                **DEMO_CLIENT,
                "meta": {
                    "ad_account_id": env["ADOFFBOARD_META_AD_ACCOUNT"],
                    "expected_name": env["ADOFFBOARD_META_ACCOUNT_NAME"],
                },
            }
        )
        name = f"read_state_{env['ADOFFBOARD_META_AD_ACCOUNT']}"
        with one_request_at_a_time(), meta_vcr(folder, "all").use_cassette(f"{name}.yaml"):
            reader(tmp_path, settings).read_state(manifest)
        return [folder / f"{name}.yaml"]
    paths = []
    for name, page_size in RECORDINGS.items():
        with (
            Sandbox({"meta": load_scenario(DEMO_SCENARIO)["meta"]}) as box,
            one_request_at_a_time(),
            meta_vcr(folder, "all").use_cassette(f"{name}.yaml"),
        ):
            reader(tmp_path, sandbox_settings(box, page_size)).read_state(
                Manifest.model_validate(DEMO_CLIENT)
            )
            assert box.log.mutating() == []
        paths.append(folder / f"{name}.yaml")
    return paths


def replay(path: Path, tmp_path: Path) -> Any:
    """read_state from a cassette alone: nothing listens at the endpoint."""
    data = yaml.safe_load(path.read_text())
    first = data["interactions"][0]
    account = first["request"]["uri"].split("/v26.0/")[1].split("/")[0].split("?")[0]
    name = yaml.safe_load(first["response"]["body"]["string"])["name"]
    settings = {
        "endpoint": "http://127.0.0.1:9",
        "app_id": "880000000000001",
        "app_secret": "env:ADOFFBOARD_TEST_META_CASSETTE_SECRET",
        "access_token": "env:ADOFFBOARD_TEST_META_CASSETTE_TOKEN",
        "agency_business_id": "100200300400500",
        "page_size": 2 if path.stem.endswith("_paged") else 500,
    }
    manifest = Manifest.model_validate(
        {**DEMO_CLIENT, "meta": {"ad_account_id": account, "expected_name": name}}
    )
    with one_request_at_a_time(), meta_vcr(path.parent, "none").use_cassette(path.name) as cassette:
        state = reader(tmp_path, settings).read_state(manifest)
        assert cassette.all_played
    return state


def test_recording_scrubs_every_secret_and_replays(tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    paths = record(folder, tmp_path)
    for path in paths:
        text = path.read_text()
        assert leaks(text, [SECRET, TOKEN]) == []
        assert f"access_token={REDACTED}" in text and f"appsecret_proof={REDACTED}" in text
        assert replay(path, tmp_path).name == "Lakeside Powersports"
    paged = yaml.safe_load((folder / "read_state_lakeside_paged.yaml").read_text())
    assert any('"next"' in i["response"]["body"]["string"] for i in paged["interactions"])


@pytest.mark.skipif(
    os.environ.get("ADOFFBOARD_RECORD") != "1",
    reason="set ADOFFBOARD_RECORD=1 to re-record tests/cassettes/meta",
)
def test_record_meta_cassettes(tmp_path: Path) -> None:
    CASSETTES.mkdir(parents=True, exist_ok=True)
    for path in record(CASSETTES, tmp_path):
        assert (
            leaks(
                path.read_text(),
                [
                    SECRET,
                    TOKEN,
                    os.environ.get("ADOFFBOARD_META_ACCESS_TOKEN", ""),
                    os.environ.get("ADOFFBOARD_META_APP_SECRET", ""),
                ],
            )
            == []
        )


COMMITTED = sorted(CASSETTES.glob("*.yaml"))


def test_cassettes_are_committed() -> None:
    assert {p.stem for p in COMMITTED} >= set(RECORDINGS)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text()
    assert leaks(text, [SECRET, TOKEN, "sandbox-placeholder"]) == []
    for interaction in yaml.safe_load(text)["interactions"]:
        assert interaction["request"]["method"] == "GET"  # read-only calls only
        assert "authorization" not in {h.lower() for h in interaction["request"]["headers"]}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_cassette_replays_through_read_state(path: Path, tmp_path: Path) -> None:
    state = replay(path, tmp_path)
    assert state.reachable and state.campaigns
    if path.stem.startswith("read_state_lakeside"):
        assert {c.id for c in state.campaigns if c.status == "ACTIVE"} == {
            "120210000000101",
            "120210000000102",
            "120210000000103",
        }
        assert len(state.adsets) == 6 and len(state.rules) == 4
        assert [a.business_id for a in state.agencies] == ["100200300400500"]
