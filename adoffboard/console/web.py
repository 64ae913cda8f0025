"""The console's Flask application: `create_app(ws)`.

One app per workspace: sign-in (`auth`), the change-request pages (`change_requests`), the
waiting-for-you page, personal tokens and the health check (`home`), and the operations pages
(`ops`). Every request but sign-in and /healthz needs a signed-in person; every POST carries a
CSRF token tied to the session (Flask-WTF); every answer carries headers that forbid scripts,
framing and referrers to other sites. Templates are autoescaped (`.html.j2` is not a name Flask
would escape by itself).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import PackageLoader, StrictUndefined
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from adoffboard.clock import Clock, SystemClock, local_time
from adoffboard.config import LoadedWorkspace
from adoffboard.console import auth, context
from adoffboard.console.pages import render
from adoffboard.credentials import resolve
from adoffboard.errors import AdoffboardError, InputError, NotFound, NotPermitted, StoreError
from adoffboard.report_render import css_class

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MIN_KEY_LENGTH = 16
COOKIE = "adoffboard_session"


def create_app(ws: LoadedWorkspace, *, clock: Clock | None = None, store: Any = None) -> Flask:
    """The console of `ws`. Raises InputError (missing settings) or AuthError (a secret that
    cannot be resolved) before anything serves. Without `store`, opens the workspace's."""
    secret_key, client_secret = console_secrets(ws)
    clock = clock or SystemClock()
    if store is None:
        from adoffboard.store import Store

        store = Store.open(ws.store_url, clock=clock)
    settings = ws.config.console
    app = Flask("adoffboard.console")
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.session_minutes),
        PREFERRED_URL_SCHEME="https" if settings.url.startswith("https://") else "http",
        WTF_CSRF_TIME_LIMIT=None,  # a form lives as long as its session
        MAX_CONTENT_LENGTH=256 * 1024,  # forms only
    )
    app.jinja_options = {
        "autoescape": True,
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    app.jinja_loader = PackageLoader("adoffboard", "templates")
    app.jinja_env.filters["css_class"] = css_class
    zone = ws.config.workspace.timezone
    app.jinja_env.filters["local"] = lambda stored: local_time(stored, zone) if stored else ""
    app.extensions[context.EXTENSION] = context.Console(
        ws, store, clock, auth.provider_name(settings.oidc.issuer)
    )
    logging.getLogger("authlib").setLevel(logging.WARNING)  # its debug lines name verifiers
    auth.setup_oauth(app, ws, client_secret)
    app.before_request(auth.load_person)  # before the CSRF check: who, then whether the form is
    CSRFProtect(app)
    _register(app)
    _handle_errors(app)
    app.after_request(_headers(settings.oidc.issuer))
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    return app


def console_secrets(ws: LoadedWorkspace) -> tuple[str, str]:
    """The session key and the identity provider's client secret, resolved from their
    references; a missing setting is an InputError naming it (exit 3)."""
    console = ws.config.console
    if not console.secret_key:
        raise InputError(
            "[console] secret_key is not set: give a credential reference, e.g. "
            "env:ADOFFBOARD_CONSOLE_KEY (it signs sessions and forms)"
        )
    oidc = console.oidc
    missing = [n for n in ("issuer", "client_id", "client_secret") if not getattr(oidc, n)]
    if missing:
        raise InputError(
            f"[console.oidc] {', '.join(missing)} not set: the console signs people in through "
            "the agency's identity provider (see README, The web console)"
        )
    issuer = urlsplit(oidc.issuer)
    loopback = issuer.hostname in LOOPBACK
    if issuer.scheme != "https" and not loopback:
        raise InputError(f"[console.oidc] issuer {oidc.issuer!r} must be an https:// URL")
    local = loopback and urlsplit(console.url).hostname in LOOPBACK
    for name, ref in (
        ("[console] secret_key", console.secret_key),
        ("client_secret", oidc.client_secret),
    ):
        if ref == "sandbox:" and not local:
            raise InputError(
                f'{name} = "sandbox:" only works with a loopback console and identity provider '
                "(the local sandbox)"
            )
    key = resolve(console.secret_key, base=ws.root).value
    if len(key) < MIN_KEY_LENGTH:
        raise InputError(
            f"[console] secret_key ({console.secret_key}) is shorter than {MIN_KEY_LENGTH} "
            "characters: use a long random value (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    return key, resolve(oidc.client_secret, base=ws.root).value


def _register(app: Flask) -> None:
    from adoffboard.console import change_requests, home, ops

    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(change_requests.bp)
    app.register_blueprint(ops.bp)


def _handle_errors(app: Flask) -> None:
    @app.errorhandler(auth.Refused)
    def refused(exc: auth.Refused) -> tuple[str, int]:
        return auth.refused_page(exc)

    @app.errorhandler(CSRFError)
    def forged(exc: CSRFError) -> tuple[str, int]:
        message = (
            f"this form was refused ({exc.description}): it does not belong to your current "
            "session (an old page, or a page from another session). Nothing was changed; "
            "reload the page and try again"
        )
        return auth.refused_page(auth.Refused(message, 400))

    @app.errorhandler(AdoffboardError)
    def adoffboard_error(exc: AdoffboardError) -> tuple[str, int]:
        status = 500
        if isinstance(exc, NotPermitted):
            status = 403
        elif isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, InputError):
            status = 400
        elif isinstance(exc, StoreError):
            status = 503
        return auth.refused_page(auth.Refused(str(exc), status))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        status = exc.code or 500
        page = render("refused.html.j2", nav="", message=f"{status}: {exc.name}")
        return page, status


def _headers(issuer: str) -> Any:
    parts = urlsplit(issuer)
    provider = f"{parts.scheme}://{parts.netloc}"
    # no script at all; forms post here, and the sign-in form's redirect goes to the provider
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        f"form-action 'self' {provider}; frame-ancestors 'none'; base-uri 'none'"
    )

    def add(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return add
