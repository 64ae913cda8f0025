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
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adoffboard.credentials import check_reference
from adoffboard.errors import InputError, ManifestProblems, NotFound

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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Numbers of the workspace file, bounded: a typo (timeout_s = 1e300, attempts = 0) is reported
# where it was written rather than failing deep inside a connector.
TimeoutSeconds = Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)]
Attempts = Annotated[int, Field(ge=1, le=20, strict=True)]


def google_ads_id(value: str) -> str:
    """Normalise a Google Ads customer id ('123-456-7890' or '1234567890') to 10 digits."""
    text = str(value).strip()
    if not re.fullmatch(r"\d{3}-?\d{3}-?\d{4}", text):
        raise ValueError("must be a 10-digit customer id like 123-456-7890")
    return text.replace("-", "")


def show_google_ads_id(cid: str) -> str:
    return f"{cid[:3]}-{cid[3:6]}-{cid[6:]}"


# --- manifest ----------------------------------------------------------------------------------


class Person(_Model):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class GoogleAdsAccount(_Model):
    customer_id: str
    manager_id: str
    expected_name: str = Field(min_length=1)

    _ids = field_validator("customer_id", "manager_id", mode="before")(
        lambda cls, v: google_ads_id(v)
    )


class MicrosoftAdsAccount(_Model):
    account_id: str = Field(pattern=r"^\d{4,12}$")
    customer_id: str = Field(pattern=r"^\d{4,12}$")
    expected_name: str = Field(min_length=1)


class MetaAdAccount(_Model):
    ad_account_id: str = Field(pattern=r"^act_\d{5,20}$")
    expected_name: str = Field(min_length=1)


class GA4Access(_Model):
    account_id: str = Field(pattern=r"^\d{4,15}$")
    property_ids: list[str] = Field(default_factory=list)
    expected_name: str = ""  # the account's display name; checked when set

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("property_ids", mode="before")
    @classmethod
    def _property_digits(cls, ids: Any) -> Any:
        if not isinstance(ids, list):
            return ids
        text = [str(p) for p in ids]
        bad = [p for p in text if not re.fullmatch(r"\d{4,15}", p)]
        if bad:
            raise ValueError(f"property ids must be digits like 123456789, not {bad}")
        return text


class SearchConsoleSite(_Model):
    site_url: str = Field(pattern=r"^(https?://\S+/|sc-domain:\S+)$")


class TagManagerAccount(_Model):
    account_id: str = Field(pattern=r"^\d{4,15}$")
    expected_name: str = ""  # the account's name in Tag Manager; checked when set

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class SimpleAccount(_Model):
    account_id: str = Field(min_length=1)
    expected_name: str = ""


class TrelloCard(_Model):
    # the card's id (24 hex) or short link (8 characters); without it, the card is looked up on
    # the SEM QA board by `card_name` (default: the client's name), and must be the only match
    card_id: str = Field(default="", pattern=r"^$|^[0-9a-fA-F]{24}$|^[A-Za-z0-9]{8}$")
    card_name: str = ""


class Manifest(_Model):
    slug: str = Field(pattern=SLUG.pattern)
    name: str = Field(min_length=1)
    departments: list[Literal["SEM", "MA"]] = Field(min_length=1)
    account_manager: Person
    remove_identities: list[str] = Field(default_factory=list)
    google_ads: GoogleAdsAccount | None = None
    microsoft_ads: MicrosoftAdsAccount | None = None
    meta: MetaAdAccount | None = None
    ga4: GA4Access | None = None
    search_console: SearchConsoleSite | None = None
    tag_manager: TagManagerAccount | None = None
    ninjacat: SimpleAccount | None = None
    fluency: SimpleAccount | None = None
    sharpspring: SimpleAccount | None = None
    trello: TrelloCard | None = None
    trackers: dict[str, str] = Field(default_factory=dict)


