"""One W&B concurrency limit for every Ray worker, and Ray Data batch inference.

`pip install "langchain-wandb[ray]"`. Ray is imported here only (never by
`import langchain_wandb`).

- `RayGovernorBackend`: pass it as `ChatWandbInference(governor_backend=...)`. Every
  process that sends to the same endpoint, key (fingerprint), project and model (or the
  scope a W&B 429 stated) leases its slots from one named, detached Ray actor, which runs
  the in-process governor: the same FIFO queue, adaptation, timeouts and cancellation.
  Each process renews its leases with a heartbeat; when a process dies, the actor takes
  its slots back after `lease_ttl` seconds.
- `WandbChatPredictor`: a callable class for `Dataset.map_batches`.

Example:
    ```python
    import ray

    from langchain_wandb import ChatWandbInference
    from langchain_wandb.ray import RayGovernorBackend

    ray.init(num_cpus=2)
    llm = ChatWandbInference(model="openai/gpt-oss-120b", governor_backend=RayGovernorBackend())
    ```

"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import ray
from langchain_core.exceptions import ModelTimeoutError

from langchain_wandb._governor import (
    IN_PROCESS,
    ConcurrencySnapshot,
    Governor,
    Scope,
    Slot,
    SlotHandle,
    Target,
)
from langchain_wandb._json import JsonTooDeepError, json_loads

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from langchain_wandb.chat_models import ChatWandbInference

__all__ = [
    "GovernorActorGoneError",
    "GovernorActorTimeoutError",
    "RayGovernorBackend",
    "WandbChatPredictor",
]

logger = logging.getLogger("langchain_wandb")

DEFAULT_ACTOR_NAME = "langchain-wandb-governor"
DEFAULT_NAMESPACE = "langchain_wandb"


# -- the actor ---------------------------------------------------------------------------
class _Lease(NamedTuple):
    owner: str
    slot: Slot
    governor: Governor


class _GovernorActor:
    """Holds the in-process governor for every worker; leases slots to owners (processes)."""

    def __init__(self, lease_ttl: float) -> None:
        self.lease_ttl = lease_ttl
        self.leases: dict[str, _Lease] = {}
        self.waiting: dict[str, tuple[str, asyncio.Task[Any]]] = {}
        """Tickets queued for a slot: (owner, the waiting task)."""
        self.cancelled: dict[str, float] = {}
        """Tickets withdrawn with no wait or lease to end (their acquire has not run, or
        has answered already), with when; the reaper forgets them after `lease_ttl`."""
        self.judged: set[str] = set()
        """Leases whose refusal was applied (its report and its requeue both carry it)."""
        self.seen: dict[str, float] = {}
        self.reaper: asyncio.Task[None] | None = None

    async def acquire(
        self,
        ticket: str,
        *,
        owner: str,
        target: Target,
        cap: int | None,
        adaptive: bool,
        seconds: float | None,
        previous: str | None,
        scope: Scope | None = None,
    ) -> tuple[int, bool, bool] | None:
        """A slot for `target` within `seconds` (None: no limit), or None.

        Returns (position, queued, grows): `grows` says whether W&B accepting the
        request would raise the limit at once (report it now) or not (report it with the
        release). `previous`: the ticket of this request's refused lease, freed as it
        queues again. Its refusal (with the `scope` W&B stated) is applied here if its
        report, sent without waiting, has not landed yet.
        """
        self._saw(owner)
        old = self.leases.pop(previous, None) if previous is not None else None
        if old is not None and previous is not None:
            self._judge(previous, old, scope)
            self.judged.discard(previous)
        if self.cancelled.pop(ticket, None) is not None:
            if old is not None:
                old.slot.release()
            return None
        governor = IN_PROCESS.governor(target, cap=cap, adaptive=adaptive)
        deadline = math.inf if seconds is None else time.monotonic() + seconds
        task = asyncio.current_task()
        assert task is not None
        self.waiting[ticket] = (owner, task)
        try:
            slot = await governor.aacquire(deadline, previous=None if old is None else old.slot)
        except asyncio.CancelledError:
            return None
        finally:
            self.waiting.pop(ticket, None)
        if slot is None:
            return None
        self.leases[ticket] = _Lease(owner, slot, governor)
        return slot.position, slot.queued, governor.grows(slot)

    def release(self, ticket: str, admitted: bool = False) -> None:
        """Free the slot leased under `ticket` (unknown tickets: nothing).

        `admitted`: W&B accepted its request, reported only now (it raised no limit).
        """
        lease = self.leases.pop(ticket, None)
        self.judged.discard(ticket)
        if lease is not None:
            if admitted:
                lease.governor.admitted(lease.slot, late=True)
            lease.slot.release()

    def cancel(self, ticket: str) -> None:
        """The caller stopped waiting: drop the wait, or free the slot if it was granted."""
        wait = self.waiting.get(ticket)
        if wait is not None:
            wait[1].cancel()
        elif ticket in self.leases:
            self.release(ticket)
        else:
            self.cancelled[ticket] = time.monotonic()  # the acquire has not started yet

    def admitted(self, ticket: str) -> None:
        """W&B accepted the request leased under `ticket`."""
        lease = self.leases.get(ticket)
        if lease is not None:
            lease.governor.admitted(lease.slot, late=True)

    def refused(self, ticket: str, scope: Scope | None) -> None:
        """W&B refused the request leased under `ticket` for concurrency."""
        lease = self.leases.get(ticket)
        if lease is not None:
            self._judge(ticket, lease, scope)

    def _judge(self, ticket: str, lease: _Lease, scope: Scope | None) -> None:
        # Once per lease: the report and the requeue both carry the refusal (whichever
        # lands first applies it); counted twice, one 429 would read as two in a row.
        if ticket not in self.judged:
            self.judged.add(ticket)
            lease.governor.refused(lease.slot, scope)

    def snapshot(self, target: Target, cap: int | None, adaptive: bool) -> ConcurrencySnapshot:
        """The shared pool's state."""
        return IN_PROCESS.governor(target, cap=cap, adaptive=adaptive).snapshot()

    async def heartbeat(self, owner: str) -> None:
        """`owner` (a process) is alive; starts the reaper on first use."""
        self._saw(owner)

    def leases_of(self, owner: str) -> int:
        """How many slots `owner` holds (for tests and diagnostics)."""
        return sum(1 for lease in self.leases.values() if lease.owner == owner)

    def _saw(self, owner: str) -> None:
        self.seen[owner] = time.monotonic()
        if self.reaper is None:
            self.reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 4)
            self.reap()

    def reap(self) -> list[str]:
        """Take back the slots and waits of owners silent for longer than `lease_ttl`."""
        now = time.monotonic()
        dead = [owner for owner, seen in self.seen.items() if now - seen > self.lease_ttl]
        for owner in dead:
            del self.seen[owner]
        for ticket, when in list(self.cancelled.items()):
            if now - when > self.lease_ttl:  # answered before its withdrawal came
                del self.cancelled[ticket]
        gone = set(dead)
        for ticket, lease in list(self.leases.items()):
            if lease.owner in gone:
                self.release(ticket)
        # Its queued requests too: granted later, their slots would be held by nobody.
        for owner, task in list(self.waiting.values()):
            if owner in gone:
                task.cancel()
        return dead


