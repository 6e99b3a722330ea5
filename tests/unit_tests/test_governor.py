"""The concurrency governor, without sockets: fakes stand in for a limited W&B."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx2
import openai
import pytest

from langchain_wandb._governor import (
    INITIAL_LIMIT,
    ConcurrencyLimitTimeout,
    ConcurrencySnapshot,
    Governor,
    Slot,
    governor_for,
)
from langchain_wandb._retry import Admitted, arun_with_retries, run_with_retries

BOUND = 10.0  # seconds any condition in these tests may take to come true


def fresh(*, cap: int | None = None, adaptive: bool = True, model: str = "m") -> Governor:
    """A governor for a target no other test uses."""
    return governor_for(
        f"http://fake/{uuid.uuid4()}", None, model, max_concurrency=cap, adaptive=adaptive
    )


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


async def await_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


def queued(governor: Governor, count: int) -> Callable[[], bool]:
    """A condition: `count` waiters are queued on `governor`."""
    return lambda: governor.snapshot().queued == count


def later(seconds: float = BOUND) -> float:
    return time.monotonic() + seconds


def take(governor: Governor) -> Slot:
    slot = governor.acquire(later())
    assert slot is not None
    return slot


def status_error(status: int, message: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://fake/v1/chat/completions")
    response = httpx2.Response(status, request=request)
    return openai.APIStatusError(message, response=response, body=None)


CONCURRENCY_429 = "Concurrency limit reached for requests"


class LimitedServer:
    """W&B as seen by one attempt: more than `limit` in flight gets a concurrency 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.accepted = 0
        self.refused = 0

    def attempt(self, remaining: float) -> str:
        assert remaining > 0
        with self.lock:
            if self.active >= self.limit:
                self.refused += 1
                raise status_error(429, CONCURRENCY_429)
            self.active += 1
            self.accepted += 1
            self.peak = max(self.peak, self.active)
        return "response"

    async def aattempt(self, remaining: float) -> str:
        await asyncio.sleep(0)
        return self.attempt(remaining)

    def finish(self, admitted: Admitted[str]) -> None:
        with self.lock:
            self.active -= 1
        admitted.release()


# -- the registry and the snapshot ----------------------------------------------------------
def test_same_target_shares_one_pool_and_caps_apply_per_configuration() -> None:
    base = f"http://fake/{uuid.uuid4()}"
    wide = governor_for(base, "team/p", "m", max_concurrency=None, adaptive=True)
    assert governor_for(base + "/", "team/p", "m", max_concurrency=None, adaptive=True) is wide
    narrow = governor_for(base, "team/p", "m", max_concurrency=2, adaptive=True)
    other_model = governor_for(base, "team/p", "other", max_concurrency=None, adaptive=True)
    slots = [take(wide), take(wide)]
    assert narrow.snapshot().in_flight == 2
    assert other_model.snapshot().in_flight == 0
    assert narrow.acquire(time.monotonic()) is None  # 2 in flight: its cap is reached
    assert wide.acquire(time.monotonic()) is not None
    for slot in slots:
        slot.release()


def test_snapshot_reports_limit_cap_and_counts() -> None:
    governor = fresh(cap=3)
    assert governor.snapshot() == ConcurrencySnapshot(
        limit=3, in_flight=0, queued=0, cap=3, learned=False
    )
    unlimited = fresh(adaptive=False)
    assert unlimited.snapshot().limit is None
    assert fresh().snapshot().limit == INITIAL_LIMIT


def test_release_is_idempotent() -> None:
    governor = fresh()
    first, second = take(governor), take(governor)
    first.release()
    first.release()
    assert governor.snapshot().in_flight == 1
    second.release()
    assert governor.snapshot().in_flight == 0


# -- FIFO, hard cap, deadline --------------------------------------------------------------
def test_waiters_are_served_first_come_first_served() -> None:
    governor = fresh(cap=1, adaptive=False)
    held = take(governor)
    order: list[int] = []

    def wait_turn(index: int) -> None:
        slot = take(governor)
        order.append(index)
        slot.release()

    threads = []
    for index in range(6):
        thread = threading.Thread(target=wait_turn, args=(index,))
        thread.start()
        threads.append(thread)
        wait_for(queued(governor, index + 1))
    held.release()
    for thread in threads:
        thread.join(BOUND)
    assert order == list(range(6))
    assert governor.snapshot() == ConcurrencySnapshot(
        limit=1, in_flight=0, queued=0, cap=1, learned=False
    )


