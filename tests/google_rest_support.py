"""Shared setup of the Google REST connector tests: one stand-in from the demo scenario, and a
connector built exactly as the engine builds it (settings from the stand-in, a token from the
environment, the workspace's agency identities)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adoffboard.clock import Clock, FakeClock
from adoffboard.config import Manifest
from adoffboard.connectors import build
from adoffboard.connectors.base import Connector, ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.models import Change, Outcome
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario
from adoffboard.workspace_init import workspace_document

AGENCY = tuple(workspace_document()["agency"]["identities"])
TOKEN_ENV, TOKEN = "ADOFFBOARD_TEST_GOOGLE_TOKEN", "ya29.google-rest-SECRET-90aa"


class Journal:
    def __init__(self) -> None:
        self.intents: list[Change] = []
        self.outcomes: list[Outcome] = []

    def intend(self, changes: Any) -> None:
        self.intents += changes

    def record(self, outcomes: Any) -> None:
        self.outcomes += outcomes


def demo_section(platform: str) -> dict[str, Any]:
    return copy.deepcopy(load_scenario(DEMO_SCENARIO)[platform])


def start(platform: str, section: dict[str, Any] | None = None) -> Sandbox:
    return Sandbox({platform: section if section is not None else demo_section(platform)}).start()


def sandbox_for(platform: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A fixture body: the platform's stand-in alone, and the token the settings refer to."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    box = start(platform)
    yield box
    box.stop()


def connect(
    box: Sandbox,
    platform: str,
    tmp_path: Path,
    *,
    read_only: bool,
    clock: Clock | None = None,
    attempts: int = 4,
    **settings: Any,
) -> Connector:
    ctx = ConnectorContext(
        settings={
            **box.platform_settings()[platform],
            "access_token": f"env:{TOKEN_ENV}",
            **settings,
        },
        workspace_root=tmp_path,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=attempts, timeout=10),
        agency_identities=AGENCY,
    )
    return build(platform, ctx)


def manifest(**changes: Any) -> Manifest:
    return Manifest.model_validate({**DEMO_CLIENT, **changes})
