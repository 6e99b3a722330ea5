"""The concurrency governor through the public model API, against a limited emulator."""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncGenerator, Generator, Iterator
from typing import cast

import pytest
from langchain_core.exceptions import ModelPermissionDeniedError, ModelRateLimitError

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, WandbEmulator

LIMIT = 2


@pytest.fixture
def limited() -> Iterator[WandbEmulator]:
    with WandbEmulator(concurrency_limit=LIMIT, time_to_first_token=0.02) as emu:
        yield emu


async def slots_freed(llm: ChatWandbInference) -> bool:
    """Whether the model's slots come back within a bound (abandoned async generators are
    closed by Python's finalizer on the loop, a few iterations after they are collected)."""
    deadline = time.monotonic() + 5
    while llm.concurrency.in_flight and time.monotonic() < deadline:
        gc.collect()
        await asyncio.sleep(0.01)
    return llm.concurrency.in_flight == 0


def model(emu: WandbEmulator, **kwargs: object) -> ChatWandbInference:
    """A model with a project of its own, so its governor starts cold."""
    params: dict[str, object] = {"max_retries": 0, "project": f"team/{uuid.uuid4().hex}"}
    params.update(kwargs)
    llm: ChatWandbInference = emu.chat_model(**params)
    return llm


async def test_abatch_over_the_limit_loses_nothing(limited: WandbEmulator) -> None:
    llm = model(limited)
    results = await llm.abatch([f"prompt {i}" for i in range(30)], return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(limited.chat_requests) - limited.refused_requests == 30
    snapshot = llm.concurrency
    assert (snapshot.in_flight, snapshot.queued, snapshot.learned) == (0, 0, True)
    assert snapshot.limit is not None
    assert snapshot.limit >= 1


def test_threaded_batch_over_the_limit_loses_nothing(limited: WandbEmulator) -> None:
    llm = model(limited)
    results = llm.batch(
        [f"prompt {i}" for i in range(30)], {"max_concurrency": 12}, return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert llm.concurrency.in_flight == 0


def test_a_cap_at_the_limit_is_never_refused(limited: WandbEmulator) -> None:
    # timeout: a cap below LIMIT would leave a stream below queued; fail, do not hang.
    llm = model(limited, max_concurrency=LIMIT, adaptive_concurrency=False, timeout=30)
    results = llm.batch([f"p{i}" for i in range(12)], {"max_concurrency": 6})
    assert len(results) == 12
    assert limited.refused_requests == 0
    # The cap lets LIMIT requests run at once (shown without racing threads: each
    # stream is held open at its first chunk while the server still has ~10 s to send).
    limited.script(*[Reply(content="word " * 200, delay=0.05)] * LIMIT)
    streams = [cast("Generator[object, None, None]", llm.stream(f"s{i}")) for i in range(LIMIT)]
    for stream in streams:
        next(stream)
    assert list(limited.in_flight().values()) == [LIMIT]
    assert llm.concurrency.in_flight == LIMIT
    for stream in streams:
        stream.close()
    assert limited.refused_requests == 0


def test_quota_429_is_not_retried_or_queued(limited: WandbEmulator) -> None:
    limited.script(Reply(status=429, error_message="You exceeded your current quota"))
    llm = model(limited, max_retries=3)
    with pytest.raises(ModelPermissionDeniedError, match="quota"):  # billing, not a rate
        llm.invoke("hi")
    assert len(limited.chat_requests) == 1
    assert llm.concurrency.in_flight == 0


async def test_waiting_is_bounded_by_the_timeout(limited: WandbEmulator) -> None:
    holder = model(limited, max_concurrency=1)
    waiter = holder.model_copy(update={"timeout": 0.3})
    stream = cast("AsyncGenerator[object, None]", holder.astream("hold the slot"))
    await anext(stream)
    with pytest.raises(ModelRateLimitError, match=r"concurrency slot.*limit 1"):
        await waiter.ainvoke("wait")
    await stream.aclose()
    assert await slots_freed(holder)


async def test_a_stream_stopped_early_frees_its_slot(limited: WandbEmulator) -> None:
    limited.script(Reply(content="many words " * 50))
    llm = model(limited)
    async for _ in llm.astream("hi"):
        break
    assert await slots_freed(llm)


async def test_a_cancelled_stream_frees_its_slot(limited: WandbEmulator) -> None:
    limited.script(Reply(content="many words " * 50, delay=0.05))
    llm = model(limited)
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in llm.astream("hi"):
            started.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel("the test cancels it")
    with pytest.raises(asyncio.CancelledError, match="the test cancels it"):
        await task
    assert llm.concurrency.in_flight == 0


def test_a_sync_stream_stopped_early_frees_its_slot(limited: WandbEmulator) -> None:
    limited.script(Reply(content="many words " * 50))
    llm = model(limited)
    stream = cast("Generator[object, None, None]", llm.stream("hi"))
    next(stream)
    stream.close()
    assert llm.concurrency.in_flight == 0
