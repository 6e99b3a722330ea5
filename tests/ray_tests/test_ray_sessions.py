"""A driver that shuts Ray down and starts it again keeps working (its own processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    backend.shutdown()
    ray.shutdown()
    time.sleep(1.0)  # several heartbeat periods with Ray down
print("done", flush=True)
"""


def test_a_new_ray_session_gets_a_new_actor_and_the_old_heartbeat_stops() -> None:
    """Before: the second session used a dead handle, and Ray killed the process."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line]
    assert lines == ["first 1", "second 1", "done"], done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
