"""`langchain_wandb.errors` exports every typed error, documents each one, and loads lazily."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys

import pytest

import langchain_wandb
from langchain_wandb import errors

# The private modules that define the errors users catch.
_DEFINING_MODULES = (
    "langchain_wandb._errors",
    "langchain_wandb._sdk_errors",
    "langchain_wandb._tools",
)


def _defined_errors() -> set[str]:
    names = set()
    for module_name in _DEFINING_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and value.__module__ == module_name
                and not name.startswith("_")
            ):
                names.add(name)
    return names


def test_every_error_class_the_package_defines_is_exported() -> None:
    assert _defined_errors() == set(errors.__all__)
    for name in errors.__all__:
        value = getattr(errors, name)
        assert inspect.isclass(value)
        assert issubclass(value, Exception)


def test_the_docstring_table_has_one_row_per_exported_error() -> None:
    assert errors.__doc__ is not None
    rows = re.findall(r"^\| `(\w+)` \|", errors.__doc__, flags=re.MULTILINE)
    assert sorted(rows) == sorted(errors.__all__)


def test_the_package_root_reaches_the_errors_module() -> None:
    assert langchain_wandb.errors is errors
    assert "errors" in dir(langchain_wandb)
    assert langchain_wandb.OutputTruncatedError is errors.OutputTruncatedError


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NotAnError'"):
        _ = errors.NotAnError  # type: ignore[attr-defined]


def test_importing_the_errors_module_loads_neither_the_sdk_nor_the_chat_model() -> None:
    code = (
        "import sys, langchain_wandb.errors as e;"
        "print(sorted(m for m in ('openai', 'langchain_wandb.chat_models', "
        "'langchain_wandb._sdk_errors') if m in sys.modules));"
        "e.WandbStreamError; print('openai' in sys.modules);"
        "e.WandbRateLimitError; print('openai' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert run.stdout.split() == ["[]", "False", "True"]
