"""Make `langchain_core.load(..., allowed_objects="all")` accept our classes."""

from __future__ import annotations

import importlib

from langchain_core.load import Serializable


def allow_loading(cls: type[Serializable]) -> None:
    """Add `cls` to the classes `allowed_objects="all"` may rebuild.

    langchain-core lists the partner packages it ships mappings for (ChatOpenAI,
    ChatGroq, ...) and refuses other classes under `allowed_objects="all"`. Users of a
    partner integration expect `load(dumpd(llm), allowed_objects="all")` to work, so the
    class is registered here; `allowed_objects=[ChatWandbInference]` works without it.
    The mapping and its cache are core internals, hence the defensive lookups.
    """
    # The package attribute `load` is the function; the module is needed here.
    load_module = importlib.import_module("langchain_core.load.load")
    path = tuple(cls.lc_id())
    mappings = getattr(load_module, "ALL_SERIALIZABLE_MAPPINGS", None)
    if isinstance(mappings, dict):
        mappings.setdefault(path, path)
    cache = getattr(load_module, "_default_class_paths_cache", None)
    if isinstance(cache, dict) and isinstance(cache.get("all"), set):
        cache["all"].add(path)
