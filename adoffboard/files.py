"""Files that hold client data (the store, plans, reports, exports) are the owner's alone.

Every such file is created 0600 and every folder adoffboard creates for them 0700, whatever the
umask: another account on the same machine has no business reading a client's contacts or a plan
of its accounts. Writes go to a temporary name in the same folder and are renamed into place, so a
crash never leaves half a file that looks whole.
"""

from __future__ import annotations

import glob
import os
import stat
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents 0700; folders that already exist are left as they
    are (a reports folder may be shared on purpose)."""
    path = Path(path)
    missing = []
    for folder in [path, *path.parents]:
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def write_private(path: Path, data: bytes | str) -> Path:
    """Write `data` to `path` atomically, the file 0600 and its new folders 0700."""
    path = Path(path)
    private_dir(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)  # the rename itself survives a crash: some files are journals
    return path


def _remove_leftovers(path: Path) -> None:
    """Temporary copies of `path` that a killed process left half-written: they hold client data
    and are never read, so the next write of the same file removes them."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_file(path: Path) -> Path:
    """Make sure `path` exists and is 0600: created empty if absent, tightened if wider (an
    existing file's group or others' bits are removed; nothing else changes)."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(path)
    else:
        os.close(fd)
        os.chmod(path, FILE_MODE)
    return path


def tighten(path: Path) -> None:
    """Remove group and others' permissions from an existing file (no-op when absent)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
