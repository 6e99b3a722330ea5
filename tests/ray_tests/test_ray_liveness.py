"""A worker's heartbeat outlives transient errors; a killed actor is a clear error."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

import pytest

from langchain_wandb._governor import Target


class _Flaky:
    """An actor handle whose first heartbeats fail to send (a GCS hiccup)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.beats = 0
        self.heartbeat = self

    def remote(self, owner: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("GCS unreachable for a moment")
        self.beats += 1


def test_the_heartbeat_survives_transient_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Before: the heartbeat thread ended at the first error, and the actor then reaped
    the leases of a process still using them."""
    from langchain_wandb.ray import _session, _start_heartbeat

    flaky = _Flaky(failures=3)
    with caplog.at_level(logging.WARNING, logger="langchain_wandb"):
        stop = _start_heartbeat(flaky, "owner", 0.01, _session())
        try:
            deadline = time.monotonic() + 10.0
            while flaky.beats < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
    assert flaky.beats >= 3
    warned = [r.getMessage() for r in caplog.records if "heartbeat" in r.getMessage()]
    assert len(warned) == 1  # once per run of failures, not once per beat
    assert "GCS unreachable" in warned[0]
    beats = flaky.beats
    time.sleep(0.1)
    assert flaky.beats == beats  # stopped


class Holder:
    """A worker process with the actor's handle cached."""

    def take(self, backend: Any, shared: Target) -> bool:
        slot = backend.governor(shared, cap=None, adaptive=False).acquire(time.monotonic() + 30)
        assert slot is not None
        slot.release()
        return True

    def take_or_say(self, backend: Any, shared: Target) -> tuple[str, str]:
        try:
            self.take(backend, shared)
        except Exception as error:
            return type(error).__name__, str(error)
        return "ok", ""


def test_a_process_told_the_actor_was_shut_down_elsewhere_gets_a_clear_error(
    backend: Any,
) -> None:
    """Before: every later request of the other process raised Ray's ActorDiedError, for
    the rest of the session (its cached handle was never looked up again)."""
    import ray

    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    actor: Any = ray.remote(num_cpus=0.5)(Holder)
    holder = actor.remote()
    try:
        assert ray.get(holder.take.remote(backend, shared), timeout=60)
        backend.shutdown()  # in this process: the holder still has the old handle
        kind, message = ray.get(holder.take_or_say.remote(backend, shared), timeout=60)
        assert kind == "GovernorActorGoneError"
        assert backend.name in message
        assert "shutdown()" in message
        # The next request looks the actor up again (a new one: nothing learned).
        assert ray.get(holder.take_or_say.remote(backend, shared), timeout=60) == ("ok", "")
    finally:
        ray.kill(holder)


def test_a_killed_actor_fails_waiting_and_new_requests_alike(backend: Any) -> None:
    import asyncio

    import ray

    from langchain_wandb.ray import GovernorActorGoneError

    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    for wait in ("sync", "async"):
        governor = backend.governor(shared, cap=1, adaptive=False)
        held = governor.acquire(time.monotonic() + 30)
        assert held is not None
        ray.kill(backend.actor())  # not through shutdown(): this process keeps the handle
        with pytest.raises(GovernorActorGoneError, match=backend.name):
            if wait == "sync":
                governor.acquire(time.monotonic() + 30)
            else:
                asyncio.run(governor.aacquire(time.monotonic() + 30))
    # Looked up again: a new actor, empty.
    assert backend.governor(shared, cap=1, adaptive=False).snapshot().in_flight == 0


def test_a_request_waiting_in_the_process_for_its_turn_times_out_there(
    ray_cluster: Any,
) -> None:
    import asyncio
    import threading

    from langchain_wandb.ray import RayGovernorBackend

    backend = RayGovernorBackend(f"test-{uuid.uuid4().hex[:8]}", max_waiting=1)
    try:
        governor = backend.governor(
            Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", None, "m"), cap=1, adaptive=False
        )
        held = governor.acquire(time.monotonic() + 30)
        assert held is not None
        at_actor = threading.Thread(target=governor.acquire, args=(time.monotonic() + 3,))
        at_actor.start()  # takes the one turn at the actor, then times out there
        time.sleep(0.5)
        assert governor.acquire(time.monotonic() + 0.2) is None
        assert asyncio.run(governor.aacquire(time.monotonic() + 0.2)) is None
        at_actor.join(10)
        held.release()
    finally:
        backend.shutdown()


class _ReplyLost:
    """The actor's handle, but the answer to `acquire` is lost on the way back.

    What Ray's `ActorUnavailableError` says may happen: "The task may or may not have
    been executed on the actor." Here it was: the actor granted the slot.
    """

    def __init__(self, actor: Any) -> None:
        self._actor = actor
        self.acquire = self

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        import ray

        granted = self._actor.acquire.remote(*args, **kwargs)
        ray.get(granted, timeout=60)  # the actor has leased the slot

        def unavailable() -> None:
            raise ray.exceptions.ActorUnavailableError("the reply was lost", None)

        task: Any = ray.remote(num_cpus=0)(unavailable)
        return task.remote()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._actor, name)


