"""`adoffboard init`, `clients ...` and `runbooks ...`: the workspace, its clients and runbooks."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from adoffboard.commands.common import EXIT_INPUT, Ctx, emit_json, has_workspace, pass_ctx


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing adoffboard.toml.")
@click.option(
    "--single-user",
    is_flag=True,
    help="One person works every role from one account (a rehearsal, a one-person agency): "
    "--as is taken on trust and audited as such. Default: each person is bound to their OS "
    "account (os_users) or signs in with `adoffboard login`.",
)
@pass_ctx
def init(c: Ctx, directory: Path, force: bool, single_user: bool) -> None:
    """Create a workspace: adoffboard.toml (roles, approval chain, distribution list, credential
    references, store, time zone, who may act) and an example client manifest."""
    from adoffboard.identity import os_user
    from adoffboard.workspace_init import init_workspace

    path = init_workspace(directory, force=force, single_user=single_user)
    if c.as_json:
        example = directory / "clients" / "lakeside-powersports.yaml"
        emit_json({"config": str(path), "clients": [str(example)]})
        return
    click.echo(f"Created {path} and {directory / 'clients'}/lakeside-powersports.yaml")
    click.echo("Next: edit the people and platforms, then `adoffboard clients validate`.")
    if not single_user:
        click.echo(
            f'Then bind each person to their OS account: add os_users = ["{os_user()}"] to '
            "your own [people.KEY] (`adoffboard whoami` checks it)."
        )


@click.group()
def clients() -> None:
    """List, show and validate client manifests."""


@clients.command("list")
@pass_ctx
def clients_list(c: Ctx) -> None:
    """List the workspace's clients."""
    from adoffboard.config import read_manifest

    rows = []
    for slug in c.workspace.client_slugs():
        manifest, problems = read_manifest(c.workspace.clients_dir / f"{slug}.yaml")
        rows.append(
            {
                "slug": slug,
                "name": manifest.name if manifest else "",
                "valid": not problems,
                "platforms": [
                    k
                    for k in (
                        "google_ads",
                        "microsoft_ads",
                        "meta",
                        "ga4",
                        "search_console",
                        "tag_manager",
                        "sharpspring",
                        "trello",
                    )
                    if manifest and getattr(manifest.model, k) is not None
                ],
            }
        )
    if c.as_json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table("client", "name", "platforms", "valid")
    for r in rows:
        table.add_row(
            r["slug"],
            r["name"],
            ", ".join(r["platforms"]),
            "yes" if r["valid"] else "[red]no[/red]",
        )
    c.print_table(table)


@clients.command("show")
@click.argument("slug")
@pass_ctx
def clients_show(c: Ctx, slug: str) -> None:
    """Show one client's manifest."""
    manifest = c.workspace.load_client(slug)
    data = manifest.model.model_dump(exclude_none=True)
    if c.as_json:
        emit_json({**data, "sha256": manifest.sha256})
        return
    import yaml

    click.echo(f"# {manifest.path} (sha256 {manifest.sha256[:12]})")
    click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@clients.command("validate")
