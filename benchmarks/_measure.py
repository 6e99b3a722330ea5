"""What one run of a concurrency benchmark cost, measured alike by each of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from langchain_wandb.testing import WandbEmulator


@dataclass
class Outcome:
    """What one run cost."""

    lost: int
    """Requests that raised."""
    refused: int
    """429s the emulator answered."""
    wall: float
    """Seconds the run took."""


def measure(work: Callable[[], int], emu: WandbEmulator) -> Outcome:
    """Run `work` (it returns the requests it lost) with the emulator's counts reset."""
    emu.reset()
    start = time.perf_counter()
    lost = work()
    return Outcome(lost, emu.refused_requests, time.perf_counter() - start)
