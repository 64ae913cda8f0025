"""The exception tree, grouped by what the caller should do.

    AdoffboardError
    AdoffboardError                                                                        exit 1
    ├── InputError            bad workspace, manifest, runbook, plan file, date or id      exit 3
    │   ├── ManifestProblems  a client manifest's problems (the first is the message)
    │   ├── ImportProblems    rows of a change request import, by row and field
    │   └── NotFound          unknown client, runbook, run or plan
    ├── SafetyRefusal         refused to protect a live account: nothing was written       exit 4
    │   ├── TenantMismatch    the live account is not the one the manifest names
    │   ├── StalePlan         the plan was altered, or the manifest changed since it was made
    │   ├── DryRunViolation   a mutating call was attempted through a read-only transport
    │   └── ApprovalRequired  no approved, unchanged change request for the plan
    ├── AuthError             credentials missing, unresolvable or refused                 exit 5
    ├── PlatformError         the platform refused the request: retrying will not help     exit 6
    │   ├── TransientError    throttled or unavailable: retry after `retry_after` seconds  exit 7
    │   │   ├── OutcomeUnknown  sent, never answered: read again before sending again
    │   │   └── ThrottledTooLong  throttled past the configured wait: resume the run later
    │   └── DeliveryInDoubt   an email transmitted, its answer lost: it may have been sent
    ├── StoreError            the state store refused (conflict, lock held, schema)        exit 8
    │   ├── StoreConflict     a constraint refused a write (callers retry or explain)
    │   └── ClientLocked      another person or scheduler is running this client right now
    └── NotPermitted          the workspace's rules refuse this person this action         exit 9

    FieldProblem (a ValueError)  one field's bad value, collected into an InputError
    RunInterrupted (a KeyboardInterrupt)  Ctrl-C during a run: names the run to resume   exit 130

Each class carries its documented exit code (`exit_code`, README "Exit codes"); a subclass
inherits its parent's. Library code raises these and never exits; the CLI turns an error into
its one line and `exit_code` in exactly one place (`adoffboard.cli.exit_code_for`). Vendor
exceptions are translated at the connector boundary (`raise PlatformError(...) from exc`).

Every exception class of the core lives here, also the ones one package raises and another
catches (`ApprovalRequired`, `ImportProblems`, `DeliveryInDoubt`, `StoreConflict`...), so that
what a caller may catch, and the exit code it ends in, is read in one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol


class _RowProblem(Protocol):  # adoffboard.cr.service.RowProblem; errors.py imports nothing
    @property
    def row(self) -> int: ...

    @property
    def problem(self) -> object: ...


class AdoffboardError(Exception):
    """Base of every error adoffboard raises on purpose."""

    exit_code: ClassVar[int] = 1  # raised as such only by a bug: "internal error"


class InputError(AdoffboardError):
    """Bad input: the message names the file, field or value and what is expected."""

    exit_code = 3


class ManifestProblems(InputError):
    """A client manifest (or the set of them) has problems; the first is the message."""

    def __init__(self, problems: Sequence[object]) -> None:  # adoffboard.config.Problem
        self.problems = list(problems)
        first = str(problems[0])
        more = (
            f" (and {len(problems) - 1} more; run `adoffboard clients validate`)"
            if len(problems) > 1
            else ""
        )
        super().__init__(first + more)


class ImportProblems(InputError):
    """Rows of an import that cannot be used; nothing was imported."""

    def __init__(self, source: str, problems: Sequence[_RowProblem]) -> None:
        self.lines = [f"{source}:row {p.row}: {p.problem}" for p in problems]
        rows = len({p.row for p in problems})
        super().__init__(
            f"{source}: {rows} bad row(s), {len(problems)} problem(s): nothing imported"
        )


class NotFound(InputError):
    """An unknown client, runbook, run or plan."""


class SafetyRefusal(AdoffboardError):
    """A guard refused to touch a live account; nothing was written."""

    exit_code = 4


class TenantMismatch(SafetyRefusal):
    """The live account's identity does not match the manifest."""


class StalePlan(SafetyRefusal):
    """The plan file was altered, or the manifest or runbook changed after it was made."""


class DryRunViolation(SafetyRefusal):
    """A mutating call was attempted through a read-only connector; it never left the process."""


class ApprovalRequired(SafetyRefusal):
    """The runbook needs an approved change request that is missing, pending or changed."""


class AuthError(AdoffboardError):
    """A credential is missing, cannot be resolved, or was refused by the platform."""

    exit_code = 5


class PlatformError(AdoffboardError):
    """The platform refused the request permanently."""

    exit_code = 6

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class TransientError(PlatformError):
    """Throttled, unavailable or timed out: the same request may succeed later."""

    exit_code = 7

    def __init__(
        self, message: str, *, retry_after: float | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.retry_after = retry_after


class ThrottledTooLong(TransientError):
    """Throttled for longer than the platform's configured wait allows: nothing more is sent;
    the message says when the run can be resumed."""


class OutcomeUnknown(TransientError):
    """No answer to a request that was sent (a timeout, a connection dropped mid-reply): the
    platform may have carried it out. A write that is not idempotent is never sent again on this
    alone: the caller reads the target again and decides (`retry.send_unrepeatable`)."""


class DeliveryInDoubt(PlatformError):
    """An email was transmitted but the server's answer never came: it may have been sent
    (`adoffboard.mail`); it is never sent again on this alone."""


class StoreError(AdoffboardError):
    """The state store refused: a conflicting run, a held lock, or an unknown schema."""

    exit_code = 8


class StoreConflict(StoreError):
    """A unique or foreign key constraint refused a write; the store's callers retry (a new id,
    a lock taken meanwhile) or explain."""


class ClientLocked(StoreError):
    """Another holder (a person's run, or a scheduler) has the client: try again later."""

    def __init__(self, message: str, *, holder: str = "", since: str = "") -> None:
        super().__init__(message)
        self.holder = holder
        self.since = since


class NotPermitted(AdoffboardError):
    """The workspace's rules refuse this action for this person now (a role the person does not
    hold, a step out of order); nothing was changed."""

    exit_code = 9


class FieldProblem(ValueError):
    """A value that cannot be used for a field; `field` names it as the user wrote it. Not an
    exit of its own: callers collect these and raise an `InputError` (`ImportProblems`...)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C while a run was applying: the run is recorded as interrupted and `run_id` names
    it, so that the person is told the exact `adoffboard resume RUN_ID`. Still a
    KeyboardInterrupt: whatever stops on Ctrl-C stops on it."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id