@click.argument("slugs", nargs=-1)
@click.option(
    "--live",
    is_flag=True,
    help="Then read every account (read-only): reachable, and named as the manifest expects "
    "(the doctor's client checks).",
)
@pass_ctx
def clients_validate(c: Ctx, slugs: tuple[str, ...], live: bool) -> None:
    """Validate every manifest (or the ones named), each against the others (an account belongs
    to one client), and the workspace's own runbooks; report every problem at once. With
    `--live`, valid manifests' accounts are then read as `adoffboard doctor` reads them
    (exit 12 when one fails)."""
    from adoffboard.config import SLUG, read_manifest
    from adoffboard.errors import InputError, NotFound
    from adoffboard.runbook import workspace_runbook_problems

    problems: list[Any] = []
    names = slugs or tuple(c.workspace.client_slugs())
    for slug in names:
        if not SLUG.match(slug):
            raise InputError(
                f"client {slug!r} is not a valid slug (lowercase letters, digits and dashes)"
            )
        path = c.workspace.clients_dir / f"{slug}.yaml"
        if not path.is_file():
            raise NotFound(f"unknown client {slug!r}")
        manifest, found = read_manifest(path)
        problems += found if manifest is None else c.workspace.shared_accounts(manifest)
    problems += workspace_runbook_problems(c.workspace.root)
    checks = _live_checks(c, names, problems) if live else None
    if c.as_json:
        data: dict[str, Any] = {"checked": list(names), "problems": [p.__dict__ for p in problems]}
        if checks is not None:
            data["live"] = [asdict(k) for k in checks]
        emit_json(data)
    else:
        for p in problems:
            click.echo(str(p))
        click.echo(f"{len(names)} manifest(s) checked, {len(problems)} problem(s)")
        if checks is not None:
            from adoffboard.commands.doctor import render_checks

            render_checks(c, checks, "live checks")
    if problems:
        sys.exit(EXIT_INPUT)
    if checks is not None and any(k.status == "problem" for k in checks):
        from adoffboard.commands.doctor import EXIT_CHECKS_FAILED

        sys.exit(EXIT_CHECKS_FAILED)


def _live_checks(c: Ctx, names: tuple[str, ...], problems: list[Any]) -> list[Any]:
    """The doctor's client checks for the manifests that passed the static validation."""
    from adoffboard.commands.common import ProgressView
    from adoffboard.doctor import check_clients

    bad = {Path(p.file).stem for p in problems}
    with ProgressView(c) as view:
        return check_clients(c.env(progress=view), [n for n in names if n not in bad])


@click.group()
def runbooks() -> None:
    """List runbooks and show one as the checklist it implements."""


@runbooks.command("list")
@pass_ctx
def runbooks_list(c: Ctx) -> None:
    """List available runbooks."""
    from adoffboard.runbook import available, load_runbook

    root = c.workspace.root if has_workspace(c) else None
    books = [load_runbook(n, root) for n in available(root)]
    if c.as_json:
        emit_json(
            [
                {
                    "name": b.name,
                    "version": b.version,
                    "title": b.model.title,
                    "steps": len(b.model.steps),
                }
                for b in books
            ]
        )
        return
    for b in books:
        auto = sum(1 for s in b.model.steps if s.action)
        click.echo(
            f"{b.name:<20} v{b.version}  {b.model.title} "
            f"({len(b.model.steps)} steps, {auto} automated)"
        )


@runbooks.command("show")
@click.argument("name")
@pass_ctx
def runbooks_show(c: Ctx, name: str) -> None:
    """Print a runbook as the checklist it implements."""
    from adoffboard.config import ROLES
    from adoffboard.runbook import load_runbook

    book = load_runbook(name, c.workspace.root if has_workspace(c) else None)
    if c.as_json:
        emit_json(book.model.model_dump())
        return
    m = book.model
    click.echo(f"{m.title} - {m.name} v{m.version}\nSource checklist: {m.source}\n")
    section = None
    for step in m.steps:
        if step.section != section:
            section = step.section
            click.echo(f"\n{section}")
        kind = (
            f"auto: {step.action.connector}.{step.action.name}"
            if step.action
            else "manual"
            + (
                f", automation planned: {step.automation_planned}"
                if step.automation_planned
                else ""
            )
        )
        cond = " | only if leaving the platform" if step.when == "leaving_platform" else ""
        applies = f" | if the client has {step.if_manifest}" if step.if_manifest else ""
        part = f" [{step.part}]" if step.part else ""
        click.echo(f"  [ ] {step.title}{part}")
        click.echo(
            f"      {step.id} | {ROLES[step.owner]} | {step.timing.replace('_', ' ')}"
            f"{cond}{applies} | {kind}"
        )
        for line in step.covers:
            click.echo(f"      also covers: {line}")