# -- the backend, in each worker --------------------------------------------------------
class GovernorActorGoneError(RuntimeError):
    """The governor actor was killed (or died) while this process still used it."""


class GovernorActorTimeoutError(ModelTimeoutError):
    """The governor actor did not answer before the request's timeout ran out (not sent)."""


class _Process:
    """The identity of this process as a lease owner, and its heartbeat threads (per actor)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.owner = f"{uuid.uuid4().hex}-{self.pid}"
        self.actors: dict[tuple[str, str], tuple[Any, str | None, threading.Event, _Start]] = {}
        """Actor handles by (name, namespace), with the Ray session they belong to, what
        stops their heartbeat, and their start."""
        self.lock = threading.Lock()


_process = _Process()


def _session() -> str | None:
    """The Ray session this process is connected to now, or None.

    The cluster's GCS address and the job id: each new local cluster's first job has the
    same id.
    """
    if not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    return f"{context.gcs_address}/{context.get_job_id()}"


def _here() -> _Process:
    global _process  # noqa: PLW0603 - one per process id
    if _process.pid != os.getpid():
        _process = _Process()
    return _process


class RayGovernorBackend:
    """Slots leased from a named Ray actor, so every worker shares one W&B limit.

    Picklable (it holds only names and numbers): send the model to workers as it is; each
    process looks the actor up (creating it if needed) on its first request, which waits
    for the actor to be up as for an answer (its timeout and a second, at most a minute).
    """

    def __init__(
        self,
        name: str = DEFAULT_ACTOR_NAME,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        lease_ttl: float = 30.0,
        max_waiting: int = 8,
    ) -> None:
        """Configure the backend.

        Args:
            name: The governor actor's name; backends with the same name share limits.
            namespace: The Ray namespace the actor lives in.
            lease_ttl: Seconds after a process's last heartbeat (sent every
                `lease_ttl / 4` s) before the actor takes back its slots.
            max_waiting: Requests of one process (per model and project) waiting at the
                actor at once; the others wait in the process, in order. The actor
                grants that many at once; each waiting request costs it a call.

        """
        if not lease_ttl > 0:
            msg = f"lease_ttl must be positive, got {lease_ttl!r}"
            raise ValueError(msg)
        if isinstance(max_waiting, bool) or not isinstance(max_waiting, int) or max_waiting < 1:
            msg = f"max_waiting must be a positive integer, got {max_waiting!r}"
            raise ValueError(msg)
        self.name = name
        self.namespace = namespace
        self.lease_ttl = lease_ttl
        self.max_waiting = max_waiting

    def __repr__(self) -> str:
        """Name, namespace and TTL."""
        return (
            f"RayGovernorBackend({self.name!r}, namespace={self.namespace!r}, "
            f"lease_ttl={self.lease_ttl:g})"
        )

    def __eq__(self, other: object) -> bool:
        """Backends naming the same actor are equal."""
        return isinstance(other, RayGovernorBackend) and (self.name, self.namespace) == (
            other.name,
            other.namespace,
        )

    def __hash__(self) -> int:
        """Equal backends hash alike."""
        return hash((self.name, self.namespace))

    def governor(self, target: Target, *, cap: int | None, adaptive: bool) -> RayGovernor:
        """The handle admitting requests to `target` through the shared actor."""
        actor, start = self._actor()
        return RayGovernor(self, actor, target, cap, adaptive, start=start)

    def actor(self) -> Any:
        """The governor actor's handle (created, detached, if it does not exist yet).

        A new actor may still be starting; requests through `governor()` wait for it.
        """
        return self._actor()[0]

    def shutdown(self) -> None:
        """Kill the governor actor (it is detached: it outlives jobs until killed).

        Slots it leased are gone with it. This process forgets its handle (its next
        request starts a new actor). Other processes still hold theirs: each one's next
        request to the killed actor raises `GovernorActorGoneError` (its waiting requests
        too, at once), and the request after that looks the actor up again, starting a
        new one (with nothing learned) if none exists. Shut down when no worker sends.
        """
        try:
            actor = ray.get_actor(self.name, namespace=self.namespace)
        except ValueError:
            return
        ray.kill(actor)
        self._forget(None)

    def _forget(self, actor: Any) -> None:
        """Drop this process's handle (only if it is `actor`, unless None) and its heartbeat."""
        process = _here()
        with process.lock:
            found = process.actors.get((self.name, self.namespace))
            if found is not None and (actor is None or found[0] is actor):
                del process.actors[(self.name, self.namespace)]
                found[2].set()

    def _actor(self) -> tuple[Any, _Start]:
        # A handle of an earlier Ray session (ray.shutdown(), then ray.init()) is dead.
        process = _here()
        key = (self.name, self.namespace)
        found = process.actors.get(key)
        if found is not None and found[1] == _session():
            return found[0], found[3]
        if found is not None:
            found[2].set()  # its session is over
        with process.lock:
            found = process.actors.get(key)
            if found is not None and found[1] == _session():
                actor, start = found[0], found[3]
            else:
                actor = (
                    ray.remote(_GovernorActor)
                    .options(
                        name=self.name,
                        namespace=self.namespace,
                        get_if_exists=True,
                        lifetime="detached",
                        max_concurrency=100_000,
                        num_cpus=0,
                    )
                    .remote(self.lease_ttl)
                )
                start = _Start(actor)
                session = _session()  # connected now: creating the actor connects Ray
                stop = _start_heartbeat(actor, process.owner, self.lease_ttl / 4, session)
                process.actors[key] = (actor, session, stop, start)
        return actor, start


