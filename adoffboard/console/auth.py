"""Who is signed in to the console, and how they sign in (OpenID Connect, authorization code flow).

Sign-in goes through the agency's identity provider with Authlib's Flask client: discovery from
`[console.oidc] issuer`, state, nonce and PKCE (S256), the ID token's signature checked against
the provider's published keys, its issuer, audience, expiry and nonce checked by Authlib. The
person is the one in `[people.*]` whose email the token says is verified; the email's domain must
be one of `allowed_domains` (when any are set). A refusal names the rule and stores nothing.

A session is a row in the store (`adoffboard.identity`: only the hash of its secret is kept,
with its expiry, `[console] session_minutes`); the cookie holds the secret, signed with
`[console] secret_key`, with the form-protection token beside it. Signing out closes the row, so
that a copy of the old cookie no longer signs anyone in.

    Refused               the signed-in person may not do this: a 403 page naming the rule
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, flash, g, redirect, request, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from adoffboard import audit, identity
from adoffboard.config import LoadedWorkspace
from adoffboard.console import context
from adoffboard.console.pages import render
from adoffboard.cr.rules import Actor

bp = Blueprint("auth", __name__)

OPEN_ENDPOINTS = frozenset({"auth.login", "auth.login_start", "auth.callback", "home.healthz"})
SESSION_KEY = "sid"  # the session secret, in Flask's signed cookie
NEXT_KEY = "next"  # where to go after signing in
PROVIDER = "idp"
IDP_TIMEOUT_S = 10


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    email: str
    roles: tuple[str, ...]

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def actor(self) -> Actor:
        """The person as the change-request rules take them."""
        return Actor(self.key, self.name, self.roles)


class Refused(Exception):
    """The signed-in person may not do this; `message` names the rule. Nothing was changed."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def person_of(ws: LoadedWorkspace, key: str) -> Person | None:
    entry = ws.config.people.get(key)
    if entry is None:
        return None
    return Person(key, entry.name, entry.email, tuple(entry.roles))


def current_person() -> Person:
    """The signed-in person (every page but the sign-in pages and /healthz has one)."""
    person = g.get("person")
    if not isinstance(person, Person):
        raise Refused("you are not signed in", 401)
    return person


def who() -> audit.Who:
    """The signed-in person as the service layer's audit takes it (signed in through OIDC)."""
    return audit.Who(current_person().key, "console", "oidc")


def note(action: str, subject: str, detail: str = "") -> None:
    """An audit event of the signed-in person's, for what has no transaction of its own."""
    c = context.console()
    with c.store.transaction(write=True) as conn:
        audit.record_who(
            conn, who(), at=c.store.now(), action=action, subject=subject, detail=detail
        )


def require_role(*roles: str, rule: str) -> Person:
    """The signed-in person, if they hold one of `roles`; else `Refused(rule)`."""
    person = current_person()
    if not person.has(*roles):
        raise Refused(rule)
    return person


def provider_name(issuer: str) -> str:
    """What the sign-in button calls the identity provider."""
    host = (urlsplit(issuer).hostname or "").lower()
    if host == "accounts.google.com":
        return "Google"
    if host.endswith("microsoftonline.com") or host.endswith("microsoftonline.us"):
        return "Microsoft"
    if host in ("127.0.0.1", "localhost", "::1"):
        return "the sandbox identity provider"
    return host or "your identity provider"


def setup_oauth(app: Flask, ws: LoadedWorkspace, client_secret: str) -> None:
    oidc = ws.config.console.oidc
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=oidc.client_id,
        client_secret=client_secret,
        server_metadata_url=oidc.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": IDP_TIMEOUT_S,
        },
    )


def _idp() -> Any:
    from flask import current_app

    return current_app.extensions["authlib.integrations.flask_client"].create_client(PROVIDER)


# --- every request ----------------------------------------------------------------------------


def load_person() -> Response | None:
    """Before every request: who is signed in; the sign-in page for anyone who is not."""
    g.person = None
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str) and secret:
        c = context.console()
        key = identity.session_person(c.store, secret, c.clock)
        person = person_of(c.workspace, key) if key else None
        if person is None:
            session.clear()  # expired, signed out elsewhere, or no longer in [people]
            flash("Your session has ended: sign in again.", "info")
        g.person = person
    if g.person is not None or request.endpoint in OPEN_ENDPOINTS:
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    raise Refused("you are not signed in (or your session has ended): sign in again", 401)