# The manifest's platform sections: what a runbook step's `if_manifest` may name.
MANIFEST_PLATFORMS = ("google_ads", "microsoft_ads", "meta", "ga4", "search_console",
                      "tag_manager", "ninjacat", "fluency", "sharpspring", "trello")

# The fields that name an account only one client may have, by kind: two manifests naming the
# same one would let one client's offboarding touch the other's account.
_ACCOUNT_FIELDS: dict[str, tuple[str, str]] = {  # kind -> (section, field)
    "Google Ads customer": ("google_ads", "customer_id"),
    "Microsoft Advertising account": ("microsoft_ads", "account_id"),
    "Meta ad account": ("meta", "ad_account_id"),
    "GA4 account": ("ga4", "account_id"),
    "Search Console property": ("search_console", "site_url"),
    "Tag Manager account": ("tag_manager", "account_id"),
    "NinjaCat account": ("ninjacat", "account_id"),
    "Fluency account": ("fluency", "account_id"),
    "SharpSpring account": ("sharpspring", "account_id"),
    "Trello card": ("trello", "card_id"),
}


def account_ids(model: Manifest) -> list[tuple[str, str, str]]:
    """(kind, field path, id) of every account the manifest claims, GA4 properties included."""
    found = []
    for kind, (section, name) in _ACCOUNT_FIELDS.items():
        part = getattr(model, section)
        value = getattr(part, name, "") if part is not None else ""
        if value:
            shown = show_google_ads_id(value) if section == "google_ads" else str(value)
            found.append((kind, f"{section}.{name}", shown))
    if model.ga4 is not None:
        found += [("GA4 property", f"ga4.property_ids.{i}", p)
                  for i, p in enumerate(model.ga4.property_ids)]
    return found


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


