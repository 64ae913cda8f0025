"""Local stand-ins for the platforms, speaking each platform's real wire protocol.

`Sandbox` starts every stand-in a scenario mentions, shares one request log and one fault plan
between them, and tells a workspace how to reach them (`platform_settings`). Adding a platform
means adding a stand-in class to `STANDINS`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adoffboard.sandbox.core import FaultPlan, RequestLog, faults_from_scenario, load_scenario

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.yaml"


class Sandbox:
    def __init__(self, scenario: Mapping[str, Any], *, log_path: Path | None = None) -> None:
        self.scenario = dict(scenario)
        self.log = RequestLog(log_path)
        self.faults: FaultPlan = faults_from_scenario(self.scenario)
        self.google_ads: Any = None
        self.endpoints: dict[str, str] = {}

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> Sandbox:
        return cls(load_scenario(path), **kwargs)

    def start(self, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None) -> Sandbox:
        ports = ports or {}
        if "google_ads" in self.scenario:
            from adoffboard.sandbox.googleads import GoogleAdsStandIn

            self.google_ads = GoogleAdsStandIn(self.scenario["google_ads"], self.log, self.faults)
            port = self.google_ads.start(host=host, port=ports.get("google_ads", 0))
            self.endpoints["google_ads"] = f"{host}:{port}"
        return self

    def stop(self) -> None:
        if self.google_ads is not None:
            self.google_ads.stop()

    def __enter__(self) -> Sandbox:
        return self.start() if not self.endpoints else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def platform_settings(self) -> dict[str, dict[str, Any]]:
        """The `[platforms.*]` tables that point a workspace at this sandbox."""
        from adoffboard.sandbox.tls import sandbox_cert

        settings: dict[str, dict[str, Any]] = {}
        if "google_ads" in self.endpoints:
            settings["google_ads"] = {
                "endpoint": self.endpoints["google_ads"],
                "ca_file": str(sandbox_cert().ca_file),
                "developer_token": "sandbox:",
                "access_token": "sandbox:",
                "timeout_s": 30.0,
                "attempts": 5,
            }
        return settings
