"""Shared fixtures: a fresh emulator per test (the package's pytest plugin), a model on it."""

from __future__ import annotations

import pytest

import langchain_wandb
from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import WandbEmulator

# The documented way to enable the plugin: installing the package registers nothing.
pytest_plugins = ["langchain_wandb.testing.pytest_plugin"]
# Shared assertion helpers outside test modules: pytest explains their failures too.
pytest.register_assert_rewrite("tests.deep_json")


def pytest_report_header() -> str:
    """Which langchain_wandb the run tests (CI checks it is the installed wheel's)."""
    return f"langchain_wandb {langchain_wandb.__version__}: {langchain_wandb.__file__}"


@pytest.fixture
def emulator(wandb_emulator: WandbEmulator) -> WandbEmulator:
    return wandb_emulator


@pytest.fixture
def llm(emulator: WandbEmulator) -> ChatWandbInference:
    model: ChatWandbInference = emulator.chat_model(max_retries=0)
    return model
