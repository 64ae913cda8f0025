"""`adoffboard sandbox up` and `adoffboard demo`: the local stand-ins of the platforms."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from adoffboard.commands.common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_VERIFY_FAIL,
    BoundedInt,
    Ctx,
    ProgressView,
    emit_json,
    fail,
    pass_ctx,
    render_summary,
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
    "--google-ads-port", type=BoundedInt(0, 65535), default=0, help="Port (default: any free port)."
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
def sandbox_up(
    scenario: Path | None, google_ads_port: int, log_path: Path | None, cert_dir: Path
) -> None:
    """Serve the stand-ins until interrupted; prints the settings a workspace needs."""
    import threading

    import tomli_w

    from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
    from adoffboard.sandbox.tls import sandbox_cert

    sandbox_cert(cert_dir)

    try:
        box = Sandbox.from_file(scenario or DEMO_SCENARIO, log_path=log_path)
    except ValueError as exc:
        fail(EXIT_INPUT, str(exc))
    box.start(ports={"google_ads": google_ads_port})
    click.echo("Sandbox up. Put this in adoffboard.toml:\n")
    click.echo(
        tomli_w.dumps(
            {"platforms": box.platform_settings(), "notifications": box.notification_settings()}
        )
    )
    click.echo("Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        box.stop()
        click.echo("Sandbox stopped.")


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Create the demo workspace here and keep it (default: a temporary folder).",
)
@pass_ctx
def demo(c: Ctx, keep: Path | None) -> None:
    """Plan, apply and verify the SEM and MA cancellations of a dealer leaving the platform,
    against the local sandbox (no credentials)."""
    from adoffboard.demo import run_demo

    with ProgressView(c) as view:
        outcome = run_demo(keep, progress=view)
    if c.as_json:
        import json

        from adoffboard.reports import render_json

        emit_json([json.loads(render_json(r)) for r in outcome.reports])
    else:
        for report, paths in zip(outcome.reports, outcome.paths, strict=True):
            render_summary(c, report, paths)
    if not c.as_json:
        click.echo(f"Demo workspace: {outcome.workspace}")
    sys.exit(EXIT_OK if outcome.ok else EXIT_VERIFY_FAIL)