def test_hard_cap_bounds_in_flight_across_threads() -> None:
    governor = fresh(cap=3, adaptive=False)
    lock = threading.Lock()
    active, peak = 0, 0
    let_go = threading.Event()

    def work(_: int) -> None:
        nonlocal active, peak
        slot = take(governor)
        with lock:
            active += 1
            peak = max(peak, active)
        let_go.wait(BOUND)  # holds the slot (a request in flight) until the test lets go
        with lock:
            active -= 1
        slot.release()

    with ThreadPoolExecutor(12) as pool:
        done = pool.map(work, range(60))  # submits every job now
        # Deterministically full: 3 hold a slot, the other 9 threads wait in the queue.
        wait_for(lambda: (governor.snapshot().in_flight, governor.snapshot().queued) == (3, 9))
        let_go.set()
        list(done)
    assert peak == 3
    assert governor.snapshot().in_flight == 0


def test_waiting_ends_at_the_deadline_with_the_limit_and_the_wait() -> None:
    governor = fresh(cap=1)
    held = take(governor)
    server = LimitedServer(5)
    with pytest.raises(ConcurrencyLimitTimeout, match=r"limit 1 in flight.*1 in flight") as raised:
        run_with_retries(server.attempt, max_retries=2, deadline=later(0.05), governor=governor)
    assert raised.value.limit == 1
    assert raised.value.in_flight == 1
    assert raised.value.waited > 0
    assert server.accepted + server.refused == 0
    assert governor.snapshot().queued == 0
    held.release()


async def test_async_waiting_ends_at_the_deadline() -> None:
    governor = fresh(cap=1)
    held = take(governor)
    server = LimitedServer(5)
    with pytest.raises(ConcurrencyLimitTimeout, match="timeout ran out"):
        await arun_with_retries(
            server.aattempt, max_retries=2, deadline=later(0.05), governor=governor
        )
    assert governor.snapshot().queued == 0
    assert governor.snapshot().in_flight == 1
    held.release()


# -- learning the limit (AIMD) --------------------------------------------------------------
def test_a_refusal_lowers_the_limit_to_what_was_accepted(caplog: pytest.LogCaptureFixture) -> None:
    governor = fresh()
    slots = [take(governor) for _ in range(INITIAL_LIMIT)]
    with caplog.at_level(logging.INFO, logger="langchain_wandb"):
        governor.refused(slots[5])  # the 6th in flight was refused: 5 fit
    assert governor.snapshot().limit == 5
    assert governor.snapshot().learned
    assert "now sending at most 5 at once" in caplog.text
    governor.refused(slots[7])  # sent under the older, higher limit: no new information
    assert governor.snapshot().limit == 5
    for slot in slots:
        slot.release()


