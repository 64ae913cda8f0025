"""Credential references: the workspace names where a secret lives, never the secret.

    env:NAME                 an environment variable
    file:PATH                the first line of a file (relative to the workspace)
    keyring:SERVICE/USER     the operating system's keyring
    sandbox:                 a placeholder accepted only by local stand-ins (loopback endpoints)

A reference is resolved only when a connector that needs it is built, and the resolved value is
wrapped in `Secret`, whose repr is `[secure]` so that it cannot leak through logs or reports.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from adoffboard.errors import AuthError

_REF = re.compile(r"^(env|file|keyring|sandbox):(.*)$")
SANDBOX_SECRET = "sandbox-placeholder"


@dataclass(frozen=True)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret([secure])"

    __str__ = __repr__


def check_reference(ref: str) -> str | None:
    """Why `ref` is not a valid reference, or None when it is."""
    match = _REF.match(ref or "")
    if not match:
        return "must be a reference such as env:NAME, file:PATH, keyring:SERVICE/USER or sandbox:"
    kind, rest = match.groups()
    if kind == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rest):
        return "env: must name an environment variable, e.g. env:GOOGLE_ADS_DEVELOPER_TOKEN"
    if kind == "file" and not rest:
        return "file: must name a path"
    if kind == "keyring" and "/" not in rest:
        return "keyring: must be SERVICE/USER"
    return None


def check_sandbox_only(settings: dict[str, object], endpoint: str | None) -> None:
    """Refuse `sandbox:` references unless the endpoint is on this machine's loopback."""
    uses_sandbox = [k for k, v in settings.items() if isinstance(v, str) and v == "sandbox:"]
    host = (endpoint or "").rsplit(":", 1)[0].strip("[]")
    if uses_sandbox and host not in ("127.0.0.1", "localhost", "::1"):
        raise AuthError(
            f'{", ".join(sorted(uses_sandbox))} = "sandbox:" only works with a loopback '
            f"endpoint (the local sandbox), not {endpoint or 'the platform'}"
        )


def resolve(ref: str, *, base: Path, environ: dict[str, str] | None = None) -> Secret:
    """Read the secret a reference points at; the error names the reference, never a value."""
    problem = check_reference(ref)
    if problem:
        raise AuthError(f"credential reference {ref!r} {problem}")
    kind, rest = ref.split(":", 1)
    env = os.environ if environ is None else environ
    if kind == "env":
        value = env.get(rest)
        if not value:
            raise AuthError(f"credential {ref}: environment variable {rest} is not set")
        return Secret(value)
    if kind == "file":
        path = Path(rest).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            value = path.read_text(encoding="utf-8").strip().splitlines()[0]
        except (OSError, IndexError) as exc:
            raise AuthError(f"credential {ref}: cannot read {path}") from exc
        return Secret(value)
    if kind == "keyring":
        service, user = rest.split("/", 1)
        try:
            import keyring

            value = keyring.get_password(service, user)
        except Exception as exc:  # keyring backends raise their own types
            name = type(exc).__name__
            hint = (
                "this machine has no keyring backend (a server without a desktop session has "
                "none): store the secret in a 0600 file with `adoffboard auth <platform> "
                "--store file`, or point the reference at file:PATH or env:NAME"
                if name == "NoKeyringError"
                else "check the keyring as the user adoffboard runs as"
            )
            raise AuthError(f"credential {ref}: keyring unavailable ({name}): {hint}") from None
        if not value:
            raise AuthError(f"credential {ref}: no entry in the keyring")
        return Secret(value)
    return Secret(SANDBOX_SECRET)
