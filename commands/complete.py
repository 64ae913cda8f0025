"""Shell completion of the values people type: client slugs, runbook names, change request,
run and scheduled run ids (click's `shell_complete` callbacks; README "Shell completion").

They read the workspace's files and its state store, never write either (a SQLite store is
opened read-only, a missing one is not created), and fail silently: a completion that cannot
be computed offers nothing rather than printing an error into the shell.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]

# What a parameter completes, by its name (the same name means the same thing in every command).
BY_NAME = {
    "client": "clients",
    "slug": "clients",
    "slugs": "clients",
    "runbook": "runbooks",
    "name": "runbooks",  # runbooks show NAME
    "cr_id": "requests",
    "run_id": "runs",
    "row_id": "scheduled",
    "what": "clients_or_requests",  # case show CLIENT|CR
}


def _workspace(ctx: click.Context) -> Any:
    from adoffboard.config import load_workspace

    given = ctx.find_root().params.get("workspace")
    return load_workspace(Path(given) if given else Path.cwd())


def _silent(find: Callable[[click.Context], list[str]]) -> Completer:
    def complete(
        ctx: click.Context, _param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            values = find(ctx)
        except Exception:  # a broken workspace or store: nothing to offer, nothing said
            return []
        return [CompletionItem(v) for v in values if v.lower().startswith(incomplete.lower())]

    return complete


def _store_column(ctx: click.Context, sql: str) -> list[str]:
    """One column of the state store, read without opening it for writing (`Store.open` would
    migrate it): SQLite read-only, other databases through a plain connection."""
    url = _workspace(ctx).store_url
    prefix = "sqlite:///"
    if url.startswith(prefix):
        import sqlite3

        path = Path(url[len(prefix) :])
        if not path.is_file():
            return []
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            return [str(row[0]) for row in conn.execute(sql)]
    from sqlalchemy import text

    from adoffboard.database import make_engine, prepare_url

    engine = make_engine(prepare_url(url))
    try:
        with engine.connect() as conn:
            return [str(v) for v in conn.execute(text(sql)).scalars()]
    finally:
        engine.dispose()


def _clients(ctx: click.Context) -> list[str]:
    return list(_workspace(ctx).client_slugs())


def _runbooks(ctx: click.Context) -> list[str]:
    from adoffboard.runbook import available

    try:
        root = _workspace(ctx).root
    except Exception:  # outside a workspace: the packaged runbooks
        root = None
    return list(available(root))


def _requests(ctx: click.Context) -> list[str]:
    return _store_column(ctx, "SELECT id FROM change_requests ORDER BY seq DESC")


def _runs(ctx: click.Context) -> list[str]:
    return _store_column(ctx, "SELECT id FROM runs ORDER BY seq DESC")


def _scheduled(ctx: click.Context) -> list[str]:
    return _store_column(ctx, "SELECT id FROM schedule ORDER BY id DESC")


def _clients_or_requests(ctx: click.Context) -> list[str]:
    return _clients(ctx) + _requests(ctx)


clients = _silent(_clients)
runbooks = _silent(_runbooks)
requests = _silent(_requests)
runs = _silent(_runs)
scheduled = _silent(_scheduled)
clients_or_requests = _silent(_clients_or_requests)


def attach(command: click.Command) -> None:
    """Give every parameter of `command` and its subcommands named in `BY_NAME` its completer
    (one that has its own is left alone)."""
    for param in command.params:
        wanted = BY_NAME.get(param.name or "")
        if wanted and param._custom_shell_complete is None:
            param._custom_shell_complete = globals()[wanted]
    for sub in getattr(command, "commands", {}).values():
        attach(sub)
