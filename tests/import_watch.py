"""Run `adoffboard` with a record of the thread that first imported each module.

Used as `python tests/import_watch.py OUT -- ARGS…`: a finder placed first on `sys.meta_path`
notes, for every module not yet imported, the name of the thread asking for it (a finder is
consulted before a module is loaded, so the first asker is the importer), then declines so the
normal finders load it. At exit the record is written to OUT as JSON {module: thread name}.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any


class FirstImports:
    def __init__(self) -> None:
        self.threads: dict[str, str] = {}
        self._lock = threading.Lock()

    def find_spec(
        self, name: str, path: Any = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        with self._lock:
            if name not in sys.modules:
                self.threads.setdefault(name, threading.current_thread().name)
        return None


def main() -> None:
    out, separator, *args = sys.argv[1:]
    assert separator == "--", "usage: import_watch.py OUT -- ARGS…"
    watch = FirstImports()
    sys.meta_path.insert(0, watch)
    atexit.register(lambda: Path(out).write_text(json.dumps(watch.threads)))
    sys.argv = ["adoffboard", *args]
    from adoffboard.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
