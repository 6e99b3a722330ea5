"""A driver that shuts Ray down and starts it again keeps working (its own processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import time
import uuid

import ray

from langchain_wandb._governor import Target
from langchain_wandb.ray import RayGovernorBackend

backend = RayGovernorBackend(f"session-{uuid.uuid4().hex[:8]}", lease_ttl=0.4)
target = Target("http://session.test/v1", "fp", "team/p", "m")
for session in ("first", "second"):
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    slot = backend.governor(target, cap=1, adaptive=False).acquire(time.monotonic() + 60)
    print(session, slot.position, flush=True)
    slot.release()
    if SHUTDOWN:
        backend.shutdown()
    ray.shutdown()
    time.sleep(1.0)  # several heartbeat periods with Ray down
print("done", flush=True)
"""


@pytest.mark.parametrize("shutdown", [True, False], ids=["actor shut down", "left to Ray"])
def test_a_new_ray_session_gets_a_new_actor_and_the_old_heartbeat_stops(shutdown: bool) -> None:
    """Before: the second session used a dead handle, and Ray killed the process. Without
    `shutdown()` (nothing dropped the handle), before: each new local cluster's first job
    has the same id, so the handle was taken for this session's: every request failed
    with Ray's untyped "Failed to submit task to actor"."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, "-c", f"SHUTDOWN = {shutdown}\n{SCRIPT}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line]
    assert lines == ["first 1", "second 1", "done"], done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
