"""One W&B limit leased from a Ray actor by every worker process."""

from __future__ import annotations

import asyncio
import math
import os
import pickle
import time
import uuid
from typing import Any

import pytest

from langchain_wandb import ChatWandbInference
from langchain_wandb._governor import ConcurrencySnapshot, Target
from langchain_wandb.testing import WandbEmulator

MODEL = "openai/gpt-oss-120b"
KEY = "ray-test-key-0123456789abcdef0123456789"


def target(**kwargs: Any) -> Target:
    fields: dict[str, Any] = {
        "base_url": f"http://{uuid.uuid4().hex}.test/v1",
        "key": "fp",
        "project": "team/p",
        "model": "m",
    }
    fields.update(kwargs)
    return Target(**fields)


def later(seconds: float = 10.0) -> float:
    return time.monotonic() + seconds


def settles(state: Any, expected: Any, seconds: float = 10.0) -> Any:
    """`state()` once it equals `expected` (or when `seconds` ran out): the actor applies
    a release or withdrawal (a message) a loaded machine's moment later."""
    end = later(seconds)
    while (found := state()) != expected and time.monotonic() < end:
        time.sleep(0.05)
    return found


class Worker:
    """A worker process (a Ray actor) running `abatch`."""

    def run(self, llm: ChatWandbInference, n: int) -> tuple[int, int]:
        """Its pid and how many of n prompts were lost."""
        results = asyncio.run(llm.abatch([f"p{i}" for i in range(n)], return_exceptions=True))
        return os.getpid(), sum(isinstance(r, BaseException) for r in results)


class Holder:
    """A worker process (a Ray actor) that takes slots and keeps them."""

    def hold(self, backend: Any, shared: Target, n: int) -> int:
        """Take n slots of `shared`; returns the pid."""
        governor = backend.governor(shared, cap=n, adaptive=False)
        self.slots = [governor.acquire(math.inf) for _ in range(n)]
        return os.getpid()


def test_the_shared_limit_holds_across_four_worker_processes(backend: Any) -> None:
    import ray

    limit, per_worker = 4, 40
    with WandbEmulator(concurrency_limit=limit, time_to_first_token=0.05) as emu:
        llm = ChatWandbInference(
            base_url=emu.base_url,
            api_key=KEY,
            model=MODEL,
            project=f"team/{uuid.uuid4().hex[:8]}",
            max_retries=0,
            governor_backend=backend,
        )

        worker: Any = ray.remote(num_cpus=0.5)(Worker)
        workers = [worker.remote() for _ in range(4)]
        done = ray.get([w.run.remote(llm, per_worker) for w in workers], timeout=120)
        pids = {pid for pid, _ in done}
        assert len(pids) == 4
        assert os.getpid() not in pids
        assert sum(lost for _, lost in done) == 0
        answered = len(emu.chat_requests) - emu.refused_requests
        assert answered == 4 * per_worker
        # Per-process governors would each start at 8 and be refused far more often.
        assert emu.refused_requests <= 0.25 * answered
        snapshot = llm.concurrency
        assert isinstance(snapshot, ConcurrencySnapshot)
        assert (snapshot.in_flight, snapshot.queued) == (0, 0)
        assert snapshot.learned
        assert snapshot.limit is not None
        assert snapshot.limit <= limit + 1
        for worker in workers:
            ray.kill(worker)


def test_a_killed_workers_slots_come_back(backend: Any) -> None:
    import ray

    shared = target()

    actor: Any = ray.remote(num_cpus=0.5)(Holder)
    holder = actor.remote()
    ray.get(holder.hold.remote(backend, shared, 3), timeout=60)
    governor = backend.governor(shared, cap=3, adaptive=False)
    assert governor.snapshot().in_flight == 3
    assert governor.acquire(time.monotonic() + 0.2) is None  # all three are held
    ray.kill(holder)
    slot = governor.acquire(later(15.0))  # back after the lease TTL (2 s)
    assert slot is not None
    assert governor.snapshot().in_flight == 1
    slot.release()


