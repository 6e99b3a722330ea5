"""A local Ray cluster for the Ray suite, started once per session.

The suite runs only when `.ci/ray` (or a developer) sets `LANGCHAIN_WANDB_RAY_TESTS=1`
and Ray is installed (`pip install -e ".[ray]"`); otherwise every test here is skipped,
so plain `python -m pytest` never starts Ray.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ENABLED = os.environ.get("LANGCHAIN_WANDB_RAY_TESTS") == "1"

if importlib.util.find_spec("ray") is None:
    # Without the extra, this directory's modules are not even imported (one that imports
    # Ray at the top would fail the whole collection); the Ray stage then runs no test,
    # which fails it.
    collect_ignore_glob = ["test_*.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip this directory's tests unless enabled and Ray is installed."""
    reason = None
    if not ENABLED:
        reason = "Ray tests run from .ci/ray (set LANGCHAIN_WANDB_RAY_TESTS=1)"
    else:
        try:
            import ray  # noqa: F401
        except ImportError:
            reason = 'Ray is not installed (pip install -e ".[ray]")'
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """`ray.init(num_cpus=2)`; workers import this checkout's `langchain_wandb`."""
    import ray

    root = str(Path(__file__).resolve().parents[2])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def backend(ray_cluster: Any) -> Iterator[Any]:
    """A governor backend (actor) of this test's own, killed afterwards."""
    from langchain_wandb.ray import RayGovernorBackend

    made = RayGovernorBackend(f"test-{uuid.uuid4().hex[:8]}", lease_ttl=2.0)
    yield made
    made.shutdown()
