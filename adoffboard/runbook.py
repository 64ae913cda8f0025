"""Runbooks: the agency's checklists as versioned YAML, one step per checklist line (or part).

A step names its owner role, its condition (every scope, or only when the client leaves the
platform), its timing (immediately, or on the effective date) and either a connector action or
manual instructions. Manual steps may carry a read-only `check` that verify runs for evidence,
and an `action_if_configured`: the connector action that replaces the manual instructions in a
workspace that configures that connector (and, for connectors that say so, enables the action,
e.g. an `http` endpoint with `enabled = true`); elsewhere the step stays manual.
`settle_optional_actions` makes that choice once per workspace, so that the rest of the engine
only ever sees plain action steps and plain manual steps.
Runbooks ship in the package; a workspace's `runbooks/` folder can add or override them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adoffboard.config import MANIFEST_PLATFORMS, ROLES, Problem, load_yaml
from adoffboard.errors import InputError, NotFound

Scope = Literal["dm", "platform"]
# What of a change request's own history settles a step (`settled_by`): the step is then judged
# from the request's transitions and notices (PASS by whom and when, or SKIPPED where it does not
# apply), not left to a person's attestation. The application layer computes it
# (`adoffboard.verdicts`); the engine only receives the result.
SettledBy = Literal[
    "created",
    "save-attempt",
    "submitted",
    "submitted-by-account-manager",
    "submitted-by-retention",
    "approval-first",
    "approval-second",
    "approval-finance",
    "processed",
    "approval-notice",
    "forwarded-to-specialist",
    "reminders",
    "pause-end-date",
]
SETTLED_BY: tuple[str, ...] = get_args(SettledBy)
SCOPES: dict[str, str] = {
    "dm": "digital marketing services only",
    "platform": "leaving the platform entirely",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionRef(_Model):
    connector: str
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class ManualSpec(_Model):
    instructions: str = Field(min_length=1)


class RestoreSpec(_Model):
    """Put back what the client's latest applied run of `runbook` changed ("" = a run named on
    the command line, for `adoffboard restore RUN`)."""

    runbook: str = ""


class Step(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,80}$")
    title: str = Field(min_length=1)
    part: str = ""
    section: str = ""
    department: str = Field(min_length=1)
    owner: str
    when: Literal["always", "leaving_platform"] = "always"
    if_manifest: str = ""  # the step applies only when the manifest has this platform
    timing: Literal["immediately", "effective_date"]
    action: ActionRef | None = None
    manual: ManualSpec | None = None
    restore: RestoreSpec | None = None
    check: ActionRef | None = None
    action_if_configured: ActionRef | None = None  # a manual step automated where configured
    automation_planned: str = ""
    settled_by: SettledBy | None = None  # a manual step the change request's history settles
    covers: list[str] = Field(default_factory=list)
    verify: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in (self.action, self.manual, self.restore) if k is not None]
        if len(kinds) != 1:
            raise ValueError("a step needs exactly one of `action`, `manual` or `restore`")
        if self.action_if_configured is not None and self.manual is None:
            raise ValueError("`action_if_configured` belongs on a manual step (its fallback)")
        if self.settled_by is not None and self.manual is None:
            raise ValueError("`settled_by` belongs on a manual step (what a person does otherwise)")
        if self.owner not in ROLES:
            raise ValueError(f"owner {self.owner!r} is not a known role: {sorted(ROLES)}")
        return self

    @field_validator("if_manifest")
    @classmethod
    def _manifest_platform(cls, value: str) -> str:
        if value and value not in MANIFEST_PLATFORMS:  # a typo would skip the step silently
            raise ValueError(
                f"{value!r} is not a manifest platform: {', '.join(MANIFEST_PLATFORMS)}"
            )
        return value

    def applies(self, scope: str) -> bool:
        return self.when == "always" or scope == "platform"

    @property
    def lines(self) -> list[str]:
        """Every checklist line this step carries out."""
        return [self.title, *self.covers]


class Runbook(_Model):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    title: str
    department: Literal["SEM", "MA"]
    process: Literal["cancellation", "pause", "unpause", "addendum", "restore"]
    source: str
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Runbook:
        ids = [s.id for s in self.steps]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate step ids: {dupes}")
        # What a process may do is part of its gate: a restore needs no change request, so it
        # may only put values back; only an un-pause or a restore puts values back.
        for step in self.steps:
            if self.process == "restore" and (step.action or step.action_if_configured):
                raise ValueError(
                    f"step {step.id}: a restore runbook only puts values back "
                    "(`restore` or `manual` steps), it has no actions"
                )
            if step.restore is not None and self.process not in ("unpause", "restore"):
                raise ValueError(f"step {step.id}: only an unpause or restore runbook restores")
        return self


@dataclass(frozen=True)
class LoadedRunbook:
    model: Runbook
    path: str
    sha256: str

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> int:
        return self.model.version


def _check_actions(book: Runbook, where: str) -> list[Problem]:
    from adoffboard.connectors import REGISTRY

    problems = []
    for i, step in enumerate(book.steps):
        for kind, ref in (
            ("action", step.action),
            ("check", step.check),
            ("action_if_configured", step.action_if_configured),
        ):
            if ref is None:
                continue
            entry = REGISTRY.get(ref.connector)
            if entry is None:
                problems.append(
                    Problem(
                        where,
                        f"steps.{i}.{kind}.connector",
                        f"unknown connector {ref.connector!r}",
                        f"known: {', '.join(sorted(REGISTRY))}",
                    )
                )
            elif ref.name not in entry.actions:
                problems.append(
                    Problem(
                        where,
                        f"steps.{i}.{kind}.name",
                        f"{ref.connector} has no action {ref.name!r}",
                        f"known: {', '.join(sorted(entry.actions))}",
                    )
                )
    return problems


def parse_runbook(text: bytes, where: str) -> tuple[LoadedRunbook | None, list[Problem]]:
    """Parse and check a runbook read from `where` (its file: the runbook's `name` must be the
    file's name without .yaml, the name plans and commands use)."""
    try:
        data = load_yaml(text, where)
    except InputError as exc:
        return None, [
            Problem(
                where, "", str(exc).removeprefix(f"{where}: "), "a runbook is a UTF-8 YAML file"
            )
        ]
    except yaml.YAMLError:
        return None, [Problem(where, "", "not valid YAML", "check indentation and quotes")]
    if not isinstance(data, dict):
        return None, [Problem(where, "", "a runbook must be a mapping with name, version, steps")]
    try:
        book = Runbook.model_validate(data)
    except ValidationError as exc:
        return None, [
            Problem(
                where, ".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, ")
            )
            for e in exc.errors()
        ]
    problems = _check_actions(book, where)
    stem = Path(where).name.removesuffix(".yaml")
    if book.name != stem:
        problems.append(
            Problem(
                where,
                "name",
                f"{book.name!r} differs from the file name",
                f"rename the file to {book.name}.yaml or set name: {stem}",
            )
        )
    if problems:
        return None, problems
    return LoadedRunbook(book, where, hashlib.sha256(text).hexdigest()), []