def test_one_refusal_at_most_halves_the_limit_it_was_sent_under() -> None:
    # Requests reach W&B in an order of their own (a woken thread runs late): the first
    # taken up may arrive after seven others, so its refusal says "at least 4 fit" at best.
    governor = fresh()
    slots = [take(governor) for _ in range(INITIAL_LIMIT)]
    governor.refused(slots[0])
    assert governor.snapshot().limit == INITIAL_LIMIT // 2
    for slot in slots:
        slot.release()
    for expected in (INITIAL_LIMIT // 4, INITIAL_LIMIT // 8, 1):  # alone, refused again
        slot = take(governor)
        governor.refused(slot)
        slot.release()
        assert governor.snapshot().limit == expected  # never below one


def test_a_refused_request_pausing_on_its_slot_is_not_counted_as_accepted() -> None:
    governor = fresh()
    slots = [take(governor) for _ in range(INITIAL_LIMIT)]
    governor.refused(slots[-1])  # it keeps its slot through the pause, unseen by W&B
    assert governor.snapshot().limit == INITIAL_LIMIT - 1
    governor.admitted(slots[0])  # accepted beside the 6 others W&B saw: no sign 8 fit
    assert governor.snapshot().limit == INITIAL_LIMIT - 1
    for slot in slots:
        slot.release()


def test_limit_doubles_per_round_before_any_refusal() -> None:
    governor = fresh()
    slots = [take(governor) for _ in range(INITIAL_LIMIT)]
    for _ in range(INITIAL_LIMIT):  # each admission at a full limit makes room for one more
        governor.admitted()
        slots.append(take(governor))
    assert governor.snapshot().limit == 2 * INITIAL_LIMIT
    assert governor.acquire(time.monotonic()) is None
    for slot in slots:
        slot.release()


def test_limit_regrows_slowly_and_only_when_it_is_what_holds_requests_back() -> None:
    governor = fresh()
    slots = [take(governor) for _ in range(3)]
    governor.refused(slots[2])  # sent under 8: halves it at most
    slots.pop().release()
    slots.append(take(governor))
    governor.refused(slots[2])  # sent under 4: 2 fit
    assert governor.snapshot().limit == 2
    slots.pop().release()
    for _ in range(1000):  # 2 in flight at a limit of 2: the limit is full
        governor.admitted()
        if governor.snapshot().limit != 2:
            break
    assert governor.snapshot().limit == 3
    slots.pop().release()
    for _ in range(1000):  # 1 in flight below a limit of 3: demand, not the limit
        governor.admitted()
    assert governor.snapshot().limit == 3
    slots.pop().release()


def test_user_cap_bounds_the_learned_limit() -> None:
    governor = fresh(cap=2)
    slots = [take(governor), take(governor)]
    for _ in range(100):
        governor.admitted()
    assert governor.snapshot().limit == 2
    for slot in slots:
        slot.release()


def test_threads_converge_on_the_server_limit_without_failures() -> None:
    governor = fresh()
    server = LimitedServer(3)

    def request(_: int) -> None:
        admitted = run_with_retries(
            server.attempt, max_retries=0, deadline=later(), governor=governor
        )
        time.sleep(0.002)
        server.finish(admitted)

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(request, range(120)))  # max_retries=0: any counted retry would fail
    assert server.accepted == 120
    assert governor.snapshot() == ConcurrencySnapshot(
        limit=governor.snapshot().limit, in_flight=0, queued=0, cap=None, learned=True
    )
    assert server.peak <= 3


async def test_tasks_converge_on_the_server_limit_without_failures() -> None:
    governor = fresh()
    server = LimitedServer(2)

    async def request() -> None:
        admitted = await arun_with_retries(
            server.aattempt, max_retries=0, deadline=later(), governor=governor
        )
        await asyncio.sleep(0.002)
        server.finish(admitted)

    await asyncio.gather(*(request() for _ in range(100)))
    assert server.accepted == 100
    assert server.peak == 2
    snapshot = governor.snapshot()
    assert (snapshot.in_flight, snapshot.queued, snapshot.learned) == (0, 0, True)


@pytest.mark.parametrize(
    ("status", "message"),
    [(429, "You exceeded your current quota"), (429, "No credits left"), (402, "Pay up")],
)
def test_quota_and_payment_refusals_are_not_requeued(status: int, message: str) -> None:
    governor = fresh()
    calls: list[float] = []

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        raise status_error(status, message)

    with pytest.raises(openai.APIStatusError, match=message):
        run_with_retries(attempt, max_retries=3, deadline=later(), governor=governor)
    assert len(calls) == 1
    assert governor.snapshot() == ConcurrencySnapshot(
        limit=INITIAL_LIMIT, in_flight=0, queued=0, cap=None, learned=False
    )


def test_non_adaptive_governor_counts_concurrency_429s_as_retries() -> None:
    governor = fresh(cap=4, adaptive=False)
    calls: list[float] = []

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        raise status_error(429, CONCURRENCY_429)

    with pytest.raises(openai.APIStatusError, match=CONCURRENCY_429):
        run_with_retries(attempt, max_retries=0, deadline=later(), governor=governor)
    assert len(calls) == 1
    assert governor.snapshot().in_flight == 0


def test_refused_until_the_deadline_ends_in_a_timeout_not_a_retry_count() -> None:
    governor = fresh()

    def attempt(remaining: float) -> str:
        raise status_error(429, CONCURRENCY_429)

    with pytest.raises(ConcurrencyLimitTimeout, match="limit 1 in flight") as raised:
        run_with_retries(attempt, max_retries=0, deadline=later(0.3), governor=governor)
    assert isinstance(raised.value.__cause__, openai.APIStatusError)
    assert governor.snapshot().in_flight == 0


