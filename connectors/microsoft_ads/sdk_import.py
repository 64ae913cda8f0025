"""The msads SDK's generated `openapi_client`, imported without its eager package `__init__`s.

In msads 13.0.30.1, `openapi_client/__init__.py`, `api/__init__.py`, `models/__init__.py` and
each `models/<service>/__init__.py` import every service's API module and every model: over two
seconds of CPU, mostly pydantic building the models and wrapping each API method in
`validate_call`, for six services of which the connector calls two. `defer_package_inits`
registers these packages in `sys.modules` without running their `__init__`s, so importing one
module (a model, `openapi_client.api_client`) imports only what it needs.

A package registered so resolves an attribute it lacks (PEP 562 `__getattr__`): a submodule is
imported; in `openapi_client.models`, a model class is found by its file name and only its
module imported (the API client looks response types up there by name:
`getattr(openapi_client.models, klass)`); anything else runs the package's real `__init__`
once, in the package's own namespace, so that code needing the whole package
(`bingads.service_client`, `from openapi_client import ApiException`) gets exactly what the
eager import gives.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable
from functools import cache
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

ROOT = "openapi_client"
MODELS = "openapi_client.models"
_registering = threading.Lock()


def defer_package_inits() -> None:
    """Register `openapi_client` and its subpackages uninitialised, each resolving on demand.
    Nothing is done once `openapi_client` is imported (eagerly or by an earlier call)."""
    with _registering:
        if ROOT not in sys.modules and importlib.util.find_spec(ROOT) is not None:
            _register(ROOT)


def _register(name: str) -> None:
    spec = importlib.util.find_spec(name)  # its parent is registered already: nothing runs
    assert spec is not None and spec.submodule_search_locations is not None
    module = importlib.util.module_from_spec(spec)  # __spec__, __file__, __path__, __package__
    folder = spec.submodule_search_locations[0]
    entries = [e for e in os.listdir(folder) if e not in ("__init__.py", "__pycache__")]
    packages = sorted(e for e in entries if os.path.isfile(os.path.join(folder, e, "__init__.py")))
    submodules = {e.removesuffix(".py") for e in entries if e.endswith(".py")} | set(packages)
    module.__dict__["__getattr__"] = _resolver(module, spec, submodules)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)  # as importing the subpackage would
    for package in packages:
        _register(f"{name}.{package}")


def _resolver(module: ModuleType, spec: ModuleSpec, submodules: set[str]) -> Callable[[str], Any]:
    """The package's `__getattr__`: a submodule, a model class, else the real `__init__`'s."""
    lock = threading.RLock()  # one run of the `__init__`; its own imports may come back here
    ran = False

    def __getattr__(attr: str) -> Any:
        nonlocal ran
        if attr in submodules:
            return importlib.import_module(f"{module.__name__}.{attr}")
        if module.__name__ == MODELS and not attr.startswith("_"):
            found = _model_class(attr)
            if found is not None:
                setattr(module, attr, found)  # found by a dict lookup from now on
                return found
        with lock:
            if not ran:
                ran = True
                try:
                    assert spec.loader is not None
                    spec.loader.exec_module(module)
                except BaseException:
                    ran = False
                    raise
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}") from None

    return __getattr__


def _model_class(name: str) -> Any:
    module = model_module(name)
    return None if module is None else getattr(importlib.import_module(module), name, None)


def model_module(name: str) -> str | None:
    """The module `openapi_client.models.<name>` comes from in the eager import: the generator
    names each model's file after its class (`AdApiFaultDetail`: ad_api_fault_detail.py), and
    of the subpackages holding one, the last that `models/__init__.py` star-imports wins (faults
    of every service deserialise as models.adinsight's `ApplicationFault`)."""
    return _model_index().get(name.replace("_", "").lower())


@cache
def _model_index() -> dict[str, str]:
    spec = importlib.util.find_spec(MODELS)
    assert spec is not None and spec.origin and spec.submodule_search_locations
    with open(spec.origin, encoding="utf-8") as init:
        order = re.findall(rf"^from {re.escape(MODELS)}\.(\w+) import \*", init.read(), re.M)
    index: dict[str, str] = {}
    for package in order:
        folder = os.path.join(spec.submodule_search_locations[0], package)
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(".py") and entry != "__init__.py":
                stem = entry.removesuffix(".py")
                index[stem.replace("_", "").lower()] = f"{MODELS}.{package}.{stem}"
    return index
