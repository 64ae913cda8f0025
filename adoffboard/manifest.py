"""The client manifests (`clients/<slug>.yaml`), and what reading any workspace file shares.

A manifest holds what every client has (slug, name, departments, Account Manager) and one section
per platform account, composed from the platform declarations (`connectors/<platform>/
declaration.py`). It is validated at the edge with pydantic, and every problem is reported at
once as `file: field: message (hint)`, so that one pass fixes a manifest instead of one error per
try.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from adoffboard.connectors import REGISTRY
from adoffboard.connectors.declare import ManifestSection
from adoffboard.errors import InputError

try:  # libyaml's parser: the same documents, parsed several times faster
    from yaml import CSafeLoader as YamlLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as YamlLoader  # type: ignore[assignment]

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


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


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(StrictModel):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ManifestBase(StrictModel):
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
    Manifest = create_model(
        "Manifest",
        __base__=ManifestBase,
        __module__=__name__,
        **{s.name: _section_field(s) for s in _sections()},
    )

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
                many += [
                    (claim.kind, f"{section.name}.{claim.field}.{i}", claim.show(v))
                    for i, v in enumerate(value or ())
                ]
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


def problems_from(exc: ValidationError, file: str, hints: dict[str, str]) -> list[Problem]:
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
        return yaml.load(text, Loader=YamlLoader)  # a safe loader, C or pure Python
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
        return None, [
            Problem(name, "", str(exc).removeprefix(f"{name}: "), "a manifest is a UTF-8 YAML file")
        ]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        return None, [Problem(name, where, "not valid YAML", "check indentation and quotes")]
    if not isinstance(data, dict):
        return None, [Problem(name, "", "must be a mapping of fields", "see `adoffboard init`")]
    try:
        model = Manifest.model_validate(data)
    except ValidationError as exc:
        return None, problems_from(exc, name, _MANIFEST_HINTS)
    problems = []
    if model.slug != path.stem:
        problems.append(
            Problem(
                name,
                "slug",
                f"{model.slug!r} differs from the file name",
                f"rename the file to {model.slug}.yaml or fix the slug",
            )
        )
    for section in _sections():
        part = getattr(model, section.name, None)
        if part is not None and section.check is not None:
            problems += [
                Problem(name, f"{section.name}.{where}", message, hint)
                for where, message, hint in section.check(part)
            ]
    if problems:
        return None, problems
    return ClientManifest(model, path, hashlib.sha256(raw).hexdigest()), []