class _Start:
    """A looked-up actor's start, waited for before the first request through it.

    One per process's entry for the actor, shared by every handle made from it.

    An actor answers only once its process is up, which can take seconds on a loaded
    machine; each answer is bounded by a request's deadline plus `_ANSWER_GRACE`, which
    must not count the start.
    """

    __slots__ = ("ready", "up")

    def __init__(self, actor: Any) -> None:
        """Ask the actor to say when it is up (not awaited here)."""
        self.ready = actor.__ray_ready__.remote()
        self.up = False


_ACTOR_START_WAIT = 60.0
"""Seconds at most a request waits for the governor actor to start (its deadline may
allow less)."""


def _start_wait(deadline: float) -> float:
    """How long a request bounded by `deadline` may wait for the actor to start.

    As long as for an answer: an actor up long since answers at once, even past the deadline.
    """
    seconds = _answer_wait(deadline)
    return _ACTOR_START_WAIT if seconds is None else min(seconds, _ACTOR_START_WAIT)


def _start_heartbeat(actor: Any, owner: str, every: float, session: str | None) -> threading.Event:
    """Beat every `every` s until the returned event is set or the Ray session changes.

    A call on a handle of a session that was shut down makes Ray terminate the whole
    process a minute later ("Failed to connect to GCS"), hence the session check. An
    error sending one beat (a GCS hiccup) must not end the beating: the actor would take
    back the slots of a live process. It is logged once per run of failures.
    """
    stop = threading.Event()

    def beat() -> None:
        failing = False
        while _session() == session and not stop.is_set():
            try:
                actor.heartbeat.remote(owner)
            except Exception as error:
                if not failing:
                    logger.warning(
                        "W&B concurrency governor: a lease heartbeat failed (%s: %s); "
                        "retrying every %g s",
                        type(error).__name__,
                        error,
                        every,
                    )
                failing = True
            else:
                failing = False
            stop.wait(every)

    threading.Thread(target=beat, name="langchain-wandb-lease-heartbeat", daemon=True).start()
    return stop


