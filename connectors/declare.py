"""How a platform declares itself: one `Declaration` per folder (`<platform>/declaration.py`).

A declaration says what the rest of adoffboard needs to know without importing the connector or
its vendor SDK: its title, the actions a runbook may name (with their phase), whether `restore`
can put its changes back, the vendor modules to preload, the `[platforms.<name>]` settings model
and the client-manifest sections it reads. `adoffboard.connectors.REGISTRY` is built from them and
`adoffboard.config` composes the workspace's settings and the manifest model from the registry.

Importing a declaration must stay cheap: pydantic, the standard library and adoffboard's own light
modules only (never `adoffboard.config` or `connectors.base`, which import the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from adoffboard.credentials import check_reference
from adoffboard.models import Change, Phase

# the vendor modules of the connectors built on google-api-python-client
GOOGLE_REST_SDK = (
    "google.oauth2.credentials",
    "google.oauth2.service_account",
    "google_auth_httplib2",
    "googleapiclient.discovery",
    "googleapiclient.discovery_cache",  # imported by the first `build`, in a platform's thread
    "googleapiclient.errors",
    "googleapiclient.http",
)
# gRPC's channel, interceptor and call-credentials modules, which it imports only when the first
# channel is made (in a platform's thread); Google Ads and Google Analytics share them
GRPC_SDK = ("grpc._channel", "grpc._interceptor", "grpc._plugin_wrapping")
SECRET: dict[str, Any] = {"secret": True}  # json_schema_extra of a field that holds a secret


class SettingsModel(BaseModel):
    """A `[platforms.<name>]` table or a manifest section: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def optional_reference(value: str) -> str:
    """An empty value, or a valid credential reference (env:NAME, keyring:..., file:...)."""
    if value and (problem := check_reference(value)):
        raise ValueError(problem)
    return value


def required_reference(value: str) -> str:
    """A valid credential reference."""
    if problem := check_reference(value):
        raise ValueError(problem)
    return value


# A credential reference (never the secret itself): resolved by adoffboard.credentials when used.
SecretRef = Annotated[str, AfterValidator(optional_reference), Field(json_schema_extra=SECRET)]
RequiredSecretRef = Annotated[
    str, AfterValidator(required_reference), Field(json_schema_extra=SECRET)
]

# Numbers of the workspace file, bounded: a typo (timeout_s = 1e300, attempts = 0) is reported
# where it was written rather than failing deep inside a connector.
TimeoutSeconds = Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)]
Attempts = Annotated[int, Field(ge=1, le=20, strict=True)]


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of a settings model marked as holding a secret (a credential reference)."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
    )


@dataclass(frozen=True)
class ActionSpec:
    """An action a runbook step may name: what it does and when it runs."""

    summary: str
    phase: Phase = Phase.ADS
    check_only: bool = False  # a read-only check attached to a manual step


@dataclass(frozen=True)
class Claim:
    """A manifest field naming an account only one client may have (two manifests naming the
    same one would let one client's offboarding touch the other's account)."""

    kind: str  # e.g. "Google Ads customer"
    field: str  # the field of the platform's manifest section
    show: Callable[[str], str] = str
    many: bool = False  # a list of ids (e.g. GA4 properties), each claimed


@dataclass(frozen=True)
class ManifestSection:
    """A top-level field of the client manifest that a platform reads."""

    name: str
    model: type[BaseModel] | None = None  # the section's model; None with `annotation`
    annotation: Any = None  # a plain type instead (Sheets' `trackers: dict[str, str]`)
    claims: tuple[Claim, ...] = ()
    hints: Mapping[str, str] = field(default_factory=dict)  # field -> hint for its errors
    # more checks of a valid section: (field, message, hint) of each problem
    check: Callable[[Any], list[tuple[str, str, str]]] | None = None

    @property
    def is_account(self) -> bool:
        """An optional account section: what a runbook step's `if_manifest` may name."""
        return self.model is not None


@dataclass(frozen=True)
class Declaration:
    platform: str
    title: str
    module: str  # the connector's module, imported only when the platform is used
    cls: str
    settings: type[BaseModel]  # the `[platforms.<platform>]` table
    actions: Mapping[str, ActionSpec]
    manifest_key: str = ""  # the manifest section its accounts are in ("" : several, see http)
    manifest: tuple[ManifestSection, ...] = ()
    restorable: bool = False  # `restore` can read its values back and write the old ones
    # when not empty, only changes to these entity types are restorable (e.g. Sheets cells, not
    # the rows a cancellation deletes or appends): the others are reported as not restored
    restorable_entities: frozenset[str] = frozenset()
    # the vendor modules its connector imports while it works: imported by `build` in the
    # calling (main) thread, since two first imports of shared Google packages racing in the
    # engine's platform threads can deadlock
    sdk: tuple[str, ...] = ()

    def phase(self, action: str) -> Phase | None:
        spec = self.actions.get(action)
        return spec.phase if spec is not None else None

    def restores(self, change: Change) -> bool:
        """Whether `restore` can put this change back."""
        return self.restorable and (
            not self.restorable_entities or change.entity_type in self.restorable_entities
        )

    @property
    def secrets(self) -> frozenset[str]:
        """The settings fields that hold credential references."""
        return secret_fields(self.settings)


M = TypeVar("M", bound=BaseModel)


def section(manifest: object, name: str, model: type[M]) -> M | None:
    """A platform's section of a client manifest, typed (None when the manifest has none)."""
    value = getattr(manifest, name, None)
    return value if isinstance(value, model) else None


class GoogleUserOAuth(SettingsModel):
    """A user's OAuth refresh token with the OAuth client it was issued to
    (`adoffboard auth <platform>` writes them); refreshed at `token_uri` (empty: Google's)."""

    client_id: SecretRef = ""
    client_secret: SecretRef = ""
    refresh_token: SecretRef = ""
    token_uri: str = ""


class GoogleApiSettings(GoogleUserOAuth):
    """Google Analytics, Search Console and Tag Manager: an OAuth access token, a user's
    refresh token, or a service account's key file (its path; the file holds the secret)."""

    endpoint: str = ""  # e.g. http://127.0.0.1:PORT for the sandbox; empty: Google's own host
    access_token: SecretRef = ""
    credentials_file: str = ""
    timeout_s: TimeoutSeconds = 60.0
    attempts: Attempts = 5


def check_references(values: Mapping[str, str]) -> None:
    """Each value empty or a reference; "{account_id}" in one stands for the client's account
    (one workspace holds every dealer's key: keyring:adoffboard/sharpspring-{account_id})."""
    for key, value in values.items():
        if value and (problem := check_reference(value.replace("{account_id}", "0"))):
            raise ValueError(f"{key}: {problem}")


class SimpleAccount(SettingsModel):
    """A manifest section naming one account by id (SharpSpring, NinjaCat, Fluency)."""

    account_id: str = Field(min_length=1)
    expected_name: str = ""
