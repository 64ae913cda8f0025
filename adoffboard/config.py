"""The workspace (`adoffboard.toml`) and the client manifests (`clients/<slug>.yaml`).

Both are validated at the edge with pydantic, and every problem is reported at once as
`file: field: message (hint)`, so that one pass fixes a manifest instead of one error per try.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import time as dt_time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from adoffboard.connectors import REGISTRY
from adoffboard.connectors.declare import ManifestSection
from adoffboard.credentials import check_reference
from adoffboard.errors import InputError, NotFound

WORKSPACE_FILE = "adoffboard.toml"
CLIENTS_DIR = "clients"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

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
    "ma_specialist": "MA Specialist",
    "ma_team_lead": "MA Team Lead",
    "ma_department_manager": "MA Department Manager",
    "juniper": "Juniper team (removals)",
}


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}{hint}"


class ManifestProblems(InputError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0])
        more = f" (and {len(problems) - 1} more; run `adoffboard clients validate`)" if len(
            problems
        ) > 1 else ""
        super().__init__(first + more)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- manifest ----------------------------------------------------------------------------------


class Person(_Model):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ManifestBase(_Model):
    """What every client manifest holds; each platform adds its own sections (its declaration's
    `manifest`), composed into `Manifest` below."""

    slug: str = Field(pattern=SLUG.pattern)
    name: str = Field(min_length=1)
    departments: list[Literal["SEM", "MA"]] = Field(min_length=1)
    account_manager: Person
    remove_identities: list[str] = Field(default_factory=list)


def _sections() -> list[ManifestSection]:
    return [section for entry in REGISTRY.values() for section in entry.manifest]


def _section_field(section: ManifestSection) -> tuple[Any, Any]:
    if section.model is not None:
        return section.model | None, None
    return section.annotation, Field(default_factory=section.annotation)


if TYPE_CHECKING:
    # The type checker sees the common fields; connectors read their own section through
    # `connectors.declare.section`, typed by their declaration's model.
    Manifest = ManifestBase
else:
    Manifest = create_model("Manifest", __base__=ManifestBase, __module__=__name__,
                            **{s.name: _section_field(s) for s in _sections()})

# The manifest's platform sections: what a runbook step's `if_manifest` may name.
MANIFEST_PLATFORMS = tuple(s.name for s in _sections() if s.is_account)


def account_ids(model: ManifestBase) -> list[tuple[str, str, str]]:
    """(kind, field path, id) of every account the manifest claims, GA4 properties included."""
    found, many = [], []
    for section in _sections():
        part = getattr(model, section.name, None)
        for claim in section.claims:
            value = getattr(part, claim.field, "") if part is not None else ""
            if claim.many:
                many += [(claim.kind, f"{section.name}.{claim.field}.{i}", claim.show(v))
                         for i, v in enumerate(value or ())]
            elif value:
                found.append((claim.kind, f"{section.name}.{claim.field}", claim.show(value)))
    return found + many


@dataclass(frozen=True)
class ClientManifest:
    """A validated manifest and where it came from (its hash binds plans to it)."""

    model: Manifest
    path: Path
    sha256: str

    @property
    def slug(self) -> str:
        return self.model.slug

    @property
    def name(self) -> str:
        return self.model.name


# --- workspace ---------------------------------------------------------------------------------


class PersonEntry(_Model):
    name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    roles: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: {sorted(ROLES)}")
        return roles


class WorkspaceSection(_Model):
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


class AgencySection(_Model):
    identities: list[str] = Field(default_factory=list)


class ApprovalSection(_Model):
    chain: list[str] = Field(default_factory=lambda: ["approver_1", "approver_2"])
    finance_role: str = "finance"
    processing_role: str = "accounting"

    @field_validator("chain")
    @classmethod
    def _chain_roles(cls, roles: list[str]) -> list[str]:
        if not roles:
            raise ValueError("the approval chain is empty: at least one role approves before "
                             "the processing role, e.g. [\"approver_1\", \"approver_2\"]")
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
                raise ValueError(f"{name} {getattr(self, name)!r} is also in the chain: the "
                                 "chain's approvers and the finance and processing roles differ")
        if self.finance_role == self.processing_role:
            raise ValueError(f"finance_role and processing_role are both "
                             f"{self.finance_role!r}: they are different steps")
        return self

    @field_validator("finance_role", "processing_role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {sorted(ROLES)}")
        return role


class NotificationsSection(_Model):
    distribution_list: list[str] = Field(default_factory=list)
    sender: str = "adoffboard@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535, strict=True)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: str = ""
    smtp_password: str = ""  # a credential reference, e.g. env:SMTP_PASSWORD
    # Change requests: reminders N days before an effective (or pause end) date, to the roles of
    # each department's team.
    reminder_days: list[Annotated[int, Field(strict=True)]] = Field(
        default_factory=lambda: [7, 1])
    reminder_roles: dict[str, list[str]] = Field(default_factory=lambda: {
        "SEM": ["sem_specialist", "sem_team_lead"], "MA": ["ma_specialist", "ma_team_lead"]})

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


class ScheduleSection(_Model):
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


# [platforms.<name>] tables, validated when the workspace loads; connectors read them as dicts.
PLATFORM_SETTINGS: dict[str, type[BaseModel]] = {p: d.settings for p, d in REGISTRY.items()}


class Workspace(_Model):
    workspace: WorkspaceSection = WorkspaceSection()
    agency: AgencySection = AgencySection()
    people: dict[str, PersonEntry] = Field(default_factory=dict)
    approval: ApprovalSection = ApprovalSection()
    notifications: NotificationsSection = NotificationsSection()
    schedule: ScheduleSection = ScheduleSection()
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
            return prefix + str((self.root / url[len(prefix):]).resolve())
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
                    problems.append(Problem(
                        str(manifest.path), claims[kind, value],
                        f"{kind} {value} is also in {other.path.name} ({other.name})",
                        "an account belongs to one client: fix the id in one of the manifests"))
        return problems


def _problems_from(exc: ValidationError, file: str, hints: dict[str, str]) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        if err["type"] == "missing":
            message = "required field is missing"
        key = str(err["loc"][-1]) if err["loc"] else ""
        problems.append(Problem(file, loc, message, hints.get(key, "")))
    return problems


_MANIFEST_HINTS = {
    "expected_name": "the account's descriptive name exactly as the platform shows it",
    "slug": "the file name without .yaml: lowercase letters, digits, dashes",
    "departments": "a list of SEM and/or MA",
    "email": "an address like name@agency.example",
    **{k: v for s in _sections() for k, v in s.hints.items()},
}


def read_manifest(path: Path) -> tuple[ClientManifest | None, list[Problem]]:
    """Parse and validate one manifest; return every problem found."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), "", f"cannot read: {exc.strerror}")]
    manifest, problems = _parse_manifest(raw, str(path))
    return manifest, list(problems)


