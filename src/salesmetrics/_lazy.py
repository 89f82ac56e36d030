"""Public names loaded on first use (PEP 562), for the packages that re-export them.

A package lists, per submodule, the public names it defines; its module ``__getattr__`` calls
`load`, which imports that submodule once and keeps all of its public names in the package's
namespace, so the next use is a plain attribute read.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from importlib import import_module
from typing import Any

__all__ = ["load", "module_of"]


def module_of(names: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Public name → the submodule that defines it."""
    return {name: module for module, each in names.items() for name in each}


def load(package: str, namespace: MutableMapping[str, Any],
         names: Mapping[str, tuple[str, ...]], modules: Mapping[str, str], name: str) -> Any:
    """Import the submodule of ``package`` that defines ``name``, keep its public names in
    ``namespace`` (the package's globals) and return ``name``'s value."""
    module = modules.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    loaded = import_module(f"{package}.{module}")
    for each in names[module]:
        namespace[each] = getattr(loaded, each)
    return namespace[name]
