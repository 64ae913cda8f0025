"""OAuth 2.0 authorization servers of the stand-ins: Google's and Microsoft identity platform's.

What `adoffboard auth` talks to when a workspace points at the sandbox: the authorization
endpoint (consent is given at once, as if the user had clicked Allow: it redirects to the
client's `redirect_uri` with a one-time `code`) and the token endpoint with the grants the
vendors document:

- `authorization_code`: the code, the same `redirect_uri`, the client's id and secret (form or
  HTTP Basic) and, when the authorization asked for PKCE, the `code_verifier` whose S256 hash
  is the `code_challenge` (RFC 7636). A code works once. The answer carries an access token,
  its `expires_in`, a refresh token (Google: with `access_type=offline`; Microsoft: with the
  `offline_access` scope) and the granted `scope`.
- `refresh_token`: a refresh token this server issued (or one the scenario lists in
  `refresh_tokens`) and its client's credentials; the answer is a new access token.

Errors are RFC 6749's: 400 `invalid_grant` (unknown, used or mismatched code or refresh token,
bad verifier), 401 `invalid_client` (a secret that is not the client's), 400
`unsupported_grant_type`. Clients the scenario lists (`oauth_clients: {id: secret}`) must use
their secret; with none listed, any client is accepted. Every issued token is accepted as a
bearer token by the stand-in afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from adoffboard.sandbox.http import Request, Response

GOOGLE_AUTHORIZE = r"/o/oauth2/(v2/)?auth"
GOOGLE_TOKEN = r"/token"
MICROSOFT_AUTHORIZE = r"/(?P<tenant>[\w.-]+)/oauth2/v2\.0/authorize"
MICROSOFT_TOKEN = r"/(?P<tenant>[\w.-]+)/oauth2/v2\.0/token"


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str  # the PKCE code_challenge (S256), "" when none was sent
    offline: bool  # whether a refresh token is issued


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response(status, {"error": error, "error_description": description})


class AuthorizationServer:
    """The codes, refresh and access tokens of one stand-in's OAuth endpoints."""

    def __init__(
        self,
        section: Mapping[str, Any],
        *,
        prefix: str,
        offline: Callable[[Mapping[str, str]], bool],
        on_issue: Callable[[str], None] = lambda token: None,
    ) -> None:
        self.clients = {str(k): str(v) for k, v in (section.get("oauth_clients") or {}).items()}
        self.refresh_tokens: dict[str, str] = {  # refresh token -> client id ("" : any)
            str(t): "" for t in section.get("refresh_tokens") or ()
        }
        self.prefix = prefix  # of issued tokens, e.g. "sandbox-google"
        self.offline = offline  # whether an authorization request earns a refresh token
        self.on_issue = on_issue  # told of each access token issued (the stand-in accepts it)
        self.codes: dict[str, Grant] = {}
        self.grants: list[str] = []  # grant types answered with tokens, in order (for tests)

    # --- endpoints ----------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        args = {k: v[-1] for k, v in request.query.items()}
        client_id, redirect = args.get("client_id", ""), args.get("redirect_uri", "")
        if not client_id or (self.clients and client_id not in self.clients):
            return oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if args.get("response_type") != "code" or not urlsplit(redirect).scheme:
            return oauth_error("invalid_request", "response_type=code and redirect_uri required")
        if args.get("code_challenge") and args.get("code_challenge_method", "plain") != "S256":
            return oauth_error("invalid_request", "code_challenge_method must be S256")
        code = f"{self.prefix}-code-{secrets.token_urlsafe(12)}"
        self.codes[code] = Grant(
            client_id,
            redirect,
            args.get("scope", ""),
            args.get("code_challenge", ""),
            self.offline(args),
        )
        answer = {"code": code, "scope": args.get("scope", "")}
        if "state" in args:
            answer["state"] = args["state"]
        sep = "&" if urlsplit(redirect).query else "?"
        return Response(302, "", {"Location": f"{redirect}{sep}{urlencode(answer)}"}, "text/plain")

    def token(self, request: Request) -> Response | None:
        """The answer to an authorization_code or refresh_token grant; None for another grant
        type (the stand-in may serve it, e.g. Google's JWT bearer grant of service accounts)."""
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8")).items()}
        grant_type = form.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            return None
        client_id, secret = _client_credentials(request, form)
        if self.clients and self.clients.get(client_id) != secret:
            return oauth_error("invalid_client", "Unauthorized", 401)
        if grant_type == "authorization_code":
            return self._exchange_code(form, client_id)
        return self._refresh(form, client_id)

    # --- grants -------------------------------------------------------------------------------

    def _exchange_code(self, form: Mapping[str, str], client_id: str) -> Response:
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.client_id != client_id:
            return oauth_error("invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            return oauth_error("invalid_grant", "Bad Request: redirect_uri mismatch")
        if grant.challenge and _s256(form.get("code_verifier", "")) != grant.challenge:
            return oauth_error("invalid_grant", "Missing or invalid code verifier.")
        answer = self._access(grant.scope)
        if grant.offline:
            refresh = f"{self.prefix}-refresh-{secrets.token_urlsafe(16)}"
            self.refresh_tokens[refresh] = client_id
            answer["refresh_token"] = refresh
        self.grants.append("authorization_code")
        return Response(200, answer)

    def _refresh(self, form: Mapping[str, str], client_id: str) -> Response:
        owner = self.refresh_tokens.get(form.get("refresh_token", ""))
        if owner is None or (owner and owner != client_id):
            return oauth_error("invalid_grant", "Token has been expired or revoked.")
        self.grants.append("refresh_token")
        return Response(200, self._access(form.get("scope", "")))

    def _access(self, scope: str) -> dict[str, Any]:
        token = f"{self.prefix}-access-{secrets.token_urlsafe(16)}"
        self.on_issue(token)
        return {"access_token": token, "expires_in": 3599, "scope": scope, "token_type": "Bearer"}


def _client_credentials(request: Request, form: Mapping[str, str]) -> tuple[str, str]:
    """The client's id and secret from HTTP Basic authentication, else from the form."""
    header = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return "", ""
        return user, password
    return form.get("client_id", ""), form.get("client_secret", "")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