def _seconds_until(deadline: float) -> float | None:
    """Seconds left until `deadline` (`time.monotonic()`; inf: None, no bound)."""
    return None if deadline == math.inf else max(deadline - time.monotonic(), 0.0)


_ANSWER_GRACE = 1.0
"""Seconds past a request's deadline its acquire's answer may take: the actor times the
wait out itself (answering None) a message's trip after the worker's deadline."""


_NOT_SENT = "the request was not sent (its place in the queue is withdrawn)"
_NOT_QUEUED = "the request was not sent"
_ASKED_STATE = "asked for the pool's state"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(error: BaseException) -> str:
    """`error`'s type and the first line of its message (Ray's are long, and colored)."""
    line = _ANSI.sub("", str(error)).strip().split("\n", 1)[0]
    return f"{type(error).__name__}: {line[:300]}" if line else type(error).__name__


def _answer_wait(deadline: float) -> float | None:
    """How long to wait for the actor's answer to an acquire bounded by `deadline`."""
    seconds = _seconds_until(deadline)
    return None if seconds is None else seconds + _ANSWER_GRACE


class RaySlot:
    """A slot leased from the governor actor; `release()` gives it back (idempotent)."""

    __slots__ = (
        "_governor",
        "_released",
        "accepted",
        "grows",
        "position",
        "queued",
        "refusal",
        "ticket",
    )

    def __init__(
        self, governor: RayGovernor, ticket: str, position: int, queued: bool, grows: bool = True
    ) -> None:
        """A lease named `ticket`, granted as the `position`-th request in flight."""
        self._governor = governor
        self._released = False
        self.ticket = ticket
        """The lease's id at the actor."""
        self.position = position
        """How many requests were in flight (this one included) when it was granted."""
        self.queued = queued
        """Whether the request waited in the queue for it."""
        self.grows = grows
        """Whether W&B accepting its request raises the limit at once (report it now)."""
        self.accepted = False
        """W&B accepted its request and the release will say so (`grows` was False)."""
        self.refusal: tuple[Scope | None] | None = None
        """The scope of the concurrency 429 reported for its request (in a 1-tuple), if any."""

    def release(self) -> None:
        """Give the slot back (one message to the actor, not awaited)."""
        if not self._released:
            self._released = True
            self._governor.actor.release.remote(self.ticket, self.accepted)


