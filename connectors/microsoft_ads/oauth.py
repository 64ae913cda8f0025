"""Microsoft Advertising's OAuth: the consent address and the token exchanges, at Microsoft's
identity platform or (`login_endpoint`) another host serving the same paths (the sandbox).

The msads SDK builds the consent address (`get_authorization_endpoint`) and knows, per
environment, the token endpoint and scope (`bingads.authorization._UriOAuthService`), but posts
the exchange to its fixed hosts. adoffboard posts the same form itself, to the SDK's endpoint
with only scheme and host replaced when `login_endpoint` is set, and hands the SDK the
`OAuthTokens` it answers with: one code path for Microsoft's hosts and the sandbox's.

Grants (https://learn.microsoft.com/advertising/guides/authentication-oauth-get-tokens):
`authorization_code` (code, redirect_uri) and `refresh_token`, with `client_id`, the scope
(`https://ads.microsoft.com/msads.manage offline_access`) and, for a web application,
`client_secret`. Errors come back as `{"error", "error_description"}`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from adoffboard.errors import AuthError, TransientError

TIMEOUT_S = 60.0
# where a web application's consent lands too (the desktop client's redirect)
NATIVE_REDIRECT = "https://login.microsoftonline.com/common/oauth2/nativeclient"


def _swap_host(url: str, login_endpoint: str) -> str:
    if not login_endpoint:
        return url
    base = urlsplit(login_endpoint)
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))


def grant_for(client_id: str, client_secret: str, env: str, tenant: str) -> Any:
    """The SDK's authentication object: a desktop (public) client, or a web application's."""
    from bingads.authorization import OAuthDesktopMobileAuthCodeGrant, OAuthWebAuthCodeGrant

    if client_secret:
        return OAuthWebAuthCodeGrant(
            client_id, client_secret, NATIVE_REDIRECT, env=env, tenant=tenant or "common"
        )
    return OAuthDesktopMobileAuthCodeGrant(client_id, env=env, tenant=tenant or "common")


def consent_url(grant: Any, login_endpoint: str) -> str:
    return _swap_host(str(grant.get_authorization_endpoint()), login_endpoint)


def token_url(grant: Any, login_endpoint: str) -> str:
    from bingads.authorization import _UriOAuthService

    url = _UriOAuthService.AUTH_TOKEN_URI[(grant.environment, grant._oauth_scope)]
    return _swap_host(url.replace("common", grant.tenant or "common"), login_endpoint)


def exchange(grant: Any, login_endpoint: str, **form: str) -> Any:
    """POST one grant to the token endpoint; the SDK's `OAuthTokens` of the answer."""
    from bingads.authorization import OAuthTokens, _UriOAuthService

    data = {
        "client_id": grant.client_id,
        "scope": _UriOAuthService.SCOPE[(grant.environment, grant._oauth_scope)],
        **form,
    }
    if getattr(grant, "client_secret", None):
        data["client_secret"] = grant.client_secret
    url = token_url(grant, login_endpoint)
    try:
        response = requests.post(url, data=data, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise TransientError(
            f"Microsoft's token endpoint {url} unreachable ({type(exc).__name__})"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        error = body.get("error") or f"HTTP {response.status_code}"
        description = str(body.get("error_description") or "").splitlines()[:1]
        raise AuthError(
            f"Microsoft's token endpoint refused the {form.get('grant_type')} grant: "
            f"{error}{': ' + description[0] if description else ''}"
        )
    tokens = OAuthTokens(
        body["access_token"], int(body.get("expires_in") or 3600), body.get("refresh_token")
    )
    grant._oauth_tokens = tokens  # what the SDK's own exchange sets: the grant now signs calls
    return tokens


def refresh(grant: Any, login_endpoint: str, refresh_token: str) -> Any:
    return exchange(grant, login_endpoint, grant_type="refresh_token", refresh_token=refresh_token)
