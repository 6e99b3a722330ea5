"""Public names that load on first use (PEP 562), so importing a namespace costs nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_names(
    namespace: MutableMapping[str, Any], homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's `__getattr__` and `__dir__`: `name` is imported from `homes[name]` on first use.

    The value is then stored in `namespace` (the module's `globals()`), so later lookups
    never come back here. A home equal to the module's own `__name__` plus `.name` is a
    submodule, returned itself. `__dir__` lists the module's `__all__`. Assign both under
    `if not TYPE_CHECKING:` so type checkers see only the names the module declares, and a
    misspelt import is an error, not `Any`.
    """
    module_name = namespace["__name__"]

    def load(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module = import_module(home)
        value = module if home == f"{module_name}.{name}" else getattr(module, name)
        namespace[name] = value
        return value

    def public_names() -> list[str]:
        return sorted(namespace["__all__"])

    return load, public_names