class RayGovernor:
    """A worker's handle on the shared pool of one target (the `GovernorHandle` protocol).

    At most `backend.max_waiting` of this process's requests for the target wait at the
    actor at once; the others wait in this process, in order (`gate`, an in-process governor), so
    that a burst of thousands of requests does not send thousands of calls to the actor
    at once (each costs the actor about a millisecond, and slows every grant behind it).
    A request queueing again after a 429 goes straight to the actor, ahead of new ones.
    """

    __slots__ = ("actor", "adaptive", "backend", "cap", "gate", "start", "target")

    def __init__(
        self,
        backend: RayGovernorBackend,
        actor: Any,
        target: Target,
        cap: int | None,
        adaptive: bool,
        *,
        start: _Start | None = None,
    ) -> None:
        """Lease slots for `target` from `backend`'s `actor` under this cap and adaptivity.

        `start`: the actor's start, to wait for before the first request (None: it is up).
        """
        self.backend = backend
        self.actor = actor
        self.start = start
        self.target = target
        self.cap = cap
        self.adaptive = adaptive
        # The in-process pool where this process's requests wait their turn to ask.
        turns = Target(
            f"ray-actor:{backend.namespace}/{backend.name}:{target.base_url}",
            target.key,
            target.project,
            target.model,
        )
        self.gate = IN_PROCESS.governor(turns, cap=backend.max_waiting, adaptive=False)

    def _started(self, deadline: float, doing: str = _NOT_QUEUED) -> None:
        """Wait until the actor is up, for as long as `deadline` allows (at most a minute).

        Raises:
            GovernorActorTimeoutError: It was still starting then.
            GovernorActorGoneError: It died starting.

        """
        start = self.start
        if start is None or start.up:
            return
        seconds = _start_wait(deadline)
        try:
            ray.get(start.ready, timeout=seconds)
        except ray.exceptions.GetTimeoutError:
            raise self._still_starting(seconds, doing) from None
        except ray.exceptions.RayActorError as error:
            raise self._gone(error, doing, starting=True) from error
        start.up = True

    async def _astarted(self, deadline: float) -> None:
        """Async `_started` (the event loop runs on meanwhile)."""
        start = self.start
        if start is None or start.up:
            return
        seconds = _start_wait(deadline)
        try:
            async with asyncio.timeout(seconds):
                await start.ready
        except TimeoutError:
            raise self._still_starting(seconds, _NOT_QUEUED) from None
        except ray.exceptions.RayActorError as error:
            raise self._gone(error, _NOT_QUEUED, starting=True) from error
        start.up = True

    def _still_starting(self, seconds: float, doing: str) -> GovernorActorTimeoutError:
        return GovernorActorTimeoutError(
            f"The W&B concurrency governor actor {self.backend.name!r} was still starting "
            f"after {seconds:.1f} s; {doing}. A new actor's process can take seconds to "
            "start on a loaded cluster; the next request waits for it again."
        )

    def _gone(
        self, error: BaseException, doing: str = _NOT_SENT, *, starting: bool = False
    ) -> GovernorActorGoneError:
        self.backend._forget(self.actor)  # the next request looks the actor up again
        how = (
            "died while starting"
            if starting
            else "is gone (killed by RayGovernorBackend.shutdown() in some process, by "
            "ray.kill, or it died)"
        )
        return GovernorActorGoneError(
            f"The W&B concurrency governor actor {self.backend.name!r} {how}; {doing}. The "
            "next request looks the actor up again, starting a new one (with nothing "
            f"learned) if none exists. Ray said: {_first_line(error)}"
        )

    def _withdraw(self, ticket: str) -> None:
        """Withdraw `ticket`'s wait, or give back a slot granted to it all the same.

        Also after a `RayActorError`: an unavailable actor "may or may not have" run the
        acquire, and a slot granted with its answer lost would stay leased to this live
        process for good. To a dead actor the message goes nowhere, harmlessly.
        """
        with contextlib.suppress(Exception):
            self.actor.cancel.remote(ticket)

    def _wait_failed(self, ticket: str, error: BaseException) -> Exception | None:
        """Withdraw `ticket` after its wait for a slot failed; the typed error to raise.

        None: raise `error` itself (a cancellation, say). Ray's `GetTimeoutError` (sync) is
        a `TimeoutError`, as `asyncio.timeout`'s is.
        """
        self._withdraw(ticket)
        if isinstance(error, TimeoutError):
            return self._late(_NOT_SENT)
        if isinstance(error, ray.exceptions.RayActorError):
            return self._gone(error)
        return None

    def _late(self, detail: str) -> GovernorActorTimeoutError:
        # Not None (a timeout in the queue): its error would ask the busy actor for the
        # pool's state, past the deadline, and blame W&B's limit for the actor's delay.
        return GovernorActorTimeoutError(
            f"The W&B concurrency governor actor {self.backend.name!r} did not answer in "
            f"time; {detail}. A busy actor answers late: fewer workers or a smaller "
            "`max_waiting` ask it less."
        )

    def _request(self, deadline: float, previous: SlotHandle | None) -> tuple[str, Any]:
        prior, scope = None, None
        if previous is not None:
            assert isinstance(previous, RaySlot)
            previous._released = True  # the actor frees it as this request queues again
            prior = previous.ticket
            if previous.refusal is not None:
                scope = previous.refusal[0]
        ticket = uuid.uuid4().hex
        ref = self.actor.acquire.remote(
            ticket,
            owner=_here().owner,
            target=self.target,
            cap=self.cap,
            adaptive=self.adaptive,
            seconds=_seconds_until(deadline),
            previous=prior,
            scope=scope,
        )
        return ticket, ref

    def _slot(self, ticket: str, got: tuple[int, bool, bool] | None) -> RaySlot | None:
        return None if got is None else RaySlot(self, ticket, *got)

    def _gate(self, previous: SlotHandle | None) -> Governor | None:
        return self.gate if previous is None else None  # a requeue goes ahead of new ones

    def acquire(self, deadline: float, *, previous: SlotHandle | None = None) -> RaySlot | None:
        """Block until the actor grants a slot or `deadline` passes (None).

        Raises:
            GovernorActorTimeoutError: The actor had not answered soon after `deadline`,
                or was still starting at `deadline`.
            GovernorActorGoneError: The actor is gone (or unreachable), or died starting.

        """
        self._started(deadline)
        gate = self._gate(previous)
        turn = None if gate is None else gate.acquire(deadline)
        if gate is not None and turn is None:
            return None
        try:
            ticket, ref = self._request(deadline, previous)
            try:
                return self._slot(ticket, ray.get(ref, timeout=_answer_wait(deadline)))
            except BaseException as error:
                typed = self._wait_failed(ticket, error)
                if typed is None:
                    raise
                raise typed from error
        finally:
            if turn is not None:
                turn.release()

    async def aacquire(
        self, deadline: float, *, previous: SlotHandle | None = None
    ) -> RaySlot | None:
        """Async `acquire`; a cancelled wait is withdrawn (or its granted slot freed)."""
        await self._astarted(deadline)
        gate = self._gate(previous)
        turn = None if gate is None else await gate.aacquire(deadline)
        if gate is not None and turn is None:
            return None
        try:
            ticket, ref = self._request(deadline, previous)
            try:
                async with asyncio.timeout(_answer_wait(deadline)):
                    return self._slot(ticket, await ref)
            except BaseException as error:
                typed = self._wait_failed(ticket, error)
                if typed is None:
                    raise
                raise typed from error
        finally:
            if turn is not None:
                turn.release()

    def admitted(self, slot: SlotHandle | None = None) -> None:
        """W&B accepted the request in `slot`: tell the actor now if that raises the limit.

        Otherwise the release says so (one message per request fewer).
        """
        if self.adaptive and isinstance(slot, RaySlot):
            if slot.grows:
                self.actor.admitted.remote(slot.ticket)
            else:
                slot.accepted = True

    def refused(self, slot: SlotHandle, scope: Scope | None = None) -> None:
        """Tell the actor W&B refused the request in `slot` (not awaited).

        Waiting would stall the worker's event loop, and every request on it, for a
        round trip per 429. Messages to an async actor may run out of order, so the
        request's requeue (`previous=slot`) carries the refusal again; the actor applies
        whichever lands first.
        """
        if self.adaptive:
            assert isinstance(slot, RaySlot)
            slot.refusal = (scope,)
            self.actor.refused.remote(slot.ticket, scope)

    def snapshot(self) -> ConcurrencySnapshot:
        """The shared pool's state (one round trip).

        `queued` counts requests waiting at the actor, not those waiting in a process
        for their turn to (see the class docstring).

        Raises:
            GovernorActorTimeoutError: The actor did not answer within a second once up (a
                request that timed out quotes this state: it must not wait longer), or
                was still starting after a minute.
            GovernorActorGoneError: It is gone, or died starting.

        """
        self._started(math.inf, _ASKED_STATE)
        ref = self.actor.snapshot.remote(self.target, self.cap, self.adaptive)
        try:
            snapshot: ConcurrencySnapshot = ray.get(ref, timeout=_ANSWER_GRACE)
        except ray.exceptions.GetTimeoutError:
            raise self._late(f"{_ASKED_STATE}, for {_ANSWER_GRACE:g} s") from None
        except ray.exceptions.RayActorError as error:
            raise self._gone(error, _ASKED_STATE) from error
        return snapshot


