"""Opt-in pytest plugin: the `wandb_emulator` fixture, a running `WandbEmulator` per test.

Enable it in your project's top-level `conftest.py`:

    pytest_plugins = ["langchain_wandb.testing.pytest_plugin"]

Installing langchain-wandb registers nothing with pytest: a project's pytest runs load
none of this package until its conftest asks. Configure the fixture per test (or per
module with `pytestmark`) with the `wandb_emulator` marker, whose keyword arguments are
those of `langchain_wandb.testing.configured_emulator`:

    @pytest.mark.wandb_emulator(models=["my-team/my-model"], concurrency_limit=2,
                                time_to_first_token=0.05, tokens_per_second=200)
    def test_slow_model(wandb_emulator): ...

For several emulators in one test, or options computed in the test, use the
`wandb_emulator_factory` fixture: `wandb_emulator_factory(concurrency_limit=1)` returns a
started emulator, stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from langchain_wandb.testing._server import WandbEmulator

_MARKER = (
    "wandb_emulator(models=(), concurrency_limit=None, time_to_first_token=0.0, "
    "tokens_per_second=None): options for the wandb_emulator fixture"
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the `wandb_emulator` marker."""
    config.addinivalue_line("markers", _MARKER)


@pytest.fixture
def wandb_emulator_factory() -> Iterator[Callable[..., WandbEmulator]]:
    """Start emulators with `configured_emulator`'s options; all stop after the test."""
    from langchain_wandb.testing._emulated import configured_emulator

    started: list[WandbEmulator] = []

    def start(**options: Any) -> WandbEmulator:
        emulator = configured_emulator(**options).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def wandb_emulator(
    request: pytest.FixtureRequest, wandb_emulator_factory: Callable[..., WandbEmulator]
) -> WandbEmulator:
    """A W&B Inference emulator on loopback, configured by the `wandb_emulator` marker."""
    marker = request.node.get_closest_marker("wandb_emulator")
    return wandb_emulator_factory(**(marker.kwargs if marker else {}))
