"""The workspace (`adoffboard.toml`): its own sections, and each platform's `[platforms.<name>]`
table validated by the model that platform declares (`connectors/<platform>/declaration.py`).

Client manifests are read by `adoffboard.manifest`; the names callers import from here for them
are re-exported below.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import time as dt_time
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from adoffboard.connectors import REGISTRY
from adoffboard.credentials import check_reference
from adoffboard.errors import InputError, NotFound
from adoffboard.errors import ManifestProblems as ManifestProblems
from adoffboard.manifest import MANIFEST_PLATFORMS as MANIFEST_PLATFORMS
from adoffboard.manifest import SLUG as SLUG
from adoffboard.manifest import ClientManifest as ClientManifest
from adoffboard.manifest import Manifest as Manifest
from adoffboard.manifest import Problem as Problem
from adoffboard.manifest import StrictModel, account_ids, problems_from, read_text
from adoffboard.manifest import load_yaml as load_yaml
from adoffboard.manifest import read_manifest as read_manifest

WORKSPACE_FILE = "adoffboard.toml"
CLIENTS_DIR = "clients"

# Roles named by the checklists; the workspace maps people to them.
ROLES = {
    "account_manager": "Account Manager",
    "retention": "Retention team",
    "approver_1": "First approver",
    "approver_2": "Second approver",
    "finance": "Finance team",
    "accounting": "Accounting team",
    "dmo_lead": "Digital Marketing Operations Lead",
    "sem_specialist": "SEM Specialist",
    "sem_team_lead": "SEM Team Lead",
    "sem_department_manager": "SEM Department Manager",
    "ma_specialist": "MA Specialist",
    "ma_team_lead": "MA Team Lead",
    "ma_department_manager": "MA Department Manager",
    "juniper": "Juniper team (removals)",
}


# --- workspace ---------------------------------------------------------------------------------


class PersonEntry(StrictModel):
    name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    roles: list[str] = Field(default_factory=list)
    # The operating-system accounts this person works from: the CLI acts as the person bound to
    # the OS user running it (see [identity]).
    os_users: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: {sorted(ROLES)}")
        return roles


class WorkspaceSection(StrictModel):
    name: str = "agency"
    timezone: str = "UTC"
    store: str = "sqlite:///.adoffboard/state.db"
    reports_dir: str = "reports"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. America/Chicago") from exc
        return value


class AgencySection(StrictModel):
    identities: list[str] = Field(default_factory=list)


class ApprovalSection(StrictModel):
    chain: list[str] = Field(default_factory=lambda: ["approver_1", "approver_2"])
    finance_role: str = "finance"
    processing_role: str = "accounting"

    @field_validator("chain")
    @classmethod
    def _chain_roles(cls, roles: list[str]) -> list[str]:
        if not roles:
            raise ValueError(
                "the approval chain is empty: at least one role approves before "
                'the processing role, e.g. ["approver_1", "approver_2"]'
            )
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: {sorted(ROLES)}")
        twice = sorted({r for r in roles if roles.count(r) > 1})
        if twice:
            raise ValueError(f"role(s) {twice} appear twice in the chain: each approves once")
        return roles

    @model_validator(mode="after")
    def _distinct_steps(self) -> ApprovalSection:
        """The finance and processing steps follow the chain: a role in both would approve a
        request twice, and one role doing both would be a single person's decision."""
        for name in ("finance_role", "processing_role"):
            if getattr(self, name) in self.chain:
                raise ValueError(
                    f"{name} {getattr(self, name)!r} is also in the chain: the "
                    "chain's approvers and the finance and processing roles differ"
                )
        if self.finance_role == self.processing_role:
            raise ValueError(
                f"finance_role and processing_role are both "
                f"{self.finance_role!r}: they are different steps"
            )
        return self

    @field_validator("finance_role", "processing_role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {sorted(ROLES)}")
        return role