# -- Ray Data ----------------------------------------------------------------------------
Row = dict[str, Any]
OUTPUT_COLUMNS = ("text", "reasoning", "tool_calls", "parsed", "usage", "cost", "error")


class WandbChatPredictor:
    """Runs a column of prompts (or message lists) through `ChatWandbInference`, per batch.

    For `ds.map_batches(WandbChatPredictor, fn_constructor_kwargs={...}, concurrency=N,
    batch_format="pandas" or "numpy")`. Adds the columns `text`, `reasoning`,
    `tool_calls` (JSON), `parsed` (JSON, with `schema`), `usage` (JSON), `cost` (USD, when
    the price is known) and `error` (the typed error's class and message; the other
    columns are then None): a failing row never fails the job. By default every actor
    shares one W&B limit through `RayGovernorBackend`.
    """

    def __init__(
        self,
        llm: ChatWandbInference | None = None,
        *,
        column: str = "prompt",
        schema: dict[str, Any] | type | None = None,
        max_in_flight: int = 16,
        backend: RayGovernorBackend | None = None,
        **model_kwargs: Any,
    ) -> None:
        """Build the model on the worker.

        Args:
            llm: The model to use; None builds `ChatWandbInference(**model_kwargs)` here,
                on the worker (so a key read from `WANDB_API_KEY` never travels).
            column: The input column: a prompt string, or a list of message dicts
                (`{"role": ..., "content": ...}`), or such a list as a JSON string.
            schema: Structured output (a JSON Schema dict or a Pydantic class); the
                `parsed` column holds the result as JSON.
            max_in_flight: Rows of one batch sent at once by this actor (the shared
                limit decides how many run; this bounds the queue at the governor).
            backend: The governor backend; None: a `RayGovernorBackend()` shared by all,
                unless `llm` already has one.
            **model_kwargs: Arguments for `ChatWandbInference` when `llm` is None.

        """
        from langchain_wandb.chat_models import ChatWandbInference

        model = llm if llm is not None else ChatWandbInference(**model_kwargs)
        if backend is not None or model.governor_backend is None:
            model = model.model_copy(update={"governor_backend": backend or RayGovernorBackend()})
        self.llm = model
        self.column = column
        self.runnable: Any = (
            model.with_structured_output(schema, include_raw=True) if schema is not None else model
        )
        self.structured = schema is not None
        self.max_in_flight = max_in_flight
        self.loop = asyncio.new_event_loop()  # one per actor: its connections stay warm

    def __call__(self, batch: Any) -> Any:
        """Add the output columns to `batch` (a pandas DataFrame or a dict of arrays)."""
        rows = self.loop.run_until_complete(self._run(list(batch[self.column])))
        columns = {name: [row[name] for row in rows] for name in OUTPUT_COLUMNS}
        if isinstance(batch, dict):
            import numpy as np

            out = dict(batch)
            for name, values in columns.items():
                array = np.empty(len(values), dtype=object)
                array[:] = values
                out[name] = array
            return out
        import pandas as pd

        out = batch.copy()
        for name, values in columns.items():  # object columns: None stays None, not NaN
            out[name] = pd.Series(values, index=out.index, dtype=object)
        return out

    async def _run(self, cells: Sequence[Any]) -> list[Row]:
        gate = asyncio.Semaphore(self.max_in_flight)

        async def one(cell: Any) -> Row:
            async with gate:
                try:  # a row's failure (bad input included) is its own
                    answer = await self.runnable.ainvoke(_as_input(cell))
                    return _row(answer, structured=self.structured)
                except Exception as error:
                    return _failed(error)

        return list(await asyncio.gather(*(one(cell) for cell in cells)))


