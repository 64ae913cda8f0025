"""Who holds a client lock, in a form that lets a crashed holder be recognised."""

from __future__ import annotations

import getpass
import os
import socket


def holder_name() -> str:
    """Who holds a lock: user, host and process, so a crashed holder can be recognised."""
    return f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str) -> bool:
    """True when the holder is a process of this host that no longer exists (it crashed)."""
    user_host, _, pid = holder.rpartition(":")
    if not pid.isdigit() or user_host.rpartition("@")[2] != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
