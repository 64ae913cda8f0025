"""Fixed stand-in ports, from the scenario's `ports:` or `sandbox up --port STANDIN=PORT`: where
each stand-in listens, what is refused (one line each), and a second `sandbox up` on ports the
first one holds."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import CliRunner, Result

from adoffboard.cli import EXIT_INPUT, EXIT_USAGE, main
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.core import load_scenario

DEMO = load_scenario(DEMO_SCENARIO)


def free_ports(n: int) -> list[int]:
    """`n` distinct ports nothing listens on now (held together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something else already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def scenario_file(tmp_path: Path, **ports: Any) -> Path:
    path = tmp_path / "scenario.yaml"
    data: dict[str, Any] = {"meta": DEMO["meta"], "trello": DEMO["trello"]}
    if ports:
        data["ports"] = ports
    path.write_text(yaml.safe_dump(data))
    return path


def sandbox_up(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["sandbox", "up", "--cert-dir", str(tmp_path / "certs"), *args])


def refused(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("adoffboard: error: "), result.output
    assert fragment in lines[0], result.output


def port_of(settings: dict[str, Any]) -> int | None:
    return urlsplit(str(settings["endpoint"])).port


def test_stand_ins_listen_on_the_scenarios_ports_and_the_callers() -> None:
    meta, trello = free_ports(2)
    box = Sandbox({"meta": DEMO["meta"], "trello": DEMO["trello"], "ports": {"meta": 1}})
    with box.start(ports={"meta": meta, "trello": trello}):  # the caller's over the scenario's
        settings = box.platform_settings()
        assert (port_of(settings["meta"]), port_of(settings["trello"])) == (meta, trello)
    (meta,) = free_ports(1)
    with Sandbox({"meta": DEMO["meta"], "ports": {"meta": meta}}) as box:
        assert port_of(box.platform_settings()["meta"]) == meta


def test_a_second_sandbox_up_on_the_same_ports_names_the_port_in_use(tmp_path: Path) -> None:
    meta, trello = free_ports(2)
    scenario = scenario_file(tmp_path, trello=trello)
    argv = ["sandbox", "up", "--scenario", str(scenario), "--port", f"meta={meta}"]
    first = subprocess.Popen(
        [sys.executable, "-m", "adoffboard.cli", *argv, "--cert-dir", str(tmp_path / "certs")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        printed: list[str] = []
        for line in first.stdout:  # until the settings are out: the stand-ins are listening
            if line.startswith("Ctrl-C to stop."):
                break
            printed.append(line)
        platforms = tomllib.loads("".join(printed[1:]))["platforms"]
        assert (port_of(platforms["meta"]), port_of(platforms["trello"])) == (meta, trello)

        second = sandbox_up(tmp_path, *argv[2:])
        refused(second, EXIT_INPUT, f"port {trello} on 127.0.0.1 for the trello stand-in is in use")
        again = sandbox_up(tmp_path, "--scenario", str(scenario_file(tmp_path)), *argv[4:])
        refused(again, EXIT_INPUT, f"port {meta} on 127.0.0.1 for the meta stand-in is in use")
        assert first.poll() is None  # the first sandbox still serves
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)


def test_google_ads_port_is_an_alias_of_port_google_ads(tmp_path: Path, listening: int) -> None:
    refused(
        sandbox_up(tmp_path, "--google-ads-port", str(listening)),
        EXIT_INPUT,
        f"port {listening} on 127.0.0.1 for the google_ads stand-in is in use",
    )
    refused(
        sandbox_up(tmp_path, "--port", f"meta={listening}"),
        EXIT_INPUT,
        f"port {listening} on 127.0.0.1 for the meta stand-in is in use",
    )


@pytest.mark.parametrize(
    "args,fragment",
    [
        (("--port", "nope=8101"), "--port 'nope=8101': expected STANDIN=PORT"),
        (("--port", "meta"), "--port 'meta': expected STANDIN=PORT"),
        (("--port", "meta=70000"), "must be a whole number from 0 to 65535"),
        (("--port", "meta=-1"), "must be a whole number from 0 to 65535"),
        (("--port", "meta=eighty"), "must be a whole number from 0 to 65535"),
        (("--port", "google_ads=50051"), "--port google_ads: no such stand-in in this scenario"),
    ],
    ids=["unknown-standin", "no-port", "too-large", "negative", "not-a-number", "not-in-scenario"],
)
def test_bad_port_options_are_usage_errors(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    refused(
        sandbox_up(tmp_path, "--scenario", str(scenario_file(tmp_path)), *args),
        EXIT_USAGE,
        fragment,
    )


@pytest.mark.parametrize(
    "ports,fragment",
    [
        ({"nope": 8101}, "scenario ports: no stand-in 'nope' in this scenario"),
        ({"google_ads": 50051}, "scenario ports: no stand-in 'google_ads' in this scenario"),
        ({"meta": "8101x"}, "scenario ports: meta='8101x' is not a port"),
        ({"meta": 65536}, "scenario ports: meta=65536 is not a port"),
        ({"meta": 8101, "trello": 8101}, "port 8101 is given to more than one stand-in"),
    ],
    ids=["unknown-standin", "not-in-scenario", "not-a-number", "too-large", "twice"],
)
def test_bad_scenario_ports_are_bad_input(
    tmp_path: Path, ports: dict[str, Any], fragment: str
) -> None:
    refused(
        sandbox_up(tmp_path, "--scenario", str(scenario_file(tmp_path, **ports))),
        EXIT_INPUT,
        fragment,
    )
