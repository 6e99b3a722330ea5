"""When and how long to wait before retrying a failed request, and who hears about it.

Only failures before the first byte of an answer are retried (the transport opens the
response inside the retry loop and reads it outside), so a retry never repeats text.
Retries and their waits stay inside the request's total timeout (its `deadline`).

With a `Governor`, each attempt first takes a concurrency slot (queueing FIFO). A 429
that says the concurrency limit was reached is not a failure: the governor lowers its
limit and the request queues again, without using up `max_retries`. A 429 whose text
speaks of quota, credits, billing, payment or personal accounts (and a 402 or 403) is
never retried. Any other 429 is an ordinary, counted retry. See `retry_delay` for the
rest of the policy (the openai SDK's, with W&B's differences).
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from langchain_wandb._governor import (
    ConcurrencyLimitTimeout,
    GovernorHandle,
    Scope,
    SlotHandle,
)

if TYPE_CHECKING:
    import openai
    from tenacity import RetryCallState

__all__ = [
    "Admitted",
    "ConcurrencyLimitTimeout",
    "RetryHook",
    "arun_with_retries",
    "concurrency_scope",
    "is_concurrency_refusal",
    "retry_delay",
    "run_with_retries",
]

logger = logging.getLogger("langchain_wandb")

T = TypeVar("T")
RetryHook = Callable[["RetryCallState"], object]
"""Called with tenacity's `RetryCallState` before each counted retry's wait; may be async.

