"""What the console's request handlers share, for the app serving the current request: the
workspace, the store and the clock it was created with (`create_app`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from adoffboard.clock import Clock
from adoffboard.config import LoadedWorkspace

EXTENSION = "adoffboard"


@dataclass(frozen=True)
class Console:
    """One console: its workspace, store and clock, and the identity provider's display name."""

    workspace: LoadedWorkspace
    store: Any  # adoffboard.store.Store
    clock: Clock
    provider: str


def console() -> Console:
    found = current_app.extensions[EXTENSION]
    assert isinstance(found, Console)
    return found


def workspace() -> LoadedWorkspace:
    return console().workspace


def store() -> Any:
    return console().store


def clock() -> Clock:
    return console().clock


def change_requests() -> Any:
    """The change-request service every page acts through (the CLI's, with its schedule)."""
    from adoffboard.scheduling.book import change_requests as service

    c = console()
    return service(c.store, c.workspace, c.clock)