def _as_input(value: Any) -> str | list[BaseMessage]:
    """A cell as a prompt or a list of messages (dicts, LangChain messages, or JSON).

    Text is a prompt unless it is a JSON list of objects: "[Draft] ..." or "[1, 2]" is
    asked as written. JSON too deep to read fails the row (it is no prompt anyone wrote).
    """
    from langchain_core.messages import convert_to_messages

    if isinstance(value, str):
        if not value.lstrip().startswith("["):
            return value
        try:
            parsed = json_loads(value)
        except JsonTooDeepError:
            raise
        except ValueError:
            return value
        if not (isinstance(parsed, list) and parsed and all(isinstance(m, dict) for m in parsed)):
            return value
        value = parsed
    if isinstance(value, dict):
        value = [value]
    return convert_to_messages(list(value))


def _failed(error: BaseException) -> Row:
    row: Row = dict.fromkeys(OUTPUT_COLUMNS)
    row["error"] = f"{type(error).__name__}: {error}"
    return row


def _row(result: Any, *, structured: bool) -> Row:
    parsed = None
    if structured:
        if result.get("parsing_error") is not None:
            return _failed(result["parsing_error"])
        parsed = result["parsed"]
        result = result["raw"]
        if hasattr(parsed, "model_dump"):
            parsed = parsed.model_dump(mode="json")
    cost = result.response_metadata.get("cost")
    return {
        "text": result.text,
        "reasoning": result.additional_kwargs.get("reasoning_content"),
        "tool_calls": json.dumps(result.tool_calls) if result.tool_calls else None,
        "parsed": None if parsed is None else json.dumps(parsed),
        "usage": json.dumps(result.usage_metadata) if result.usage_metadata else None,
        "cost": cost.get("total") if isinstance(cost, dict) else None,
        "error": None,
    }
