"""pytest fixture `wandb_emulator`: a running `WandbEmulator` per test.

Registered automatically (entry point `pytest11`) when langchain-wandb is installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_wandb.testing._server import WandbEmulator


@pytest.fixture
def wandb_emulator() -> Iterator[WandbEmulator]:
    """A W&B Inference emulator on loopback, stopped after the test."""
    with WandbEmulator() as emulator:
        yield emulator
