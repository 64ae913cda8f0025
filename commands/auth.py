"""`adoffboard auth <platform>`: obtain a platform's credentials, check them with the vendor,
store the secrets (keyring or a 0600 file) and write only their references into adoffboard.toml."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from adoffboard.commands.common import Ctx, emit_json, pass_ctx

PLATFORMS = (
    "google-ads",
    "ga4",
    "search-console",
    "tag-manager",
    "sheets",
    "microsoft-ads",
    "meta",
)
NEEDS_DEVELOPER_TOKEN = {"google-ads": "google_ads", "microsoft-ads": "microsoft_ads"}


@click.command()
@click.argument("platform", type=click.Choice(PLATFORMS))
@click.option(
    "--store",
    "store_kind",
    type=click.Choice(["keyring", "file"]),
    default="keyring",
    show_default=True,
    help="Where the secrets go: the OS keyring, or 0600 files in .adoffboard/secrets/.",
)
@click.option(
    "--client-secrets",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Google: the OAuth client's JSON (a Desktop app client from the Cloud console).",
)
@click.option(
    "--service-account",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Google APIs: a service account's JSON key, copied 0600 into the workspace.",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="Print the consent address instead of opening a browser; paste back the address "
    "the browser ends on.",
)
@click.option("--client-id", default="", help="Microsoft: the app registration's client ID.")
@click.option(
    "--web-app",
    is_flag=True,
    help="Microsoft: a web application registration; its client secret is asked for.",
)
@click.option("--tenant", default="", help="Microsoft: the Entra tenant (default: common).")
@click.option(
    "--login-endpoint",
    default="",
    help="Microsoft: a host serving Microsoft's OAuth paths instead of Microsoft's (sandbox).",
)
@click.option(
    "--environment",
    type=click.Choice(["production", "sandbox"]),
    default=None,
    help="Microsoft: production, or Microsoft's own sandbox.",
)
@click.option("--app-id", default="", help="Meta: the app's numeric ID.")
@click.option("--business-id", default="", help="Meta: the agency's Business Manager ID.")
@pass_ctx
def auth(
    c: Ctx,
    platform: str,
    store_kind: Any,
    client_secrets: Path | None,
    service_account: Path | None,
    no_browser: bool,
    client_id: str,
    web_app: bool,
    tenant: str,
    login_endpoint: str,
    environment: str | None,
    app_id: str,
    business_id: str,
) -> None:
    """Set up a platform's credentials: sign in (Google, Microsoft) or check a system user's
    token (Meta), verify them with the vendor, store the secrets and write their references
    into [platforms.*] of adoffboard.toml (the rest of the file is kept as it is).

    \b
      adoffboard auth google-ads --client-secrets client.json [--no-browser]
      adoffboard auth ga4 --service-account key.json --store file
      adoffboard auth microsoft-ads --client-id ID [--web-app]
      adoffboard auth meta --app-id ID --business-id ID
    """
    from adoffboard.auth_flows import check_store, save
    from adoffboard.errors import InputError

    ws = c.workspace
    check_store(store_kind)  # before any vendor is asked anything
    table = NEEDS_DEVELOPER_TOKEN.get(platform) or platform.replace("-", "_")
    current = dict(ws.platform_settings(table) or {})
    developer_token = ""
    if platform in NEEDS_DEVELOPER_TOKEN and not current.get("developer_token"):
        developer_token = click.prompt("Developer token", hide_input=True, err=True).strip()
        if not developer_token:
            raise InputError("the developer token is needed (from the vendor's API Center)")
    if platform == "meta":
        obtained = _meta(current, app_id, business_id)
    elif platform == "microsoft-ads":
        obtained = _microsoft(
            current,
            client_id,
            web_app,
            tenant,
            login_endpoint or str(current.get("login_endpoint") or ""),
            environment or str(current.get("environment") or "production"),
            no_browser,
        )
    else:
        obtained = _google(table, ws.root, client_secrets, service_account, no_browser)
    if developer_token:
        secrets = {**obtained.secrets, "developer_token": developer_token}
        obtained = replace(obtained, secrets=secrets)
    path, references = save(obtained, ws.root, store_kind)
    if c.as_json:
        emit_json(
            {
                "platform": table,
                "config": str(path),
                "references": references,
                "settings": dict(obtained.settings),
                "checked": list(obtained.facts),
            }
        )
        return
    for fact in obtained.facts:
        click.echo(f"Checked: {fact}")
    for name, ref in sorted(references.items()):
        click.echo(f"Stored {table}.{name} -> {ref}")
    click.echo(f"Wrote [platforms.{table}] in {path}")


def _ask(no_browser: bool, what: str) -> Any:
    def ask(url: str) -> str:
        if not no_browser:
            import webbrowser

            webbrowser.open(url)
        click.echo(f"Open this address in a browser and sign in as {what}:\n\n  {url}\n", err=True)
        click.echo(
            "After consenting, the browser ends on an address that may not load: copy it "
            "whole from the address bar.",
            err=True,
        )
        return str(click.prompt("Address", err=True))

    return ask


def _google(
    table: str,
    root: Path,
    client_secrets: Path | None,
    service_account: Path | None,
    no_browser: bool,
) -> Any:
    from adoffboard import auth_flows_google as google
    from adoffboard.errors import InputError

    if bool(client_secrets) == bool(service_account):
        raise InputError("give either --client-secrets (sign in as a user) or --service-account")
    if service_account is not None:
        return google.service_account(table, service_account, root)
    assert client_secrets is not None
    ask = _ask(True, "the agency's Google user") if no_browser else None
    return google.installed_app(table, client_secrets, ask=ask)


def _microsoft(
    current: dict[str, Any],
    client_id: str,
    web_app: bool,
    tenant: str,
    login_endpoint: str,
    environment: str,
    no_browser: bool,
) -> Any:
    from adoffboard.auth_flows_microsoft import authorization_code
    from adoffboard.errors import InputError

    if not client_id:
        raise InputError("--client-id is needed: the app registration's Application (client) ID")
    secret = ""
    if web_app:
        secret = click.prompt("Client secret", hide_input=True, err=True).strip()
    return authorization_code(
        client_id,
        secret,
        environment=environment,
        tenant=tenant or str(current.get("tenant") or ""),
        login_endpoint=login_endpoint,
        ask=_ask(no_browser, "the agency's Microsoft Advertising user"),
    )


def _meta(current: dict[str, Any], app_id: str, business_id: str) -> Any:
    from adoffboard.auth_flows_meta import system_user_token
    from adoffboard.errors import InputError

    app_id = app_id or str(current.get("app_id") or "")
    business_id = business_id or str(current.get("agency_business_id") or "")
    if not app_id or not business_id:
        raise InputError("--app-id and --business-id are needed (Meta's app and Business IDs)")
    secret = click.prompt("App secret", hide_input=True, err=True)
    token = click.prompt("System user access token", hide_input=True, err=True)
    return system_user_token(
        app_id,
        secret,
        token,
        endpoint=str(current.get("endpoint") or ""),
        business_id=business_id,
        now=dt.datetime.now(dt.UTC),
    )
