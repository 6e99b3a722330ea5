"""A waiter that gives up must not strand the waiters queued behind it."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

from langchain_wandb._governor import Governor, Slot, governor_for


def _governors(*caps: int | None) -> list[Governor]:
    base_url = f"http://{uuid.uuid4().hex}.test/v1"  # a pool of its own
    return [governor_for(base_url, None, "m", max_concurrency=c, adaptive=True) for c in caps]


async def _queued(governor: Governor, count: int) -> None:
    async with asyncio.timeout(10):
        while governor.snapshot().queued < count:  # noqa: ASYNC110 - polling public counts
            await asyncio.sleep(0.005)


def test_a_capped_waiter_giving_up_lets_the_next_one_in() -> None:
    holder, capped, uncapped = _governors(None, 1, None)
    held = holder.acquire(time.monotonic() + 10)
    assert held is not None
    granted: list[Slot | None] = []
    capped_done = threading.Event()

    def wait_capped() -> None:
        capped.acquire(time.monotonic() + 0.3)  # blocked by its cap of 1: gives up
        capped_done.set()

    threading.Thread(target=wait_capped).start()
    while uncapped.snapshot().queued < 1:
        time.sleep(0.005)
    waiter = threading.Thread(
        target=lambda: granted.append(uncapped.acquire(time.monotonic() + 30))
    )
    waiter.start()
    assert capped_done.wait(10)
    waiter.join(10)
    # Admitted while the first slot is still held: the queue moved when the head left.
    assert granted
    assert granted[0] is not None
    assert uncapped.snapshot().in_flight == 2
    held.release()
    granted[0].release()


async def test_a_cancelled_head_waiter_lets_the_next_task_in() -> None:
    holder, capped, uncapped = _governors(None, 1, None)
    held = holder.acquire(time.monotonic() + 10)
    assert held is not None
    head = asyncio.create_task(capped.aacquire(time.monotonic() + 30))
    await _queued(uncapped, 1)
    behind = asyncio.create_task(uncapped.aacquire(time.monotonic() + 30))
    await _queued(uncapped, 2)
    head.cancel()
    slot = await asyncio.wait_for(behind, 10)
    assert slot is not None
    assert uncapped.snapshot().in_flight == 2
    held.release()
    slot.release()