The state is genuine: see `_retry_state`."""

_RETRY_STATUSES = frozenset({408, 409, 429})
_NEVER_RETRIED = frozenset({402, 403})
MAX_RETRY_AFTER = 120.0
"""The longest Retry-After honoured, in seconds (the openai SDK's `MAX_RETRY_AFTER_DELAY`)."""
_INFINITIES = ("inf", "+inf", "infinity", "+infinity")
# W&B's advice (docs.wandb.ai, Inference errors): wait 30-60 s after a 500, 60-120 s
# after a 503. The lower end, when it fits before the deadline.
_ADVISED_WAIT = {500: 30.0, 503: 60.0}
_INITIAL_DELAY = 0.5
_MAX_DELAY = 8.0
_REFUSAL_DELAY = 0.02
_MAX_REFUSAL_DELAY = 2.0
# W&B's documented 429s (docs.wandb.ai, "rate limit errors (429)"): "Concurrency limit
# reached for requests" (wait for a slot), "You exceeded your current quota, please check
# your plan and billing details" and "W&B Inference isn't available for personal accounts"
# (waiting will not help). Only a 429 that says it is about concurrency is queued again
# without counting against max_retries; any other 429 is an ordinary retry.
_CONCURRENCY_MARKERS = ("concurrency", "concurrent", "in flight", "in-flight")
_QUOTA_MARKERS = (
    "quota",
    "credit",
    "billing",
    "payment",
    "personal account",
    "isn't available",
    "not available",
)


def is_concurrency_refusal(error: BaseException) -> bool:
    """Whether `error` is a 429 that says "too many requests in flight" (W&B's wording)."""
    if getattr(error, "status_code", None) != 429 or _is_quota(error):
        return False
    return any(marker in _text(error) for marker in _CONCURRENCY_MARKERS)


# The scope W&B names in a concurrency 429 (real bodies, 2026): "concurrency limit reached
# for requests: deepseek-ai/DeepSeek-V4-Pro-project limit reached" and "concurrency limit
# reached for requests: model "zai-org/GLM-5.3-Flash", per-user - see ...".
_SCOPE_MARKERS: tuple[tuple[str, Scope], ...] = (
    ("per-user", "user"),
    ("per user", "user"),
    ("-project limit", "project"),
    ("per-project", "project"),
    ("per project", "project"),
)


def concurrency_scope(error: BaseException) -> Scope | None:
    """The scope a concurrency 429 states ("project" or "user"), or None if it names none."""
    text = _text(error)
    return next((scope for marker, scope in _SCOPE_MARKERS if marker in text), None)


def _is_quota(error: BaseException) -> bool:
    return any(marker in _text(error) for marker in _QUOTA_MARKERS)


def _text(error: BaseException) -> str:
    return str(getattr(error, "message", error)).lower()


def retry_delay(
    error: BaseException, retries_done: int, max_retries: int, time_left: float = math.inf
) -> float | None:
    """Seconds to wait before retrying after `error`, or None if it must not be retried.

    The openai SDK's policy (`_should_retry`, `_calculate_retry_timeout` in its
    `_base_client`), checked against it in tests: `x-should-retry: true`/`false` decides
    when present; else 408, 409, 429 and 5xx are retried, as are connection errors. A
    `retry-after-ms` / `retry-after` (seconds or an HTTP date) over 0 and up to 120 s sets
    the delay; one over 120 s means not retrying at all; anything else means exponential
    backoff (0.5 s doubling to 8 s, minus up to 25 % jitter).

    Where W&B differs, W&B wins: a 402, a 403 and a quota or personal-account 429 are
    never retried (`x-should-retry: true` notwithstanding: waiting cannot help). W&B
    advises waiting 30-60 s after a 500 and 60-120 s after a 503: when the server sent no
    Retry-After (one it sent, even 0, is its word), the wait is the advice's lower end if
    it fits in `time_left` (seconds to the request's deadline), else the backoff, so a
    short `timeout` still gets its retries. No wait ever runs past the deadline.
    """
    import openai

    if retries_done >= max_retries:
        return None
    if isinstance(error, openai.APIStatusError):
        if not _status_retryable(error):
            return None
        after = _retry_after(error.response.headers)
        if after is not None and not math.isfinite(after):
            after = None  # "inf" as written: no usable value (the SDK's reading)
        if after is not None and after > MAX_RETRY_AFTER:
            return None  # the SDK's rule: a server asking for more than 2 minutes is obeyed
        if after is not None and after > 0:
            return after
        advised = _ADVISED_WAIT.get(error.status_code)
        if after is None and advised is not None and advised < time_left:
            return advised
    elif not isinstance(error, openai.APIConnectionError):
        return None
    backoff = min(_INITIAL_DELAY * 2.0**retries_done, _MAX_DELAY)
    return backoff * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not crypto


def _status_retryable(error: openai.APIStatusError) -> bool:
    """Whether a status error may be retried at all (its wait aside)."""
    status = error.status_code
    if status in _NEVER_RETRIED or (status == 429 and _is_quota(error)):
        return False
    should = error.response.headers.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    return status in _RETRY_STATUSES or status >= 500


def _refusal_delay(error: BaseException, refusals: int) -> float:
    """The pause after the `refusals`-th concurrency 429 of one request (slot kept)."""
    after = _retry_after(getattr(getattr(error, "response", None), "headers", None))
    backoff = min(_REFUSAL_DELAY * 2.0 ** (refusals - 1), _MAX_REFUSAL_DELAY)
    backoff *= 1 - 0.5 * random.random()  # noqa: S311 - jitter, not crypto
    usable = after is not None and 0 < after <= MAX_RETRY_AFTER  # False for NaN
    return max(after, backoff) if usable and after is not None else backoff


def _retry_after(headers: object) -> float | None:
    """The server's requested delay in seconds (any sign or size), None if absent or unreadable.

    The SDK's reading (`_parse_retry_after_header`): `retry-after-ms`, then `retry-after`
    as a number, then as an HTTP date. A number too large for a float reads as too long.
    """
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if delay == math.inf and value.strip().lower() not in _INFINITIES:
            return MAX_RETRY_AFTER + 1  # an overflowing number: a delay too long to honour
        return delay / divisor
    return _date_delay(get("retry-after"))


def _date_delay(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return email.utils.mktime_tz(parsed) - time.time()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _announce(error: BaseException, retry: int, max_retries: int, delay: float) -> None:
    status = getattr(error, "status_code", None)
    reason = f"HTTP {status}" if status else type(error).__name__
    logger.warning(
        "W&B Inference request failed (%s); retry %d of %d in %.2f s",
        reason,
        retry,
        max_retries,
        delay,
    )


def _plan_retry(
    error: BaseException,
    state: _Attempts,
    max_retries: int,
    on_retry: RetryHook | None,
    call: _Call,
) -> tuple[float, object] | None:
    """Decide on a retry after `error`: (delay, the hook's outcome), or None to give up.

    A retry whose wait would end at or past the deadline is not made.
    """
    left = state.deadline - time.monotonic()
    delay = retry_delay(error, state.retries, max_retries, left)
    if delay is None or delay >= left:
        return None
    _announce(error, state.retries + 1, max_retries, delay)
    if on_retry is None:
        return delay, None
    return delay, on_retry(_retry_state(error, state, max_retries, delay, call))


class _Call:
    """The retried call, as tenacity's `RetryCallState` names it: `fn(*args)`."""

    __slots__ = ("args", "asynchronous", "fn")

    def __init__(self, fn: Callable[..., object], *, asynchronous: bool) -> None:
        self.fn = fn
        self.args: tuple[float] = (0.0,)
        self.asynchronous = asynchronous


def _retry_state(
    error: BaseException, state: _Attempts, max_retries: int, delay: float, call: _Call
) -> RetryCallState:
    """Tenacity's `RetryCallState` for the retry about to wait `delay` seconds after `error`.

    What tenacity itself hands `before_sleep`: `retry_object` is a `Retrying` (or
    `AsyncRetrying`) that stops after `max_retries + 1` attempts, retries what
    `retry_delay` retries and waits what it says, with its statistics filled in; `fn` and
    `args` are the attempt and the seconds it was given; `attempt_number` is the attempt
    that failed, `outcome` its exception; `idle_for` counts every wait so far including
    this one, which `next_action` and `upcoming_sleep` announce; `start_time` is when the
    request started (`time.monotonic()`).
    """
    import tenacity

    kind = tenacity.AsyncRetrying if call.asynchronous else tenacity.Retrying
    retrying = kind(
        stop=tenacity.stop_after_attempt(max_retries + 1),
        retry=tenacity.retry_if_exception(lambda e: retry_delay(e, 0, 1) is not None),
        wait=lambda rs: retry_delay(_failure(rs), rs.attempt_number - 1, max_retries) or 0.0,
        reraise=True,
    )
    now = time.monotonic()
    attempt = state.retries + 1
    retry_state = tenacity.RetryCallState(retrying, call.fn, call.args, {})
    retry_state.start_time = state.started
    retry_state.attempt_number = attempt
    retry_state.outcome = tenacity.Future(attempt)
    retry_state.outcome.set_exception(error)
    retry_state.outcome_timestamp = now
    retry_state.idle_for = state.idle_for + delay
    retry_state.next_action = tenacity.RetryAction(delay)
    retry_state.upcoming_sleep = delay
    retrying.begin()
    retrying.statistics.update(
        start_time=state.started,
        attempt_number=attempt + 1,
        idle_for=retry_state.idle_for,
        delay_since_first_attempt=now - state.started,
    )
    return retry_state


def _failure(retry_state: RetryCallState) -> BaseException:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    return error if isinstance(error, BaseException) else RuntimeError("no failure recorded")


class Admitted(Generic[T]):
    """A successful attempt's result and the concurrency slot it holds until released."""

    __slots__ = ("_slot", "value")

    def __init__(self, value: T, slot: SlotHandle | None) -> None:
        """Wrap `value`, holding `slot` (None without a governor)."""
        self.value = value
        """What the attempt returned (the open response)."""
        self._slot = slot

    def release(self) -> None:
        """Free the slot once the response is closed; idempotent.

        (The governor learns from admissions and refusals, not from how a stream ended.)
        """
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()


class _Attempts:
    """Bookkeeping shared by the sync and async retry loops (no I/O of its own)."""

    def __init__(self, governor: GovernorHandle | None, deadline: float) -> None:
        self.governor = governor
        self.deadline = deadline
        self.started = time.monotonic()
        self.idle_for = 0.0
        self.retries = 0
        self.refusals = 0
        self.slot: SlotHandle | None = None

    def remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 and self.governor is not None:
            queued = self.slot is not None and self.slot.queued
            self.drop_slot()
            raise self.timed_out(queued=queued)
        return max(remaining, 1e-3)

    def timed_out(self, *, queued: bool) -> ConcurrencyLimitTimeout:
        """Time ran out; `queued`: while (or just after) waiting in the queue for a slot."""
        assert self.governor is not None
        waited = time.monotonic() - self.started
        return ConcurrencyLimitTimeout(self.governor.snapshot(), waited, queued=queued)

    def drop_slot(self) -> None:
        slot, self.slot = self.slot, None
        if slot is not None:
            slot.release()

    def admitted(self, value: T) -> Admitted[T]:
        if self.governor is not None:
            self.governor.admitted(self.slot)
        slot, self.slot = self.slot, None
        return Admitted(value, slot)

    def refusal_pause(self, error: BaseException) -> float | None:
        """After a concurrency 429: the pause (slot kept) before queueing again, or None.

        None means this is not a refusal the governor handles (the error takes the
        ordinary retry path, and the slot is freed).
        """
        governor, slot = self.governor, self.slot
        if governor is None or slot is None or not governor.adaptive:
            self.drop_slot()
            return None
        if not is_concurrency_refusal(error):
            self.drop_slot()
            return None
        governor.refused(slot, concurrency_scope(error))
        self.refusals += 1
        # Refused beside requests of ours in flight: the lowered limit already makes it wait
        # for one of them to finish, so the pause only covers the server's bookkeeping. Alone
        # in flight (other clients hold the slots), it backs off further each time.
        delay = _refusal_delay(error, self.refusals if slot.position == 1 else 1)
        if time.monotonic() + delay >= self.deadline:
            self.drop_slot()
            raise self.timed_out(queued=True) from error
        return delay

    def got_slot(self, slot: SlotHandle | None) -> None:
        if slot is None:
            raise self.timed_out(queued=True)
        self.slot = slot


def run_with_retries(
    attempt: Callable[[float], T],
    *,
    max_retries: int,
    deadline: float,
    governor: GovernorHandle | None = None,
    on_retry: RetryHook | None = None,
) -> Admitted[T]:
    """Run `attempt(remaining_seconds)` until it succeeds, must not be retried, or time runs out.

    Args:
        attempt: Makes one HTTP attempt within the seconds it is given.
        max_retries: Retries for 429 (quota excepted)/5xx/408/409/connection errors.
            Concurrency refusals handled by an adaptive `governor` do not count.
        deadline: `time.monotonic()` by which everything, queueing included, must end.
        governor: Concurrency admission; None sends at once.
        on_retry: Told about each counted retry before its wait.

    Returns:
        The result and its slot: call `.release()` once the response is closed.

    Raises:
        ConcurrencyLimitTimeout: The deadline passed while waiting for a slot.
        Exception: The attempt's last error, when it must not or can no longer be retried.

    """
    state = _Attempts(governor, deadline)
    call = _Call(attempt, asynchronous=False)
    previous: SlotHandle | None = None
    while True:
        if governor is not None:
            state.got_slot(governor.acquire(deadline, previous=previous))
            previous = None
        remaining = state.remaining()
        call.args = (remaining,)
        try:
            return state.admitted(attempt(remaining))
        except BaseException as error:
            if not isinstance(error, Exception):
                state.drop_slot()
                raise
            pause = state.refusal_pause(error)
            if pause is not None:
                try:
                    time.sleep(pause)
                except BaseException:
                    state.drop_slot()
                    raise
                previous, state.slot = state.slot, None
                continue
            plan = _plan_retry(error, state, max_retries, on_retry, call)
            if plan is None:
                raise
            state.retries += 1
            state.idle_for += plan[0]
            time.sleep(plan[0])


async def arun_with_retries(
    attempt: Callable[[float], Awaitable[T]],
    *,
    max_retries: int,
    deadline: float,
    governor: GovernorHandle | None = None,
    on_retry: RetryHook | None = None,
) -> Admitted[T]:
    """Async `run_with_retries`: `attempt` returns an awaitable; `on_retry` may be async.

    Cancellation while queued frees nothing the request did not hold; cancellation
    during an attempt or a pause frees its slot.
    """
    state = _Attempts(governor, deadline)
    call = _Call(attempt, asynchronous=True)
    previous: SlotHandle | None = None
    while True:
        if governor is not None:
            state.got_slot(await governor.aacquire(deadline, previous=previous))
            previous = None
        remaining = state.remaining()
        call.args = (remaining,)
        try:
            return state.admitted(await attempt(remaining))
        except BaseException as error:
            if not isinstance(error, Exception):
                state.drop_slot()
                raise
            pause = state.refusal_pause(error)
            if pause is not None:
                try:
                    await asyncio.sleep(pause)
                except BaseException:
                    state.drop_slot()
                    raise
                previous, state.slot = state.slot, None
                continue
            plan = _plan_retry(error, state, max_retries, on_retry, call)
            if plan is None:
                raise
            state.retries += 1
            delay, outcome = plan
            state.idle_for += delay
            if inspect.isawaitable(outcome):
                await outcome
            await asyncio.sleep(delay)
