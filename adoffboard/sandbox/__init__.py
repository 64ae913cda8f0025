"""Local stand-ins for the platforms, speaking each platform's real wire protocol.

`Sandbox` starts every stand-in a scenario mentions (one top-level key per platform), each on
any free port or on a fixed one (the scenario's `ports:`, or the caller's), shares one request
log and one fault plan between them, and tells a workspace how to reach them
(`platform_settings`, `notification_settings`). Adding a platform means adding its stand-in to
`STANDINS`; nothing else changes. Each stand-in class takes `(section, log, faults)` and has
`start(host, port) -> port`, `stop()`, `running`, `host`, `port`, `settings()` and
`reset(section)`.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path
from typing import Any

from adoffboard.sandbox.core import (
    FaultPlan,
    RequestLog,
    check_ports,
    ensure_free,
    faults_from_scenario,
    load_scenario,
)

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.yaml"

# scenario key -> (module, class); imported only when a scenario uses the platform
STANDINS: dict[str, tuple[str, str]] = {
    "google_ads": ("adoffboard.sandbox.googleads", "GoogleAdsStandIn"),
    "microsoft_ads": ("adoffboard.sandbox.microsoft_ads", "MicrosoftAdsStandIn"),
    "sheets": ("adoffboard.sandbox.sheets", "SheetsStandIn"),
    "smtp": ("adoffboard.sandbox.smtp", "SmtpStandIn"),
    "meta": ("adoffboard.sandbox.meta", "MetaStandIn"),
    "ga4": ("adoffboard.sandbox.ga4", "GA4StandIn"),
    "search_console": ("adoffboard.sandbox.search_console", "SearchConsoleStandIn"),
    "tag_manager": ("adoffboard.sandbox.tag_manager", "TagManagerStandIn"),
    "trello": ("adoffboard.sandbox.trello", "TrelloStandIn"),
    "sharpspring": ("adoffboard.sandbox.sharpspring", "SharpSpringStandIn"),
    "http": ("adoffboard.sandbox.vendor", "VendorStandIn"),
    "oidc": ("adoffboard.sandbox.oidc", "OidcStandIn"),
}
NOT_PLATFORMS = frozenset({"smtp", "oidc"})  # stand-ins configured outside [platforms.*]
SETTINGS = frozenset({"faults", "ports"})  # scenario keys about the sandbox, not a stand-in


class Sandbox:
    def __init__(self, scenario: Mapping[str, Any], *, log_path: Path | None = None) -> None:
        unknown = sorted(set(scenario) - set(STANDINS) - SETTINGS)
        if unknown:
            raise ValueError(
                f"scenario has unknown platform key(s) {unknown}; known: {sorted(STANDINS)}"
            )
        self.scenario = dict(scenario)
        self._pristine = copy.deepcopy(self.scenario)  # what `reset` goes back to
        self.log = RequestLog(log_path)
        self.faults: FaultPlan = faults_from_scenario(self.scenario)
        # fixed ports from the scenario's `ports:` (0 or absent: any free port)
        self.ports = check_ports(self.scenario.get("ports") or {}, self.keys(), "scenario ports")
        self.standins: dict[str, Any] = {}
        self.endpoints: dict[str, str] = {}

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> Sandbox:
        return cls(load_scenario(path), **kwargs)

    @classmethod
    def only(
        cls, scenario: Mapping[str, Any], platforms: Collection[str], **kwargs: Any
    ) -> Sandbox:
        """A sandbox of just these stand-ins (scenario keys such as "sheets" or "smtp"), with the
        scenario's faults: a test that talks to one platform need not start and stop eleven."""
        unknown = sorted(set(platforms) - set(STANDINS))
        if unknown:
            raise ValueError(f"unknown stand-in(s) {unknown}; known: {sorted(STANDINS)}")
        return cls(
            {
                key: section
                for key, section in scenario.items()
                if key in platforms or key == "faults"
            },
            **kwargs,
        )

    def keys(self) -> list[str]:
        """The stand-ins this sandbox runs (scenario keys)."""
        return [key for key in STANDINS if key in self.scenario]

    def __getattr__(self, name: str) -> Any:
        # box.google_ads, box.smtp, ...: the running stand-in, or None when not started
        if name in STANDINS:
            return self.__dict__.get("standins", {}).get(name)
        raise AttributeError(name)

    def start(self, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None) -> Sandbox:
        """Start every stand-in: on its port from `ports`, else from the scenario's `ports:`,
        else any free port. A fixed port already in use stops it before anything starts."""
        ports = {**self.ports, **check_ports(ports or {}, self.keys(), "ports")}
        ensure_free(host, ports)
        try:
            for key, (module, cls) in STANDINS.items():
                if key not in self.scenario:
                    continue
                standin = getattr(import_module(module), cls)(
                    self.scenario[key] or {}, self.log, self.faults
                )
                port = standin.start(host=host, port=ports.get(key, 0))
                self.standins[key] = standin
                self.endpoints[key] = f"{host}:{port}"
        except BaseException:
            self.stop()
            raise
        return self

    def reset(self, scenario: Mapping[str, Any] | None = None) -> None:
        """Every running stand-in back to the scenario's state, the request log emptied and the
        scenario's faults in force again (their counters restarted), on the same ports: tests
        that run many times against one sandbox start each run from the same world. With
        `scenario` (one for the same stand-ins), that scenario becomes the sandbox's own first.
        Call it while no request is in flight (`idle`)."""
        if scenario is not None:
            if set(scenario) - SETTINGS != set(self.scenario) - SETTINGS:
                raise ValueError(
                    f"cannot reset stand-ins {sorted(set(self.scenario) - SETTINGS)} to a "
                    f"scenario of {sorted(set(scenario) - SETTINGS)}"
                )
            self.scenario = dict(scenario)
            self._pristine = copy.deepcopy(self.scenario)
        self.faults.clear()
        for rule in faults_from_scenario(self._pristine).rules:
            self.faults.add(rule)
        for key, standin in self.standins.items():
            standin.reset(copy.deepcopy(self._pristine[key] or {}))
        self.log.clear()

    def idle(self, timeout: float = 0.0) -> bool:
        """Whether every request the stand-ins received has been answered, waiting up to
        `timeout` seconds (a client that gave up can leave one in flight: a latency fault)."""
        return self.log.idle(timeout)

    def serving(self) -> bool:
        """Whether every stand-in started still serves, where it started."""
        return bool(self.standins) and all(
            standin.running and self.endpoints[key] == f"{standin.host}:{standin.port}"
            for key, standin in self.standins.items()
        )

    def stop(self) -> None:
        # all at once: each HTTP stand-in waits up to its poll interval for its serving loop
        running = list(self.standins.values())
        if running:
            with ThreadPoolExecutor(len(running), thread_name_prefix="sandbox-stop") as pool:
                list(pool.map(lambda standin: standin.stop(), running))
        self.standins.clear()

    def __enter__(self) -> Sandbox:
        return self.start() if not self.standins else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def platform_settings(self) -> dict[str, dict[str, Any]]:
        """The `[platforms.*]` tables that point a workspace at this sandbox."""
        return {
            key: standin.settings()
            for key, standin in self.standins.items()
            if key not in NOT_PLATFORMS
        }

    def notification_settings(self) -> dict[str, Any]:
        """The `[notifications]` keys that send mail to this sandbox's SMTP server."""
        return self.standins["smtp"].settings() if "smtp" in self.standins else {}

    def oidc_settings(self) -> dict[str, Any]:
        """The `[console.oidc]` keys that sign the console in through this sandbox's identity
        provider."""
        return self.standins["oidc"].settings() if "oidc" in self.standins else {}
