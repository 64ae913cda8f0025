"""The doctor's workspace checks (credential references, SMTP, the store's schema) and the hint
each kind of problem gets. Each check reads only: a reference is resolved, never stored; the SMTP
server is greeted (EHLO) and left (QUIT), never given MAIL or RCPT; the store's schema revision is
read, never upgraded.

Problem kinds (`Check.kind`, stable: scripts may match on them):

    secret_missing        a credential reference of adoffboard.toml does not resolve
    token_refused         the platform refused the credentials
    token_expired         the platform says the token has expired
    token_expiring        the platform says the token expires within EXPIRY_WARNING
    token_scopes          the token lacks a permission offboarding needs
    platform_unreachable  the platform did not answer (network, 5xx, throttled)
    platform_error        the platform refused the read for another reason
    account_unreachable   the manifest's account cannot be reached (gone, or access removed)
    name_mismatch         the live account's name is not the manifest's expected name
    manifest_invalid      the client's manifest cannot be loaded
    config_error          the platform's settings cannot be used
    smtp_unreachable      the SMTP server did not answer EHLO
    schema_outdated       the store's schema is older than this adoffboard's
    schema_newer          the store's schema was written by a newer adoffboard
    store_unreachable     the state store cannot be opened
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adoffboard.config import LoadedWorkspace, NotificationsSection
from adoffboard.connectors import REGISTRY
from adoffboard.connectors.declare import secret_fields
from adoffboard.credentials import resolve
from adoffboard.errors import (
    AdoffboardError,
    AuthError,
    InputError,
    TenantMismatch,
    TransientError,
)

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"


@dataclass(frozen=True)
class Check:
    """One check's result. `area`: platform, smtp, store or client; `subject`: the platform, the
    SMTP server, the store or the client's slug; `kind` and `hint` are set on problems."""

    area: str
    subject: str
    platform: str
    status: str
    message: str
    kind: str = ""
    hint: str = ""


def reference_hint(ref: str) -> str:
    """What to do so that `ref` resolves, by the kind of reference."""
    kind, _, rest = ref.partition(":")
    if kind == "env":
        return (
            f"set the environment variable {rest} where adoffboard (and the scheduler) runs, "
            "or point the setting at another reference"
        )
    if kind == "file":
        return f"put the secret on the first line of {rest} (mode 0600), relative to the workspace"
    if kind == "keyring":
        service, _, user = rest.partition("/")
        return (
            f"store it with `keyring set {service} {user}` as the user adoffboard runs as; "
            "on a server without a keyring use env: or file: instead"
        )
    return "use a reference such as env:NAME, file:PATH or keyring:SERVICE/USER"


def check_credentials(ws: LoadedWorkspace) -> list[Check]:
    """Every secret reference of every configured platform resolves. References with a
    `{account_id}` placeholder are resolved per client, when its account is read."""
    checks: list[Check] = []
    for platform, settings in ws.config.platforms.items():
        declaration = REGISTRY.get(platform)
        if declaration is None:
            continue
        missing: list[Check] = []
        for name in sorted(secret_fields(declaration.settings)):
            ref = settings.get(name)
            if not isinstance(ref, str) or not ref or "{" in ref:
                continue
            try:
                resolve(ref, base=ws.root)
            except AuthError as exc:
                missing.append(
                    Check(
                        "platform",
                        platform,
                        platform,
                        PROBLEM,
                        f"platforms.{platform}.{name}: {exc}",
                        "secret_missing",
                        reference_hint(ref),
                    )
                )
        checks += missing or [
            Check("platform", platform, platform, OK, "credential references resolve")
        ]
    return checks


