"""`scripts/update_models.py`, loaded as a module for the catalogue tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_update_script() -> ModuleType:
    """The catalogue refresh script, imported from its file."""
    spec = importlib.util.spec_from_file_location(
        "update_models", ROOT / "scripts" / "update_models.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
