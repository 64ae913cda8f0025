"""OpenID Connect identity provider stand-in: the agency's Google Workspace or Entra ID, locally.

The web console signs people in with the authorization code flow exactly as against the real
provider; only the issuer URL differs. What it serves (OpenID Connect Core 1.0, Discovery 1.0,
RFC 6749, RFC 7636):

    GET  /.well-known/openid-configuration   the provider's metadata
    GET  /authorize    a sign-in page: each identity a button (the workspace's people, and an
                       outsider, visitor@elsewhere.example); a bad client or redirect URI is
                       answered here (never redirected), other errors go back to the client
    POST /authorize    the choice -> 302 to redirect_uri with `code` and `state`
    POST /token        authorization_code grant; the client authenticates with HTTP Basic
                       (client_secret_basic) or in the form (client_secret_post); the code is
                       single use, bound to its client and redirect URI, short-lived, and checked
                       against its PKCE S256 challenge when the request had one. Answers an
                       RS256 ID token (iss, sub, aud, exp, iat, nonce, email, email_verified,
                       name, and `hd` as Google sets it for a Workspace domain)
    GET  /jwks         the public signing key
    GET  /userinfo     the claims, for the access token (Bearer)

The signing key is generated once per process, when the first stand-in starts (a reset or a second
sandbox in the same process signs with the same key, so that a reset stand-in cannot be told from
a fresh one). The registered client is `adoffboard-console` with the secret a `sandbox:`
reference resolves to. Redirect URIs: those the section lists, else, as RFC 8252 section 7.3 has
providers do for loopback clients, any loopback `http` URI whose path is `/auth/callback`, on any
port (the console listens on a free port in tests).

Scenario section:

    oidc:
      client_id: adoffboard-console        # default
      redirect_uris: []                    # default: loopback .../auth/callback on any port
      people:                              # default: the people `adoffboard init` writes
        - {name: Amy, email: amy@agency.example}
        - {name: X, email: x@agency.example, email_verified: false, hd: ""}
      id_token_forgery: ""                 # default: none; for tests of the relying party's
                                           # checks, every ID token is made wrong in one way:
                                           # signature (another key, same kid), issuer,
                                           # audience, expired, nonce
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from adoffboard.credentials import SANDBOX_SECRET
from adoffboard.sandbox.core import FaultPlan, RequestLog
from adoffboard.sandbox.http import HttpStandIn, Request, Response

CLIENT_ID = "adoffboard-console"
OUTSIDER = {"name": "Visitor", "email": "visitor@elsewhere.example"}
CODE_TTL_S = 600  # an authorization code not redeemed within this is refused
TOKEN_TTL_S = 3600  # ID and access tokens
CALLBACK_PATH = "/auth/callback"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
AUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)

FORGERIES = ("signature", "issuer", "audience", "expired", "nonce")

_key_lock = threading.Lock()
_signing_key: list[RSAKey] = []


def signing_key() -> RSAKey:
    """The process's RS256 key, generated the first time a stand-in needs it."""
    with _key_lock:
        if not _signing_key:
            _signing_key.append(
                RSAKey.generate_key(
                    2048, parameters={"use": "sig", "alg": "RS256"}, private=True, auto_kid=True
                )
            )
        return _signing_key[0]


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    email_verified: bool = True
    hd: str = ""  # Google's hosted domain claim; empty: not sent

    @property
    def sub(self) -> str:
        """A stable subject per email, as a provider's opaque user id."""
        return hashlib.sha256(self.email.lower().encode()).hexdigest()[:24]

    def claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
        }
        if self.hd:
            out["hd"] = self.hd
        return out


@dataclass(frozen=True)
class Grant:
    """An issued authorization code: who, for which client and redirect URI, with what nonce."""

    identity: Identity
    client_id: str
    redirect_uri: str
    nonce: str
    scope: str
    challenge: str
    issued: float


