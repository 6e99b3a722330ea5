"""W&B's 429s mean different things: only a concurrency refusal is queued again."""

from __future__ import annotations

import time
import uuid

import httpx2
import openai
import pytest

from langchain_wandb._governor import Governor, governor_for
from langchain_wandb._retry import is_concurrency_refusal, run_with_retries


def _error(message: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://fake/v1/chat/completions")
    response = httpx2.Response(429, request=request, headers={"retry-after": "0"})
    return openai.APIStatusError(message, response=response, body=None)


def _governor() -> Governor:
    base_url = f"http://{uuid.uuid4().hex}.test/v1"
    return governor_for(base_url, None, "m", max_concurrency=None, adaptive=True)


@pytest.mark.parametrize(
    ("message", "concurrency"),
    [
        ("Concurrency limit reached for requests", True),  # W&B's documented wording
        ("Too many concurrent requests", True),
        ("You exceeded your current quota, please check your plan and billing details", False),
        ("W&B Inference isn't available for personal accounts", False),
        ("Monthly free-tier limit exhausted", False),  # unknown: an ordinary 429
    ],
)
def test_which_429s_are_concurrency_refusals(message: str, concurrency: bool) -> None:
    assert is_concurrency_refusal(_error(message)) is concurrency


@pytest.mark.parametrize(
    ("message", "attempts"),
    [
        ("W&B Inference isn't available for personal accounts", 1),  # never retried
        ("Monthly free-tier limit exhausted", 3),  # counted: 1 + max_retries, then raised
    ],
)
def test_a_429_that_is_not_about_concurrency_is_not_queued_until_the_deadline(
    message: str, attempts: int
) -> None:
    calls: list[float] = []

    def attempt(remaining: float) -> str:
        calls.append(remaining)
        raise _error(message)

    with pytest.raises(openai.APIStatusError, match=message):
        run_with_retries(
            attempt, max_retries=2, deadline=time.monotonic() + 30, governor=_governor()
        )
    assert len(calls) == attempts
