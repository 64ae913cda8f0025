"""`adoffboard sandbox up` and `adoffboard demo`: the local stand-ins of the platforms."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from adoffboard.commands.common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VERIFY_FAIL,
    BoundedInt,
    Ctx,
    ProgressView,
    emit_json,
    fail,
    pass_ctx,
    render_summary,
    stop_on_sigterm,
)


@click.group()
def sandbox() -> None:
    """Local stand-ins of the platforms, for rehearsals and tests."""


@sandbox.command("up")
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario YAML (default: the demo scenario).",
)
@click.option(
    "--workspace",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the stand-ins' settings into this workspace's adoffboard.toml ([platforms.*] "
    "of each stand-in and the SMTP keys of [notifications]; everything else is kept).",
)
@click.option(
    "--port",
    "ports",
    multiple=True,
    metavar="STANDIN=PORT",
    help="A fixed port for one stand-in, e.g. meta=8101 (repeatable; over the scenario's "
    "`ports:`; default: each stand-in's own port, 18801 to 18811; 0: any free port).",
)
@click.option(
    "--any-ports",
    is_flag=True,
    help="Any free port for each stand-in not given one (instead of its default port).",
)
@click.option(
    "--google-ads-port",
    type=BoundedInt(0, 65535),
    default=0,
    help="Same as --port google_ads=PORT.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append every request to this JSONL file.",
)
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path.home() / ".cache" / "adoffboard-sandbox",
    show_default=True,
    help="Where the sandbox's TLS certificate is kept and reused between starts.",
)
@pass_ctx
def sandbox_up(
    c: Ctx,
    scenario: Path | None,
    target: Path | None,
    ports: tuple[str, ...],
    any_ports: bool,
    google_ads_port: int,
    log_path: Path | None,
    cert_dir: Path,
) -> None:
    """Serve the stand-ins until interrupted; prints the settings a workspace needs, or writes
    them into one (--workspace)."""
    import threading

    from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
    from adoffboard.sandbox.tls import sandbox_cert
    from adoffboard.sandbox.workspace_file import point_at_sandbox, workspace_file

    fixed = parse_ports(ports)
    if target is not None:
        workspace_file(target)  # there and readable, before anything starts
    sandbox_cert(cert_dir)

    try:
        box = Sandbox.from_file(scenario or DEMO_SCENARIO, log_path=log_path)
    except ValueError as exc:
        fail(EXIT_INPUT, str(exc))
    if google_ads_port:
        fixed = {"google_ads": google_ads_port, **fixed}
    missing = sorted(set(fixed) - set(box.keys()))
    if missing:
        fail(EXIT_USAGE, f"--port {missing[0]}: no such stand-in in this scenario ({box.keys()})")
    box.start(ports=fixed if any_ports else {**default_ports(box), **fixed})  # in use: exit 3
    try:
        platforms, notifications = box.platform_settings(), box.notification_settings()
        written = point_at_sandbox(target, platforms, notifications) if target else None
    except BaseException:
        box.stop()
        raise
    try:  # a Ctrl-C right after the announcement still stops the stand-ins and says so
        announce(c, box.endpoints, platforms, notifications, written)
        threading.Event().wait()
    except KeyboardInterrupt:
        box.stop()
        if c.as_json:
            click.echo(json.dumps({"event": "stopped"}))
        else:
            click.echo("Sandbox stopped.")


def default_ports(box: Any) -> dict[str, int]:
    """Each stand-in's default port, unless the scenario's `ports:` names it."""
    from adoffboard.sandbox import DEFAULT_PORTS

    standins: list[str] = box.keys()
    return {key: DEFAULT_PORTS[key] for key in standins if key not in box.ports}


def announce(
    c: Ctx,
    endpoints: dict[str, str],
    platforms: dict[str, Any],
    notifications: dict[str, Any],
    written: Path | None,
) -> None:
    """What `sandbox up` prints once every stand-in listens: one JSON line with --json."""
    if c.as_json:
        event = {
            "event": "up",
            "endpoints": endpoints,
            "workspace": str(written) if written else None,
            "platforms": platforms,
            "notifications": notifications,
        }
        click.echo(json.dumps(event), nl=True)
        sys.stdout.flush()
        return
    if written is not None:
        click.echo(f"Sandbox up. Pointed {written} at it:")
        for key, endpoint in endpoints.items():
            click.echo(f"  {key:<15} {endpoint}")
    else:
        import tomli_w

        click.echo("Sandbox up. Put this in adoffboard.toml (or use --workspace DIR):\n")
        click.echo(tomli_w.dumps({"platforms": platforms, "notifications": notifications}))
    click.echo("Ctrl-C to stop.")


def parse_ports(values: tuple[str, ...]) -> dict[str, int]:
    """`--port STANDIN=PORT` values; a malformed one, an unknown stand-in or a port out of
    range is a usage error: one line, exit 2."""
    from adoffboard.sandbox import STANDINS

    ports: dict[str, int] = {}
    for value in values:
        key, sep, number = value.partition("=")
        key = key.strip()
        if not sep or key not in STANDINS:
            known = ", ".join(sorted(STANDINS))
            fail(EXIT_USAGE, f"--port {value!r}: expected STANDIN=PORT, STANDIN one of {known}")
        port = int(number) if number.strip().isdigit() else -1
        if not 0 <= port <= 65535:
            fail(EXIT_USAGE, f"--port {value!r}: the port must be a whole number from 0 to 65535")
        ports[key] = port
    return ports


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Create the demo workspace here and keep it (default: a temporary folder).",
)
@click.option(
    "--console",
    "with_console",
    is_flag=True,
    help="Then serve the web console of the demo workspace on loopback until Ctrl-C.",
)
@pass_ctx
def demo(c: Ctx, keep: Path | None, with_console: bool) -> None:
    """Plan, apply and verify the SEM and MA cancellations of a dealer leaving the platform,
    against the local sandbox (no credentials)."""
    from adoffboard.demo import run_demo

    if with_console:
        demo_with_console(c, keep)
    with ProgressView(c) as view:
        outcome = run_demo(keep, progress=view)
    show_demo(c, outcome)
    sys.exit(EXIT_OK if outcome.ok else EXIT_VERIFY_FAIL)


def show_demo(c: Ctx, outcome: Any, console: dict[str, Any] | None = None) -> None:
    """The demo's reports (one JSON document with --json, with the console's address and people
    when it serves one), then where its workspace is."""
    if c.as_json:
        from adoffboard.reports import render_json

        reports = [json.loads(render_json(r)) for r in outcome.reports]
        emit_json(reports if console is None else {"reports": reports, "console": console})
        return
    for report, paths in zip(outcome.reports, outcome.paths, strict=True):
        render_summary(c, report, paths)
    click.echo(f"Demo workspace: {outcome.workspace}")
    click.echo(
        "It is a one-person rehearsal ([identity] single_user = true): there, --as names "
        "any person and is taken on trust; a team's workspace binds each person instead."
    )


def demo_with_console(c: Ctx, keep: Path | None) -> NoReturn:
    """The demo, then its workspace's console on loopback, the stand-ins still up, until
    Ctrl-C: exit 0 once stopped (the demo's verdict, 12, if it failed)."""
    from adoffboard.demo import run_demo
    from adoffboard.demo_console import DemoConsole
    from adoffboard.sandbox import DEMO_SCENARIO, Sandbox

    with Sandbox.from_file(DEMO_SCENARIO) as box, DemoConsole(box) as console:
        with ProgressView(c) as view:
            view("sandbox", "the platform stand-ins and the identity provider are up")
            outcome = run_demo(keep, progress=view, box=box, prepare=console.prepare)
        console.start(outcome.workspace)
        show_demo(c, outcome, console.describe())
        if not c.as_json:
            click.echo("")
            click.echo(console.banner())
        stop_on_sigterm()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: stop serving
            console.wait()
    click.echo("Console stopped.", err=True)
    sys.exit(EXIT_OK if outcome.ok else EXIT_VERIFY_FAIL)
