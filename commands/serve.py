"""`adoffboard serve`: the web console (sign-in, change requests, runs, planner, tasks)."""

from __future__ import annotations

import click

from adoffboard.commands.common import BoundedInt, Ctx, pass_ctx, stop_on_sigterm


@click.command("serve")
@click.option(
    "--bind",
    metavar="ADDRESS",
    help="Address to listen on (default: [console] bind, loopback). A non-loopback address "
    "serves the console to the network: only when given here or in [console] bind.",
)
@click.option(
    "--port",
    type=BoundedInt(0, 65535),
    help="Port to listen on (default: [console] port; 0: any free port).",
)
@pass_ctx
def serve(c: Ctx, bind: str | None, port: int | None) -> None:
    """Serve the web console until interrupted (waitress). People sign in through the
    agency's identity provider ([console.oidc]); see README, The web console."""
    from adoffboard.console.server import check_bind, is_loopback, make_server

    ws = c.workspace
    settings = ws.config.console
    host = bind or settings.bind
    explicit = bind is not None or "bind" in settings.model_fields_set
    check_bind(host, explicit=explicit)
    _app, server, url = make_server(
        ws, host, settings.port if port is None else port, store=c.store
    )
    network = not is_loopback(host)
    if c.as_json:  # one line per event, as the scheduler's
        import json

        click.echo(
            json.dumps(
                {"event": "serving", "url": url, "public_url": settings.url, "network": network}
            )
        )
    else:
        if network:
            where = "--bind" if bind is not None else "[console] bind"
            click.echo(f"Serving to the network on {host} ({where}), not only this machine.")
        click.echo(
            f"adoffboard console on {url} (people reach it at {settings.url}); Ctrl-C stops it."
        )
    stop_on_sigterm()
    try:
        server.run()  # returns on Ctrl-C or SIGTERM
    finally:
        click.echo('{"event": "stopped"}' if c.as_json else "Console stopped.")
