"""What every `adoffboard auth <platform>` shares: where secrets go, and the workspace's edit.

A flow (`auth_flows_google`, `auth_flows_microsoft`, `auth_flows_meta`) obtains and checks the
credentials with the vendor's own library, then `save` stores each secret (the operating
system's keyring, or a 0600 file under `.adoffboard/secrets/`) and writes only their references
into `[platforms.<name>]` of adoffboard.toml. The table is merged line by line into the file's
text, so that every other table, key and comment stays as the user wrote it; the new text is
parsed and validated as a workspace before anything is stored or written.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import tomli_w

from adoffboard.config import PLATFORM_SETTINGS, WORKSPACE_FILE, Workspace
from adoffboard.errors import AuthError, InputError
from adoffboard.files import write_private

SECRETS_DIR = ".adoffboard/secrets"
KEYRING_SERVICE = "adoffboard"
StoreKind = Literal["keyring", "file"]
NO_KEYRING_HINT = (
    "no keyring backend on this machine (a server without a desktop session has none): "
    "use --store file (a 0600 file in the workspace), or env:NAME references"
)


@dataclass(frozen=True)
class Obtained:
    """What a flow obtained: settings written as they are (endpoints, ids, paths) and secrets,
    each stored and replaced by its reference; `facts` say what was checked, for the user."""

    platform: str  # the [platforms.<name>] table
    settings: Mapping[str, object] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # field -> secret value
    facts: tuple[str, ...] = ()
    # credentials of another kind that the connector would use first: emptied where present
    clears: tuple[str, ...] = ()

    def __repr__(self) -> str:  # secrets never show, whatever prints this
        return f"Obtained({self.platform!r}, settings={dict(self.settings)!r}, secrets=[secure])"


def code_from(answer: str, state: str, vendor: str) -> str:
    """The authorization code in what the user pasted: the whole address the browser was sent
    to after consent (its `state` must be this sign-in's), or the code alone."""
    text = answer.strip()
    if not text:
        raise InputError("nothing was pasted: paste the address the browser was sent to")
    if "://" not in text and "code=" not in text:
        return text
    query = parse_qs(urlsplit(text).query if "://" in text else text)
    if "error" in query:
        detail = query.get("error_description", query["error"])[-1]
        raise AuthError(f"{vendor} refused the consent: {detail}")
    if query.get("state", [""])[-1] != state:
        raise InputError("the pasted address belongs to another sign-in: start again")
    code = query.get("code", [""])[-1]
    if not code:
        raise InputError("the pasted address has no code=...: copy the whole address")
    return code


# --- where secrets go -------------------------------------------------------------------------


def keyring_backend_problem() -> str | None:
    """Why the keyring cannot hold secrets here, or None when it can."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # keyring's backends raise their own types
        return f"{NO_KEYRING_HINT} ({type(exc).__name__})"
    if isinstance(backend, fail.Keyring):
        return NO_KEYRING_HINT
    return None


def check_store(kind: StoreKind) -> None:
    """Refuse, before any vendor is asked anything, a store that cannot work here."""
    if kind == "keyring" and (problem := keyring_backend_problem()):
        raise AuthError(problem)


def reference_for(kind: StoreKind, platform: str, name: str) -> str:
    """The reference the workspace holds for one stored secret."""
    key = f"{platform}.{name}"
    return f"file:{SECRETS_DIR}/{key}" if kind == "file" else f"keyring:{KEYRING_SERVICE}/{key}"


def store_secret(kind: StoreKind, root: Path, platform: str, name: str, value: str) -> str:
    """Store one secret and return its reference."""
    key = f"{platform}.{name}"
    if kind == "file":
        write_private(root / SECRETS_DIR / key, value + "\n")
    else:
        import keyring

        try:
            keyring.set_password(KEYRING_SERVICE, key, value)
        except Exception as exc:  # keyring's backends raise their own types
            raise AuthError(
                f"the keyring refused {key} ({type(exc).__name__}): {NO_KEYRING_HINT}"
            ) from None
    return reference_for(kind, platform, name)


# --- the workspace file ---------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\s*platforms\s*\.\s*(\"?)(?P<name>[A-Za-z0-9_-]+)\1\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_KEY = re.compile(r"^\s*(\"?)(?P<key>[A-Za-z0-9_-]+)\1\s*=")


def merge_platform(text: str, platform: str, values: Mapping[str, object]) -> str:
    """`text` with `values` set in its `[platforms.<platform>]` table (added at the end when
    absent); lines of other keys, other tables and comments are kept as they are."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and m["name"] == platform),
        None,
    )
    rendered = {k: _toml_line(k, v) for k, v in values.items()}
    if start is None:
        # appended; valid TOML also when only sub-tables ([platforms.sheets.trackers.x]) exist
        block = ["", f"[platforms.{platform}]", *rendered.values()]
        appended = "\n".join([*lines, *block]) + "\n"
        try:
            tomllib.loads(appended)
        except tomllib.TOMLDecodeError:
            raise InputError(
                f"{WORKSPACE_FILE}: platforms.{platform} is not written as a "
                f"[platforms.{platform}] table: make it one, then run this again"
            ) from None
        return appended
    end = next((i for i in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines))
    body = lines[start + 1 : end]
    seen: set[str] = set()
    for i, line in enumerate(body):
        match = _KEY.match(line)
        if match and match["key"] in rendered:
            body[i] = rendered[match["key"]]
            seen.add(match["key"])
    last = max((i for i, line in enumerate(body) if line.strip()), default=-1)
    missing = [line for key, line in rendered.items() if key not in seen]
    body[last + 1 : last + 1] = missing
    return "\n".join([*lines[: start + 1], *body, *lines[end:]]) + "\n"


def _toml_line(key: str, value: object) -> str:
    return tomli_w.dumps({key: value}).strip()


def save(obtained: Obtained, root: Path, kind: StoreKind) -> tuple[Path, dict[str, str]]:
    """Store the secrets and write their references into adoffboard.toml; returns the file and
    the references. The merged file is validated first: when it would not load, nothing is
    stored and the file is left as it was."""
    path = root / WORKSPACE_FILE
    text = path.read_text(encoding="utf-8")
    planned = {name: reference_for(kind, obtained.platform, name) for name in obtained.secrets}
    try:
        current = (tomllib.loads(text).get("platforms") or {}).get(obtained.platform) or {}
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    cleared = {key: "" for key in obtained.clears if current.get(key)}
    merged = merge_platform(text, obtained.platform, {**cleared, **obtained.settings, **planned})
    try:
        data = tomllib.loads(merged)
        Workspace.model_validate(data)
        PLATFORM_SETTINGS[obtained.platform].model_validate(data["platforms"][obtained.platform])
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        first = str(exc).splitlines()
        raise InputError(
            f"{path}: [platforms.{obtained.platform}] would not be valid with these "
            f"credentials ({' '.join(first[:3])}): nothing was stored or changed"
        ) from None
    references = {
        name: store_secret(kind, root, obtained.platform, name, value)
        for name, value in obtained.secrets.items()
    }
    write_private(path, merged)
    return path, references
