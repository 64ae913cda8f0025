"""Recorded read-only calls of the Microsoft Advertising connector, replayed with no server.

Replaying: every `tests/cassettes/microsoft_ads/*.yaml` is played back through the connector's
`read_state` with no server listening; the account, customer and expected name come from the
cassette itself, so cassettes recorded against a real test account replay the same way.

Recording (see README, "Recording cassettes"):

    ADOFFBOARD_RECORD=1 pytest tests/test_cassettes_microsoft_ads.py            # the stand-in
    ADOFFBOARD_RECORD=1 MSADS_RECORD_ACCOUNT_ID=... pytest tests/test_cassettes_microsoft_ads.py

Only read operations are ever recorded: the recording connector is built read-only, so its
transport refuses any write before it leaves the process.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import urllib3
import vcr
import yaml
from cassette_scrub import SCRUBBED, find_secrets, vcr_options

from adoffboard.clock import FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import TransientError
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario

CASSETTES = Path(__file__).parent / "cassettes" / "microsoft_ads"
RECORD = os.environ.get("ADOFFBOARD_RECORD") == "1"
# What the stand-in recording authenticates with: fake, but scrubbed exactly like real ones.
STANDIN_SECRETS = {
    "MSADS_DEVELOPER_TOKEN": "msads-devtoken-0c55-SECRET",
    "MSADS_ACCESS_TOKEN": "EwB4A8l6BAAU-msads-access-SECRET",
}
SECRET_ENV = (
    "MSADS_DEVELOPER_TOKEN",
    "MSADS_ACCESS_TOKEN",
    "MSADS_CLIENT_ID",
    "MSADS_CLIENT_SECRET",
    "MSADS_REFRESH_TOKEN",
)
SCRUB = dict(
    headers=["Authorization", "DeveloperToken"],
    body_keys=["access_token", "refresh_token", "id_token", "client_secret", "code"],
)
DEAD_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens there


def recorder(mode: str) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=mode,
        match_on=["method", "path", "body"],
        **vcr_options(**SCRUB),
    )


@contextlib.contextmanager
def one_request_at_a_time() -> Iterator[None]:
    """vcrpy is not thread-safe: while one of its stubs builds a connection it puts urllib3's
    real connection classes back for the whole process (`vcr.patch.force_reset`), so a request
    made on another thread at that moment reaches the network. The connector reads on several
    threads; under a cassette its requests go one at a time (urllib3's, not adoffboard's)."""
    lock = threading.Lock()
    pool = urllib3.connectionpool.HTTPConnectionPool
    real = pool.urlopen

    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return real(self, *args, **kwargs)

    with mock.patch.object(pool, "urlopen", urlopen):
        yield


def connect(settings: dict[str, Any], root: Path, attempts: int = 1) -> Any:
    ctx = ConnectorContext(
        settings=settings,
        workspace_root=root,
        read_only=True,
        clock=FakeClock(),
        retry=RetryPolicy(attempts=attempts, timeout=20),
    )
    return build("microsoft_ads", ctx)


def manifest(account_id: str, customer_id: str, name: str) -> Manifest:
    return Manifest.model_validate(
        {
            **DEMO_CLIENT,
            "microsoft_ads": {
                "account_id": account_id,
                "customer_id": customer_id,
                "expected_name": name,
            },
        }
    )


# --- recording ------------------------------------------------------------------------------------


def _live_target() -> tuple[dict[str, Any], Manifest, str]:
    env = os.environ
    settings: dict[str, Any] = {
        "developer_token": "env:MSADS_DEVELOPER_TOKEN",
        "environment": env.get("MSADS_ENVIRONMENT", "sandbox"),
    }
    if env.get("MSADS_ACCESS_TOKEN"):
        settings["access_token"] = "env:MSADS_ACCESS_TOKEN"
    else:
        settings |= {"client_id": "env:MSADS_CLIENT_ID", "refresh_token": "env:MSADS_REFRESH_TOKEN"}
        if env.get("MSADS_CLIENT_SECRET"):
            settings["client_secret"] = "env:MSADS_CLIENT_SECRET"
    account = env["MSADS_RECORD_ACCOUNT_ID"]
    target = manifest(account, env["MSADS_RECORD_CUSTOMER_ID"], env["MSADS_RECORD_EXPECTED_NAME"])
    return settings, target, f"read_state-{settings['environment']}-{account}.yaml"


@pytest.mark.skipif(not RECORD, reason="set ADOFFBOARD_RECORD=1 to record cassettes")
def test_record_read_state(tmp_path, monkeypatch):
    CASSETTES.mkdir(parents=True, exist_ok=True)
    if os.environ.get("MSADS_RECORD_ACCOUNT_ID"):
        settings, target, name = _live_target()
        secrets = [os.environ[k] for k in SECRET_ENV if os.environ.get(k)]
        box = None
    else:
        for key, value in STANDIN_SECRETS.items():
            monkeypatch.setenv(key, value)
        box = Sandbox({"microsoft_ads": load_scenario(DEMO_SCENARIO)["microsoft_ads"]}).start()
        settings = {
            **box.platform_settings()["microsoft_ads"],
            "developer_token": "env:MSADS_DEVELOPER_TOKEN",
            "access_token": "env:MSADS_ACCESS_TOKEN",
        }
        target, name = manifest("149876543", "251234567", "Lakeside Powersports"), "read_state.yaml"
        secrets = list(STANDIN_SECRETS.values())
    (CASSETTES / name).unlink(missing_ok=True)
    try:
        with recorder("all").use_cassette(name), one_request_at_a_time():
            connect(settings, tmp_path, attempts=3).read_state(target)
    finally:
        if box is not None:
            box.stop()
    assert find_secrets(CASSETTES, secrets) == []


# --- replaying ------------------------------------------------------------------------------------


def _target_of(cassette: Path) -> Manifest:
    """The account a cassette was recorded for, read from its GetAccount interaction."""
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    for item in data["interactions"]:
        request, response = item["request"], item["response"]
        if request["uri"].endswith("/CustomerManagement/v13/Account/Query"):
            account = json.loads(request["body"])["AccountId"]
            headers = {k.lower(): v for k, v in request["headers"].items()}
            body = json.loads(response["body"]["string"])
            return manifest(account, headers["customerid"][0], body["Account"]["Name"])
    raise AssertionError(f"{cassette.name} has no GetAccount interaction")


CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))


@pytest.mark.skipif(RECORD, reason="recording")
@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=[p.stem for p in CASSETTE_FILES])
def test_replay_read_state_with_no_server(cassette, tmp_path):
    target = _target_of(cassette)
    settings = {
        "endpoint": DEAD_ENDPOINT,
        "developer_token": "sandbox:",
        "access_token": "sandbox:",
    }
    with pytest.raises(TransientError, match="unreachable"):  # really nothing listening
        connect(settings, tmp_path).read_state(target)
    with recorder("none").use_cassette(cassette.name) as played, one_request_at_a_time():
        state = connect(settings, tmp_path).read_state(target)
    assert played.all_played
    assert state.name == target.microsoft_ads.expected_name and state.currency
    if cassette.name == "read_state.yaml":  # the stand-in's demo account
        assert {c.campaign_type for c in state.campaigns} >= {
            "Search",
            "Shopping",
            "Audience",
            "PerformanceMax",
        }
        assert state.budgets["8801"].amount == 60.0
        assert [
            c.entity_id
            for c in connect(settings, tmp_path).plan("budgets_to_floor", {}, state, "s").changes
        ][-1] == "8801"


def test_cassettes_exist_and_hold_no_secret():
    assert (CASSETTES / "read_state.yaml").is_file(), "record with ADOFFBOARD_RECORD=1"
    secrets = list(STANDIN_SECRETS.values()) + [
        os.environ[k] for k in SECRET_ENV if os.environ.get(k)
    ]
    assert find_secrets(CASSETTES, secrets) == []
    for cassette in CASSETTE_FILES:
        for item in yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"]:
            headers = {k.lower(): v for k, v in item["request"]["headers"].items()}
            assert headers.get("authorization") == [SCRUBBED]
            assert headers.get("developertoken") == [SCRUBBED]
            assert item["request"]["method"] == "POST"  # reads only: every read is a POST