def check_smtp(settings: NotificationsSection, root: Path, *, timeout: float = 5.0) -> list[Check]:
    """Connect and EHLO (and STARTTLS when configured), then QUIT: no login, MAIL or RCPT."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    smtp: smtplib.SMTP | None = None
    try:
        cls = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
        smtp = cls(settings.smtp_host, settings.smtp_port, timeout=timeout)
        code, _ = smtp.ehlo()
        if code != 250:
            raise smtplib.SMTPResponseException(code, b"EHLO refused")
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls()
            smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return [
            Check(
                "smtp",
                where,
                "",
                PROBLEM,
                f"SMTP {where} did not answer EHLO: {reason}",
                "smtp_unreachable",
                "check [notifications] smtp_host, smtp_port and smtp_ssl/smtp_starttls, and "
                "that this machine may reach the server",
            )
        ]
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    problems = []
    if settings.smtp_username and settings.smtp_password:
        try:
            resolve(settings.smtp_password, base=root)
        except AuthError as exc:
            problems.append(
                Check(
                    "smtp",
                    where,
                    "",
                    PROBLEM,
                    f"notifications.smtp_password: {exc}",
                    "secret_missing",
                    reference_hint(settings.smtp_password),
                )
            )
    return problems or [Check("smtp", where, "", OK, f"SMTP {where} answers EHLO")]


def check_store(url: str) -> list[Check]:
    """The schema revision the store holds, against this adoffboard's newest migration. A
    SQLite store not created yet is fine: the first command creates it at head."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from adoffboard.database import head_revision, make_engine, one_line, prepare_url
    from adoffboard.errors import StoreError

    head = head_revision()
    raw = url
    if raw.startswith("sqlite:///") and not Path(raw[len("sqlite:///") :]).exists():
        return [Check("store", "store", "", OK, f"not created yet (created at revision {head})")]
    try:
        prepared = prepare_url(raw)
        shown = prepared.render_as_string(hide_password=True)
        engine = make_engine(prepared)
        try:
            with engine.connect() as conn:
                stored: list[str] = []
                if inspect(conn).has_table("alembic_version"):
                    rows = conn.execute(text("SELECT version_num FROM alembic_version"))
                    stored = [str(v) for v in rows.scalars().all()]
        finally:
            engine.dispose()
    except (StoreError, SQLAlchemyError, ImportError) as exc:
        message = str(exc) if isinstance(exc, StoreError) else one_line(exc)
        return [
            Check(
                "store",
                "store",
                "",
                PROBLEM,
                f"cannot open the state store: {message}",
                "store_unreachable",
                "check [workspace] store in adoffboard.toml and that the database answers",
            )
        ]
    current = stored[0] if len(stored) == 1 else "none"
    if current == head:
        return [Check("store", shown, "", OK, f"schema at revision {head}")]
    if current != "none" and current > head:
        message = (
            f"the store's schema (revision {current}) is newer than this adoffboard "
            f"(knows up to {head})"
        )
        kind = "schema_newer"
        hint = "upgrade adoffboard on this machine to the version the others use"
    else:
        message = f"the store's schema is at revision {current}, this adoffboard writes {head}"
        kind, hint = (
            "schema_outdated",
            (
                "back the store up, then run any command that opens it (e.g. `adoffboard "
                "history`): it upgrades the schema; do it before the scheduler's next run"
            ),
        )
    return [Check("store", shown, "", PROBLEM, message, kind, hint)]


EXPIRY_WARNING = dt.timedelta(days=7)  # a token expiring sooner is reported
META_SCOPES = ("ads_management",)  # pausing campaigns and disabling rules need it


def meta_token_check(info: Mapping[str, Any], now: dt.datetime) -> Check:
    """Judge what Meta's `debug_token` says of the workspace's token
    (https://developers.facebook.com/docs/graph-api/reference/debug_token): valid, not expired
    nor about to (`expires_at` 0 means never), and holding the scopes offboarding needs."""
    renew = (
        "issue a new system-user token (Business Settings > System users) and store it where "
        "platforms.meta.access_token points"
    )
    expires = int(info.get("expires_at") or 0)
    when = dt.datetime.fromtimestamp(expires, dt.UTC) if expires else None
    missing = sorted(set(META_SCOPES) - {str(x) for x in info.get("scopes") or ()})
    at = f"{when:%Y-%m-%d %H:%M} UTC" if when else ""
    if not info.get("is_valid"):
        problem = ("token_refused", "Meta says the access token is not valid", renew)
    elif when is not None and when <= now:
        problem = (
            "token_expired",
            f"the Meta access token expired at {at}",
            renew,
        )
    elif when is not None and when - now < EXPIRY_WARNING:
        problem = (
            "token_expiring",
            f"the Meta access token expires at {at}",
            renew,
        )
    elif missing:
        problem = (
            "token_scopes",
            f"the Meta access token lacks the scope(s) {', '.join(missing)}",
            "give the system user the permission and generate its token again with it",
        )
    else:
        lasts = f"valid until {when:%Y-%m-%d}" if when else "valid, never expires"
        return Check("platform", "meta", "meta", OK, f"access token {lasts} (debug_token)")
    kind, message, hint = problem
    return Check("platform", "meta", "meta", PROBLEM, message, kind, hint)


def classify(exc: AdoffboardError, platform: str) -> tuple[str, str]:
    """The kind of problem a failed read is, and what to do about it."""
    title = REGISTRY[platform].title if platform in REGISTRY else platform
    text = str(exc).lower()
    if isinstance(exc, TenantMismatch):
        return "name_mismatch", (
            "if the account was renamed, update expected_name in the manifest; otherwise fix "
            "the account id: adoffboard will not touch an account whose name differs"
        )
    if isinstance(exc, AuthError):
        if "credential " in text and ("not set" in text or "cannot read" in text):
            return "secret_missing", "a credential reference does not resolve: see its setting"
        if "expired" in text:
            return "token_expired", (
                f"issue a new {title} token (or refresh token) and store it where the "
                f"platforms.{platform} reference points"
            )
        return "token_refused", (
            f"{title} refused the credentials: check the token (re-authorise if it was "
            "revoked) and the agency user's access"
        )
    if isinstance(exc, TransientError):
        return "platform_unreachable", (
            f"{title} did not answer: check the endpoint and the network, then run doctor again"
        )
    if isinstance(exc, InputError):
        return "config_error", f"fix [platforms.{platform}] in adoffboard.toml or the manifest"
    return "platform_error", f"{title} refused the read: see the message"


def problem_digest(checks: Any) -> str:
    """A short fingerprint of a set of problems (kind, subject, platform), order-free: the same
    problems give the same digest (the scheduler's notice is sent once per problem set)."""
    import hashlib

    keys = sorted({f"{c.kind}|{c.subject}|{c.platform}" for c in checks if c.status == PROBLEM})
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]
