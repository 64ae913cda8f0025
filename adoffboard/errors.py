"""The exception tree, grouped by what the caller should do.

    AdoffboardError
    ├── InputError            bad workspace, manifest, runbook, plan file, date or id: fix the input
    │   └── NotFound          unknown client, runbook, run or plan
    ├── SafetyRefusal         refused to protect a live account: nothing was written
    │   ├── TenantMismatch    the live account is not the one the manifest names
    │   ├── StalePlan         the plan was altered, or the manifest changed since it was made
    │   └── DryRunViolation   a mutating call was attempted through a read-only transport
    ├── AuthError             credentials missing, unresolvable or refused
    ├── PlatformError         the platform refused the request: retrying will not help
    │   └── TransientError    throttled or unavailable: retry after `retry_after` seconds
    │       └── OutcomeUnknown  sent, never answered: read again before sending again
    ├── StoreError            the state store refused (conflict, lock held, schema)
    │   └── ClientLocked      another person or scheduler is running this client right now
    └── NotPermitted          the workspace's rules refuse this person this action (role, order)

Library code raises these and never exits; the CLI maps each class to one documented exit code
in exactly one place (`adoffboard.cli.EXIT_CODES`). Vendor exceptions are translated at the
connector boundary (`raise PlatformError(...) from exc`).
"""

from __future__ import annotations


class AdoffboardError(Exception):
    """Base of every error adoffboard raises on purpose."""


class InputError(AdoffboardError):
    """Bad input: the message names the file, field or value and what is expected."""


class NotFound(InputError):
    """An unknown client, runbook, run or plan."""


class SafetyRefusal(AdoffboardError):
    """A guard refused to touch a live account; nothing was written."""


class TenantMismatch(SafetyRefusal):
    """The live account's identity does not match the manifest."""


class StalePlan(SafetyRefusal):
    """The plan file was altered, or the manifest or runbook changed after it was made."""


class DryRunViolation(SafetyRefusal):
    """A mutating call was attempted through a read-only connector; it never left the process."""


class AuthError(AdoffboardError):
    """A credential is missing, cannot be resolved, or was refused by the platform."""


class PlatformError(AdoffboardError):
    """The platform refused the request permanently."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class TransientError(PlatformError):
    """Throttled, unavailable or timed out: the same request may succeed later."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.retry_after = retry_after


class OutcomeUnknown(TransientError):
    """No answer to a request that was sent (a timeout, a connection dropped mid-reply): the
    platform may have carried it out. A write that is not idempotent is never sent again on this
    alone: the caller reads the target again and decides (`retry.send_unrepeatable`)."""


class StoreError(AdoffboardError):
    """The state store refused: a conflicting run, a held lock, or an unknown schema."""


class ClientLocked(StoreError):
    """Another holder (a person's run, or a scheduler) has the client: try again later."""

    def __init__(self, message: str, *, holder: str = "", since: str = "") -> None:
        super().__init__(message)
        self.holder = holder
        self.since = since


class NotPermitted(AdoffboardError):
    """The workspace's rules refuse this action for this person now (a role the person does not
    hold, a step out of order); nothing was changed."""
