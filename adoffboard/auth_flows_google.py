"""`adoffboard auth` for Google Ads and the Google APIs (GA4, Search Console, Tag Manager, Sheets).

- The installed-app flow of `google-auth-oauthlib` with the agency's OAuth client (a "Desktop
  app" client's JSON from the Google Cloud console): the user consents in a browser, the code
  is exchanged at the client file's `token_uri` (with PKCE), and the refresh token obtained is
  refreshed once, over HTTP, before anything is stored: a token that cannot refresh is refused
  here rather than on the effective date. Without a browser on this machine (`--no-browser`) the
  consent address is printed and the user pastes back the address the browser was sent to
  (https://developers.google.com/identity/protocols/oauth2/native-app, "Loopback IP address").
- A service account's JSON key (`--service-account`), for the Google APIs: checked to be a
  service-account key that can obtain a token at its own `token_uri`, then copied 0600 into the
  workspace's secrets folder; the workspace names the copy.

The client id, client secret and refresh token are stored as secrets (`adoffboard.auth_flows`);
the token endpoint is written as a setting only when it is not Google's.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adoffboard.auth_flows import SECRETS_DIR, Obtained, code_from
from adoffboard.connectors import REGISTRY
from adoffboard.errors import AuthError, InputError
from adoffboard.files import write_private

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
ADS_SCOPES = ["https://www.googleapis.com/auth/adwords"]
# the address the browser is sent to after consent when nothing listens on this machine: the
# page does not load, and its address (with the code) is what the user copies back
NO_BROWSER_REDIRECT = "http://localhost:1/"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# `adoffboard auth <name>` -> the workspace's [platforms.<table>]
GOOGLE_PLATFORMS = {
    "google-ads": "google_ads",
    "ga4": "ga4",
    "search-console": "search_console",
    "tag-manager": "tag_manager",
    "sheets": "sheets",
}


def scopes_for(platform: str) -> list[str]:
    """The OAuth scopes the platform's connector asks for (its module's SCOPES)."""
    if platform == "google_ads":
        return list(ADS_SCOPES)
    return list(importlib.import_module(REGISTRY[platform].module).SCOPES)


def read_client_secrets(path: Path) -> dict[str, Any]:
    """The OAuth client file, checked: an installed ("Desktop app") or web client with an id,
    a secret and both endpoints."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the OAuth client file: {exc.strerror}") from None
    except ValueError:
        raise InputError(f"{path}: not a JSON OAuth client file") from None
    kind = next((k for k in ("installed", "web") if isinstance(data, dict) and k in data), None)
    section = data.get(kind) if kind else None
    missing = [
        key
        for key in ("client_id", "client_secret", "auth_uri", "token_uri")
        if not isinstance(section, dict) or not section.get(key)
    ]
    if kind is None or missing:
        raise InputError(
            f"{path}: not an OAuth client file "
            f"({'missing ' + ', '.join(missing) if kind else 'no installed or web client'}): "
            "download the JSON of a Desktop app OAuth client from the Google Cloud console"
        )
    return {kind: section}


