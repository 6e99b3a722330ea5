"""Pools keyed as W&B keys its limit: endpoint, key, project, model, and the scope a 429 states."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx2
import openai
import pytest

from langchain_wandb._governor import (
    INITIAL_LIMIT,
    Governor,
    Slot,
    Target,
    governor_for,
    key_fingerprint,
)
from langchain_wandb._retry import concurrency_scope, is_concurrency_refusal
from langchain_wandb.testing._concurrency import concurrency_key, concurrency_refusal

JUNE = "concurrency limit reached for requests: deepseek-ai/DeepSeek-V4-Pro-project limit reached"
SEPTEMBER = (
    'concurrency limit reached for requests: model "zai-org/GLM-5.3-Flash", per-user - see '
    "https://wandb.me/inf-err-limits"
)


def _429(message: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://fake/v1/chat/completions")
    return openai.APIStatusError(message, response=httpx2.Response(429, request=request), body=None)


@pytest.mark.parametrize(
    ("message", "scope"),
    [
        (JUNE, "project"),
        (JUNE.upper(), "project"),
        (SEPTEMBER, "user"),
        (SEPTEMBER.upper(), "user"),
        ("Concurrency limit reached for requests", None),
        ("CONCURRENCY LIMIT REACHED FOR REQUESTS", None),
    ],
)
def test_every_real_429_form_is_a_concurrency_refusal_with_its_scope(
    message: str, scope: str | None
) -> None:
    assert is_concurrency_refusal(_429(message))
    assert concurrency_scope(_429(message)) == scope


@pytest.mark.parametrize("scope", ["project", "user", None])
def test_the_emulators_429s_read_back_as_their_scope(scope: str | None) -> None:
    body = concurrency_refusal(scope, "m")  # type: ignore[arg-type]
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert concurrency_scope(_429(body["error"]["message"])) == scope


def test_the_emulator_counts_each_scope_apart() -> None:
    assert concurrency_key(None, "p", "k1", "m") == concurrency_key(None, "p", "k2", "m")
    assert concurrency_key("project", "p", "k1", "m") != concurrency_key("project", "p", "k1", "n")
    assert concurrency_key("user", "p", "k1", "m") == concurrency_key("user", "q", "k1", "m")
    assert concurrency_key("user", "p", "k1", "m") != concurrency_key("user", "p", "k2", "m")
    assert "k1" not in str(concurrency_key("user", "p", "k1", "m"))
    everything = concurrency_key("project-all-models", "p", "k1", "m")
    assert everything == concurrency_key("project-all-models", "p", "k2", "n")


def test_a_fingerprint_is_stable_short_and_never_the_key() -> None:
    key = "a" * 40
    assert key_fingerprint(key) == key_fingerprint(key)
    assert key_fingerprint(key) != key_fingerprint("b" * 40)
    assert len(key_fingerprint(key)) == 12
    assert key not in key_fingerprint(key)


def _pair(project_b: str | None = None, key_b: str = "key-b") -> tuple[Governor, Governor]:
    base = f"http://{uuid.uuid4().hex}.test/v1"
    a = governor_for(base, "team/p", "m", max_concurrency=None, adaptive=True, key="key-a")
    b = governor_for(
        base, project_b or "team/p", "m", max_concurrency=None, adaptive=True, key=key_b
    )
    return a, b


def test_two_keys_do_not_share_a_pool_or_a_learned_limit() -> None:
    a, b = _pair()
    slots = [a.acquire(time.monotonic() + 5) for _ in range(INITIAL_LIMIT)]
    assert a.acquire(time.monotonic()) is None  # key A is full...
    held = b.acquire(time.monotonic())  # ...key B is not held back by it
    assert held is not None
    assert slots[2] is not None
    a.refused(slots[2])  # a 429 on key A that names no scope
    assert a.snapshot().limit == INITIAL_LIMIT // 2  # (one refusal halves it at most)
    assert b.snapshot().limit == INITIAL_LIMIT
    for slot in [*slots, held]:
        assert slot is not None
        slot.release()


def test_a_project_scoped_429_joins_every_key_on_that_project() -> None:
    a, b = _pair()
    slots = [a.acquire(time.monotonic() + 5) for _ in range(3)]
    assert slots[2] is not None
    a.refused(slots[2], "project")
    assert a.snapshot().scope == "project"
    assert a.snapshot().limit == INITIAL_LIMIT // 2
    assert b.snapshot().limit == INITIAL_LIMIT  # B has not heard yet...
    held = b.acquire(time.monotonic())
    assert held is not None
    b.refused(held, "project")  # ...until its own 429 says the same
    assert b.snapshot().scope == "project"
    assert a.snapshot().in_flight == b.snapshot().in_flight == 4  # one pool now
    for slot in [*slots, held]:
        assert slot is not None
        slot.release()
    joined = a.acquire(time.monotonic())
    assert joined is not None
    assert a.snapshot().in_flight == b.snapshot().in_flight == 1
    joined.release()


def test_a_user_scoped_429_joins_every_project_of_that_key_only() -> None:
    a, other_project = _pair(project_b="team/q", key_b="key-a")
    _, other_key = _pair(project_b="team/q")
    slot = a.acquire(time.monotonic())
    assert slot is not None
    a.refused(slot, "user")
    second = other_project.acquire(time.monotonic())
    assert second is not None
    other_project.refused(second, "user")
    slot.release()
    second.release()
    assert a.snapshot().scope == other_project.snapshot().scope == "user"
    assert a.snapshot().limit == other_project.snapshot().limit == INITIAL_LIMIT // 2
    kept = a.acquire(time.monotonic())
    assert other_project.snapshot().in_flight == 1  # the same pool
    assert other_key.snapshot().in_flight == 0
    assert kept is not None
    kept.release()


def test_an_unknown_default_project_stays_narrow_under_a_project_scope() -> None:
    target = Target("http://x", "fp", None, "m")
    assert target.pool_key("project") == target.pool_key(None)
    assert "fp" in target.pool_key("user")


def test_a_refused_request_requeued_into_its_new_scope_frees_its_old_slot() -> None:
    a, _ = _pair()
    old = a.acquire(time.monotonic())
    assert old is not None
    a.refused(old, "project")
    again = a.acquire(time.monotonic() + 5, previous=old)
    assert again is not None
    assert old._pool.snapshot(None, True).in_flight == 0  # not leaked in the old pool
    assert a.snapshot().in_flight == 1
    again.release()


class _ForeignSlot:
    position = 1
    queued = False

    def release(self) -> None:
        """Nothing to free."""


def test_a_slot_of_another_backend_is_refused_by_name() -> None:
    a, _ = _pair()
    with pytest.raises(TypeError, match="another backend"):
        a.acquire(time.monotonic(), previous=_ForeignSlot())


def test_a_fixed_governor_ignores_refusals_and_a_late_admission_counts_its_position() -> None:
    base = f"http://{uuid.uuid4().hex}.test/v1"
    fixed = governor_for(base, None, "m", max_concurrency=2, adaptive=False, key="k")
    slot = fixed.acquire(time.monotonic())
    assert slot is not None
    fixed.refused(slot, "user")
    assert (fixed.snapshot().learned, fixed.snapshot().scope) == (False, None)
    slot.release()
    adaptive = governor_for(base, None, "m", max_concurrency=None, adaptive=True, key="k")
    slots = [adaptive.acquire(time.monotonic()) for _ in range(INITIAL_LIMIT)]
    first = slots[0]
    assert first is not None
    adaptive.admitted(first, late=True)  # sent 1st of 8: says nothing about a full limit
    assert adaptive.snapshot().limit == INITIAL_LIMIT
    last = slots[-1]
    assert last is not None
    adaptive.admitted(last, late=True)  # sent 8th of 8: the limit was full, grow it
    assert adaptive.snapshot().limit == INITIAL_LIMIT + 1
    for held in slots:
        assert held is not None
        held.release()


def test_requests_in_flight_when_a_scope_is_stated_still_count_in_its_pool() -> None:
    """The scope's pool starts from what the old pool learned *and* what it has in flight."""
    a, _ = _pair()
    slots = [a.acquire(time.monotonic() + 5) for _ in range(INITIAL_LIMIT)]
    assert slots[2] is not None
    # One refusal halves the limit at most: 4, while eight requests are still in flight.
    a.refused(slots[2], "user")
    assert a.snapshot().limit == INITIAL_LIMIT // 2
    assert a.snapshot().in_flight == INITIAL_LIMIT
    assert a.acquire(time.monotonic()) is None  # over the limit: it must wait
    for slot in slots:
        assert slot is not None
        slot.release()
    assert a.snapshot().in_flight == 0
    again = [a.acquire(time.monotonic()) for _ in range(INITIAL_LIMIT // 2 + 1)]
    assert None not in again[:-1]
    assert again[-1] is None  # the learned limit, once the old requests are done
    for slot in again[:-1]:
        assert slot is not None
        slot.release()


async def test_a_request_queued_when_a_scope_is_stated_waits_in_the_scopes_pool() -> None:
    a, _ = _pair()
    slots = [a.acquire(time.monotonic() + 5) for _ in range(INITIAL_LIMIT)]
    assert slots[0] is not None
    assert slots[1] is not None
    assert slots[2] is not None
    old = slots[0]._pool
    queued = asyncio.create_task(a.aacquire(time.monotonic() + 0.2))
    await asyncio.sleep(0.02)  # queued in the target's own pool
    a.refused(slots[2], "user")
    assert a.snapshot().queued == 1  # moved to the scope's pool, still first in line
    a.refused(slots[1], "user")  # a refusal of an older request lands where it counts now
    # Both were sent under the first limit (8): together they halve it, no further.
    assert a.snapshot().limit == INITIAL_LIMIT // 2
    assert await queued is None  # timed out there, and left its queue
    assert a.snapshot().queued == 0
    for slot in slots:
        assert slot is not None
        slot.release()
    assert a.snapshot().in_flight == 0
    # A request that looked the old pool up just before the move is admitted by the new one.
    late = old.take(None, True, None, lambda: pytest.fail("a slot is free: no queueing"))
    assert a.snapshot().in_flight == 1
    assert isinstance(late, Slot)
    late.release()
    assert a.snapshot().in_flight == 0


def test_a_scope_that_keeps_the_targets_own_pool_keeps_its_count() -> None:
    """The key's default project is known only to W&B: a project scope keeps the narrow pool."""
    base = f"http://{uuid.uuid4().hex}.test/v1"
    governor = governor_for(base, None, "m", max_concurrency=None, adaptive=True, key="k")
    slots = [governor.acquire(time.monotonic() + 5) for _ in range(3)]
    assert slots[2] is not None
    governor.refused(slots[2], "project")
    assert governor.snapshot().scope == "project"
    assert governor.snapshot().in_flight == 3
    assert governor.snapshot().limit == INITIAL_LIMIT // 2
    for slot in slots:
        assert slot is not None
        slot.release()
    assert governor.snapshot().in_flight == 0


@pytest.mark.parametrize(
    ("learned", "cap", "queued", "says", "never"),
    [
        # A limit W&B showed, but this request took a free slot: the limit did not hold it.
        (True, None, False, "did not wait for a slot (limit 4 in flight, learned", "no W&B"),
        (False, 4, False, "did not wait for a slot (limit 4 in flight, set", "no W&B"),
        (False, None, False, "none refused for concurrency (no W&B concurrency limit", "waited"),
        # Queued behind our starting guess only: no W&B limit to name, but it did wait.
        (False, None, True, "waited for a slot under our starting guess of 4", "did not wait"),
    ],
)
def test_a_plain_timeout_says_what_held_the_request(
    learned: bool, cap: int | None, queued: bool, says: str, never: str
) -> None:
    """Before: "no W&B concurrency limit is known" even with a limit learned or set."""
    from langchain_wandb._governor import ConcurrencyLimitTimeout, ConcurrencySnapshot

    snapshot = ConcurrencySnapshot(limit=4, in_flight=2, queued=0, cap=cap, learned=learned)
    timed_out = ConcurrencyLimitTimeout(snapshot, 3.0, queued=queued)
    assert not timed_out.blamed
    assert says in str(timed_out)
    assert never not in str(timed_out)
    assert says.partition(" (")[0] in timed_out.situation  # what the typed timeout repeats


def test_the_typed_plain_timeout_repeats_what_held_the_request() -> None:
    """Before: "none refused for concurrency" although W&B had refused some."""
    from langchain_wandb._errors import StreamTimeoutError
    from langchain_wandb._governor import ConcurrencyLimitTimeout, ConcurrencySnapshot
    from langchain_wandb._sdk_errors import _classified

    snapshot = ConcurrencySnapshot(limit=4, in_flight=2, queued=0, cap=None, learned=True)
    typed = _classified(
        ConcurrencyLimitTimeout(snapshot, 3.0, queued=False),
        model="m",
        secret="k",
        timeout=3.0,
        idle_timeout=3.0,
    )
    assert isinstance(typed, StreamTimeoutError)
    assert "none refused" not in str(typed)
    assert "did not wait for a slot (limit 4 in flight, learned" in str(typed)
