"""Retry policy: unusable Retry-After values count as absent; retries stay inside the deadline."""

from __future__ import annotations

import time

import httpx2
import openai
import pytest

from langchain_wandb._retry import retry_delay, run_with_retries

# Backoff for the first retry is 0.5 s minus up to 25 % jitter.
FIRST_BACKOFF = (0.375, 0.5)


def status_error(status: int, headers: dict[str, str], message: str = "boom") -> Exception:
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    return openai.APIStatusError(message, response=response, body=None)


def http_date(offset: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + offset))


UNUSABLE = [
    {"retry-after": "-5"},
    {"retry-after": "nan"},
    {"retry-after": "NaN"},
    {"retry-after": "inf"},
    {"retry-after": "-inf"},
    {"retry-after": "infinity"},
    {"retry-after": "1e400"},
    {"retry-after": "9" * 400},
    {"retry-after": "99999999999"},
    {"retry-after": "600"},
    {"retry-after": "1_0"},
    {"retry-after": "garbage"},
    {"retry-after": ""},
    {"retry-after": http_date(-3600)},
    {"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"retry-after-ms": "-100"},
    {"retry-after-ms": "nan"},
    {"retry-after-ms": "inf"},
    {"retry-after-ms": "1e12"},
]


@pytest.mark.parametrize("headers", UNUSABLE, ids=lambda h: repr(h)[:40])
@pytest.mark.parametrize("status", [429, 503])
def test_unusable_retry_after_means_ordinary_backoff(headers: dict[str, str], status: int) -> None:
    delay = retry_delay(status_error(status, headers), 0, 5)
    assert delay is not None
    assert FIRST_BACKOFF[0] <= delay <= FIRST_BACKOFF[1]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": " 1.5 "}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "garbage", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "-1", "retry-after": "4"}, 4.0),
    ],
)
def test_usable_retry_after_is_honoured(headers: dict[str, str], expected: float) -> None:
    assert retry_delay(status_error(429, headers), 0, 2) == expected


def test_future_retry_after_date_is_honoured() -> None:
    delay = retry_delay(status_error(503, {"retry-after": http_date(5)}), 0, 2)
    assert delay is not None
    assert 3.0 <= delay <= 5.5


def test_unusable_values_back_off_like_garbage_at_every_retry() -> None:
    for retries_done in range(4):
        garbage = retry_delay(status_error(500, {"retry-after": "garbage"}), retries_done, 9)
        negative = retry_delay(status_error(500, {"retry-after": "-5"}), retries_done, 9)
        assert garbage is not None
        assert negative is not None
        assert garbage / 2 < negative < garbage * 2  # same backoff step, different jitter


class Attempts:
    """An attempt that fails with `error` a number of times, recording what it was given."""

    def __init__(self, error: Exception, failures: int = 1_000) -> None:
        self.error = error
        self.failures = failures
        self.given: list[float] = []

    def __call__(self, remaining: float) -> str:
        self.given.append(remaining)
        if len(self.given) <= self.failures:
            raise self.error
        return "answer"


def test_no_retry_whose_wait_would_pass_the_deadline() -> None:
    error = status_error(503, {"retry-after": "30"})
    attempts = Attempts(error)
    heard: list[float] = []
    with pytest.raises(openai.APIStatusError, match="boom") as raised:
        run_with_retries(
            attempts,
            max_retries=5,
            deadline=time.monotonic() + 2.0,
            on_retry=lambda _e, _n, delay: heard.append(delay),
        )
    assert raised.value is error
    assert len(attempts.given) == 1
    assert heard == []


def test_backoff_past_the_deadline_raises_the_last_error() -> None:
    error = status_error(500, {})
    attempts = Attempts(error)
    with pytest.raises(openai.APIStatusError, match="boom") as raised:
        run_with_retries(attempts, max_retries=5, deadline=time.monotonic() + 0.2)
    assert raised.value is error
    assert len(attempts.given) == 1


def test_attempt_is_given_the_time_left() -> None:
    deadline = time.monotonic() + 50.0
    attempts = Attempts(status_error(500, {"retry-after": "0"}), failures=2)
    admitted = run_with_retries(attempts, max_retries=2, deadline=deadline)
    assert admitted.value == "answer"
    assert len(attempts.given) == 3
    assert all(0 < given <= 50.0 for given in attempts.given)
    assert attempts.given == sorted(attempts.given, reverse=True)
    admitted.release()
    admitted.release()  # idempotent


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "You exceeded your current quota"),
        (429, "Out of credits: add billing details"),
        (402, "Payment required"),
        (401, "Invalid API key"),
    ],
)
def test_quota_payment_and_auth_errors_are_not_retried(status: int, message: str) -> None:
    error = status_error(status, {"retry-after": "0"}, message)
    attempts = Attempts(error)
    with pytest.raises(openai.APIStatusError, match=message) as raised:
        run_with_retries(attempts, max_retries=5, deadline=time.monotonic() + 60)
    assert raised.value is error
    assert len(attempts.given) == 1