@contextlib.contextmanager
def _plain_http_on_loopback(token_uri: str) -> Iterator[None]:
    """oauthlib refuses a token endpoint that is not HTTPS; the sandbox's, on this machine's
    loopback, is plain HTTP. Allowed for exactly that call, for a loopback endpoint only."""
    name = "OAUTHLIB_INSECURE_TRANSPORT"
    host = urlsplit(token_uri).hostname or ""
    if urlsplit(token_uri).scheme == "https" or host not in LOOPBACK:
        yield
        return
    before = os.environ.get(name)
    os.environ[name] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def installed_app(
    platform: str,
    client_file: Path,
    *,
    ask: Callable[[str], str] | None,
) -> Obtained:
    """Consent in a browser (this machine's when `ask` is None, else any: `ask` shows the
    address and returns what the user pasted), exchange the code, prove the refresh token."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    config = read_client_secrets(client_file)
    client = next(iter(config.values()))
    token_uri = str(client["token_uri"])
    flow = InstalledAppFlow.from_client_config(config, scopes=scopes_for(platform))
    try:
        with _plain_http_on_loopback(token_uri):
            if ask is None:
                creds = flow.run_local_server(
                    port=0, access_type="offline", prompt="consent", open_browser=True
                )
            else:
                flow.redirect_uri = NO_BROWSER_REDIRECT
                url, state = flow.authorization_url(access_type="offline", prompt="consent")
                flow.fetch_token(code=code_from(ask(url), state, "Google"))
                creds = flow.credentials
    except (InputError, AuthError):
        raise
    except Exception as exc:  # oauthlib, requests and the flow's own errors
        raise AuthError(
            f"the code exchange at {token_uri} failed ({type(exc).__name__}: "
            f"{_oauth_description(exc)})"
        ) from None
    if not creds.refresh_token:
        raise AuthError(
            "Google issued no refresh token: remove adoffboard's access at "
            "https://myaccount.google.com/permissions and run this again"
        )
    refresh_user_token(
        str(client["client_id"]), str(client["client_secret"]), creds.refresh_token, token_uri
    )
    settings: dict[str, object] = {}
    if token_uri != GOOGLE_TOKEN_URI:
        settings["token_uri"] = token_uri
    return Obtained(
        platform,
        settings,
        {
            "client_id": str(client["client_id"]),
            "client_secret": str(client["client_secret"]),
            "refresh_token": str(creds.refresh_token),
        },
        (f"refresh token obtained and refreshed at {token_uri}",),
        clears=("access_token", "credentials_file"),
    )


def refresh_user_token(client_id: str, client_secret: str, refresh: str, token_uri: str) -> None:
    """Exchange the refresh token for an access token once (what every connector will do)."""
    import google.auth.transport.requests
    import google.oauth2.credentials
    from google.auth.exceptions import GoogleAuthError

    creds = google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=refresh,
        client_id=client_id,
        client_secret=client_secret,
        token_uri=token_uri,
    )
    try:
        creds.refresh(google.auth.transport.requests.Request())
    except GoogleAuthError as exc:
        raise AuthError(f"the new refresh token was refused at {token_uri} ({exc})") from None


def service_account(platform: str, key_file: Path, root: Path) -> Obtained:
    """Check a service account's key (it obtains a token at its `token_uri`), copy it 0600
    into the workspace and name the copy in `credentials_file`."""
    if platform == "google_ads":
        raise InputError(
            "Google Ads here signs in as a user with an OAuth client: run "
            "`adoffboard auth google-ads --client-secrets FILE` (service accounts: GA4, "
            "Search Console, Tag Manager, Sheets)"
        )
    import google.auth.transport.requests
    from google.auth.exceptions import GoogleAuthError
    from google.oauth2 import service_account as sa

    try:
        text = key_file.read_text(encoding="utf-8")
        info = json.loads(text)
    except OSError as exc:
        raise InputError(f"{key_file}: cannot read the key: {exc.strerror}") from None
    except ValueError:
        raise InputError(f"{key_file}: not a JSON service account key") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise InputError(
            f"{key_file}: not a service account key (its type must be service_account): "
            "create a JSON key under IAM & Admin > Service accounts > Keys"
        )
    try:
        creds = sa.Credentials.from_service_account_info(info, scopes=scopes_for(platform))
    except (ValueError, KeyError) as exc:
        raise InputError(f"{key_file}: the key cannot be used ({type(exc).__name__})") from None
    try:
        creds.refresh(google.auth.transport.requests.Request())
    except GoogleAuthError as exc:
        raise AuthError(
            f"{info.get('client_email', 'the service account')} cannot obtain a token at "
            f"{info.get('token_uri')} ({type(exc).__name__}): is the key revoked?"
        ) from None
    relative = f"{SECRETS_DIR}/{platform}.service-account.json"
    write_private(root / relative, text)
    return Obtained(
        platform,
        {"credentials_file": relative},
        {},
        (f"service account {info.get('client_email')} obtained a token at {info['token_uri']}",),
        clears=("access_token", "refresh_token"),
    )


def _oauth_description(exc: Exception) -> str:
    """An OAuth error's code and description (never a request body or token)."""
    error = getattr(exc, "error", None)
    description = getattr(exc, "description", None)
    if error:
        return f"{error}{': ' + str(description) if description else ''}"
    return str(exc)[:200]