def read_text(raw: bytes, name: str) -> str:
    """The text of a workspace file, or InputError naming it when it is not UTF-8 text (a
    binary file, another encoding) or holds NUL characters."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    if "\x00" in text:
        raise InputError(f"{name}: not a text file (it contains NUL characters)")
    return text


def load_yaml(raw: bytes, name: str) -> Any:
    """YAML from a workspace file: InputError for non-text; yaml.YAMLError for bad syntax."""
    text = read_text(raw, name)
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


@lru_cache(maxsize=512)
def _parse_manifest(raw: bytes, name: str) -> tuple[ClientManifest | None, tuple[Problem, ...]]:
    """Parse once per content: every client load compares the accounts of every manifest."""
    manifest, problems = _validate_manifest(raw, name)
    return manifest, tuple(problems)


def _validate_manifest(raw: bytes, name: str) -> tuple[ClientManifest | None, list[Problem]]:
    path = Path(name)
    try:
        data = load_yaml(raw, name)
    except InputError as exc:
        return None, [Problem(name, "", str(exc).removeprefix(f"{name}: "),
                              "a manifest is a UTF-8 YAML file")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        return None, [Problem(name, where, "not valid YAML", "check indentation and quotes")]
    if not isinstance(data, dict):
        return None, [Problem(name, "", "must be a mapping of fields", "see `adoffboard init`")]
    try:
        model = Manifest.model_validate(data)
    except ValidationError as exc:
        return None, _problems_from(exc, name, _MANIFEST_HINTS)
    problems = []
    if model.slug != path.stem:
        problems.append(Problem(name, "slug", f"{model.slug!r} differs from the file name",
                                f"rename the file to {model.slug}.yaml or fix the slug"))
    for section in _sections():
        part = getattr(model, section.name, None)
        if part is not None and section.check is not None:
            problems += [Problem(name, f"{section.name}.{where}", message, hint)
                         for where, message, hint in section.check(part)]
    if problems:
        return None, problems
    return ClientManifest(model, path, hashlib.sha256(raw).hexdigest()), []


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
        raise ManifestProblems(_problems_from(exc, str(path), {})) from exc
    for platform, raw in config.platforms.items():
        model = PLATFORM_SETTINGS.get(platform)
        if model is None:
            raise InputError(f"{path}: [platforms.{platform}]: unknown platform; known: "
                             f"{', '.join(sorted(PLATFORM_SETTINGS))}")
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            probs = _problems_from(exc, str(path), {})
            raise ManifestProblems(
                [Problem(p.file, f"platforms.{platform}.{p.field}", p.message, p.hint)
                 for p in probs]
            ) from exc
    return LoadedWorkspace(root, config)
