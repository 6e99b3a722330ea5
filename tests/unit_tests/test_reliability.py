"""Faults: retries, typed errors, truncation, timeouts, cancellation, clients, concurrency."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb._retry import retry_delay


def _status_error(status: int, headers: dict[str, str]) -> openai.APIStatusError:
    import httpx2

    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    return openai.APIStatusError("boom", response=response, body=None)


def test_retry_delay_policy() -> None:
    assert retry_delay(_status_error(429, {"retry-after": "2"}), 0, 2) == 2.0
    assert retry_delay(_status_error(429, {"retry-after-ms": "250"}), 0, 2) == 0.25
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3))
    delay = retry_delay(_status_error(503, {"retry-after": date}), 0, 2)
    assert delay is not None
    assert 1.0 <= delay <= 3.5
    # Past 120 s a Retry-After means: do not retry (as the openai SDK).
    assert retry_delay(_status_error(429, {"retry-after": "600"}), 0, 2) is None
    assert retry_delay(_status_error(429, {}), 2, 2) is None
    backoffs = [retry_delay(_status_error(502, {}), n, 5) for n in range(4)]
    delays = [b for b in backoffs if b is not None]
    assert len(delays) == len(backoffs)
    assert delays[3] > delays[0]
    assert retry_delay(_status_error(401, {}), 0, 2) is None
    assert retry_delay(ValueError("x"), 0, 2) is None


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with pytest.raises(ValueError, match="WANDB_API_KEY"):
        ChatWandbInference()
    monkeypatch.setenv("WANDB_API_KEY", "")
    with pytest.raises(ValueError, match=r"API key is empty.*WANDB_API_KEY"):
        ChatWandbInference()


def test_timeout_defaults_are_finite() -> None:
    llm = ChatWandbInference(api_key=SecretStr("k"))
    assert 0 < llm.timeout < float("inf")
    assert 0 < llm.stream_idle_timeout <= llm.timeout


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"project": "no-slash"}, "team/project"),
        ({"base_url": "api.inference.wandb.ai"}, "http"),
        ({"timeout": 0}, "timeout"),
        ({"api_key": "  "}, "API key is empty"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ChatWandbInference(**{"api_key": "k", **kwargs})


def test_unknown_constructor_argument_moves_to_model_kwargs_with_warning() -> None:
    with pytest.warns(UserWarning, match=r"top_k was transferred to model_kwargs"):
        # An argument the class does not declare, on purpose: it must go to model_kwargs.
        llm = ChatWandbInference(api_key=SecretStr("k"), top_k=5)  # type: ignore[call-arg,unused-ignore]
    assert llm.model_kwargs == {"top_k": 5}