def _identities(section: Mapping[str, Any]) -> list[Identity]:
    raw = section.get("people")
    if raw is None:
        from adoffboard.workspace_init import PEOPLE

        raw = [{"name": p["name"], "email": p["email"]} for p in PEOPLE.values()]
    found = []
    for entry in [*raw, OUTSIDER]:
        email = str(entry["email"])
        domain = email.rpartition("@")[2]
        hd = entry.get("hd", "" if entry is OUTSIDER else domain)
        found.append(
            Identity(str(entry["name"]), email, bool(entry.get("email_verified", True)), hd or "")
        )
    return found


class OidcStandIn(HttpStandIn):
    platform = "oidc"

    def __init__(
        self, section: Mapping[str, Any] | None, log: RequestLog, faults: FaultPlan
    ) -> None:
        super().__init__(section, log, faults)
        self.client_id = str(self.section.get("client_id", CLIENT_ID))
        self.redirect_uris = [str(u) for u in self.section.get("redirect_uris") or []]
        self.people = _identities(self.section)
        self.forgery = str(self.section.get("id_token_forgery") or "")
        if self.forgery and self.forgery not in FORGERIES:
            raise ValueError(f"oidc: id_token_forgery must be one of {', '.join(FORGERIES)}")
        self.codes: dict[str, Grant] = {}
        self.used_codes: set[str] = set()
        self.access_tokens: dict[str, Identity] = {}
        self.route("GET", r"/\.well-known/openid-configuration", "discovery", self._discovery)
        self.route("GET", r"/authorize", "authorize.page", self._authorize_page)
        self.route("POST", r"/authorize", "authorize.choose", self._authorize_choose)
        self.route("POST", r"/token", "token", self._token)
        self.route("GET", r"/jwks", "jwks", self._jwks)
        self.route("GET", r"/userinfo", "userinfo", self._userinfo, mutating=False)
        self.route("POST", r"/userinfo", "userinfo", self._userinfo, mutating=False)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        signing_key()  # generated before the first request waits on it
        return super().start(host, port)

    def settings(self) -> dict[str, Any]:
        """The `[console.oidc]` table that points a workspace's console at this provider."""
        return {"issuer": self.url, "client_id": self.client_id, "client_secret": "sandbox:"}

    def person(self, email: str) -> Identity | None:
        return next((p for p in self.people if p.email.lower() == email.lower()), None)

    # --- discovery and keys ---------------------------------------------------------------

    def _discovery(self, request: Request) -> Response:
        base = self.url
        return Response(
            200,
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": [
                    "iss",
                    "sub",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "email",
                    "email_verified",
                    "name",
                    "hd",
                ],
            },
        )

    def _jwks(self, request: Request) -> Response:
        return Response(200, KeySet([signing_key()]).as_dict(private=False))

    # --- authorization --------------------------------------------------------------------

    def _redirect_allowed(self, uri: str) -> bool:
        if self.redirect_uris:
            return uri in self.redirect_uris
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 (a malformed port raises)
        except ValueError:
            return False
        return (
            parts.scheme == "http"
            and parts.hostname in LOOPBACK
            and parts.path == CALLBACK_PATH
            and not parts.fragment
        )

    def _check_authorization(self, params: Mapping[str, str]) -> Response | None:
        """An answer to a request that cannot be authorized, or None when it can be."""
        if params.get("client_id") != self.client_id:
            return _page(400, "Unknown client", "This application is not registered here.")
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_allowed(redirect_uri):
            return _page(
                400, "Redirect URI not registered", "The sign-in cannot return to that address."
            )

        def back(error: str, description: str) -> Response:
            return _redirect(
                redirect_uri,
                {"error": error, "error_description": description, "state": params.get("state")},
            )

        if params.get("response_type") != "code":
            return back("unsupported_response_type", "only the code flow is supported")
        if "openid" not in params.get("scope", "").split():
            return back("invalid_scope", "the openid scope is required")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "")
        if challenge and method != "S256":
            return back("invalid_request", "code_challenge_method must be S256")
        if method and not challenge:
            return back("invalid_request", "code_challenge_method without code_challenge")
        return None

    def _authorize_page(self, request: Request) -> Response:
        params = {k: v[-1] for k, v in request.query.items()}
        refused = self._check_authorization(params)
        if refused is not None:
            return refused
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
            for name in AUTH_PARAMS
            if params.get(name)
        )
        buttons = "".join(
            '<form method="post" action="/authorize">'
            f'{hidden}<input type="hidden" name="account" value="{html.escape(p.email)}">'
            f'<button type="submit">{html.escape(p.name)} &lt;{html.escape(p.email)}&gt;'
            "</button></form>"
            for p in self.people
        )
        return _page(200, "Choose an account", "to continue to adoffboard", buttons)

    def _authorize_choose(self, request: Request) -> Response:
        params = request.form()
        refused = self._check_authorization(params)
        if refused is not None:
            return refused
        identity = self.person(params.get("account", ""))
        if identity is None:
            return _page(400, "Unknown account", "Choose one of the accounts listed.")
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Grant(
                identity,
                params["client_id"],
                params["redirect_uri"],
                params.get("nonce", ""),
                params.get("scope", ""),
                params.get("code_challenge", ""),
                time.time(),
            )
        return _redirect(params["redirect_uri"], {"code": code, "state": params.get("state")})

    # --- token ----------------------------------------------------------------------------

    def _client(self, request: Request, form: Mapping[str, str]) -> tuple[str, str] | None:
        """The client's id and secret, from exactly one of Basic auth or the form."""
        header = request.headers.get("Authorization", "")
        in_form = "client_secret" in form
        if header.startswith("Basic "):
            if in_form:
                return None  # RFC 6749 2.3: one authentication method per request
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
            except ValueError:
                return None
            user, sep, password = decoded.partition(":")
            return (unquote(user), unquote(password)) if sep else None
        if in_form:
            return form.get("client_id", ""), form["client_secret"]
        return None

    def _token(self, request: Request) -> Response:
        form = request.form()
        client = self._client(request, form)
        if client is None or client != (self.client_id, SANDBOX_SECRET):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "only authorization_code")
        code = form.get("code", "")
        with self.lock:
            grant = self.codes.pop(code, None)
            if grant is None:
                again = code in self.used_codes
                why = "the code was already used" if again else "unknown code"
                return _oauth_error(400, "invalid_grant", why)
            self.used_codes.add(code)
        if time.time() - grant.issued > CODE_TTL_S:
            return _oauth_error(400, "invalid_grant", "the code has expired")
        if grant.client_id != client[0]:
            return _oauth_error(400, "invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if grant.challenge or verifier:
            digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not grant.challenge or not secrets.compare_digest(computed, grant.challenge):
                return _oauth_error(400, "invalid_grant", "PKCE verification failed")
        access = secrets.token_urlsafe(24)
        with self.lock:
            self.access_tokens[access] = grant.identity
        return Response(
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_S,
                "scope": grant.scope,
                "id_token": self.id_token(grant),
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + TOKEN_TTL_S,
            **grant.identity.claims(),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        key = signing_key()
        if self.forgery == "signature":  # the same key id, signed with a key nobody published
            key = RSAKey.generate_key(
                2048, parameters={"use": "sig", "alg": "RS256", "kid": str(key.kid)}, private=True
            )
        elif self.forgery == "issuer":
            claims["iss"] = "https://accounts.elsewhere.example"
        elif self.forgery == "audience":
            claims["aud"] = "another-client"
        elif self.forgery == "expired":
            claims.update(iat=now - 2 * TOKEN_TTL_S, exp=now - TOKEN_TTL_S)
        elif self.forgery == "nonce":
            claims["nonce"] = "not-the-nonce-of-this-sign-in"
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        with self.lock:
            identity = self.access_tokens.get(header.removeprefix("Bearer ").strip())
        if not header.startswith("Bearer ") or identity is None:
            return Response(
                401,
                {"error": "invalid_token"},
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Response(200, identity.claims())


def _redirect(uri: str, params: Mapping[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v})
    return Response(302, b"", {"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oidc"'
    return Response(status, {"error": error, "error_description": description}, headers)


def _page(status: int, title: str, text: str, body: str = "") -> Response:
    return Response(
        status,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><link rel=icon href=data:,>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{body}</body></html>",
        content_type="text/html; charset=utf-8",
    )
