"""Requests to W&B: raw streamed SSE lines, JSON bodies, model listing; typed errors.

The SDK does auth, headers and status codes -> errors; we read the raw SSE lines
ourselves, which is many times cheaper than the SDK building a pydantic object per
chunk. Opening a response is retried (`_retry`); reading it never is.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from langchain_wandb._clients import ClientConfig, async_client, sync_client
from langchain_wandb._errors import StreamEndedEarlyError, StreamTimeoutError, WandbStreamError
from langchain_wandb._quirks import relaxed_tool_choice
from langchain_wandb._retry import RetryHook, acall_with_retries, call_with_retries
from langchain_wandb._sse import json_loads

if TYPE_CHECKING:
    import openai


def _post(
    client: openai.OpenAI | openai.AsyncOpenAI, body: dict[str, Any], config: ClientConfig
) -> Any:
    """POST /chat/completions through the SDK's raw-request API (returns an httpx2 response).

    `client.post(..., cast_to=httpx2.Response)` sends the body as it is: the typed
    `chat.completions.create()` would first walk every message through the SDK's
    TypedDict transformer, a quarter of our per-request overhead.
    """
    import httpx2

    stream = bool(body.get("stream"))
    # A stream may be silent for stream_idle_timeout between bytes; a plain request
    # waits for its whole body, so its read timeout is the total timeout.
    read = config.idle_timeout if stream else config.timeout
    return client.post(
        "/chat/completions",
        cast_to=httpx2.Response,
        body=body,
        stream=stream,
        options={"timeout": httpx2.Timeout(config.timeout, read=read)},
    )


def _send(config: ClientConfig, body: dict[str, Any], on_retry: RetryHook | None) -> Any:
    """POST with retries, and once more with `tool_choice="auto"` if a forced one is refused."""
    client = sync_client(config)

    def attempt() -> Any:
        try:
            return _post(client, body, config)
        except Exception as error:
            relaxed = relaxed_tool_choice(body, error)
            if relaxed is None:
                raise
            return _post(client, relaxed, config)

    return call_with_retries(attempt, max_retries=config.max_retries, on_retry=on_retry)


async def _asend(config: ClientConfig, body: dict[str, Any], on_retry: RetryHook | None) -> Any:
    """Async `_send`."""
    client = async_client(config)

    async def attempt() -> Any:
        try:
            return await _post(client, body, config)
        except Exception as error:
            relaxed = relaxed_tool_choice(body, error)
            if relaxed is None:
                raise
            return await _post(client, relaxed, config)

    return await acall_with_retries(attempt, max_retries=config.max_retries, on_retry=on_retry)


def _convert_error(error: BaseException, config: ClientConfig, model: str) -> BaseException:
    import httpx2
    import openai

    if isinstance(error, openai.OpenAIError):
        from langchain_wandb._sdk_errors import convert_sdk_error

        return convert_sdk_error(error, model=model, secret=config.api_key)
    if isinstance(error, httpx2.TimeoutException):
        return StreamTimeoutError(
            f"The W&B stream sent nothing for {config.idle_timeout:g} s "
            "(stream_idle_timeout); the answer is incomplete."
        )
    if isinstance(error, httpx2.TransportError):
        return StreamEndedEarlyError(
            f"The W&B stream broke off mid-answer ({type(error).__name__}); "
            "the answer is incomplete."
        )
    return error


@contextmanager
def _typed_errors(config: ClientConfig, model: str) -> Iterator[None]:
    """Re-raise SDK and transport errors as typed, key-free errors (sync or async code)."""
    try:
        yield
    except Exception as error:
        converted = _convert_error(error, config, model)
        if converted is error:
            raise
        raise converted from error


def _broken_connection(httpx2: Any) -> tuple[type[BaseException], ...]:
    """Errors that mean the connection broke mid-stream (timeouts are not among them).

    A stream whose connection breaks has ended: if the answer had finished, only its
    usage tail is lost (the decoder warns); if not, the decoder raises
    `StreamEndedEarlyError`. Either way the text that arrived is kept.
    """
    return (httpx2.RemoteProtocolError, httpx2.ReadError)


def _deadline_passed(config: ClientConfig) -> StreamTimeoutError:
    return StreamTimeoutError(
        f"The W&B stream ran past the total timeout of {config.timeout:g} s; "
        "the answer is incomplete. Raise `timeout` for long answers."
    )


@contextmanager
def stream_lines(
    config: ClientConfig, body: dict[str, Any], on_retry: RetryHook | None = None
) -> Iterator[Iterator[str]]:
    """Open a streaming chat completion; yields an iterator over its SSE lines.

    The response is closed when the block exits, including when the caller stops early.
    """
    import httpx2

    deadline = time.monotonic() + config.timeout
    with _typed_errors(config, body["model"]):
        response = _send(config, body, on_retry)
        try:

            def lines() -> Iterator[str]:
                try:
                    for line in response.iter_lines():
                        if time.monotonic() > deadline:
                            raise _deadline_passed(config)
                        yield line
                except _broken_connection(httpx2):
                    return  # the decoder knows whether the answer had finished

            yield lines()
        finally:
            response.close()


@asynccontextmanager
async def astream_lines(
    config: ClientConfig, body: dict[str, Any], on_retry: RetryHook | None = None
) -> AsyncIterator[AsyncIterator[str]]:
    """Async `stream_lines`: yields an async iterator over the SSE lines."""
    import httpx2

    deadline = time.monotonic() + config.timeout
    with _typed_errors(config, body["model"]):
        response = await _asend(config, body, on_retry)
        try:

            async def lines() -> AsyncIterator[str]:
                try:
                    async for line in response.aiter_lines():
                        if time.monotonic() > deadline:
                            raise _deadline_passed(config)
                        yield line
                except _broken_connection(httpx2):
                    return  # the decoder knows whether the answer had finished

            yield lines()
        finally:
            await response.aclose()


def post_json(
    config: ClientConfig, body: dict[str, Any], on_retry: RetryHook | None = None
) -> dict[str, Any]:
    """Send a non-streaming chat completion and return the decoded JSON body."""
    with _typed_errors(config, body["model"]):
        response = _send(config, body, on_retry)
    return _decode_body(response.content)


async def apost_json(
    config: ClientConfig, body: dict[str, Any], on_retry: RetryHook | None = None
) -> dict[str, Any]:
    """Async `post_json`."""
    with _typed_errors(config, body["model"]):
        response = await _asend(config, body, on_retry)
    return _decode_body(response.content)


def _decode_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json_loads(raw)
    except ValueError:
        raise WandbStreamError(f"W&B sent a malformed JSON body: {raw[:120]!r}") from None
    if not isinstance(data, dict):
        raise WandbStreamError(f"W&B sent a JSON body that is not an object: {raw[:120]!r}")
    return data


def list_model_entries(config: ClientConfig) -> list[dict[str, Any]]:
    """GET /models: the raw model entries W&B serves."""
    models = sync_client(config).models
    with _typed_errors(config, "(list models)"):
        page = call_with_retries(models.list, max_retries=config.max_retries)
        return [model.model_dump() for model in page.data]


async def alist_model_entries(config: ClientConfig) -> list[dict[str, Any]]:
    """Async `list_model_entries`."""
    models = async_client(config).models

    async def attempt() -> Any:
        return await models.list()

    with _typed_errors(config, "(list models)"):
        page = await acall_with_retries(attempt, max_retries=config.max_retries)
        return [model.model_dump() for model in page.data]
