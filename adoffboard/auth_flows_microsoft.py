"""`adoffboard auth microsoft-ads`: a refresh token for the agency's Microsoft Advertising user.

The msads SDK's authorization-code grant (a desktop app registration, or a web application's
with its client secret): the user signs in at the consent address with the agency user that has
access to the clients' accounts, the browser lands on Microsoft's `nativeclient` page, and the
user pastes that address back. Its code is exchanged for tokens, and the refresh token obtained
is exchanged once more before anything is stored: what the connector does on every run
(https://learn.microsoft.com/advertising/guides/authentication-oauth-get-tokens).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from adoffboard.auth_flows import Obtained, code_from
from adoffboard.errors import AuthError, InputError

PLATFORM = "microsoft_ads"


def authorization_code(
    client_id: str,
    client_secret: str,
    *,
    environment: str,
    tenant: str,
    login_endpoint: str,
    ask: Callable[[str], str],
) -> Obtained:
    """Consent (`ask` shows the address and returns what the user pasted), code exchange, and
    one refresh of the refresh token obtained."""
    from adoffboard.connectors.microsoft_ads import oauth

    if not client_id.strip():
        raise InputError("--client-id is the Application (client) ID of the app registration")
    grant = oauth.grant_for(client_id.strip(), client_secret, environment, tenant)
    grant.state = secrets.token_urlsafe(16)
    code = code_from(ask(oauth.consent_url(grant, login_endpoint)), grant.state, "Microsoft")
    tokens = oauth.exchange(
        grant,
        login_endpoint,
        grant_type="authorization_code",
        code=code,
        redirect_uri=grant.redirection_uri,
    )
    if not tokens.refresh_token:
        raise AuthError(
            "Microsoft issued no refresh token: the app registration must allow the "
            "offline_access scope"
        )
    refreshed = oauth.refresh(grant, login_endpoint, tokens.refresh_token)
    # Microsoft may rotate the refresh token on a refresh: keep the newest one
    refresh_token = refreshed.refresh_token or tokens.refresh_token
    settings: dict[str, object] = {"environment": environment}
    if tenant:
        settings["tenant"] = tenant
    if login_endpoint:
        settings["login_endpoint"] = login_endpoint
    stored = {"client_id": client_id.strip(), "refresh_token": refresh_token}
    if client_secret:
        stored["client_secret"] = client_secret
    return Obtained(
        PLATFORM,
        settings,
        stored,
        (f"refresh token obtained and refreshed at {oauth.token_url(grant, login_endpoint)}",),
        clears=("access_token", "client_secret") if not client_secret else ("access_token",),
    )
