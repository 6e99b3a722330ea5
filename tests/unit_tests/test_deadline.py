"""The sync cutoff: armed for one response, never acting once disarmed."""

from __future__ import annotations

import time

from langchain_wandb._deadline import Cutoff


def test_a_disarmed_cutoff_never_fires() -> None:
    cutoff = Cutoff(None)
    cutoff.disarm()
    cutoff()  # a watchdog that got round to it late
    assert cutoff.fired is False
    cutoff.at(time.monotonic())  # nothing is scheduled once disarmed
    time.sleep(0.05)
    assert cutoff.fired is False


def test_an_armed_cutoff_fires_at_its_deadline() -> None:
    cutoff = Cutoff(None)
    cutoff.at(time.monotonic() + 0.01)
    deadline = time.monotonic() + 5
    while not cutoff.fired and time.monotonic() < deadline:
        time.sleep(0.005)
    assert cutoff.fired is True
