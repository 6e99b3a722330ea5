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
    assert await actor.acquire("held", owner="dead", seconds=None, **limits) == (1, False)
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
