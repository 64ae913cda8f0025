"""What every engine call needs: the workspace and a clock (`Env`), the store as the engine
uses it (`RunStore`), and reading every platform's state at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import ClientManifest, LoadedWorkspace
from adoffboard.errors import (
    AdoffboardError,
    InputError,
    SafetyRefusal,
)
from adoffboard.models import (
    Change,
    Check,
    Outcome,
    OutcomeStatus,
    Plan,
)
from adoffboard.records import Attestation, RunEvent, RunRecord, Snapshot
from adoffboard.retry import RetryPolicy
from adoffboard.runbook import LoadedRunbook, load_runbook, settle_optional_actions

Progress = Callable[[str, str], None]  # (platform or "engine", message)
FINAL = {OutcomeStatus.APPLIED, OutcomeStatus.ALREADY, OutcomeStatus.DRIFT}


class RunStore(Protocol):
    """The state store as the engine uses it (`adoffboard.store.Store`)."""

    def plan_key(self) -> bytes: ...
    def client_lock(self, client: str, holder: str) -> AbstractContextManager[None]: ...
    def create_run(
        self,
        plan: Plan,
        *,
        plan_path: str = ...,
        change_request: str = ...,
        plan_mac: str = ...,
        started_by: str = ...,
        stage: str = ...,
    ) -> str: ...
    def request_runs(self, change_request: str) -> list[RunRecord]: ...
    def finish_run(self, run_id: str, status: str) -> None: ...
    def run(self, run_id: str) -> RunRecord: ...
    def runs(self, client: str | None = ..., limit: int = ...) -> list[RunRecord]: ...
    def latest_run(self, client: str) -> RunRecord | None: ...
    def add_run_event(
        self, run_id: str, kind: str, detail: str, *, by: str = ..., platform: str = ...
    ) -> None: ...
    def run_events(self, run_id: str) -> list[RunEvent]: ...
    def intend(self, run_id: str, changes: Sequence[Change]) -> None: ...
    def record(self, run_id: str, outcomes: Sequence[Outcome]) -> None: ...
    def outcomes(self, run_id: str) -> dict[str, Outcome]: ...
    def snapshots(self, run_id: str) -> list[Snapshot]: ...
    def save_verification(
        self,
        run_id: str | None,
        client: str,
        runbook: str,
        checks: Sequence[Check],
        *,
        kind: str = ...,
    ) -> int: ...
    def pre_removal_checks(self, run_id: str) -> list[Check]: ...
    def attestations(self, client: str, runbook: str) -> dict[str, Attestation]: ...


# The approval gate, supplied by the caller (`adoffboard.app` hands `cr.gate.require_approved`):
# (store, workspace, plan, runbook, the run's change request id or None) -> the approved request's
# id, or a SafetyRefusal. The engine itself knows nothing of change requests.
ApprovalGate = Callable[[Any, LoadedWorkspace, Plan, LoadedRunbook, "str | None"], str]


@dataclass
class Env:
    """What every engine call needs: the workspace, a clock, and where progress goes."""

    workspace: LoadedWorkspace
    clock: Clock = field(default_factory=SystemClock)
    progress: Progress = lambda platform, message: None

    def today(self) -> dt.date:
        tz = ZoneInfo(self.workspace.config.workspace.timezone)
        return self.clock.now().astimezone(tz).date()

    def connector(
        self,
        platform: str,
        *,
        read_only: bool,
        uses: tuple[tuple[str, Mapping[str, Any]], ...] = (),
    ) -> Any:
        from adoffboard.connectors import build
        from adoffboard.connectors.base import ConnectorContext
        from adoffboard.engine.preload import PRELOAD

        settings = self.settings(platform)
        ctx = ConnectorContext(
            settings=settings,
            workspace_root=self.workspace.root,
            read_only=read_only,
            clock=self.clock,
            retry=RetryPolicy(
                attempts=int(settings.get("attempts", 5)),
                timeout=float(settings.get("timeout_s", 60.0)),
            ),
            progress=lambda message: self.progress(platform, message),
            agency_identities=tuple(self.workspace.config.agency.identities),
            notifications=self.workspace.config.notifications,
            uses=uses,
        )
        PRELOAD.wait(platform)  # its imports, if queued, are done in the preloading thread
        return build(platform, ctx)

    def settings(self, platform: str) -> dict[str, Any]:
        """The platform's settings in the workspace; InputError if it is not configured."""
        from adoffboard.connectors import info

        settings = self.workspace.platform_settings(platform)
        if settings is None:
            title = info(platform).title
            raise InputError(
                f"{title} is not configured: add [platforms.{platform}] to adoffboard.toml"
            )
        return settings

    def preload(self, book: LoadedRunbook, platforms: Sequence[str] | None = None) -> None:
        """Start importing the SDKs of the runbook's configured platforms in the background
        (`adoffboard.engine.preload`), as soon as a command knows which runbook it runs: first
        those `runbook` itself needs, then `platforms` (by default every one a step names, in
        the order of the steps)."""
        from adoffboard.engine.preload import preload

        if platforms is None:
            refs = (s.action or s.check or s.action_if_configured for s in book.model.steps)
            platforms = [r.connector for r in refs if r]
        preload(dict.fromkeys([*self._optional(book), *self._configured(platforms)]))

    def _configured(self, platforms: Iterable[str]) -> list[str]:
        return [p for p in platforms if self.workspace.platform_settings(p) is not None]

    def _optional(self, book: LoadedRunbook) -> list[str]:
        """The configured platforms of the runbook's `action_if_configured` steps, whose
        connectors settling those steps imports."""
        return self._configured(
            s.action_if_configured.connector for s in book.model.steps if s.action_if_configured
        )

    def runbook(self, name: str) -> LoadedRunbook:
        """The runbook, its `action_if_configured` steps settled for this workspace (their
        connectors imported by the preloading thread when it runs, never beside it)."""
        from adoffboard.engine.preload import PRELOAD, preload

        book = load_runbook(name, self.workspace.root)
        optional = self._optional(book)
        preload(optional)
        for platform in optional:
            PRELOAD.wait(platform)
        return settle_optional_actions(book, self.workspace.platform_settings)


