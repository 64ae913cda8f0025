"""Serving the console with waitress: `adoffboard serve` in the foreground, `start` in a thread
(the demo and the tests: port 0 picks a free port, `Running.url` says where)."""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from typing import Any

from adoffboard.clock import Clock
from adoffboard.config import LoadedWorkspace
from adoffboard.errors import InputError

THREADS = 8


@dataclass
class Running:
    url: str
    app: Any  # the Flask app
    _server: Any
    _thread: threading.Thread
    _own_store: bool

    def stop(self) -> None:
        """Stop serving: no new connection, the requests in hand finished (their worker threads
        ended), then the open connections closed and the serving loop ended (and the store
        closed, if `start` opened it). The worker threads go before the loop's wake-up pipe is
        closed: a request finishing later would otherwise write to a closed pipe."""
        from waitress import wasyncore

        server = self._server

        def stop_accepting() -> None:  # in the serving thread, which owns the listener
            if server.accepting:  # the listener only (waitress's close() shuts everything)
                wasyncore.dispatcher.close(server)

        def close_all() -> None:  # the loop ends when nothing is left in its map
            for channel in list(server._map.values()):  # connections and the wake-up pipe
                channel.close()

        server.trigger.pull_trigger(stop_accepting)
        server.task_dispatcher.shutdown(timeout=5)
        server.trigger.pull_trigger(close_all)
        self._thread.join(timeout=10)
        if self._own_store:
            from adoffboard.console.context import EXTENSION

            self.app.extensions[EXTENSION].store.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, explicit: bool) -> None:
    """A non-loopback address serves the console to the network: only when configured or asked
    for (`[console] bind` or `--bind`), never by default."""
    if not is_loopback(host) and not explicit:
        raise InputError(
            f"refusing to serve on {host}, which is not loopback: set [console] bind or "
            "pass --bind to serve the console to the network"
        )


def make_server(
    ws: LoadedWorkspace,
    host: str,
    port: int,
    *,
    clock: Clock | None = None,
    store: Any = None,
) -> tuple[Any, Any, str]:
    """The app and a waitress server bound to host:port (not serving yet), and its URL."""
    from waitress.server import create_server

    from adoffboard.console.web import create_app

    app = create_app(ws, clock=clock, store=store)
    # waitress drops X-Forwarded-* itself unless told there is a proxy in front: with
    # [console] proxy_hops the app's ProxyFix honours exactly that many hops of them
    server = create_server(
        app,
        host=host,
        port=port,
        threads=THREADS,
        ident="adoffboard",
        clear_untrusted_proxy_headers=not ws.config.console.proxy_hops,
    )
    bound_port = server.effective_port
    shown = f"[{host}]" if ":" in host else host
    return app, server, f"http://{shown}:{bound_port}"


def start(
    ws: LoadedWorkspace,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
    store: Any = None,
) -> Running:
    """The console serving in a daemon thread until `stop()`."""
    app, server, url = make_server(ws, host, port, clock=clock, store=store)
    thread = threading.Thread(target=server.run, name="adoffboard-console", daemon=True)
    thread.start()
    return Running(url, app, server, thread, store is None)