class NotificationsSection(StrictModel):
    distribution_list: list[str] = Field(default_factory=list)
    sender: str = "adoffboard@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535, strict=True)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: str = ""
    smtp_password: str = ""  # a credential reference, e.g. env:SMTP_PASSWORD
    # Seconds to reach the server and read its greeting: a missing server is said at once
    # (change request notices then stay queued for `reminders send` and the scheduler).
    smtp_connect_timeout: float = Field(default=5.0, gt=0, le=120)
    # Change requests: reminders N days before an effective (or pause end) date, to the roles of
    # each department's team.
    reminder_days: list[Annotated[int, Field(strict=True)]] = Field(default_factory=lambda: [7, 1])
    reminder_roles: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "SEM": ["sem_specialist", "sem_team_lead"],
            "MA": ["ma_specialist", "ma_team_lead"],
        }
    )

    @field_validator("smtp_password")
    @classmethod
    def _password_ref(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(n < 0 or n > 365 for n in value):
            raise ValueError("reminder days must be between 0 and 365")
        return sorted(set(value), reverse=True)

    @field_validator("reminder_roles")
    @classmethod
    def _team_roles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted({r for roles in value.values() for r in roles} - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: {sorted(ROLES)}")
        if set(value) - {"SEM", "MA"}:
            raise ValueError("departments are SEM and MA")
        return value


class ScheduleSection(StrictModel):
    """`[schedule]`: when approved change requests run, and how failures are retried.

    A request's runs are due at `run_at` (24-hour HH:MM, the workspace's time zone) on its
    effective date, and an un-pause on the pause's end date. A failed attempt is tried again after
    `retry_minutes`, doubling each time up to `retry_max_minutes`, `max_attempts` in all; a client
    locked by someone else is tried again after `lock_retry_minutes` without counting an attempt.
    """

    run_at: str = "06:00"
    max_attempts: int = Field(default=5, ge=1, le=50, strict=True)
    retry_minutes: int = Field(default=15, ge=1, le=1440, strict=True)
    retry_max_minutes: int = Field(default=360, ge=1, le=10080, strict=True)
    lock_retry_minutes: int = Field(default=5, ge=1, le=1440, strict=True)
    poll_seconds: int = Field(default=60, ge=1, le=3600, strict=True)

    @field_validator("run_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            hours, minutes = (int(part) for part in value.split(":"))
            dt_time(hours, minutes)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day: use HH:MM, e.g. 06:00") from None
        return f"{hours:02d}:{minutes:02d}"

    @property
    def time_of_day(self) -> dt_time:
        hours, minutes = (int(part) for part in self.run_at.split(":"))
        return dt_time(hours, minutes)


class IdentitySection(StrictModel):
    """`[identity]`: who the CLI acts as.

    The CLI acts as the person whose personal token (`adoffboard login`) it holds, or else the
    person whose `os_users` list the operating-system user running it. `--as` naming anyone else
    is refused, unless `single_user = true`: one person works the whole workspace from one
    account (a rehearsal, a one-person agency), and every action records that `--as` was taken on
    trust in the audit history.
    """

    single_user: bool = False
    # Personal tokens issued by the console expire after this many days.
    token_days: int = Field(default=90, ge=1, le=3650, strict=True)


class OidcSection(StrictModel):
    """`[console.oidc]`: the agency's identity provider (Google Workspace, Microsoft Entra ID)."""

    issuer: str = ""  # e.g. https://accounts.google.com
    client_id: str = ""
    client_secret: str = ""  # a credential reference, e.g. env:ADOFFBOARD_OIDC_SECRET
    # Only people whose verified email is in one of these domains may sign in (empty: any
    # domain; people are still matched to [people.*] by email).
    allowed_domains: list[str] = Field(default_factory=list)

    @field_validator("client_secret")
    @classmethod
    def _secret_ref(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


class ConsoleSection(StrictModel):
    """`[console]`: the web console (`adoffboard serve`)."""

    # The address people reach the console at; links in emails point here.
    url: str = "http://127.0.0.1:8765"
    bind: str = "127.0.0.1"  # loopback unless configured
    port: int = Field(default=8765, ge=0, le=65535, strict=True)
    secret_key: str = ""  # a credential reference: signs sessions and forms
    session_minutes: int = Field(default=480, ge=1, le=10080, strict=True)
    # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to honour (0: none).
    proxy_hops: int = Field(default=0, ge=0, le=5, strict=True)
    oidc: OidcSection = OidcSection()

    @field_validator("secret_key")
    @classmethod
    def _key_ref(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


# [platforms.<name>] tables, validated when the workspace loads; connectors read them as dicts.
PLATFORM_SETTINGS: dict[str, type[BaseModel]] = {p: d.settings for p, d in REGISTRY.items()}


class Workspace(StrictModel):
    workspace: WorkspaceSection = WorkspaceSection()
    agency: AgencySection = AgencySection()
    people: dict[str, PersonEntry] = Field(default_factory=dict)
    approval: ApprovalSection = ApprovalSection()
    notifications: NotificationsSection = NotificationsSection()
    schedule: ScheduleSection = ScheduleSection()
    identity: IdentitySection = IdentitySection()
    console: ConsoleSection = ConsoleSection()
    platforms: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class LoadedWorkspace:
    root: Path
    config: Workspace

    @property
    def clients_dir(self) -> Path:
        return self.root / CLIENTS_DIR

    @property
    def reports_dir(self) -> Path:
        return self.root / self.config.workspace.reports_dir

    @property
    def store_url(self) -> str:
        url = self.config.workspace.store
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            return prefix + str((self.root / url[len(prefix) :]).resolve())
        return url

    def people_with_role(self, role: str) -> list[PersonEntry]:
        return [p for p in self.config.people.values() if role in p.roles]

    def platform_settings(self, platform: str) -> dict[str, Any] | None:
        return self.config.platforms.get(platform)

    def client_slugs(self) -> list[str]:
        if not self.clients_dir.is_dir():
            return []
        return sorted(p.stem for p in self.clients_dir.glob("*.yaml"))

    def load_client(self, slug: str) -> ClientManifest:
        if not SLUG.match(slug):
            raise InputError(
                f"client {slug!r} is not a valid slug (lowercase letters, digits and dashes)"
            )
        path = self.clients_dir / f"{slug}.yaml"
        if not path.is_file():
            known = ", ".join(self.client_slugs()) or "none"
            raise NotFound(f"unknown client {slug!r} (known clients: {known})")
        manifest, problems = read_manifest(path)
        if problems or manifest is None:
            raise ManifestProblems(problems)
        shared = self.shared_accounts(manifest)
        if shared:
            raise ManifestProblems(shared)
        return manifest

    def shared_accounts(self, manifest: ClientManifest) -> list[Problem]:
        """Accounts `manifest` claims that another (valid) manifest claims too. Checked whenever
        a client is loaded and by `clients validate`: one check, both places."""
        claims = {(kind, value): field for kind, field, value in account_ids(manifest.model)}
        problems = []
        for slug in self.client_slugs():
            if slug == manifest.slug:
                continue
            other, _ = read_manifest(self.clients_dir / f"{slug}.yaml")
            if other is None:
                continue  # its own problems are reported when it is loaded or validated
            for kind, _field, value in account_ids(other.model):
                if (kind, value) in claims:
                    problems.append(
                        Problem(
                            str(manifest.path),
                            claims[kind, value],
                            f"{kind} {value} is also in {other.path.name} ({other.name})",
                            "an account belongs to one client: fix the id in one of the manifests",
                        )
                    )
        return problems

    def unconfigured_platforms(self, manifest: ClientManifest) -> list[Problem]:
        """Account sections of `manifest` whose platform has no `[platforms.*]` table here: a
        plan would fail on them (`clients validate` reports them)."""
        return [
            Problem(
                str(manifest.path),
                section.name,
                f"needs [platforms.{platform}], which {WORKSPACE_FILE} does not configure",
                f"add the table ({REGISTRY[platform].title}), or `adoffboard sandbox up "
                "--workspace DIR` for the sandbox's",
            )
            for platform, declaration in REGISTRY.items()
            for section in declaration.manifest
            if section.is_account
            and getattr(manifest.model, section.name, None) is not None
            and platform not in self.config.platforms
        ]


def find_workspace(start: Path) -> Path:
    for folder in [start, *start.parents]:
        if (folder / WORKSPACE_FILE).is_file():
            return folder
    raise InputError(
        f"no {WORKSPACE_FILE} in {start} or its parents (create one with `adoffboard init`)"
    )


def load_workspace(start: Path) -> LoadedWorkspace:
    root = find_workspace(start.resolve())
    path = root / WORKSPACE_FILE
    try:
        text = read_text(path.read_bytes(), str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise InputError(f"{path}: not valid TOML: nested too deeply") from None
    try:
        config = Workspace.model_validate(data)
    except ValidationError as exc:
        raise ManifestProblems(problems_from(exc, str(path), {})) from exc
    for platform, raw in config.platforms.items():
        model = PLATFORM_SETTINGS.get(platform)
        if model is None:
            raise InputError(
                f"{path}: [platforms.{platform}]: unknown platform; known: "
                f"{', '.join(sorted(PLATFORM_SETTINGS))}"
            )
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            probs = problems_from(exc, str(path), {})
            raise ManifestProblems(
                [
                    Problem(p.file, f"platforms.{platform}.{p.field}", p.message, p.hint)
                    for p in probs
                ]
            ) from exc
    return LoadedWorkspace(root, config)
