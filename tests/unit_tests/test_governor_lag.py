"""One refusal right after a request finished is W&B's bookkeeping lagging, not a new limit."""

from __future__ import annotations

import time
import uuid

from langchain_wandb._governor import Governor, Slot, governor_for


def _governor() -> Governor:
    base_url = f"http://{uuid.uuid4().hex}.test/v1"
    return governor_for(base_url, None, "m", max_concurrency=None, adaptive=True)


def _take(governor: Governor) -> Slot:
    slot = governor.acquire(time.monotonic() + 5)
    assert slot is not None
    return slot


def _learn_a_limit_of_four(governor: Governor) -> list[Slot]:
    slots = [_take(governor) for _ in range(5)]
    governor.refused(slots[4])  # the 5th was refused: 4 fit
    slots.pop().release()
    governor.admitted()  # 4 in flight accepted: proven
    assert governor.snapshot().limit == 4
    for slot in slots:  # taken again under the limit of 4 (a refusal halves at most that)
        slot.release()
    return [_take(governor) for _ in range(4)]


def test_a_lone_refusal_below_the_proven_level_is_recovered_at_once() -> None:
    governor = _governor()
    slots = _learn_a_limit_of_four(governor)
    governor.refused(slots[3])  # the 4th refused once: lag behind a request that just ended
    assert governor.snapshot().limit == 3
    slots.pop().release()
    governor.admitted()  # 3 in flight, the limit full: straight back to the proven 4
    assert governor.snapshot().limit == 4
    for slot in slots:
        slot.release()


def test_refusals_in_a_row_below_the_proven_level_lower_it_for_good() -> None:
    governor = _governor()
    slots = _learn_a_limit_of_four(governor)
    governor.refused(slots[3])
    governor.refused(slots[2])  # twice in a row: the project's limit really is lower now
    assert governor.snapshot().limit == 2
    slots.pop().release()
    slots.pop().release()
    for _ in range(5):
        governor.admitted()  # 2 in flight, full: regrowth is the slow probe again
    assert governor.snapshot().limit == 2
    for slot in slots:
        slot.release()


def test_a_late_report_at_the_proven_level_does_not_clear_a_doubt() -> None:
    """A remote worker's report counts what the actor granted, W&B's requests in transit
    included: accepted "as the 4th" it proves nothing a refusal as the 4th disproves.

    Before: each late acceptance at the proven level cleared the doubt a refusal raised,
    so the limit climbed back to the refused level after every refusal (one 429 per
    climb, dozens a run on Ray)."""
    governor = _governor()
    slots = _learn_a_limit_of_four(governor)
    governor.refused(slots[3])  # a lone refusal at the proven 4: maybe W&B's lag
    slots.pop().release()
    governor.admitted()  # 3 in flight, full: back to the proven 4
    assert governor.snapshot().limit == 4
    fourth = _take(governor)
    assert fourth.position == 4
    governor.admitted(fourth, late=True)  # a worker's report: "accepted as the 4th"
    fourth.release()
    again = _take(governor)
    assert again.position == 4
    governor.refused(again)  # refused as the 4th again: the doubt was right
    assert governor.snapshot().limit == 3
    again.release()
    for _ in range(5):
        governor.admitted()  # 3 in flight, full: regrowth is the slow probe now
    assert governor.snapshot().limit == 3
    for slot in slots:
        slot.release()


def test_a_late_report_of_a_request_sent_before_a_refusal_proves_no_level() -> None:
    """A remote worker reports an acceptance with the release, a request's length after
    it was granted: by then W&B may have refused a request at a lower level. Before:
    the stale report raised the proven level above it, and the limit climbed back to
    a level W&B had just refused."""
    governor = _governor()
    slots = _learn_a_limit_of_four(governor)
    for _ in range(32):
        governor.admitted()  # 4 in flight, full: the probe tries 5
    assert governor.snapshot().limit == 5
    fifth = _take(governor)
    assert fifth.position == 5
    governor.refused(slots[3])  # W&B refuses the 4th meanwhile: the limit drops
    assert governor.snapshot().limit == 3  # refused as the 4th: 3 fit
    governor.admitted(fifth, late=True)  # the 5th, granted before it, reported now
    fifth.release()
    slots.pop().release()
    for _ in range(3):
        governor.admitted()  # 3 in flight, full: back to the proven 4, not to 5
    last = _take(governor)
    governor.admitted()
    assert governor.snapshot().limit == 4
    last.release()
    for slot in slots:
        slot.release()
