"""The governor actor's bookkeeping, driven directly (no Ray cluster needed)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from langchain_wandb._governor import Target


def _target() -> Target:
    return Target(f"http://{uuid.uuid4().hex}.test/v1", "fp", "team/p", "m")


async def _beat(actor: Any, owner: str) -> None:
    while True:
        await actor.heartbeat(owner)
        await asyncio.sleep(0.02)


async def test_a_dead_owners_queued_request_takes_no_slot_when_its_leases_are_reaped() -> None:
    """A dead worker's waits are withdrawn with its leases, not granted to nobody forever."""
    from langchain_wandb.ray import _GovernorActor

    actor = _GovernorActor(lease_ttl=0.2)
    target = _target()
    limits: dict[str, Any] = {"target": target, "cap": 1, "adaptive": False, "previous": None}
    assert await actor.acquire("held", owner="dead", seconds=None, **limits) == (1, False, False)
    queued = asyncio.create_task(actor.acquire("queued", owner="dead", seconds=None, **limits))
    await asyncio.sleep(0.05)
    assert actor.leases_of("dead") == 1
    beating = asyncio.create_task(_beat(actor, "alive"))
    try:
        # The dead owner never beats again; a live one gets the slot once it is reaped.
        got = await actor.acquire("alive", owner="alive", seconds=5.0, **limits)
        assert got is not None
        assert await asyncio.wait_for(queued, 1.0) is None
        assert actor.leases_of("dead") == 0
    finally:
        queued.cancel()
        beating.cancel()
        assert actor.reaper is not None
        actor.reaper.cancel()


async def test_a_refusal_that_arrives_with_the_requeue_lowers_the_limit_once() -> None:
    """A worker reports a 429 without waiting: it may land before or after the requeue."""
    from langchain_wandb.ray import _GovernorActor

    actor = _GovernorActor(lease_ttl=30.0)
    for order in ("requeue first", "report first"):
        target = _target()
        limits: dict[str, Any] = {"target": target, "cap": None, "adaptive": True}
        tickets = [f"{order}-{i}" for i in range(8)]
        for ticket in tickets:
            assert await actor.acquire(ticket, owner="w", seconds=None, previous=None, **limits)
        if order == "report first":  # the report lands, then the requeue repeats it
            actor.refused(tickets[-1], "user")
        got = await actor.acquire(
            f"{order}-again", owner="w", seconds=0.05, previous=tickets[-1], scope="user", **limits
        )
        # Refused as the 8th in flight: 7 fit, once (the report arriving late, or first,
        # is not a second refusal).
        assert got is None  # 7 others still hold their slots: it waits, then times out
        actor.refused(tickets[-1], "user")  # arrives late: nothing
        snapshot = actor.snapshot(target, None, True)
        assert (snapshot.limit, snapshot.learned, snapshot.scope) == (7, True, "user")
        for ticket in tickets[:-1]:
            actor.release(ticket)
    assert actor.reaper is not None
    actor.reaper.cancel()


async def test_an_acceptance_reported_with_the_release_counts_toward_the_next_probe() -> None:
    """Workers report an acceptance that raises no limit with the release (a message
    fewer per request): it must still count, as a separate report did."""
    from langchain_wandb.ray import _GovernorActor

    actor = _GovernorActor(lease_ttl=30.0)
    for admitted, expected in ((False, 7), (True, 8)):
        target = _target()
        limits: dict[str, Any] = {"target": target, "cap": None, "adaptive": True}
        held = [f"{admitted}-{i}" for i in range(8)]
        for ticket in held:
            assert await actor.acquire(ticket, owner="w", seconds=None, previous=None, **limits)
        actor.refused(held[-1], None)  # refused as the 8th: 7 fit
        actor.release(held.pop())
        actor.release(held.pop())  # 6 in flight: each new one is the 7th
        for turn in range(56):  # a probe after max(32, 8 x 7) acceptances at a full limit
            got = await actor.acquire(
                f"{admitted}-t{turn}", owner="w", seconds=1.0, previous=None, **limits
            )
            assert got == (7, False, False)  # full, but the limit is learned: report late
            actor.release(f"{admitted}-t{turn}", admitted)
        assert actor.snapshot(target, None, True).limit == expected
        for ticket in held:
            actor.release(ticket)
    assert actor.reaper is not None
    actor.reaper.cancel()


async def test_a_withdrawal_that_comes_after_its_answer_is_forgotten() -> None:
    """A worker withdraws a ticket whose answer it stopped waiting for; if the actor had
    answered already, nothing is left to end. Before: the ticket was kept for good (a
    detached actor grew by one per such request)."""
    from langchain_wandb.ray import _GovernorActor

    actor = _GovernorActor(lease_ttl=0.05)
    limits: dict[str, Any] = {"target": _target(), "cap": 1, "adaptive": False, "previous": None}
    try:
        assert await actor.acquire("held", owner="w", seconds=None, **limits) is not None
        assert await actor.acquire("late", owner="w", seconds=0.0, **limits) is None
        actor.cancel("late")  # it timed out at the worker, as it did here
        assert actor.cancelled
        await asyncio.sleep(0.1)
        actor._saw("w")
        actor.reap()
        assert not actor.cancelled
        # A withdrawal that comes first still stops its acquire.
        actor.cancel("early")
        assert await actor.acquire("early", owner="w", seconds=None, **limits) is None
        assert "early" not in actor.cancelled
    finally:
        assert actor.reaper is not None
        actor.reaper.cancel()
