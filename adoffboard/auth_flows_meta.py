"""`adoffboard auth meta`: the agency's app and its system user's token, checked with Meta.

Meta has no consent step for a server: an admin of the agency's Business Manager creates a
system user, assigns it the clients' ad accounts (and the app), and generates its token with
the permissions the connector needs. This flow asks for the app secret and the token (never
echoed), then asks Graph's `debug_token`, through the `facebook-business` SDK with the
`appsecret_proof` of the app secret, whether the token is valid, whose app it belongs to, when
it expires and which scopes it holds
(https://developers.facebook.com/docs/graph-api/reference/debug_token). Only a token that works
is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from adoffboard.auth_flows import Obtained
from adoffboard.errors import AuthError, InputError

PLATFORM = "meta"
GRAPH_URL = "https://graph.facebook.com"
API_VERSION = "v26.0"
# pausing campaigns and ad sets, disabling rules (ads_management); removing the agency's
# business from an ad account (business_management, only when leaving the platform)
REQUIRED_SCOPES = ("ads_management",)
WANTED_SCOPES = ("business_management",)


def debug_token(endpoint: str, app_id: str, app_secret: str, token: str) -> dict[str, object]:
    """What Graph says of `token`, asked with the token itself and its appsecret_proof."""
    from facebook_business.api import FacebookAdsApi
    from facebook_business.exceptions import FacebookRequestError
    from facebook_business.session import FacebookSession

    from adoffboard.connectors.meta.client import guard_logs

    guard_logs()
    session = FacebookSession(app_id, app_secret, token, timeout=60)
    session.GRAPH = endpoint  # this session only: the class default stays Meta's
    api = FacebookAdsApi(session, api_version=API_VERSION)
    try:
        response = api.call("GET", ("debug_token",), params={"input_token": token})
    except FacebookRequestError as exc:
        raise AuthError(
            f"Meta refused the app secret or the token: ({exc.api_error_code()}) "
            f"{exc.api_error_message()}"
        ) from None
    except Exception as exc:  # requests' errors quote the URL, which holds the token
        raise AuthError(f"Meta's debug_token could not be reached ({type(exc).__name__})") from None
    data = response.json().get("data") if isinstance(response.json(), dict) else None
    return dict(data) if isinstance(data, dict) else {}


def system_user_token(
    app_id: str,
    app_secret: str,
    token: str,
    *,
    endpoint: str,
    business_id: str,
    now: dt.datetime,
) -> Obtained:
    """Check the token with `debug_token` and return what to store."""
    if not re.fullmatch(r"\d{1,20}", app_id or ""):
        raise InputError("--app-id is the app's numeric ID (App Dashboard > Settings > Basic)")
    if not app_secret.strip() or not token.strip():
        raise InputError("the app secret and the access token are both needed")
    if business_id and not re.fullmatch(r"\d{1,20}", business_id):
        raise InputError("--business-id is the agency's numeric Business Manager ID")
    endpoint = (endpoint or GRAPH_URL).rstrip("/")
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise InputError(f"endpoint {endpoint!r} is not an http(s) address")
    info = debug_token(endpoint, app_id, app_secret.strip(), token.strip())
    if not info.get("is_valid"):
        raise AuthError("Meta says the token is not valid: generate a new system-user token")
    if str(info.get("app_id", app_id)) != app_id:
        raise AuthError(
            f"the token belongs to app {info.get('app_id')}, not {app_id}: generate it for "
            "the app whose secret you gave"
        )
    scopes = {str(s) for s in info.get("scopes") or ()}  # type: ignore[attr-defined]
    missing = [s for s in REQUIRED_SCOPES if s not in scopes]
    if missing:
        raise AuthError(
            f"the token lacks {', '.join(missing)}: generate it again with that permission"
        )
    expires = int(str(info.get("expires_at") or 0))
    if expires and dt.datetime.fromtimestamp(expires, dt.UTC) <= now:
        raise AuthError("the token has expired: generate a new system-user token")
    lasts = (
        f"until {dt.datetime.fromtimestamp(expires, dt.UTC):%Y-%m-%d}" if expires else "no expiry"
    )
    facts = [f"debug_token: valid, {info.get('type', 'token')}, {lasts}"]
    facts += [
        f"the token lacks {s}: removing the agency's business from an ad account will be refused"
        for s in WANTED_SCOPES
        if s not in scopes
    ]
    settings: dict[str, object] = {"app_id": app_id}
    if business_id:
        settings["agency_business_id"] = business_id
    if endpoint != GRAPH_URL:
        settings["endpoint"] = endpoint
    secrets = {"app_secret": app_secret.strip(), "access_token": token.strip()}
    return Obtained(PLATFORM, settings, secrets, tuple(facts))