def test_fifo_timeouts_cancellation_and_requeue_behave_as_in_process(backend: Any) -> None:
    governor = backend.governor(target(), cap=1, adaptive=True)
    held = governor.acquire(later())
    assert held is not None
    assert (held.position, held.queued) == (1, False)
    assert governor.acquire(time.monotonic() + 0.1) is None  # timed out, nothing leaked

    async def cancelled_waiter() -> None:
        waiter = asyncio.ensure_future(governor.aacquire(later()))
        await asyncio.sleep(0.3)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(cancelled_waiter())

    def queued_and_held() -> tuple[int, int]:
        snapshot = governor.snapshot()
        return snapshot.queued, snapshot.in_flight

    assert settles(queued_and_held, (0, 1)) == (0, 1)  # the waiter's withdrawal landed

    async def queued_then_granted() -> Any:
        waiter = asyncio.ensure_future(governor.aacquire(later()))
        await asyncio.to_thread(settles, queued_and_held, (1, 1))  # it waits at the actor
        held.release()
        return await waiter

    second = asyncio.run(queued_then_granted())
    assert second is not None
    assert second.queued
    governor.refused(second, "project")  # W&B states the scope: the pool follows it
    again = governor.acquire(later(), previous=second)
    assert again is not None
    snapshot = governor.snapshot()
    assert (snapshot.scope, snapshot.learned, snapshot.in_flight) == ("project", True, 1)
    again.release()
    assert settles(lambda: governor.snapshot().in_flight, 0) == 0


class Waiter:
    """Takes one slot in a thread of its own, noting the order slots came in."""

    def __init__(self, governor: Any, order: list[int], index: int) -> None:
        import threading

        self.thread = threading.Thread(target=self.run, args=(governor, order, index))
        self.thread.start()

    def run(self, governor: Any, order: list[int], index: int) -> None:
        slot = governor.acquire(later(60.0))
        assert slot is not None
        order.append(index)
        slot.release()


def test_a_burst_waits_in_the_process_with_a_few_requests_at_the_actor(ray_cluster: Any) -> None:
    """Before: every request of a burst sent its call to the actor at once (thousands of
    calls, each about a millisecond of the actor's time, ahead of every grant)."""
    from langchain_wandb.ray import RayGovernorBackend

    backend = RayGovernorBackend(f"test-{uuid.uuid4().hex[:8]}", max_waiting=2)
    try:
        governor = backend.governor(target(), cap=1, adaptive=False)
        held = governor.acquire(later())
        assert held is not None
        order: list[int] = []
        waiters = []

        def waiting() -> tuple[int, int]:
            return governor.snapshot().queued, governor.gate.snapshot().queued

        for index in range(6):
            waiters.append(Waiter(governor, order, index))
            # Each in its place before the next comes: two at the actor, then in this process.
            expected = (min(index + 1, 2), max(index - 1, 0))
            assert settles(waiting, expected) == expected
        time.sleep(0.3)
        assert waiting() == (2, 4)  # still: the other 4 wait in this process
        held.release()
        for waiter in waiters:
            waiter.thread.join(60.0)
        assert order == list(range(6))  # first come, first served
    finally:
        backend.shutdown()


def test_max_waiting_must_be_a_positive_integer() -> None:
    from langchain_wandb.ray import RayGovernorBackend

    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_waiting must be a positive integer"):
            RayGovernorBackend(max_waiting=bad)  # type: ignore[arg-type]


def test_a_backend_pickles_to_its_names_and_keys_stay_masked(backend: Any) -> None:
    llm = ChatWandbInference(api_key=KEY, model=MODEL, governor_backend=backend)
    data = pickle.dumps(llm)
    # What pickling a SecretStr implies: the key is in the pickled bytes (so in Ray's
    # object store), but never in reprs, logs or errors.
    assert KEY.encode() in data
    assert KEY not in repr(llm)
    assert KEY not in repr(backend)
    assert pickle.loads(pickle.dumps(backend)) == backend
    restored = pickle.loads(data)
    assert restored.governor_backend == backend
    assert restored.api_key.get_secret_value() == KEY