# --- sign-in and sign-out ---------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """A path on this console, never another site (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@bp.get("/login")
def login() -> Any:
    if g.person is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render(
        "login.html.j2",
        nav="login",
        provider=context.console().provider,
        next=_safe_next(request.args.get("next")),
    )


@bp.post("/login")
def login_start() -> Any:
    """Off to the identity provider (a form post: the page carries its CSRF token)."""
    target = _safe_next(request.form.get("next"))
    session.clear()
    session[NEXT_KEY] = target
    try:
        return _idp().authorize_redirect(url_for("auth.callback", _external=True))
    except (requests.RequestException, OAuthError, ValueError) as exc:
        raise Refused(_unreachable(exc), 502) from None


def _unreachable(exc: Exception) -> str:
    issuer = context.workspace().config.console.oidc.issuer
    return f"the identity provider at {issuer} cannot be used right now ({type(exc).__name__})"


@bp.get("/auth/callback")
def callback() -> Any:
    try:
        token = _idp().authorize_access_token()
    except OAuthError as exc:
        session.clear()
        raise Refused(f"sign-in failed: {exc.description or exc.error}", 400) from None
    except JoseError as exc:  # signature, issuer, audience, expiry or nonce: checked, not trusted
        session.clear()
        raise Refused(
            f"sign-in refused: the identity provider's ID token failed its checks ({exc.error}"
            f"{': ' + exc.description if exc.description else ''})",
            400,
        ) from None
    except (requests.RequestException, ValueError) as exc:
        session.clear()
        raise Refused(_unreachable(exc), 502) from None
    claims = token.get("userinfo") or {}
    target = _safe_next(session.get(NEXT_KEY))
    session.clear()
    ws = context.workspace()
    issuer = ws.config.console.oidc.issuer.rstrip("/")
    if str(claims.get("iss", "")).rstrip("/") != issuer:
        # the provider's metadata named another issuer than the one configured (Discovery 4.3)
        raise Refused(f"sign-in refused: the ID token was not issued by {issuer}", 400)
    person = match_person(ws, claims)
    c = context.console()
    secret = identity.open_session(
        c.store, person.key, person.email, ws.config.console.session_minutes, c.clock
    )
    session[SESSION_KEY] = secret
    session.permanent = True
    g.person = person
    note("console sign-in", person.key, person.email)
    return redirect(target)


def match_person(ws: LoadedWorkspace, claims: Any) -> Person:
    """The person of [people.*] whose verified email the ID token names; `Refused` naming the
    rule otherwise."""
    email = str(claims.get("email") or "").strip()
    if not email:
        raise Refused("sign-in refused: the identity provider sent no email address")
    if claims.get("email_verified") is not True:
        raise Refused(
            f"sign-in refused: the identity provider has not verified {email}; "
            "only a verified email address signs in"
        )
    allowed = [d.lower().lstrip("@") for d in ws.config.console.oidc.allowed_domains]
    domain = email.rpartition("@")[2].lower()
    if allowed and domain not in allowed:
        raise Refused(
            f"sign-in refused: {email} is not in an allowed domain "
            f"([console.oidc] allowed_domains: {', '.join(allowed)})"
        )
    for key, entry in ws.config.people.items():
        if entry.email.lower() == email.lower():
            return Person(key, entry.name, entry.email, tuple(entry.roles))
    raise Refused(
        f"sign-in refused: {email} is nobody in [people] of adoffboard.toml; "
        "an administrator adds people (with their email) there"
    )


@bp.post("/logout")
def logout() -> Any:
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str) and secret:
        c = context.console()
        identity.close_session(c.store, secret, c.clock)
        if g.person is not None:
            note("console sign-out", g.person.key)
    session.clear()
    flash("You are signed out.", "ok")
    return redirect(url_for("auth.login"))


def refused_page(exc: Refused) -> tuple[str, int]:
    return render("refused.html.j2", nav="", message=exc.message), exc.status