def step_params(params: dict[str, Any], inputs: dict[str, Any] | None) -> dict[str, Any]:
    """A step's params with `$name` values taken from the plan's inputs."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in (inputs or {}):
                raise InputError(
                    f"this runbook needs the input {name!r} (e.g. --{name.replace('_', '-')})"
                )
            value = (inputs or {})[name]
        out[key] = value
    return out


def runbook_uses(
    book: LoadedRunbook, platform: str, inputs: Mapping[str, Any] | None = None
) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """What the runbook's steps do on `platform`: (action or check name, params with `$inputs`
    filled in) of each, for `ConnectorContext.uses`. Empty (read everything) when a step
    restores another run's changes, which may touch anything that run touched, or when an
    input is missing (planning then names it)."""
    if any(step.restore is not None for step in book.model.steps):
        return ()
    uses: list[tuple[str, Mapping[str, Any]]] = []
    try:
        for step in book.model.steps:
            for ref in (step.action, step.check):
                if ref is not None and ref.connector == platform:
                    uses.append((ref.name, step_params(ref.params, dict(inputs or {}))))
    except InputError:
        return ()
    return tuple(uses)


def _read_states(
    env: Env,
    connectors: dict[str, Any],
    manifest: ClientManifest,
    tolerate: type[AdoffboardError] = AdoffboardError,
    what: str = "",
) -> tuple[dict[str, Any], dict[str, AdoffboardError]]:
    """Every platform's state, read in parallel. A platform that cannot be read for a reason in
    `tolerate` (its access already removed, credentials refused, unavailable) is returned among
    the failures instead of stopping the others; a tenant mismatch always stops everything."""
    return _open_read(
        env, list(connectors), connectors, connectors.__getitem__, manifest, tolerate, what
    )


def _open_read(
    env: Env,
    platforms: Sequence[str],
    opened: dict[str, Any],
    open_one: Callable[[str], Any],
    manifest: ClientManifest,
    tolerate: type[AdoffboardError] = AdoffboardError,
    what: str = "",
    after_removal: Mapping[str, Any] | None = None,
    adopted: Mapping[str, tuple[Any, Any]] | None = None,
    checks_since: tuple[dt.datetime | None] | None = None,
) -> tuple[dict[str, Any], dict[str, AdoffboardError]]:
    """`_read_states`, each platform's connector opened (`open_one`) in its own worker thread
    and kept in `opened` (in `platforms`' order, for the caller to close), so that a platform
    whose SDK is imported early starts reading without waiting for the others' (`preload`).
    A connector that cannot be opened (not configured) stops everything, as before any read.

    `after_removal`: platforms whose only writes since the state given were the agency's access
    removals: their connectors read only what the removals changed where they can
    (`read_after_removal`: a full read would find the account unreachable anyway).

    `adopted`: {platform: (reader, state)} of the plan's own read, handed over to the apply
    (`adoffboard.engine.handover`): a connector that takes it over is not read again.

    `checks_since`: the read is a verification pass's, judging activity since that moment
    (`Connector.expect_checks`)."""
    from adoffboard.engine.preload import PRELOAD, preload

    to_open = [p for p in platforms if p not in opened]
    for platform in to_open:
        env.settings(platform)  # one not configured is refused before any read
    preload(to_open)  # the workers build only connectors whose imports it has done

    def read(platform: str) -> Any:
        connector = opened.get(platform)
        if connector is None:
            connector = opened[platform] = open_one(platform)
        handed = (adopted or {}).get(platform)
        before = (after_removal or {}).get(platform)
        try:
            if handed is not None and connector.take_over(handed[0], manifest.model, handed[1]):
                env.progress(platform, "settling on the plan's read (no write since, under lock)")
                return handed[1]
            env.progress(platform, f"reading live state{what}")
            if checks_since is not None:
                connector.expect_checks(checks_since[0])
            if before is not None:
                return connector.read_after_removal(manifest.model, before)
            return connector.read_state(manifest.model)
        except SafetyRefusal:
            raise
        except tolerate as exc:
            return exc

    try:
        with ThreadPoolExecutor(max_workers=max(1, len(platforms))) as pool:
            read_back = dict(zip(platforms, pool.map(read, platforms), strict=True))
    finally:
        ordered = {p: opened.pop(p) for p in platforms if p in opened}
        opened.update(ordered)  # the threads opened them in any order: reports list them in order
        PRELOAD.idle()  # what the caller does next may import: not beside the preloading thread
    failed = {p: v for p, v in read_back.items() if isinstance(v, AdoffboardError)}
    return {p: v for p, v in read_back.items() if p not in failed}, failed


def _parallel(platforms: Sequence[str], fn: Callable[[str], list[Outcome]]) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=max(1, len(platforms))) as pool:
        return [o for result in pool.map(fn, platforms) for o in result]
