"""`adoffboard clients discover`: what the agency reaches on each platform, matched to clients."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from adoffboard.commands.common import EXIT_OK, EXIT_PLATFORM, Ctx, emit_json, pass_ctx


@click.command("discover")
@click.option(
    "--clients-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The clients to match: rows of name[,slug] (default: the workspace's client tracker).",
)
@click.option(
    "--tracker",
    default="client_tracker",
    show_default=True,
    help="The [platforms.sheets.trackers.*] tab whose key column lists the clients.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Write clients/<slug>.yaml for each unambiguous proposal (never over an existing one).",
)
@click.option("--force", is_flag=True, help="With --write: replace existing manifests too.")
@pass_ctx
def clients_discover(
    c: Ctx, clients_csv: Path | None, tracker: str, write: bool, force: bool
) -> None:
    """List the accounts the agency can reach on each configured platform (read-only) and
    propose a manifest per client by matching names; ambiguous matches are flagged, not
    guessed."""
    import yaml

    from adoffboard.commands.common import ProgressView
    from adoffboard.discover import (
        clients_from_csv,
        clients_from_tracker,
        manifest,
        propose,
        reachable_accounts,
    )
    from adoffboard.discover_platforms import READERS
    from adoffboard.errors import InputError
    from adoffboard.files import write_private

    ws = c.workspace
    platforms = [p for p in READERS if ws.platform_settings(p) is not None]
    if not platforms:
        raise InputError(
            f"none of {', '.join(READERS)} is configured in adoffboard.toml: nothing to discover"
        )
    if clients_csv is None and ws.platform_settings("sheets") is None:
        raise InputError("no --clients-csv and no [platforms.sheets] tracker to read clients from")
    manager = _account_manager(ws) if write else {}
    with ProgressView(c) as view:
        env = c.env(progress=view)
        if clients_csv is not None:
            clients = clients_from_csv(clients_csv)
        else:
            sheets = env.connector("sheets", read_only=True)
            try:
                clients = clients_from_tracker(sheets, tracker)
            finally:
                sheets.close()
        found, failed = reachable_accounts(env, platforms)
    proposals = propose(clients, found)
    written: list[str] = []
    kept: list[str] = []
    if write:
        for proposal in proposals:
            if not proposal.writable:
                continue
            path = ws.clients_dir / f"{proposal.client.slug}.yaml"
            if path.exists() and not force:
                kept.append(str(path))
                continue
            text = yaml.safe_dump(manifest(proposal, manager), sort_keys=False)
            write_private(path, text)
            written.append(str(path))
    if c.as_json:
        emit_json(
            {
                "accounts": [{"platform": f.platform, "name": f.name, **f.section} for f in found],
                "proposals": [p.to_dict() for p in proposals],
                "failed": failed,
                "written": written,
                "kept": kept,
            }
        )
    else:
        _render(c, proposals, failed, written, kept)
    sys.exit(EXIT_PLATFORM if failed else EXIT_OK)


def _account_manager(ws: Any) -> dict[str, str]:
    from adoffboard.errors import InputError

    people = ws.people_with_role("account_manager")
    if not people:
        raise InputError("--write needs a person with role account_manager in adoffboard.toml")
    return {"name": people[0].name, "email": people[0].email}


def _render(
    c: Ctx, proposals: list[Any], failed: dict[str, str], written: list[str], kept: list[str]
) -> None:
    from rich.table import Table

    table = Table("client", "platform", "account", "score", "")
    for p in proposals:
        for platform, (found, score) in p.matches.items():
            account = f"{found.name} ({found.key})"
            table.add_row(p.client.slug, platform, account, f"{score:.2f}", "")
        for platform, candidates in p.ambiguous.items():
            for found, score in candidates:
                table.add_row(
                    p.client.slug,
                    platform,
                    f"{found.name} ({found.key})",
                    f"{score:.2f}",
                    "[yellow]ambiguous: not used[/yellow]",
                )
        if not p.matches and not p.ambiguous:
            table.add_row(p.client.slug, "-", "no account matches", "", "")
    c.print_table(table)
    for platform, message in failed.items():
        click.echo(f"{platform}: not listed: {message}")
    for path in written:
        click.echo(f"Wrote {path}")
    for path in kept:
        click.echo(f"Kept {path} (exists; --force to replace)")
    flagged = sum(1 for p in proposals if p.ambiguous)
    click.echo(
        f"{len(proposals)} client(s), {sum(1 for p in proposals if p.writable)} with a "
        f"manifest to propose, {flagged} with an ambiguous match"
    )
