"""A fork while another thread builds a client must not leave the child deadlocked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, threading, time
    from langchain_wandb._clients import ClientConfig, sync_client

    # Imports first: a fork while another thread imports a module is Python's own hazard.
    sync_client(ClientConfig(api_key="warm", base_url="https://x.test/v1", project=None))
    stop = False

    def churn() -> None:
        i = 0
        while not stop:
            i += 1  # every config is new: a client is built, which takes milliseconds
            sync_client(ClientConfig(api_key=f"k{i}", base_url="https://x.test/v1", project=None))

    threading.Thread(target=churn, daemon=True).start()
    hung = 0
    for _ in range(20):
        pid = os.fork()
        if pid == 0:
            # The at-fork handlers ran; the child must be able to use the cache.
            sync_client(ClientConfig(api_key="child", base_url="https://x.test/v1", project=None))
            os._exit(0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG)[0] == 0:
            time.sleep(0.01)
        if time.monotonic() >= deadline:
            hung += 1
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    stop = True
    print(f"hung: {hung}")
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_during_client_construction_leaves_a_working_child() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "hung: 0" in result.stdout, result.stdout
