"""`adoffboard login`, `logout`, `whoami`, and `acting`: who every other command acts as.

A command that acts for a person calls `acting(c, as_person)` (`--as` optional where the bound
identity suffices) and hands the resulting `Who` to the service, which audits it; the rules
(`adoffboard.identity.resolve`) are in one place for every command.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from adoffboard.commands.common import Ctx, emit_json, local, pass_ctx

AS_HELP = (
    "Who acts: a person from [people] in adoffboard.toml. Default: the person you are signed in "
    "as (`adoffboard login`) or whose os_users lists your OS account; naming anyone else is "
    "refused unless [identity] single_user = true."
)


def acting(c: Ctx, as_person: str | None) -> Any:
    """The person this command acts as (`adoffboard.identity.Acting`), or the refusal."""
    from adoffboard.identity import resolve

    return resolve(c.workspace, c.store, as_person)


def as_option(help_text: str = AS_HELP) -> Any:
    """The `--as PERSON` option, optional: the bound identity is the default."""
    return click.option("--as", "as_person", metavar="PERSON", help=help_text)


def audit_cli(c: Ctx, who: Any, action: str, subject: str, detail: str = "") -> None:
    """An audit event for an action that has no transaction of its own to share."""
    from adoffboard.audit import record_who

    with c.store.transaction(write=True) as conn:
        record_who(conn, who, at=c.store.now(), action=action, subject=subject, detail=detail)


@click.command()
@click.option(
    "--token-stdin",
    is_flag=True,
    help="Read the token from standard input (a script, a password manager) instead of "
    "prompting for it.",
)
@pass_ctx
def login(c: Ctx, token_stdin: bool) -> None:
    """Sign the CLI in with a personal token from the console's /cli-token page.

    The token is checked against the workspace's store, then saved for your account alone
    (mode 0600, under ~/.config/adoffboard/tokens/); from then on commands act as its person.
    """
    from adoffboard.clock import SystemClock
    from adoffboard.errors import InputError
    from adoffboard.files import write_private
    from adoffboard.identity import check_token, token_file

    if token_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = click.prompt("Personal token", hide_input=True, err=True, default="").strip()
    if not secret:
        raise InputError("no token given: paste the token the console's /cli-token page shows")
    token = check_token(c.store, secret, SystemClock())
    if token.person not in c.workspace.config.people:
        raise InputError(f"the token's person {token.person!r} is not in [people]")
    path = write_private(token_file(c.workspace), secret + "\n")
    if c.as_json:
        emit_json({"person": token.person, "token_id": token.id, "expires_at": token.expires_at})
        return
    name = c.workspace.config.people[token.person].name
    click.echo(
        f"Signed in as {token.person} ({name}) with token {token.id}, until "
        f"{local(c, token.expires_at)}; saved in {path}."
    )


@click.command()
@click.option("--revoke", is_flag=True, help="Also revoke the token, so it signs nobody in.")
@pass_ctx
def logout(c: Ctx, revoke: bool) -> None:
    """Forget the personal token `adoffboard login` saved (--revoke: revoke it too)."""
    from adoffboard.clock import SystemClock
    from adoffboard.errors import AuthError
    from adoffboard.identity import check_token, revoke_token, token_file

    path = token_file(c.workspace)
    try:  # read even when saved too widely readable: signing out is what fixes that
        secret = path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        secret = None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthError(f"cannot read the saved personal token {path}: {exc}") from None
    revoked = ""
    if secret and revoke:
        try:
            token = check_token(c.store, secret, SystemClock())
        except AuthError:
            token = None  # expired, revoked or unknown already: nothing to revoke
        if token is not None and revoke_token(c.store, token.id, SystemClock()):
            revoked = token.id
    path.unlink(missing_ok=True)
    if c.as_json:
        emit_json({"signed_out": bool(secret), "revoked": revoked or None})
        return
    if not secret:
        click.echo("No saved token: nothing to sign out of.")
        return
    click.echo("Signed out" + (f"; token {revoked} revoked." if revoked else "."))


@click.command()
@as_option()
@pass_ctx
def whoami(c: Ctx, as_person: str | None) -> None:
    """Who commands act as here: the person, their roles, and on what basis."""
    from adoffboard.config import ROLES

    found = acting(c, as_person)
    person = c.workspace.config.people[found.who.person]
    if c.as_json:
        emit_json(
            {
                "person": found.who.person,
                "name": person.name,
                "email": person.email,
                "roles": list(person.roles),
                "basis": found.who.basis,
                "how": found.how,
                "token_id": found.token_id or None,
            }
        )
        return
    roles = ", ".join(ROLES.get(r, r) for r in person.roles) or "no roles"
    click.echo(f"{found.who.person} ({person.name}, {person.email}): {roles}")
    click.echo(f"Basis: {found.who.basis}: {found.how}")
