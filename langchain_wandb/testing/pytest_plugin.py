"""pytest fixture `wandb_emulator`: a running `WandbEmulator` per test.

Registered automatically (entry point `pytest11`) when langchain-wandb is installed, so
every pytest run of every project loads this module: it imports nothing but pytest until
a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_wandb.testing._server import WandbEmulator


@pytest.fixture
def wandb_emulator() -> Iterator[WandbEmulator]:
    """A W&B Inference emulator on loopback, stopped after the test."""
    from langchain_wandb.testing._server import WandbEmulator

    with WandbEmulator() as emulator:
        yield emulator