class GoogleAdsSettings(_Model):
    endpoint: str = ""
    ca_file: str = ""
    developer_token: str
    access_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5

    @field_validator("developer_token", "access_token", "client_id", "client_secret",
                     "refresh_token")
    @classmethod
    def _refs(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


class MicrosoftAdsSettings(_Model):
    """`[platforms.microsoft_ads]`: `endpoint` replaces both services' hosts (the sandbox);
    empty means Microsoft's own hosts for `environment` (production, or Microsoft's sandbox)."""

    endpoint: str = ""
    customer_endpoint: str = ""  # Customer Management host, when it differs from `endpoint`
    environment: Literal["production", "sandbox"] = "production"
    developer_token: str
    access_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5

    @field_validator("developer_token", "access_token", "client_id", "client_secret",
                     "refresh_token")
    @classmethod
    def _refs(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


class MetaSettings(_Model):
    """[platforms.meta]: the agency's Meta app and the token of a system user of its business."""

    endpoint: str = ""  # default https://graph.facebook.com
    app_id: str = Field(pattern=r"^\d{1,20}$")
    app_secret: str
    access_token: str
    agency_business_id: str = Field(pattern=r"^\d{1,20}$")  # removed by remove_agency
    page_size: int = Field(default=500, ge=1, le=5000, strict=True)
    max_throttle_wait_s: float = Field(default=900.0, ge=0, le=3600, allow_inf_nan=False)
    slow_down_at_pct: float = Field(default=75.0, gt=0, le=100, allow_inf_nan=False)
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5

    @field_validator("app_secret", "access_token")
    @classmethod
    def _refs(cls, value: str) -> str:
        if problem := check_reference(value):
            raise ValueError(problem)
        return value


class GoogleApiSettings(_Model):
    """Google Analytics, Search Console and Tag Manager: an OAuth access token or a service
    account's key file (its path; the file holds the secret)."""

    endpoint: str = ""  # e.g. http://127.0.0.1:PORT for the sandbox; empty: Google's own host
    access_token: str = ""
    credentials_file: str = ""
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5

    @field_validator("access_token")
    @classmethod
    def _refs(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


class TagManagerSettings(GoogleApiSettings):
    # Tag Manager allows 0.25 requests/s per project: one request every 4 s
    min_interval_s: float = Field(default=4.0, ge=0.0, le=60, allow_inf_nan=False)


# Values a Google Sheets tracker row may be written from: `{name}` placeholders in templates.
SHEETS_FIELDS = {
    "client": "the client's name (or its per-tracker key from the manifest's `trackers`)",
    "client_slug": "the manifest's slug",
    "departments": "the client's departments, e.g. 'SEM, MA'",
    "account_manager": "the Account Manager's name",
    "account_manager_email": "the Account Manager's email",
    "effective_date": "the plan's effective date (YYYY-MM-DD)",
    "process": "the runbook's process: cancellation, pause, unpause or addendum",
    "type": "the process as a title: Cancellation, Pause, ...",
    "scope": "'Digital marketing services only' or 'Leaving the platform'",
    "department": "the runbook's department (SEM or MA)",
    "runbook": "the runbook's name",
    "pause_end": "the pause end date, when the plan has one",
    "change_request": "the change request's id, when the plan has one",
}


def template_fields(template: str) -> list[str]:
    """The `{name}` placeholders of a template; ValueError when it is malformed."""
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _check_template(template: str) -> str:
    try:
        names = template_fields(template)
    except ValueError as exc:
        raise ValueError(f"malformed template {template!r}: {exc}") from None
    unknown = sorted(set(names) - set(SHEETS_FIELDS))
    if unknown:
        raise ValueError(f"unknown placeholder(s) {unknown} in {template!r}; "
                         f"known: {sorted(SHEETS_FIELDS)}")
    return template


class SheetCell(_Model):
    column: str = Field(min_length=1)  # the header of the column, as written in row 1
    value: str  # a template, e.g. "{effective_date}" or "Paused"

    _value = field_validator("value")(lambda cls, v: _check_template(v))


class SheetsTracker(_Model):
    """One tracker: a tab of a spreadsheet whose first row holds the column headers."""

    spreadsheet_id: str = Field(min_length=1)
    tab: str = Field(min_length=1)
    key_column: str = "Client"  # the header of the column that names the client
    expected_title: str = ""  # when set, the spreadsheet's title must match before anything
    append: dict[str, str] = Field(default_factory=dict)  # header -> template, for append_row
    # the columns that make an appended row "this client's row for this change"; default: the
    # key column and every appended column written from {effective_date}, {process}, {type} or
    # {department}
    match_columns: list[str] = Field(default_factory=list)
    cells: dict[str, SheetCell] = Field(default_factory=dict)  # name -> cell, for set_cell
    value_input: Literal["RAW", "USER_ENTERED"] = "RAW"

    @field_validator("append")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            _check_template(template)
        return value


class SheetsSettings(_Model):
    endpoint: str = ""  # e.g. http://127.0.0.1:8080/ for the sandbox; empty: Google's
    access_token: str = ""  # a reference
    credentials_file: str = ""  # a service-account key file: a path, or env:NAME holding one
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5
    trackers: dict[str, SheetsTracker] = Field(default_factory=dict)

    @field_validator("access_token")
    @classmethod
    def _ref(cls, value: str) -> str:
        if value and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


def _check_refs(values: dict[str, str]) -> None:
    for key, value in values.items():
        if value and (problem := check_reference(value.replace("{account_id}", "0"))):
            raise ValueError(f"{key}: {problem}")


class TrelloSettings(_Model):
    endpoint: str = "https://api.trello.com"
    api_key: str  # credential references
    token: str
    board_id: str = Field(pattern=r"^[0-9a-fA-F]{24}$")  # the SEM QA board (its 24-hex id)
    auth: Literal["header", "query"] = "header"  # OAuth header keeps key and token out of URLs
    timeout_s: TimeoutSeconds = 30.0
    attempts: Attempts = 5

    @field_validator("api_key", "token")
    @classmethod
    def _refs(cls, value: str) -> str:
        _check_refs({"reference": value})
        return value


class SharpSpringSettings(_Model):
    endpoint: str = "https://api.sharpspring.com/pubapi/v1.2/"
    # references; "{account_id}" in them is replaced by the client's account id, so that one
    # workspace can hold every dealer's key (e.g. keyring:adoffboard/sharpspring-{account_id})
    secret_key: str
    account_id: str = ""  # when set, the account the key belongs to: must be the manifest's
    per_second: int = Field(default=10, ge=1, le=10, strict=True)
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5

    @field_validator("secret_key", "account_id")
    @classmethod
    def _refs(cls, value: str) -> str:
        _check_refs({"reference": value})
        return value


class HttpEndpoint(_Model):
    """One vendor call the generic `http` connector may make (see connectors/http_step.py)."""

    enabled: bool = False
    title: str = ""
    manifest_key: Literal["ninjacat", "fluency"]  # whose account_id fills {account_id}
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(pattern=r"^https?://[^\s@]+$")
    body: dict[str, Any] | None = None  # JSON; {account_id} is replaced in string values
    expected_status: list[Annotated[int, Field(ge=100, le=599, strict=True)]] = Field(
        default_factory=lambda: [200, 201, 202, 204], min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)  # "Bearer env:TOKEN" or "env:TOKEN"
    verify_url: str = Field(pattern=r"^https?://[^\s@]+$")
    verify_json_path: str = ""  # dotted path in the verify response, e.g. "settings.hold"
    verify_equals: Any = None
    # removals: done when verify_url answers 404 or 410
    verify_gone: bool = Field(default=False, validate_default=True)
    name_json_path: str = ""  # where the verify response names the account (tenant guard)

    @field_validator("headers")
    @classmethod
    def _header_refs(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if problem := check_reference(value.split(" ")[-1]):
                raise ValueError(f"header {name}: {problem} (optionally after a scheme: "
                                 "\"Bearer env:TOKEN\")")
        return headers

    @field_validator("url", "verify_url")
    @classmethod
    def _no_query_secrets(cls, value: str) -> str:
        if re.search(r"(?i)[?&](key|token|secret|password|api_key|apikey)=", value):
            raise ValueError("put credentials in `headers` (as references), not in the URL")
        return value

    @field_validator("verify_gone")
    @classmethod
    def _one_verification(cls, gone: bool, info: Any) -> bool:
        if gone == bool(info.data.get("verify_json_path")):
            raise ValueError("set exactly one of verify_json_path (with verify_equals) or "
                             "verify_gone")
        return gone


class HttpSettings(_Model):
    timeout_s: TimeoutSeconds = 30.0
    attempts: Attempts = 5
    endpoints: dict[str, HttpEndpoint] = Field(default_factory=dict)


# [platforms.<name>] tables, validated when the workspace loads; connectors read them as dicts.
PLATFORM_SETTINGS: dict[str, type[BaseModel]] = {
    "google_ads": GoogleAdsSettings,
    "microsoft_ads": MicrosoftAdsSettings,
    "meta": MetaSettings,
    "ga4": GoogleApiSettings,
    "search_console": GoogleApiSettings,
    "tag_manager": TagManagerSettings,
    "sheets": SheetsSettings,
    "trello": TrelloSettings,
    "sharpspring": SharpSpringSettings,
    "http": HttpSettings,
}


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
    "customer_id": "Google Ads ids look like 123-456-7890",
    "manager_id": "the agency's manager (MCC) id, like 111-222-3333",
    "expected_name": "the account's descriptive name exactly as the platform shows it",
    "slug": "the file name without .yaml: lowercase letters, digits, dashes",
    "departments": "a list of SEM and/or MA",
    "ad_account_id": "Meta ad account ids look like act_1234567890",
    "email": "an address like name@agency.example",
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
    ads = model.google_ads
    if ads is not None and ads.manager_id == ads.customer_id:
        problems.append(Problem(name, "google_ads.manager_id",
                                "is the client's own customer id",
                                "the agency's manager (MCC) account that links to it, like "
                                "111-222-3333"))
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
