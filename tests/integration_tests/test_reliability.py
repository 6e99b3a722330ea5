"""Faults: retries, typed errors, truncation, timeouts, cancellation, clients, concurrency."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)
from langchain_core.load import dumps
from langchain_core.messages import ChatMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.rate_limiters import InMemoryRateLimiter
from pydantic import SecretStr
from tenacity import RetryCallState

from langchain_wandb import (
    ChatWandbInference,
    StreamEndedEarlyError,
    StreamTimeoutError,
    WandbStreamError,
)
from langchain_wandb._clients import MAX_CLIENTS
from langchain_wandb.testing import RAMBLING_JOKE, Reply, WandbEmulator
from langchain_wandb.testing._replies import tokens_of
from tests.integration_tests.raw_server import http_response, raw_server, wait_until

SECRET = "sk-wandb-SECRET-0123456789"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_are_retried_then_succeed(
    emulator: WandbEmulator, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.script(Reply(status=status, headers={"Retry-After": "0"}), Reply(content="fine"))
    # Without adaptation a 429 is an ordinary retry (with it, the governor requeues it:
    # see test_governor.py).
    llm = emulator.chat_model(max_retries=2, adaptive_concurrency=False)
    with caplog.at_level(logging.WARNING, logger="langchain_wandb"):
        assert llm.invoke("hi").content == "fine"
    assert len(emulator.chat_requests) == 2
    assert f"HTTP {status}" in caplog.text
    assert "retry 1 of 2" in caplog.text


async def test_connection_drop_before_first_byte_is_retried(emulator: WandbEmulator) -> None:
    emulator.script(Reply(disconnect=True), Reply(content="back"))
    llm = emulator.chat_model(max_retries=1)
    assert "".join([c.text async for c in llm.astream("hi")]) == "back"


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422])
def test_client_errors_are_not_retried(emulator: WandbEmulator, status: int) -> None:
    emulator.script(Reply(status=status))
    with pytest.raises(ModelError, match=rf"Server said \({status}\): Emulated error"):
        emulator.chat_model(max_retries=3).invoke("hi")
    assert len(emulator.chat_requests) == 1


def test_retries_stop_at_max_retries(emulator: WandbEmulator) -> None:
    emulator.script(*[Reply(status=503, headers={"Retry-After": "0"})] * 4)
    with pytest.raises(ModelAPIError, match="503"):
        emulator.chat_model(max_retries=2).invoke("hi")
    assert len(emulator.chat_requests) == 3


def test_quota_429_is_not_retried(emulator: WandbEmulator) -> None:
    emulator.script(Reply(status=429, error_message="You exceeded your current quota"))
    # Issue 19: a quota 429 is not a rate limit to wait out (billing, not concurrency).
    with pytest.raises(
        ModelPermissionDeniedError, match=r"Server said \(429\): You exceeded your current quota"
    ):
        emulator.chat_model(max_retries=3).invoke("hi")
    assert len(emulator.chat_requests) == 1


def test_retry_after_is_honoured(emulator: WandbEmulator) -> None:
    emulator.script(Reply(status=429, headers={"Retry-After": "0.3"}), Reply(content="ok"))
    started = time.monotonic()
    emulator.chat_model(max_retries=1, adaptive_concurrency=False).invoke("hi")
    assert time.monotonic() - started >= 0.3


class RetryRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.retries: list[RetryCallState] = []

    def on_retry(self, retry_state: RetryCallState, **kwargs: Any) -> None:
        self.retries.append(retry_state)


def test_retries_reach_callbacks(emulator: WandbEmulator) -> None:
    emulator.script(Reply(status=503, headers={"Retry-After": "0"}), Reply(content="ok"))
    recorder = RetryRecorder()
    emulator.chat_model(max_retries=1).invoke("hi", config={"callbacks": [recorder]})
    assert len(recorder.retries) == 1
    state = recorder.retries[0]
    assert state.attempt_number == 1
    assert state.outcome is not None
    assert isinstance(state.outcome.exception(), openai.InternalServerError)


@pytest.mark.parametrize(
    ("status", "message", "core_type", "sdk_type", "hint"),
    [
        (401, "bad key", ModelAuthenticationError, openai.AuthenticationError, "WANDB_API_KEY"),
        (402, "no credits", ModelPermissionDeniedError, openai.APIStatusError, "credits"),
        (403, "region", ModelPermissionDeniedError, openai.PermissionDeniedError, "not offered"),
        (404, "no such model", ModelNotFoundError, openai.NotFoundError, "--list-models"),
        (429, "slow down", ModelRateLimitError, openai.RateLimitError, "in flight"),
        (400, "bad field", ModelInvalidRequestError, openai.BadRequestError, "bad field"),
        (
            400,
            "maximum context length is 8192",
            ContextOverflowError,
            openai.BadRequestError,
            "8192",
        ),
        (500, "kaput", ModelAPIError, openai.InternalServerError, "kaput"),
    ],
)
def test_errors_are_typed_for_core_and_sdk(
    emulator: WandbEmulator,
    status: int,
    message: str,
    core_type: type[Exception],
    sdk_type: type[Exception],
    hint: str,
) -> None:
    emulator.add_model("org/some-model")
    emulator.script(Reply(status=status, error_message=message))
    llm = emulator.chat_model(max_retries=0, model="org/some-model", adaptive_concurrency=False)
    with pytest.raises(core_type, match=re.escape(f"Server said ({status}): {message}")) as info:
        llm.invoke("hi")
    assert isinstance(info.value, sdk_type)
    assert hint in str(info.value)
    assert message in str(info.value)
    assert isinstance(info.value.__cause__, openai.APIStatusError)
    if status == 404:
        assert "org/some-model" in str(info.value)


def test_connection_refused_is_a_connection_error() -> None:
    llm = ChatWandbInference(
        api_key=SecretStr("k"), base_url="http://127.0.0.1:9/v1", max_retries=0
    )
    with pytest.raises(ModelConnectionError, match="Could not reach W&B Inference"):
        llm.invoke("hi")


def test_api_key_never_leaks(emulator: WandbEmulator, caplog: pytest.LogCaptureFixture) -> None:
    llm = emulator.chat_model(api_key=SECRET, max_retries=1)
    emulator.script(
        Reply(status=503, echo_auth=True, headers={"Retry-After": "0"}),
        Reply(status=401, echo_auth=True),
    )
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(ModelAuthenticationError, match="Check WANDB_API_KEY") as info,
    ):
        llm.invoke("hi")
    text = "".join(traceback.format_exception(info.value))
    assert "Bearer" in text  # the server's message is kept...
    assert SECRET not in text  # ...without the key
    assert SECRET not in caplog.text
    assert SECRET not in repr(llm)
    assert SECRET not in str(llm)
    assert SECRET not in dumps(llm)


def test_error_event_mid_stream_raises_after_partial_text(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(
        Reply(content="one two three four", error_after=2, error_message="GPU fell over")
    )
    seen: list[str] = []
    with pytest.raises(WandbStreamError, match="error mid-stream: GPU fell over"):
        for chunk in llm.stream("hi"):
            seen.append(chunk.text)
    assert "".join(seen) == "one two"
    assert len(emulator.chat_requests) == 1  # never retried after content


@pytest.mark.parametrize("api", ["sync", "async"])
async def test_truncated_stream_raises_never_short_answer(
    llm: ChatWandbInference, emulator: WandbEmulator, api: str
) -> None:
    emulator.script(Reply(content=RAMBLING_JOKE, reasoning="Think first.", truncate_after=5))
    with pytest.raises(StreamEndedEarlyError, match="incomplete") as info:
        if api == "sync":
            llm.invoke("hi")
        else:
            await llm.ainvoke("hi")
    # invoke() returns nothing on failure: what did arrive travels with the error.
    partial = info.value.partial
    assert partial is not None
    assert partial.content == "".join(tokens_of(RAMBLING_JOKE)[:5])
    assert partial.additional_kwargs["reasoning_content"] == "Think first."


@pytest.mark.parametrize("api", ["sync", "async"])
async def test_connection_broken_after_the_answer_finished_keeps_the_answer(
    llm: ChatWandbInference,
    emulator: WandbEmulator,
    caplog: pytest.LogCaptureFixture,
    api: str,
) -> None:
    emulator.script(Reply(content="all of it", drop_tail=True))
    with caplog.at_level(logging.WARNING, logger="langchain_wandb"):
        message = llm.invoke("hi") if api == "sync" else await llm.ainvoke("hi")
    assert message.content == "all of it"
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata is None
    assert "token usage was not received" in caplog.text


@pytest.mark.parametrize("api", ["sync", "async"])
async def test_stream_errors_carry_what_arrived(emulator: WandbEmulator, api: str) -> None:
    llm = emulator.chat_model(stream_idle_timeout=0.3, max_retries=0)
    emulator.script(
        Reply(content="a b c d", reasoning="", stall_after=2, stall_seconds=1.0),
        Reply(content="a b", reasoning="", error_after=0),
    )

    async def call() -> None:
        if api == "sync":
            llm.invoke("hi")
        else:
            await llm.ainvoke("hi")

    with pytest.raises(StreamTimeoutError, match="stream_idle_timeout") as stalled:
        await call()
    with pytest.raises(WandbStreamError, match="error mid-stream") as failed:
        await call()
    timeout, error_event = stalled.value, failed.value
    assert timeout.partial is not None
    assert timeout.partial.content == "a b"
    # Only the role chunk arrived before the error event: no text, but the response's identity.
    assert error_event.partial is not None
    assert error_event.partial.content == ""
    assert error_event.partial.response_metadata["model_name"] == llm.model_name


def test_malformed_json_raises_with_excerpt(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(content="a b c", malformed_after=1))
    with pytest.raises(WandbStreamError, match=r"malformed JSON.*broken"):
        llm.invoke("hi")


def test_malformed_non_streaming_body_raises() -> None:
    def not_json(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(200, b"<html>oops</html>", content_type="text/html"))

    with raw_server(not_json) as server:
        llm = ChatWandbInference(base_url=server.base_url, api_key=SecretStr("k"), streaming=False)
        with pytest.raises(WandbStreamError, match=r"not a JSON object: '<html>oops</html>'"):
            llm.invoke("hi")


@pytest.mark.parametrize("body", [b"[]", b'"ok"', b"null"])
def test_a_non_streaming_body_of_json_that_is_no_object_raises(body: bytes) -> None:
    def not_an_object(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(200, body))

    with raw_server(not_an_object) as server:
        llm = ChatWandbInference(base_url=server.base_url, api_key=SecretStr("k"), streaming=False)
        with pytest.raises(
            WandbStreamError, match=re.escape(f"not a JSON object: {body.decode()!r}")
        ):
            llm.invoke("hi")


@pytest.mark.parametrize("api", ["sync", "async"])
async def test_stream_idle_timeout(emulator: WandbEmulator, api: str) -> None:
    emulator.script(Reply(content="a b c d", stall_after=1, stall_seconds=2.0))
    llm = emulator.chat_model(stream_idle_timeout=0.3, max_retries=0)
    with pytest.raises(StreamTimeoutError, match="stream_idle_timeout"):
        if api == "sync":
            list(llm.stream("hi"))
        else:
            [c async for c in llm.astream("hi")]


def test_idle_timeout_before_first_byte_is_a_typed_timeout(emulator: WandbEmulator) -> None:
    emulator.script(Reply(first_byte_delay=1.5))
    llm = emulator.chat_model(stream_idle_timeout=0.2, timeout=0.3, max_retries=0)
    with pytest.raises(ModelError, match="did not answer in time"):
        llm.invoke("hi")


def test_total_timeout_bounds_a_slow_stream(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content=RAMBLING_JOKE, delay=0.02))
    llm = emulator.chat_model(timeout=0.3, max_retries=0)
    with pytest.raises(StreamTimeoutError, match="total timeout"):
        llm.invoke("hi")


def test_breaking_out_of_stream_closes_the_response(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(content=RAMBLING_JOKE * 5, delay=0.01))
    for index, _chunk in enumerate(llm.stream("hi")):
        if index == 3:
            break
    assert wait_until(lambda: emulator.active_streams == 0, 2.0)


async def test_cancelling_astream_task_closes_the_response(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(content=RAMBLING_JOKE * 5, delay=0.01))
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in llm.astream("hi"):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel("the test cancels it")
    with pytest.raises(asyncio.CancelledError, match="the test cancels it"):
        await task
    assert await asyncio.to_thread(wait_until, lambda: emulator.active_streams == 0, 2.0)


async def test_wait_for_timeout_closes_the_response(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(content=RAMBLING_JOKE * 5, delay=0.01))
    # wait_for's own bare TimeoutError (empty message), not one of the model's timeouts.
    with pytest.raises(TimeoutError, match=r"^$") as info:
        await asyncio.wait_for(llm.ainvoke("hi"), timeout=0.2)
    assert type(info.value) is TimeoutError
    assert await asyncio.to_thread(wait_until, lambda: emulator.active_streams == 0, 2.0)


def test_one_connection_is_reused_across_calls_and_instances(emulator: WandbEmulator) -> None:
    models = [emulator.chat_model() for _ in range(20)]
    for model in models:
        model.invoke("hi")
    assert emulator.connections_accepted == 1


def test_constructing_models_opens_no_connections(emulator: WandbEmulator) -> None:
    for _ in range(100):
        emulator.chat_model(temperature=0.5)
    gc.collect()
    assert emulator.connections_accepted == 0


def test_client_cache_is_bounded(emulator: WandbEmulator) -> None:
    """Each distinct config gets a client (one connection); past the bound, old ones go."""
    for i in range(MAX_CLIENTS + 8):
        # Headers are part of a client's identity (timeouts are per request, not).
        emulator.chat_model(default_headers={"X-Config": str(i)}).invoke("hi")
    assert len(emulator.chat_requests) == MAX_CLIENTS + 8
    assert emulator.connections_accepted == MAX_CLIENTS + 8
    gc.collect()  # a dropped client's sockets close once nothing references it
    assert wait_until(lambda: emulator.open_connections <= MAX_CLIENTS), emulator.open_connections


def test_changing_a_field_after_construction_takes_effect(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(timeout=77)
    llm.invoke("hi")
    llm.default_headers = {"X-Added-Later": "yes"}
    llm.invoke("hi")
    assert "x-added-later" not in emulator.requests[0].headers
    assert emulator.requests[1].headers["x-added-later"] == "yes"


def test_close_and_context_manager(emulator: WandbEmulator) -> None:
    with emulator.chat_model(timeout=31) as llm:
        llm.invoke("hi")
        assert emulator.open_connections == 1
    assert wait_until(lambda: emulator.open_connections == 0, 2.0)
    llm.invoke("again")  # a closed model reconnects on the next call
    llm.close()
    llm.close()  # nothing left to close: harmless
    assert wait_until(lambda: emulator.open_connections == 0, 2.0)


async def test_aclose(emulator: WandbEmulator) -> None:
    async with emulator.chat_model(timeout=32) as llm:
        await llm.ainvoke("hi")
    assert await asyncio.to_thread(wait_until, lambda: emulator.open_connections == 0, 2.0)
    await llm.aclose()  # nothing left to close: harmless


async def test_200_concurrent_astreams_are_exact(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    async def one(i: int) -> tuple[str, UsageMetadata | None]:
        full = None
        async for chunk in llm.astream(f"number {i}"):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full.text, full.usage_metadata

    results = await asyncio.gather(*(one(i) for i in range(200)))
    for i, (text, usage) in enumerate(results):
        assert text == f"You said: number {i}"
        assert usage is not None
        assert usage["output_tokens"] == 4 + 13  # 4 answer pieces + 13 reasoning pieces


async def test_abatch_respects_max_concurrency(emulator: WandbEmulator) -> None:
    emulator.script(*[Reply(content="ok", delay=0.002) for _ in range(100)])
    llm = emulator.chat_model()
    results = await llm.abatch(["hi"] * 100, config={"max_concurrency": 5})
    assert [r.content for r in results] == ["ok"] * 100
    assert emulator.peak_active_requests <= 5


def test_rate_limiter_is_used(emulator: WandbEmulator) -> None:
    class CountingLimiter(InMemoryRateLimiter):
        calls = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            CountingLimiter.calls += 1
            return super().acquire(blocking=blocking)

    llm = emulator.chat_model(rate_limiter=CountingLimiter(requests_per_second=100))
    llm.invoke("a")
    list(llm.stream("b"))
    assert CountingLimiter.calls == 2


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda llm: llm.invoke([]), ValueError, "empty list"),
        (lambda llm: llm.invoke([ChatMessage(role="wizard", content="x")]), ValueError, "wizard"),
        (
            lambda llm: llm.invoke("hi", temperature="hot"),
            TypeError,
            "temperature must be a number",
        ),
        (lambda llm: llm.invoke("hi", max_tokens="10"), TypeError, "max_tokens must be an integer"),
        (lambda llm: llm.invoke("hi", max_tokens=0), ValueError, "max_tokens must be positive"),
        (lambda llm: llm.invoke("hi", stop=[1]), TypeError, "stop must be"),
        (lambda llm: llm.invoke("hi", n=2), ValueError, "n must be 1"),
        (
            lambda llm: llm.invoke("hi", extra_headers={"X": "1"}),
            ValueError,
            "extra_headers is not a request field",
        ),
        (
            lambda llm: list(llm.stream([HumanMessage(content=[{"type": "image"}])])),
            ValueError,
            "image",
        ),
    ],
)
def test_bad_input_fails_before_any_request(
    llm: ChatWandbInference,
    emulator: WandbEmulator,
    call: Callable[[ChatWandbInference], object],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        call(llm)
    assert emulator.chat_requests == []
