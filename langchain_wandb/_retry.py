"""When and how long to wait before retrying a failed request, and who hears about it.

Only failures before the first byte of an answer are retried (the transport opens the
response inside the retry loop and reads it outside), so a retry never repeats text.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

logger = logging.getLogger("langchain_wandb")

T = TypeVar("T")
RetryHook = Callable[[BaseException, int, float], object]
"""Called as `hook(error, retry_number, delay_seconds)` before each retry; may be async."""

_RETRY_STATUSES = frozenset({408, 409, 429})
_MAX_RETRY_AFTER = 60.0
_INITIAL_DELAY = 0.5
_MAX_DELAY = 8.0
# Older W&B deployments answer 429 for exhausted quota too; waiting will not help then.
_QUOTA_MARKERS = ("quota", "credit", "billing", "payment")


def retry_delay(error: BaseException, retries_done: int, max_retries: int) -> float | None:
    """Seconds to wait before retrying after `error`, or None if it must not be retried."""
    import openai

    if retries_done >= max_retries:
        return None
    headers = None
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        if status not in _RETRY_STATUSES and status < 500:
            return None
        if status == 429 and any(m in error.message.lower() for m in _QUOTA_MARKERS):
            return None
        headers = error.response.headers
    elif not isinstance(error, openai.APIConnectionError):
        return None
    after = _retry_after(headers)
    if after is not None:
        return after if after <= _MAX_RETRY_AFTER else None
    backoff = min(_INITIAL_DELAY * 2.0**retries_done, _MAX_DELAY)
    return backoff * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not crypto


def _retry_after(headers: object) -> float | None:
    if headers is None:
        return None
    get = getattr(headers, "get", None)
    if get is None:
        return None
    if (millis := get("retry-after-ms")) is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


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
    error: BaseException, retries_done: int, max_retries: int, on_retry: RetryHook | None
) -> tuple[float, object] | None:
    """Decide on a retry after `error`: (delay, the hook's outcome), or None to give up."""
    delay = retry_delay(error, retries_done, max_retries)
    if delay is None:
        return None
    _announce(error, retries_done + 1, max_retries, delay)
    outcome = on_retry(error, retries_done + 1, delay) if on_retry is not None else None
    return delay, outcome


def call_with_retries(
    attempt: Callable[[], T], *, max_retries: int, on_retry: RetryHook | None = None
) -> T:
    """Run `attempt()` until it succeeds or fails in a way that must not be retried."""
    retries = 0
    while True:
        try:
            return attempt()
        except Exception as error:
            plan = _plan_retry(error, retries, max_retries, on_retry)
            if plan is None:
                raise
            retries += 1
            time.sleep(plan[0])


async def acall_with_retries(
    attempt: Callable[[], Awaitable[T]], *, max_retries: int, on_retry: RetryHook | None = None
) -> T:
    """Async `call_with_retries`; `on_retry` may be a coroutine function."""
    retries = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            plan = _plan_retry(error, retries, max_retries, on_retry)
            if plan is None:
                raise
            retries += 1
            delay, outcome = plan
            if inspect.isawaitable(outcome):
                await outcome
            await asyncio.sleep(delay)


def callback_hook(run_manager: Any) -> RetryHook | None:
    """A hook that reports retries to a LangChain run's callbacks (`on_retry`)."""
    if run_manager is None:
        return None

    def hook(error: BaseException, retry: int, delay: float) -> object:
        from tenacity import Future, RetryCallState

        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = retry
        state.upcoming_sleep = delay
        outcome = Future(retry)
        outcome.set_exception(error)
        state.outcome = outcome
        return run_manager.on_retry(state)

    return hook