@pytest.mark.parametrize("wait", ["sync", "async"])
def test_a_grant_whose_reply_is_lost_is_given_back(backend: Any, wait: str) -> None:
    """Before: the actor kept the slot of a request that had failed, leased to a live
    process (its heartbeat kept it), for good: one slot fewer for every worker."""
    import asyncio

    import ray

    from langchain_wandb.ray import GovernorActorGoneError, RayGovernor, _here

    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    actor = backend.actor()
    governor = RayGovernor(backend, _ReplyLost(actor), shared, 1, False)
    with pytest.raises(GovernorActorGoneError):
        if wait == "sync":
            governor.acquire(time.monotonic() + 30)
        else:
            asyncio.run(governor.aacquire(time.monotonic() + 30))
    owner = _here().owner
    deadline = time.monotonic() + 10
    while ray.get(actor.leases_of.remote(owner)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ray.get(actor.leases_of.remote(owner)) == 0


class _Late:
    """One method of the actor, answered 30 s late."""

    def __init__(self, method: Any) -> None:
        self._method = method

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        import ray

        answer = self._method.remote(*args, **kwargs)  # the actor does run it

        def late(answer: list[Any]) -> Any:
            time.sleep(30)
            return ray.get(answer[0])

        task: Any = ray.remote(num_cpus=0)(late)
        return task.remote([answer])


class _Busy:
    """The actor's handle, but its answers come 30 s late (a busy actor)."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor
        self.acquire = _Late(actor.acquire)
        self.snapshot = _Late(actor.snapshot)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._actor, name)


@pytest.mark.parametrize("wait", ["sync", "async"])
def test_a_busy_actor_never_holds_a_request_past_its_deadline(backend: Any, wait: str) -> None:
    """Before: the waits for the actor's answers (the acquire, then the state a timeout
    error quotes) had no bound of their own, so a request outlived its `timeout` by as long
    as the actor took to answer."""
    import asyncio

    import ray

    from langchain_wandb._retry import arun_with_retries, run_with_retries
    from langchain_wandb.ray import GovernorActorTimeoutError, RayGovernor, _here

    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    actor = backend.actor()
    governor = RayGovernor(backend, _Busy(actor), shared, 1, False)

    def never(remaining: float) -> None:
        raise AssertionError("sent without a slot")

    async def never_async(remaining: float) -> None:
        never(remaining)

    started = time.monotonic()
    deadline = started + 2.0
    with pytest.raises(GovernorActorTimeoutError, match=backend.name):
        if wait == "sync":
            run_with_retries(never, max_retries=0, deadline=deadline, governor=governor)
        else:
            asyncio.run(
                arun_with_retries(never_async, max_retries=0, deadline=deadline, governor=governor)
            )
    assert time.monotonic() - started < 10
    owner = _here().owner  # the slot the actor granted meanwhile is given back
    end = time.monotonic() + 10
    while ray.get(actor.leases_of.remote(owner)) and time.monotonic() < end:
        time.sleep(0.05)
    assert ray.get(actor.leases_of.remote(owner)) == 0


def test_a_request_timing_out_in_its_process_never_waits_on_a_busy_actor(
    ray_cluster: Any,
) -> None:
    """Its turn to ask the actor never came (the one turn of `max_waiting=1` was taken by
    a request the busy actor had not answered). Before: its timeout error then asked the
    same actor for the pool's state, and waited as long as the actor took to answer."""
    import threading

    from langchain_wandb._retry import run_with_retries
    from langchain_wandb.ray import GovernorActorTimeoutError, RayGovernor, RayGovernorBackend

    backend = RayGovernorBackend(f"test-{uuid.uuid4().hex[:8]}", max_waiting=1)
    try:
        shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
        governor = RayGovernor(backend, _Busy(backend.actor()), shared, 1, False)

        def first() -> None:
            with contextlib.suppress(GovernorActorTimeoutError):
                governor.acquire(time.monotonic() + 5)

        at_actor = threading.Thread(target=first)
        at_actor.start()  # takes the one turn at the actor
        time.sleep(0.5)

        def never(remaining: float) -> None:
            raise AssertionError("sent without a slot")

        started = time.monotonic()
        with pytest.raises(GovernorActorTimeoutError, match=backend.name):
            run_with_retries(never, max_retries=0, deadline=started + 1.0, governor=governor)
        assert time.monotonic() - started < 5
        at_actor.join(30)
    finally:
        backend.shutdown()


