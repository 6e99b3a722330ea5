"""How many requests to keep in flight per W&B limit: queue the rest.

W&B Inference limits requests in flight, not requests per minute; over the limit it
answers 429. A limit belongs to a model within a project or a user (a key), and its 429
may say which ("...-project limit reached", "per-user"). A `Target` (base URL, key
fingerprint, project, model) starts in a pool of its own; once a 429 states the scope, it
joins the pool of that scope (every key on the project, or every project of the key).
One `_Pool` per pool key in this process counts the requests in flight, queues the
others FIFO, and (when adaptive) learns the limit:

- it starts at `INITIAL_LIMIT` and, while requests are waiting on it, grows by one per
  admitted request (doubling per round trip), until W&B first refuses one;
- a concurrency 429 for a request that was the n-th being sent (counted when its request
  took the slot up, not when it was granted: a woken thread may run late, and a request
  pausing after a refusal is not at W&B) lowers the limit to at most n - 1 (the
  requests beside it were accepted, so this is W&B's limit as seen from here), but at
  most to half the limit it was sent under (requests may reach W&B out of order), at
  least 1; 429s from requests sent under an older, higher limit change nothing.
  The refused request keeps its slot through a short pause (so a limit of one is not
  hammered), then queues again ahead of new requests;
- one refusal below the most requests W&B has accepted at once is taken for W&B's
  bookkeeping lagging (the limit climbs straight back); two in a row lower that level.
  A remote worker's late report of an acceptance does not clear such a doubt (it
  counts requests on their way to or from W&B);
- after that, every `max(32, 8 x limit)` requests admitted while the limit was full, it
  tries one more.

Only a limit W&B has shown (a concurrency 429) or the user set may be blamed when a
request's time runs out in the queue: the starting guess is ours, so a request that
waited on it ends in a plain timeout.

Where the pools live is a `GovernorBackend`'s business: `InProcessBackend` (the default)
keeps them in this process; `langchain_wandb.ray.RayGovernorBackend` leases slots from a
named Ray actor so that every worker shares one limit.

Several `Governor` handles (one per model instance configuration) share a pool: the
server counts all of them together. A request is sent only while the pool's in-flight
count is below its own handle's cap and, when that handle is adaptive, the learned limit.

Threads and event loops mix freely: waiting threads block on an event, waiting tasks
on a future woken with `call_soon_threadsafe`; a freed slot is handed straight to the
oldest waiter (no lost wake-ups, no busy waiting). A forked child starts empty.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

logger = logging.getLogger("langchain_wandb")

INITIAL_LIMIT = 8
"""Requests an adaptive pool sends at once before it has seen any request admitted."""
_MIN_PROBE_INTERVAL = 32
_PROBE_WINDOWS = 8


Scope = Literal["project", "user"]
"""What a W&B concurrency limit counts: one project's requests to a model (every key on
it), or one user's (key's) requests to a model (every project used with that key)."""


def key_fingerprint(api_key: str) -> str:
    """A short, salted, one-way fingerprint of an API key: pools tell keys apart by it.

    12 hex digits of a keyed BLAKE2b hash: the same in every process (so workers of one
    key share a pool), and the key cannot be read back from it.
    """
    digest = hashlib.blake2b(api_key.encode(), digest_size=6, key=b"langchain-wandb/pool")
    return digest.hexdigest()


@dataclass(frozen=True)
class Target:
    """Where requests go, as W&B counts them: endpoint, key (fingerprint), project, model."""

    base_url: str
    key: str
    """`key_fingerprint(api_key)`, never the key itself."""
    project: str | None
    """The `OpenAI-Project` sent, or None (the key's default project)."""
    model: str

    def pool_key(self, scope: Scope | None) -> tuple[str, ...]:
        """The pool this target's requests count against under `scope` (None: not known)."""
        base = self.base_url.rstrip("/")
        if scope == "user":
            return ("user", base, self.key, self.model)
        if scope == "project" and self.project is not None:
            return ("project", base, self.project, self.model)
        # Unknown scope, or the key's default project (known only to W&B): the narrowest.
        return ("target", base, self.key, self.project or "", self.model)

    def describe(self) -> str:
        """The model and project, for logs (never the key)."""
        return self.model if self.project is None else f"{self.model} (project {self.project})"


@dataclass(frozen=True)
class ConcurrencySnapshot:
    """What a governor is doing right now (for progress displays and logs)."""

    limit: int | None
    """Requests allowed in flight now for this configuration; None means no limit."""
    in_flight: int
    """Requests in flight to this pool (from this process, or every worker of a shared
    backend)."""
    queued: int
    """Requests waiting for a slot."""
    cap: int | None
    """The hard cap set by the user (`max_concurrency`); None when not set."""
    learned: bool
    """True once W&B has refused a request for concurrency and the limit was lowered to fit."""
    scope: Scope | None = None
    """The scope a W&B 429 stated for this limit; None until one did."""

    @property
    def known(self) -> bool:
        """Whether the limit in force was shown by W&B (a 429) or set by the user.

        Otherwise it is only the adaptive starting guess, which nothing may be blamed on.
        """
        return self.learned or (self.cap is not None and self.limit == self.cap)


class ConcurrencyLimitTimeout(Exception):  # noqa: N818 - reads as what happened
    """The request's total timeout ran out while it waited for (or just after) a slot."""

    def __init__(self, snapshot: ConcurrencySnapshot, waited: float, *, queued: bool) -> None:
        """Say the limit, the in-flight count and how long the request waited.

        `queued`: whether the request waited in the queue at all; only then, and only for a
        limit W&B showed or the user set (`blamed`), does the message name the limit.
        """
        self.limit = snapshot.limit
        """The limit in force when the request gave up."""
        self.in_flight = snapshot.in_flight
        """Requests in flight when the request gave up."""
        self.queued = snapshot.queued
        """Requests still waiting when the request gave up."""
        self.waited = waited
        """Seconds the request spent waiting for a slot (and backing off after refusals)."""
        self.blamed = queued and snapshot.known
        """Whether a limit W&B showed or the user set is what the request waited for."""
        self.situation = _situation(snapshot, queued=queued)
        """What the governor did with the request, for a plain (unblamed) timeout."""
        if not self.blamed:
            unknown = "" if snapshot.known else " (no W&B concurrency limit is known)"
            super().__init__(
                f"The request's timeout ran out after {waited:.1f} s with {snapshot.in_flight}"
                f" requests in flight to this model; {self.situation}{unknown}: W&B did not "
                "answer in time."
            )
            return
        super().__init__(
            f"Waited {waited:.1f} s for a free W&B Inference concurrency slot "
            f"({_limit(snapshot)}; {snapshot.in_flight} in flight, {snapshot.queued} queued) "
            "and the request's timeout ran out. Raise `timeout`, send fewer requests at "
            "once, or ask W&B for a higher concurrency limit."
        )


def _limit(snapshot: ConcurrencySnapshot) -> str:
    limit = "no limit" if snapshot.limit is None else f"limit {snapshot.limit}"
    kind = "learned from W&B's 429s" if snapshot.learned else "set"
    return f"{limit} in flight, {kind}"


def _situation(snapshot: ConcurrencySnapshot, *, queued: bool) -> str:
    """Why a timeout is not the concurrency limit's doing, truthfully for each case."""
    if snapshot.known:  # (and not queued: else the limit is blamed)
        return f"it did not wait for a slot ({_limit(snapshot)})"
    if queued:
        return (
            f"it waited for a slot under our starting guess of {snapshot.limit} in flight, "
            "and W&B has refused none for concurrency"
        )
    return "none refused for concurrency"


@runtime_checkable
class SlotHandle(Protocol):
    """Permission to have one request in flight, from any backend."""

    position: int
    """How many requests were in flight (this one included) when it was granted."""
    queued: bool
    """Whether the request waited in the queue for it."""

    def release(self) -> None:
        """Free the slot; later calls do nothing."""


@runtime_checkable
class GovernorHandle(Protocol):
    """Admission for one target and configuration: what the retry loop talks to."""

    cap: int | None
    adaptive: bool

    def acquire(self, deadline: float, *, previous: SlotHandle | None = None) -> SlotHandle | None:
        """Block until a slot is free or `deadline` (`time.monotonic()`) passes (None)."""

    async def aacquire(
        self, deadline: float, *, previous: SlotHandle | None = None
    ) -> SlotHandle | None:
        """Async `acquire`: waits without blocking the loop; cancellation frees the slot."""

    def admitted(self, slot: SlotHandle | None = None) -> None:
        """The request holding `slot` was accepted by W&B."""

    def refused(self, slot: SlotHandle, scope: Scope | None = None) -> None:
        """W&B refused the request in `slot` for concurrency (for `scope`, if it said)."""

    def snapshot(self) -> ConcurrencySnapshot:
        """The limit in force, in-flight and queued counts."""


@runtime_checkable
class GovernorBackend(Protocol):
    """Where pools live: this process (`InProcessBackend`), a Ray actor, a Dask semaphore...

    A backend must be picklable (a model sent to workers carries it) and build whatever it
    connects to lazily, on first use in each process.
    """

    def governor(self, target: Target, *, cap: int | None, adaptive: bool) -> GovernorHandle:
        """The handle admitting requests to `target` with this cap and adaptivity."""


class Slot:
    """Permission to have one request in flight; free it with `release()` (idempotent)."""

    __slots__ = ("_active", "_epoch", "_pool", "_released", "_window", "position", "queued")

    def __init__(self, pool: _Pool, position: int, *, queued: bool = False) -> None:
        """A slot of `pool`, granted as the `position`-th request in flight."""
        self._pool = pool
        self._released = False
        self._active = False
        self._window = pool.window
        self._epoch = pool.refusals
        self.position = position
        """How many requests were being sent (this one included) when its request took
        it up: W&B sees requests in the order they are sent, not the order slots were
        granted (a woken thread may take a while to run)."""
        self.queued = queued
        """Whether the request waited in the queue for it."""

    def release(self) -> None:
        """Free the slot; later calls do nothing."""
        self._pool.release(self)


class _Waiter:
    __slots__ = ("adaptive", "cap", "event", "future", "loop", "slot")

    def __init__(
        self,
        cap: int | None,
        adaptive: bool,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.cap = cap
        self.adaptive = adaptive
        self.loop = loop
        self.future = future
        self.event = threading.Event() if loop is None else None
        self.slot: Slot | None = None


def _seconds_until(deadline: float) -> float | None:
    return None if deadline == math.inf else max(deadline - time.monotonic(), 0.0)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Pool:
    """In-flight count, FIFO queues and the learned limit of one (base URL, project, model)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.window = INITIAL_LIMIT
        self.learned = False
        self.in_flight = 0
        # Slots whose request has taken them up (not waiting to be woken, not pausing after
        # a refusal): what W&B can see of ours. Positions, growth and the proven level count
        # these: a granted thread may run only after later ones have sent theirs.
        self.active = 0
        self.credit = 0
        # The most requests in flight W&B has accepted at once, and how many refusals in a
        # row said it is now fewer. One refusal below it is likely W&B's bookkeeping lagging
        # behind a request that just finished (seen as a 3x slowdown: the limit stepped down
        # to 1 and regrew one step per dozens of requests): the limit drops at once, then
        # climbs straight back to the proven level. Two in a row make the drop real.
        self.proven = 0
        self.doubts = 0
        self.refusals = 0
        """Concurrency refusals so far: a slot taken up before the latest one was sent
        under what W&B has since refused."""
        # Requests refused for concurrency go before new ones: they have waited longest.
        self.requeued: deque[_Waiter] = deque()
        self.waiting: deque[_Waiter] = deque()
        # Set once this pool's target joined the pool of a scope W&B stated: its slots and
        # waiters count there from then on (see `adopt`).
        self.successor: _Pool | None = None

    def limit_for(self, cap: int | None, adaptive: bool) -> float:
        limit: float = math.inf if cap is None else cap
        return min(limit, self.window) if adaptive else limit

    # -- acquiring ----------------------------------------------------------------------
    def take(
        self,
        cap: int | None,
        adaptive: bool,
        previous: Slot | None,
        make_waiter: Callable[[], _Waiter],
    ) -> Slot | _Waiter:
        """A slot now if nobody waits and one is free, else a queued waiter.

        `previous` (a refused request's slot) is handed back in the same step, and the
        request queues ahead of new ones: it has waited longest.
        """
        if previous is not None and previous._pool is not self:
            previous.release()  # the target moved to its scope's pool meanwhile
            previous = None
        with self.lock:
            moved = self.successor
            if moved is None:
                found, woken = self._take_locked(cap, adaptive, previous, make_waiter)
        if moved is not None:  # it moved while this request looked its pool up
            return moved.take(cap, adaptive, previous, make_waiter)
        self._signal(woken)
        return found

    def _take_locked(
        self,
        cap: int | None,
        adaptive: bool,
        previous: Slot | None,
        make_waiter: Callable[[], _Waiter],
    ) -> tuple[Slot | _Waiter, list[_Waiter]]:
        if previous is not None and not previous._released:
            self._free_locked(previous)
        if (
            not self.requeued
            and not self.waiting
            and self.in_flight < self.limit_for(cap, adaptive)
        ):
            self.in_flight += 1
            slot = Slot(self, self.in_flight)
            self._activate_locked(slot)
            return slot, []
        waiter = make_waiter()
        if not self.requeued and not self.waiting:
            logger.info(
                "W&B Inference requests for %s are queueing (%d in flight, limit %s)",
                self.name,
                self.in_flight,
                self.limit_for(cap, adaptive),
            )
        (self.waiting if previous is None else self.requeued).append(waiter)
        return waiter, self._grant_locked()

    def give_up(self, waiter: _Waiter, keep: bool) -> Slot | None:
        """Stop waiting: leave the queue, or, if a slot was granted meanwhile, keep or free it."""
        with self.lock:
            moved = self.successor
            slot = waiter.slot
            if moved is None and slot is None:
                for queue in (self.requeued, self.waiting):
                    if waiter in queue:
                        queue.remove(waiter)
                # A waiter at the head with a lower cap may have held back those behind
                # it although slots were free: with it gone, they may go now.
                woken = self._grant_locked()
        if moved is not None:  # the waiter was moved there
            return moved.give_up(waiter, keep)
        if slot is None:
            self._signal(woken)
            return None
        if keep:
            with self.lock:
                self._activate_locked(slot)
            return slot
        self.release(slot)
        return None

    # -- releasing and granting -------------------------------------------------------
    def release(self, slot: Slot) -> None:
        with self.lock:
            moved = self.successor
            if moved is None:
                if slot._released:
                    return
                self._free_locked(slot)
                woken = self._grant_locked()
        if moved is not None:  # its count moved there
            moved.release(slot)
            return
        self._signal(woken)

    def _activate_locked(self, slot: Slot) -> None:
        """`slot`'s request takes it up now: it is the `active`-th request being sent."""
        self.active += 1
        slot._active = True
        slot.position = self.active
        slot._window = self.window
        slot._epoch = self.refusals

    def _deactivate_locked(self, slot: Slot) -> None:
        if slot._active:
            slot._active = False
            self.active -= 1

    def _free_locked(self, slot: Slot) -> None:
        slot._released = True
        self.in_flight -= 1
        self._deactivate_locked(slot)

    def _grant_locked(self) -> list[_Waiter]:
        woken: list[_Waiter] = []
        while queue := self.requeued or self.waiting:
            waiter = queue[0]
            if self.in_flight >= self.limit_for(waiter.cap, waiter.adaptive):
                break
            queue.popleft()
            self.in_flight += 1
            waiter.slot = Slot(self, self.in_flight, queued=True)
            woken.append(waiter)
        return woken

    def _signal(self, woken: list[_Waiter]) -> None:
        for waiter in woken:
            if waiter.event is not None:
                waiter.event.set()
                continue
            assert waiter.loop is not None
            assert waiter.future is not None
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # its loop is closed: the waiting task will never run
                if waiter.slot is not None:
                    self.release(waiter.slot)

    # -- learning ---------------------------------------------------------------------
    def admitted(self, late: Slot | None = None) -> None:
        """A request was accepted: if the limit was what held requests back, raise it.

        `late`: its slot, for a caller whose report arrives late (a remote worker): it is
        judged by the in-flight count when the slot was taken up; None: the requests being
        sent now.
        """
        with self.lock:
            count = self.active if late is None else late.position
            # A late report counts what was granted, requests still on their way to W&B
            # (or already finished there) included: "accepted as the n-th" does not clear
            # the doubt a refusal as the n-th raised (or the limit would climb back to a
            # level W&B refuses after every refusal); only a new, higher level counts, and
            # only if it was sent after the latest refusal.
            if late is None:
                proves = count >= self.proven
            else:
                proves = count > self.proven and late._epoch == self.refusals
            if proves:
                self.proven, self.doubts = count, 0
            if count < self.window:
                return  # demand, not the limit, decided how many were in flight
            if not self.learned or self.window < self.proven:
                self.window += 1
            else:
                self.credit += 1
                if self.credit < max(_MIN_PROBE_INTERVAL, _PROBE_WINDOWS * self.window):
                    return
                self.credit = 0
                self.window += 1
                logger.info(
                    "W&B Inference for %s: trying %d requests in flight", self.name, self.window
                )
            woken = self._grant_locked()
        self._signal(woken)

    def refused(self, slot: Slot) -> None:
        """W&B refused the request in `slot` for concurrency: fit the limit to it."""
        with self.lock:
            self._deactivate_locked(slot)  # it pauses, holding its slot, unseen by W&B
            self.refusals += 1
            old, first = self.window, not self.learned
            # W&B sees requests in an order of its own (a thread runs late, a connection
            # opens slowly): the first taken up may arrive after seven others. So one
            # refusal at most halves the limit it was sent under; more refusals go further.
            new = max(1, min(old, max(slot.position - 1, slot._window // 2)))
            if new < self.proven:
                self.doubts += 1
                if self.doubts >= 2:
                    self.proven = new
            self.learned = True
            if new != old:
                self.window, self.credit = new, 0
        if new != old:
            log = logger.warning if first else logger.info
            log(
                "W&B Inference refused a request for %s (concurrency limit reached); "
                "now sending at most %d at once (was %d)",
                self.name,
                new,
                old,
            )

    def inherit(self, other: _Pool) -> None:
        """Start from what `other` learned (a new pool for a scope W&B just stated)."""
        with other.lock:
            self.window, self.learned, self.proven = other.window, other.learned, other.proven
            self.refusals = other.refusals  # its slots' epochs stay comparable here

    def adopt(self, old: _Pool) -> None:
        """Count `old`'s requests in flight and queued here: its only target joined this pool.

        Without this, the requests still in flight in `old` would be invisible here and
        this pool would admit a full limit beside them.
        """
        with old.lock, self.lock:
            self.in_flight += old.in_flight
            self.active += old.active
            self.requeued.extendleft(reversed(old.requeued))  # they have waited longest
            self.waiting.extendleft(reversed(old.waiting))
            old.in_flight = old.active = 0
            old.requeued.clear()
            old.waiting.clear()
            old.successor = self
            woken = self._grant_locked()
        self._signal(woken)

    def current(self) -> _Pool:
        """The pool this one's requests count in now (itself, or where its target moved)."""
        pool = self
        while pool.successor is not None:
            pool = pool.successor
        return pool

    def snapshot(
        self, cap: int | None, adaptive: bool, scope: Scope | None = None
    ) -> ConcurrencySnapshot:
        with self.lock:
            limit = self.limit_for(cap, adaptive)
            return ConcurrencySnapshot(
                limit=None if limit == math.inf else int(limit),
                in_flight=self.in_flight,
                queued=len(self.requeued) + len(self.waiting),
                cap=cap,
                learned=self.learned and adaptive,
                scope=scope,
            )


class Governor:
    """Admission to one target for one configuration (cap, adaptive), in this process."""

    __slots__ = ("adaptive", "cap", "target")

    def __init__(self, target: Target, cap: int | None, adaptive: bool) -> None:
        """A handle that admits while in flight < `cap` (and the learned limit)."""
        self.target = target
        """Where the requests go (the pool follows the scope W&B states)."""
        self.cap = cap
        """The hard cap on requests in flight; None for none."""
        self.adaptive = adaptive
        """Whether concurrency 429s lower the limit (and requests obey the learned limit)."""

    @property
    def _pool(self) -> _Pool:
        return _pool_of(self.target)

    def acquire(self, deadline: float, *, previous: SlotHandle | None = None) -> Slot | None:
        """Wait (blocking) for a slot until `deadline` (`time.monotonic()`); None if it passed.

        `previous`, the slot of a request W&B refused, is handed back as the request
        queues again, ahead of new requests.
        """
        pool = self._pool
        found = pool.take(self.cap, self.adaptive, _own(previous), self._thread_waiter)
        if isinstance(found, Slot):
            return found
        assert found.event is not None
        try:
            found.event.wait(_seconds_until(deadline))
        except BaseException:  # interrupted: free only a slot granted to this waiter
            pool.give_up(found, keep=False)
            raise
        return pool.give_up(found, keep=True)

    async def aacquire(self, deadline: float, *, previous: SlotHandle | None = None) -> Slot | None:
        """Async `acquire`: the task waits without blocking its loop; cancellation-safe."""
        pool = self._pool
        found = pool.take(self.cap, self.adaptive, _own(previous), self._task_waiter)
        if isinstance(found, Slot):
            return found
        assert found.future is not None
        try:
            # Not wait_for: on 3.11 it can swallow a cancellation that races the wake-up.
            async with asyncio.timeout(_seconds_until(deadline)):
                await found.future
        except TimeoutError:
            pass
        except BaseException:  # cancelled: free only a slot granted to this waiter
            pool.give_up(found, keep=False)
            raise
        return pool.give_up(found, keep=True)

    def _thread_waiter(self) -> _Waiter:
        return _Waiter(self.cap, self.adaptive)

    def _task_waiter(self) -> _Waiter:
        loop = asyncio.get_running_loop()
        return _Waiter(self.cap, self.adaptive, loop, loop.create_future())

    def admitted(self, slot: SlotHandle | None = None, *, late: bool = False) -> None:
        """Report that the request holding `slot` was accepted by W&B.

        `late`: the report comes from another process, after other slots may have been
        granted: judge by the slot's position rather than the count now.
        """
        if self.adaptive:
            self._pool.current().admitted(_own(slot) if late else None)

    def grows(self, slot: SlotHandle) -> bool:
        """Whether W&B accepting the request in `slot` raises the limit at once.

        Otherwise its report only counts toward the next probe (or toward nothing), so a
        remote worker may send it late, with the slot's release, sparing a message.
        """
        if not self.adaptive:
            return False
        pool = self._pool
        with pool.lock:
            full = slot.position >= pool.window
            return full and (not pool.learned or pool.window < pool.proven)

    def refused(self, slot: SlotHandle, scope: Scope | None = None) -> None:
        """Report a concurrency 429 for the request in `slot` (which it keeps).

        A `scope` the 429 stated moves this target (and every request queued from now on)
        to that scope's pool, which starts from what this one learned.
        """
        if not self.adaptive:
            return
        own = _own(slot)
        assert own is not None
        pool = own._pool.current()
        pool.refused(own)
        if scope is not None and _scopes.get(self.target) != scope:
            _follow_scope(self.target, scope, pool)

    def snapshot(self) -> ConcurrencySnapshot:
        """The current limit, in-flight and queued counts."""
        return self._pool.snapshot(self.cap, self.adaptive, _scopes.get(self.target))


def _own(slot: SlotHandle | None) -> Slot | None:
    if slot is None or isinstance(slot, Slot):
        return slot
    msg = f"a slot of another backend ({type(slot).__name__}) cannot be used here"
    raise TypeError(msg)


class InProcessBackend:
    """Pools in this process (the default): no dependency, nothing shared across processes."""

    def governor(self, target: Target, *, cap: int | None, adaptive: bool) -> Governor:
        """The in-process governor for `target` and this configuration."""
        key = (target, cap, adaptive)
        governor = _governors.get(key)
        if governor is not None:
            return governor
        with _registry_lock:
            return _governors.setdefault(key, Governor(target, cap, adaptive))


IN_PROCESS = InProcessBackend()
"""The default backend."""

_pools: dict[tuple[str, ...], _Pool] = {}
_scopes: dict[Target, Scope] = {}
_governors: dict[tuple[Target, int | None, bool], Governor] = {}
_registry_lock = threading.Lock()


def _pool_of(target: Target) -> _Pool:
    key = target.pool_key(_scopes.get(target))
    pool = _pools.get(key)
    if pool is not None:
        return pool
    with _registry_lock:
        return _pools.setdefault(key, _Pool(target.describe()))


def _follow_scope(target: Target, scope: Scope, old: _Pool) -> None:
    """Count `target` against its `scope`'s pool from now on, seeded with what `old` knows."""
    with _registry_lock:
        key = target.pool_key(scope)
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = _Pool(target.describe())
            pool.inherit(old)
        if pool is not old and old is _pools.get(target.pool_key(None)):
            pool.adopt(old)  # the target's own pool: its requests now count in the scope's
        _scopes[target] = scope
    logger.info(
        "W&B Inference says its concurrency limit for %s is %s: requests share one pool",
        target.describe(),
        "per project" if scope == "project" else "per user (key)",
    )


def governor_for(
    base_url: str,
    project: str | None,
    model: str,
    *,
    max_concurrency: int | None,
    adaptive: bool,
    key: str = "",
) -> Governor:
    """The in-process governor for requests to `model` at `base_url` under `project`.

    `key` is the API key's `key_fingerprint` (requests of two keys do not share a pool
    until W&B says their limit is per project). Every configuration targeting the same
    pool shares its in-flight count and learned limit (W&B counts them together); each
    configuration's `max_concurrency` caps how many may be in flight in that pool when
    its own requests are sent, so two instances with caps 2 and 8 never have more than
    2 in flight when a request of the first is sent.
    """
    target = Target(base_url.rstrip("/"), key, project, model)
    return IN_PROCESS.governor(target, cap=max_concurrency, adaptive=adaptive)


def _forget_after_fork() -> None:
    # A child must not inherit the parent's counts (its requests are not the child's)
    # nor a lock another thread of the parent held at the fork.
    global _registry_lock  # noqa: PLW0603 - replaced, not mutated, in the child
    _registry_lock = threading.Lock()
    _pools.clear()
    _scopes.clear()
    _governors.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
