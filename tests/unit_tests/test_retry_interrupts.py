"""An interrupted request gives its concurrency slot back, whatever it was doing.

Ctrl-C (KeyboardInterrupt) in a sync call, or a cancelled task, during the attempt or
during the pause after a concurrency 429: the slot is freed, so the next request runs.
"""

from __future__ import annotations

import asyncio
import threading

import httpx2
import openai
import pytest

from langchain_wandb._retry import arun_with_retries, run_with_retries
from tests.unit_tests.test_governor import BOUND, CONCURRENCY_429, fresh, later, status_error


def test_ctrl_c_during_an_attempt_frees_its_slot() -> None:
    governor = fresh(cap=1)

    def interrupted(remaining: float) -> str:
        assert governor.snapshot().in_flight == 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_with_retries(interrupted, max_retries=2, deadline=later(), governor=governor)
    assert governor.snapshot().in_flight == 0


def test_ctrl_c_during_the_pause_after_a_refusal_frees_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    governor = fresh()
    paused = threading.Event()

    def sleep(seconds: float) -> None:
        paused.set()
        assert governor.snapshot().in_flight == 1  # the refused request keeps its slot
        raise KeyboardInterrupt

    monkeypatch.setattr("langchain_wandb._retry.time.sleep", sleep)

    def refused(remaining: float) -> str:
        raise status_error(429, CONCURRENCY_429)

    with pytest.raises(KeyboardInterrupt):
        run_with_retries(refused, max_retries=2, deadline=later(), governor=governor)
    assert paused.is_set()
    assert governor.snapshot().in_flight == 0


async def test_a_task_cancelled_during_the_pause_after_a_refusal_frees_its_slot() -> None:
    governor = fresh()
    attempts = 0

    async def refused(remaining: float) -> str:
        nonlocal attempts
        attempts += 1
        request = httpx2.Request("POST", "http://fake/v1/chat/completions")
        # Retry-After makes the pause far longer than the test: it is cancelled inside it.
        response = httpx2.Response(429, headers={"Retry-After": "60"}, request=request)
        raise openai.APIStatusError(CONCURRENCY_429, response=response, body=None)

    task = asyncio.ensure_future(
        arun_with_retries(refused, max_retries=2, deadline=later(BOUND * 30), governor=governor)
    )
    for _ in range(int(BOUND / 0.001)):
        if attempts:
            break
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)  # the task is now in its pause, holding the slot
    assert (attempts, governor.snapshot().in_flight) == (1, 1)
    task.cancel("the test cancels it")
    with pytest.raises(asyncio.CancelledError, match="the test cancels it"):
        await task
    assert governor.snapshot().in_flight == 0