# -- threads, tasks and several loops at once -------------------------------------------------
def test_release_from_a_thread_wakes_tasks_on_two_loops_and_a_thread() -> None:
    governor = fresh(cap=1, adaptive=False)
    held = take(governor)
    served: list[str] = []

    def on_own_loop(name: str) -> None:
        async def wait() -> None:
            slot = await governor.aacquire(later())
            assert slot is not None
            served.append(name)
            slot.release()

        asyncio.run(wait())

    def in_thread() -> None:
        slot = take(governor)
        served.append("thread")
        slot.release()

    workers = [
        threading.Thread(target=on_own_loop, args=("loop A",)),
        threading.Thread(target=in_thread),
        threading.Thread(target=on_own_loop, args=("loop B",)),
    ]
    for count, worker in enumerate(workers, 1):
        worker.start()
        wait_for(queued(governor, count))
    held.release()
    for worker in workers:
        worker.join(BOUND)
    assert served == ["loop A", "thread", "loop B"]
    assert governor.snapshot().in_flight == 0


async def test_a_task_holder_release_wakes_a_waiting_thread() -> None:
    governor = fresh(cap=1, adaptive=False)
    held = await governor.aacquire(later())
    assert held is not None
    got: list[Slot | None] = []
    thread = threading.Thread(target=lambda: got.append(governor.acquire(later())))
    thread.start()
    await await_for(lambda: governor.snapshot().queued == 1)
    held.release()
    await await_for(lambda: bool(got))
    thread.join(BOUND)
    assert got[0] is not None
    got[0].release()


# -- cancellation -------------------------------------------------------------------------
async def test_a_cancelled_waiter_frees_nothing_it_did_not_hold() -> None:
    governor = fresh(cap=1, adaptive=False)
    held = take(governor)
    waiter = asyncio.ensure_future(governor.aacquire(later()))
    await await_for(lambda: governor.snapshot().queued == 1)
    waiter.cancel("the test cancels it")
    with pytest.raises(asyncio.CancelledError, match="the test cancels it"):
        await waiter
    assert (governor.snapshot().in_flight, governor.snapshot().queued) == (1, 0)
    held.release()
    assert governor.snapshot().in_flight == 0


async def test_a_waiter_cancelled_just_after_being_granted_frees_that_slot() -> None:
    governor = fresh(cap=1, adaptive=False)
    held = take(governor)
    waiter = asyncio.ensure_future(governor.aacquire(later()))
    await await_for(lambda: governor.snapshot().queued == 1)
    held.release()  # hands the slot to the waiter, which has not run yet
    waiter.cancel("the test cancels it")
    with pytest.raises(asyncio.CancelledError, match="the test cancels it"):
        await waiter
    assert governor.snapshot().in_flight == 0


async def test_a_cancelled_attempt_frees_its_slot() -> None:
    governor = fresh(cap=1)
    started = asyncio.Event()

    async def hangs(remaining: float) -> str:
        started.set()
        await asyncio.sleep(BOUND * 10)
        return "never"

    task = asyncio.ensure_future(
        arun_with_retries(hangs, max_retries=0, deadline=later(), governor=governor)
    )
    await asyncio.wait_for(started.wait(), BOUND)
    assert governor.snapshot().in_flight == 1
    task.cancel("the test cancels it")
    with pytest.raises(asyncio.CancelledError, match="the test cancels it"):
        await task
    assert governor.snapshot().in_flight == 0


async def test_a_cancelled_holder_passes_its_slot_on() -> None:
    governor = fresh(cap=1, adaptive=False)

    async def hold_forever() -> None:
        slot = await governor.aacquire(later())
        assert slot is not None
        try:
            await asyncio.sleep(BOUND * 10)
        finally:
            slot.release()

    holder = asyncio.ensure_future(hold_forever())
    await await_for(lambda: governor.snapshot().in_flight == 1)
    next_in_line = asyncio.ensure_future(governor.aacquire(later()))
    await await_for(lambda: governor.snapshot().queued == 1)
    holder.cancel()
    slot = await asyncio.wait_for(next_in_line, BOUND)
    assert slot is not None
    assert governor.snapshot().in_flight == 1
    slot.release()


# -- fork ----------------------------------------------------------------------------------
FORK_CHILD = """
import os, sys, time
from langchain_wandb._governor import governor_for

governor = governor_for("http://fake/fork", None, "m", max_concurrency=1, adaptive=False)
held = governor.acquire(time.monotonic() + 5)
assert held is not None
pid = os.fork()
if pid == 0:
    child = governor_for("http://fake/fork", None, "m", max_concurrency=1, adaptive=False)
    snapshot = child.snapshot()
    slot = child.acquire(time.monotonic() + 5)
    os._exit(0 if snapshot.in_flight == 0 and slot is not None else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX")
def test_a_forked_child_starts_with_a_fresh_governor() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORK_CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
