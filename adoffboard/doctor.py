"""`adoffboard doctor`: everything an offboarding will need, checked days before, reading only.

    workspace checks  every configured platform's credential references resolve; the SMTP server
                      answers EHLO; the state store's schema is the one this adoffboard writes
                      (`adoffboard.doctor_checks`)
    client checks     every account of each client's manifest is read through its platform's
                      read-only connector: the read itself proves the token is accepted, the API
                      answers and the agency can reach the account, and the connector's own tenant
                      guard (`read_state` raises `TenantMismatch`) compares the live name with the
                      manifest's expected name

Every check runs, whatever the others found: the report lists all problems at once, each with a
one-line hint saying what to do. Connectors are built with `read_only=True`, so their transports
refuse any mutating call; the SMTP check never sends MAIL or RCPT; the store is read, never
migrated. `report.to_dict()` is the stable schema of `adoffboard doctor --json` (`SCHEMA`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from adoffboard.config import LoadedWorkspace
from adoffboard.connectors import REGISTRY
from adoffboard.doctor_checks import (
    OK,
    PROBLEM,
    SKIPPED,
    Check,
    check_credentials,
    check_smtp,
    check_store,
    classify,
    meta_token_check,
)
from adoffboard.engine import Env
from adoffboard.errors import AdoffboardError, InputError

__all__ = [
    "OK",
    "PROBLEM",
    "SCHEMA",
    "SKIPPED",
    "Check",
    "DoctorReport",
    "check_clients",
    "check_tokens",
    "client_platforms",
    "run_doctor",
]

SCHEMA = 1  # the version of `DoctorReport.to_dict()`'s shape; raised when a field changes meaning
# Platforms whose accounts a client manifest lists and whose connector reads them by that section
# (the generic HTTP steps name no account of their own: nothing to check for them).
_NO_ACCOUNT_SECTION = ("",)

# platform problems that make every read of that platform fail the same way
_CANNOT_READ = frozenset({"secret_missing", "token_refused", "token_expired"})

Progress = Callable[[str, str], None]


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == PROBLEM]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "clients": list(self.clients),
            "checks": [asdict(c) for c in self.checks],
            "problems": [asdict(c) for c in self.problems],
        }


def run_doctor(
    env: Env,
    clients: Sequence[str] = (),
    *,
    smtp_timeout: float = 5.0,
    progress: Progress | None = None,
) -> DoctorReport:
    """Every check, for the clients named (all the workspace's when none are)."""
    ws = env.workspace
    say = progress or env.progress
    report = DoctorReport(clients=list(clients) or ws.client_slugs())
    say("doctor", "credential references")
    report.checks += check_credentials(ws)
    say("doctor", "SMTP server")
    report.checks += check_smtp(ws.config.notifications, ws.root, timeout=smtp_timeout)
    say("doctor", "state store")
    report.checks += check_store(ws.store_url)
    report.checks += check_tokens(env, skip=_unusable(report.checks))
    unusable = _unusable(report.checks)
    report.checks += check_clients(env, report.clients, skip=unusable, progress=say)
    return report


def _unusable(checks: Iterable[Check]) -> set[str]:
    """Platforms whose reads would only fail for a reason already reported: not read again."""
    return {c.platform for c in checks if c.area == "platform" and c.kind in _CANNOT_READ}


def check_tokens(env: Env, *, skip: Iterable[str] = ()) -> list[Check]:
    """Tokens whose platform says whether they are valid and when they expire: Meta's
    `debug_token`. (Google's and Microsoft's OAuth tokens are exchanged at their token
    endpoints when the clients' accounts are read: a refused refresh shows there.)"""
    if env.workspace.platform_settings("meta") is None or "meta" in skip:
        return []
    env.progress("meta", "checking the access token (debug_token)")
    try:
        connector = env.connector("meta", read_only=True)
        try:
            info = connector.token_info()
        finally:
            connector.close()
    except AdoffboardError as exc:
        kind, hint = classify(exc, "meta")
        return [Check("platform", "meta", "meta", PROBLEM, str(exc), kind, hint)]
    return [meta_token_check(info, env.clock.now())]


def client_platforms(ws: LoadedWorkspace, manifest: Any) -> list[str]:
    """The platforms whose accounts `manifest` lists, in the manifest's order."""
    return [
        p
        for p, d in REGISTRY.items()
        if d.manifest_key not in _NO_ACCOUNT_SECTION
        and getattr(manifest.model, d.manifest_key, None) is not None
    ]


def check_clients(
    env: Env,
    slugs: Iterable[str],
    *,
    skip: Iterable[str] = (),
    progress: Progress | None = None,
) -> list[Check]:
    """Each client's accounts, read through read-only connectors; one connector per platform is
    shared by all the clients (its session and token are set up once)."""
    ws = env.workspace
    say = progress or env.progress
    unusable = set(skip)
    checks: list[Check] = []
    connectors: dict[str, Any] = {}
    try:
        for slug in slugs:
            say("doctor", f"client {slug}")
            try:
                manifest = ws.load_client(slug)
            except InputError as exc:
                checks.append(
                    Check(
                        "client",
                        slug,
                        "",
                        PROBLEM,
                        str(exc),
                        "manifest_invalid",
                        f"fix the manifest: `adoffboard clients validate {slug}` lists every "
                        "problem",
                    )
                )
                continue
            checks += _client_accounts(env, manifest, connectors, unusable)
    finally:
        for connector in connectors.values():
            connector.close()
    return checks


def _client_accounts(
    env: Env, manifest: Any, connectors: dict[str, Any], unusable: set[str]
) -> list[Check]:
    ws = env.workspace
    slug = manifest.slug
    to_read: list[str] = []
    checks: list[Check] = []
    for platform in client_platforms(ws, manifest):
        title = REGISTRY[platform].title
        if ws.platform_settings(platform) is None:
            why = f"{title} is not configured in adoffboard.toml: not checked"
        elif platform in unusable:
            why = f"{title}: not checked, its credentials cannot be used (see above)"
        else:
            to_read.append(platform)
            continue
        checks.append(Check("client", slug, platform, SKIPPED, why))

    def read(platform: str) -> Check:
        env.progress(platform, f"reading {slug}'s account")
        try:
            if platform not in connectors:
                connectors[platform] = env.connector(platform, read_only=True)
            state = connectors[platform].read_state(manifest.model)
        except AdoffboardError as exc:
            kind, hint = classify(exc, platform)
            return Check("client", slug, platform, PROBLEM, str(exc), kind, hint)
        if getattr(state, "reachable", True) is False:
            detail = getattr(state, "detail", "") or "the agency's access to it is gone"
            return Check(
                "client",
                slug,
                platform,
                PROBLEM,
                f"{REGISTRY[platform].title}: the manifest's account cannot be reached ({detail})",
                "account_unreachable",
                "check the account id in the manifest; if the account was closed or the "
                "agency's access removed, restore access or remove the section",
            )
        name = getattr(state, "name", "") or ""
        return Check(
            "client",
            slug,
            platform,
            OK,
            f"reachable{f', named {name!r}' if name else ''}",
        )

    # connectors are built in this thread first: each platform imports its SDK once, here
    for platform in to_read:
        if platform not in connectors:
            with contextlib.suppress(AdoffboardError):  # reported by `read`, per client
                connectors[platform] = env.connector(platform, read_only=True)
    with ThreadPoolExecutor(max_workers=max(1, len(to_read))) as pool:
        checks += list(pool.map(read, to_read))
    return checks