def workspace_runbook_problems(workspace_root: Path) -> list[Problem]:
    """Every problem of the workspace's own runbooks (`runbooks/*.yaml`), for `clients
    validate`: the checks `load_runbook` makes, on every file at once."""
    folder = workspace_root / "runbooks"
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            text = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(str(path), "", f"cannot read: {exc.strerror}"))
            continue
        problems += _parsed(text, str(path))[1]
    return problems


def action_enabled(ref: ActionRef, settings: dict[str, Any] | None) -> bool:
    """Whether a workspace with these `[platforms.<connector>]` settings runs `ref` itself:
    the connector is configured, and its `enabled` hook agrees (e.g. an enabled endpoint)."""
    if settings is None:
        return False
    from importlib import import_module

    from adoffboard.connectors import info

    entry = info(ref.connector)
    connector = getattr(import_module(entry.module), entry.cls)
    return bool(connector.enabled(settings, ref.name, ref.params))


def settle_optional_actions(
    book: LoadedRunbook, settings: Callable[[str], dict[str, Any] | None]
) -> LoadedRunbook:
    """The runbook with every `action_if_configured` either taken (an action step) or dropped
    (the manual step stays), given the workspace's platform settings by connector name.
    `sha256` still names the file, so plans stay bound to it."""
    steps = []
    for step in book.model.steps:
        ref = step.action_if_configured
        if ref is not None and action_enabled(ref, settings(ref.connector)):
            step = step.model_copy(
                update={"action": ref, "manual": None, "check": None, "action_if_configured": None}
            )
        steps.append(step)
    return replace(book, model=book.model.model_copy(update={"steps": steps}))


def _sources(workspace_root: Path | None) -> dict[str, tuple[bytes, str]]:
    found: dict[str, tuple[bytes, str]] = {}
    packaged = resources.files("adoffboard") / "runbooks"
    if packaged.is_dir():
        for entry in packaged.iterdir():
            if entry.name.endswith(".yaml"):
                found[entry.name.removesuffix(".yaml")] = (entry.read_bytes(), entry.name)
    if workspace_root is not None and (workspace_root / "runbooks").is_dir():
        for path in sorted((workspace_root / "runbooks").glob("*.yaml")):
            found[path.stem] = (path.read_bytes(), str(path))
    return found


def available(workspace_root: Path | None) -> list[str]:
    return sorted(_sources(workspace_root))


@lru_cache(maxsize=64)
def _parsed(text: bytes, where: str) -> tuple[LoadedRunbook | None, tuple[Problem, ...]]:
    """Parse once per content: the scheduler and reminders look runbooks up for every request."""
    book, problems = parse_runbook(text, where)
    return book, tuple(problems)


def load_runbook(name: str, workspace_root: Path | None) -> LoadedRunbook:
    sources = _sources(workspace_root)
    if name not in sources:
        raise NotFound(f"unknown runbook {name!r} (available: {', '.join(sorted(sources))})")
    text, where = sources[name]
    book, problems = _parsed(text, where)
    if book is None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"runbook {str(problems[0])}{more}")
    _keep_shipped_gate(book)
    return book


def _keep_shipped_gate(book: LoadedRunbook) -> None:
    """A workspace may override a shipped runbook's steps, never the process and department
    that decide which approved change request it needs (its gate)."""
    shipped = _sources(None).get(book.name)
    if shipped is None or shipped[1] == book.path:
        return
    original, _ = _parsed(*shipped)
    if original is None:
        return
    for key in ("process", "department"):
        ours, theirs = getattr(book.model, key), getattr(original.model, key)
        if ours != theirs:
            raise InputError(
                f"runbook {book.path}: {key} {ours!r} overrides the shipped "
                f"{book.name}'s {key} {theirs!r}, which decides the change request it "
                "needs: keep it, or give the runbook another name"
            )
