"""Importing the platforms' connectors and vendor SDKs ahead of their first use, in one thread.

The SDKs take seconds of CPU to import (the Microsoft Advertising SDK alone several), and a
command that reads platforms only learns which ones once its workspace and runbook are loaded.
Doing those imports in the command's own thread made every platform's first call wait for all
of them. Instead, as soon as a command knows the platforms it will read (`preload`), a single
background thread of the process imports them one platform after another, and each platform's
connector is built as soon as its own imports are done (`Env.connector` waits for them).

One thread, never the platforms' worker threads: two threads importing shared packages (the
Google ones) for the first time at once can deadlock or see a partially imported module, so
the reads' worker threads only ever build connectors whose imports this thread has finished
(tests/test_import_race.py records who first imports each module).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable
from importlib import import_module

THREAD_NAME = "adoffboard-preload"


class Preloader:
    """A queue of platforms whose connector modules and SDKs one thread imports in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, threading.Event] = {}
        self._pending: list[str] = []
        self._thread: threading.Thread | None = None

    def start(self, platforms: Iterable[str]) -> None:
        """Queue the platforms not queued yet; their imports begin at once in the background."""
        with self._lock:
            for platform in platforms:
                if platform not in self._queued:
                    self._queued[platform] = threading.Event()
                    self._pending.append(platform)
            if self._pending and (self._thread is None or not self._thread.is_alive()):
                # not a daemon: the interpreter never stops with an import half done
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME)
                self._thread.start()

    def wait(self, platform: str) -> None:
        """Return once the platform's imports are done, if they were queued. A failed import is
        not raised here: building the connector imports again and raises the real error."""
        with self._lock:
            done = self._queued.get(platform)
        if done is not None:
            done.wait()

    def idle(self) -> None:
        """Drop the platforms whose imports have not begun (no longer needed: a runbook's
        steps skipped for this scope) and return once the one under way is done, so that the
        caller may import anything after this without racing the preloading thread."""
        with self._lock:
            for platform in self._pending:
                self._queued.pop(platform).set()
            self._pending.clear()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                platform = self._pending.pop(0)
            try:
                _import(platform)
            except Exception:  # noqa: BLE001 - building the connector raises it where it matters
                pass
            finally:
                self._queued[platform].set()


def _import(platform: str) -> None:
    """What `connectors.build` imports for the platform: its connector module, its vendor SDK."""
    from adoffboard.connectors import connector_class, info

    connector_class(platform)
    for name in info(platform).sdk:
        import_module(name)
    # The SDKs' modules, classes and descriptors live as long as the process: out of the
    # collector's generations, a full collection no longer walks them (gc.freeze).
    gc.freeze()


PRELOAD = Preloader()


def preload(platforms: Iterable[str]) -> None:
    """Start importing these platforms' connectors and SDKs in the background (idempotent)."""
    PRELOAD.start(platforms)
