"""Point a workspace's `adoffboard.toml` at a running sandbox, keeping everything else in it.

`sandbox up --workspace DIR` rewrites only what it manages: the `[platforms.<name>]` table of each
stand-in it serves (replaced whole, marked as a sandbox endpoint by a comment on its header) and
the SMTP keys of `[notifications]` (`smtp_host`, `smtp_port`, `smtp_starttls`). The file is edited
with tomlkit, so the other tables, keys, comments and their order stay as the user wrote them;
running it again with the same ports changes nothing. The workspace is checked before the sandbox
starts (a file that is not TOML is bad input, nothing written), and after the edit the result
must still load as a workspace, else the file is left as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adoffboard.config import WORKSPACE_FILE
from adoffboard.errors import InputError

MARK = "sandbox endpoint, written by `adoffboard sandbox up`: not the real platform"
SMTP_KEYS = ("smtp_host", "smtp_port", "smtp_starttls")


def workspace_file(folder: Path) -> Path:
    """The folder's `adoffboard.toml`, which must exist and be TOML (InputError otherwise)."""
    path = folder / WORKSPACE_FILE
    if not path.is_file():
        raise InputError(f"no {WORKSPACE_FILE} in {folder} (create one with `adoffboard init`)")
    _parse(path)
    return path


def _parse(path: Path) -> Any:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except TOMLKitError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def merged(
    text: str, platforms: Mapping[str, Mapping[str, Any]], notifications: Mapping[str, Any]
) -> str:
    """`text` (a workspace's TOML) with these platform tables and SMTP keys in it."""
    import tomlkit

    doc = tomlkit.parse(text)
    if "platforms" not in doc:
        doc.add(tomlkit.nl())
        doc["platforms"] = tomlkit.table(is_super_table=True)
    tables = doc["platforms"]
    for name, settings in platforms.items():
        if name in tables and tables[name].unwrap() == dict(settings):
            continue  # as written before: left alone, blank lines and all
        table = tomlkit.table()
        table.comment(MARK)
        for key, value in settings.items():
            table[key] = value
        tables[name] = table  # in place when it was there: its position is kept
    smtp = {key: notifications[key] for key in SMTP_KEYS if key in notifications}
    if smtp:
        if "notifications" not in doc:
            doc["notifications"] = tomlkit.table()
        section = doc["notifications"]
        for key, value in smtp.items():
            if section.get(key) == value:
                continue
            item = tomlkit.item(value)
            item.comment("sandbox")
            section[key] = item
    return tomlkit.dumps(doc)


def point_at_sandbox(
    folder: Path,
    platforms: Mapping[str, Mapping[str, Any]],
    notifications: Mapping[str, Any],
) -> Path:
    """Write the sandbox's settings into the folder's `adoffboard.toml` (0600); the workspace
    must load afterwards, or the file is left untouched (InputError or ManifestProblems)."""
    from adoffboard.config import load_workspace
    from adoffboard.files import write_private

    path = workspace_file(folder)
    before = path.read_text(encoding="utf-8")
    after = merged(before, platforms, notifications)
    if after == before:
        return path
    write_private(path, after)
    try:
        load_workspace(folder)
    except Exception:
        write_private(path, before)
        raise
    return path