def _slow_to_start(seconds: float = 3.0) -> type:
    """The governor actor class, with a process that takes seconds to come up."""
    from langchain_wandb.ray import _GovernorActor

    class SlowToStart(_GovernorActor):
        def __init__(self, lease_ttl: float) -> None:
            time.sleep(seconds)  # a worker process started on a loaded machine
            super().__init__(lease_ttl)

    return SlowToStart


def _dies_starting() -> type:
    from langchain_wandb.ray import _GovernorActor

    class DiesStarting(_GovernorActor):
        def __init__(self, lease_ttl: float) -> None:
            raise MemoryError("out of memory starting")

    return DiesStarting


def test_a_new_actor_slow_to_start_is_waited_for_not_blamed(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the first snapshot() of a new actor raised GovernorActorTimeoutError when
    starting the actor's process took over the 1 s an answer may take (CI, loaded)."""
    import langchain_wandb.ray as ray_module

    monkeypatch.setattr(ray_module, "_GovernorActor", _slow_to_start())
    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    assert backend.governor(shared, cap=1, adaptive=False).snapshot().in_flight == 0


def test_a_request_waits_for_the_start_within_its_timeout_and_never_blocks_its_loop(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An actor that takes 6 s to start, a request with 1 s: a timeout naming the start,
    a second after its deadline (as for an answer), while the caller's event loop runs on;
    a later request gets in."""
    import asyncio

    import langchain_wandb.ray as ray_module
    from langchain_wandb.ray import GovernorActorTimeoutError

    monkeypatch.setattr(ray_module, "_GovernorActor", _slow_to_start(6.0))
    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")

    async def request_and_ticker() -> float:
        stalls = [0.0]

        async def ticker() -> None:
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.05)
                stalls.append(time.monotonic() - before - 0.05)

        ticking = asyncio.create_task(ticker())
        governor = backend.governor(shared, cap=1, adaptive=False)
        try:
            with pytest.raises(
                GovernorActorTimeoutError,
                match=r"still starting after [12]\.\d s; the request was not sent\.",
            ):
                await governor.aacquire(time.monotonic() + 1.0)
        finally:
            ticking.cancel()
        return max(stalls)

    started = time.monotonic()
    stall = asyncio.run(request_and_ticker())
    assert time.monotonic() - started < 4.5  # not the 6 s start (or the 60 s bound)
    assert stall < 0.75  # before: the loop stood still for the whole start
    slot = backend.governor(shared, cap=1, adaptive=False).acquire(time.monotonic() + 60)
    assert slot is not None
    slot.release()


def test_an_actor_that_dies_starting_is_gone_then_looked_up_again(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: Ray's raw ActorDiedError."""
    import langchain_wandb.ray as ray_module
    from langchain_wandb.ray import GovernorActorGoneError

    original = ray_module._GovernorActor
    monkeypatch.setattr(ray_module, "_GovernorActor", _dies_starting())
    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    with pytest.raises(GovernorActorGoneError, match=backend.name):
        backend.governor(shared, cap=1, adaptive=False).acquire(time.monotonic() + 30)
    monkeypatch.setattr(ray_module, "_GovernorActor", original)
    assert backend.governor(shared, cap=1, adaptive=False).snapshot().in_flight == 0


def test_a_killed_actor_asked_for_its_state_is_gone_then_looked_up_again(backend: Any) -> None:
    """Before: Ray's raw ActorDiedError, every time, until some request hit it."""
    import ray

    from langchain_wandb.ray import GovernorActorGoneError

    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    assert backend.governor(shared, cap=1, adaptive=False).snapshot().in_flight == 0
    ray.kill(backend.actor())
    with pytest.raises(GovernorActorGoneError, match="asked for the pool's state"):
        backend.governor(shared, cap=1, adaptive=False).snapshot()
    assert backend.governor(shared, cap=1, adaptive=False).snapshot().in_flight == 0


def test_an_actor_up_long_since_admits_a_request_past_its_deadline_as_usual(
    backend: Any,
) -> None:
    """A new handle's start wait is as long as an answer's: before, a spent deadline made
    an async request say "still starting after 0 s" of an actor up long since."""
    import asyncio

    shared = Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")
    assert backend.governor(shared, cap=1, adaptive=False).snapshot().in_flight == 0
    backend._forget(None)  # as a process that never looked it up: a new handle, a new start
    governor = backend.governor(shared, cap=1, adaptive=False)
    slot = asyncio.run(governor.aacquire(time.monotonic() - 0.01))
    assert slot is None or slot.position == 1  # timed out in the queue, or admitted
    if slot is not None:
        slot.release()
