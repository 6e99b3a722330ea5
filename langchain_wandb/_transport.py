"""HTTP to W&B through the openai SDK: clients, raw streamed lines, JSON, errors, timeouts.

The SDK does what it is good at (auth headers, retries with backoff and `Retry-After`,
status codes -> typed errors); we read the raw SSE lines ourselves, which is many times
cheaper than the SDK building a pydantic object per chunk. `openai` is imported on the
first request, not with the package.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_wandb._errors import StreamEndedEarlyError, StreamTimeoutError
from langchain_wandb._sse import json_loads

if TYPE_CHECKING:
    import openai


@dataclass(frozen=True)
class ClientConfig:
    """Everything that makes one SDK client differ from another (hashable: a cache key)."""

    api_key: str = field(repr=False)
    base_url: str
    project: str | None
    timeout: float
    idle_timeout: float
    max_retries: int
    headers: tuple[tuple[str, str], ...] = ()


_sync_clients: dict[ClientConfig, openai.OpenAI] = {}
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[ClientConfig, openai.AsyncOpenAI]
] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _client_kwargs(config: ClientConfig) -> dict[str, Any]:
    import httpx2

    return {
        "api_key": config.api_key,
        "base_url": config.base_url,
        "project": config.project,
        "max_retries": config.max_retries,
        "timeout": httpx2.Timeout(config.timeout, read=config.idle_timeout),
        "default_headers": dict(config.headers),
    }


def _isolate_from_openai_env(
    client: openai.OpenAI | openai.AsyncOpenAI, config: ClientConfig
) -> None:
    # The SDK fills organization, project and extra headers from OPENAI_ORG_ID,
    # OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS when not given. A user's OpenAI
    # settings must never reach W&B (a wrong project is a 401 there), so only what
    # this integration was given is kept.
    client.organization = None
    client.project = config.project
    client._custom_headers = dict(config.headers)
    client.admin_api_key = None


def sync_client(config: ClientConfig) -> openai.OpenAI:
    """The shared sync SDK client for this configuration."""
    client = _sync_clients.get(config)
    if client is None:
        import openai

        with _lock:
            client = _sync_clients.get(config)
            if client is None:
                client = openai.OpenAI(**_client_kwargs(config))
                _isolate_from_openai_env(client, config)
                _sync_clients[config] = client
    return client


def async_client(config: ClientConfig) -> openai.AsyncOpenAI:
    """The async SDK client for this configuration on the running event loop.

    Clients are cached per loop: an async connection pool bound to a closed loop
    raises "Event loop is closed", so `asyncio.run()` twice must not share one.
    """
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.get(loop)
    if per_loop is None:
        per_loop = _async_clients[loop] = {}
    client = per_loop.get(config)
    if client is None:
        import openai

        client = openai.AsyncOpenAI(**_client_kwargs(config))
        _isolate_from_openai_env(client, config)
        per_loop[config] = client
    return client


def close_sync_client(config: ClientConfig) -> None:
    """Close and forget the sync client for this configuration, if any."""
    with _lock:
        client = _sync_clients.pop(config, None)
    if client is not None:
        client.close()


async def aclose_async_client(config: ClientConfig) -> None:
    """Close and forget this loop's async client for this configuration, if any."""
    per_loop = _async_clients.get(asyncio.get_running_loop()) or {}
    client = per_loop.pop(config, None)
    if client is not None:
        await client.close()


def _request_args(body: dict[str, Any], config: ClientConfig) -> dict[str, Any]:
    import httpx2

    rest = dict(body)
    model = rest.pop("model")
    messages = rest.pop("messages")
    stream = rest.pop("stream", False)
    read = config.idle_timeout if stream else config.timeout
    return {
        "model": model,
        "messages": messages,
        "stream": stream,
        "extra_body": rest,
        "timeout": httpx2.Timeout(config.timeout, read=read),
    }


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


def _deadline_passed(config: ClientConfig) -> StreamTimeoutError:
    return StreamTimeoutError(
        f"The W&B stream ran past the total timeout of {config.timeout:g} s; "
        "the answer is incomplete. Raise `timeout` for long answers."
    )


@contextmanager
def stream_lines(config: ClientConfig, body: dict[str, Any]) -> Iterator[Iterator[str]]:
    """Open a streaming chat completion; yields an iterator over its SSE lines.

    The response is closed when the block exits, including when the caller stops early.
    """
    deadline = time.monotonic() + config.timeout
    with (
        _typed_errors(config, body["model"]),
        sync_client(config).chat.completions.with_streaming_response.create(
            **_request_args(body, config)
        ) as response,
    ):

        def lines() -> Iterator[str]:
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    raise _deadline_passed(config)
                yield line

        yield lines()


@asynccontextmanager
async def astream_lines(
    config: ClientConfig, body: dict[str, Any]
) -> AsyncIterator[AsyncIterator[str]]:
    """Async `stream_lines`: yields an async iterator over the SSE lines."""
    deadline = time.monotonic() + config.timeout
    with _typed_errors(config, body["model"]):
        async with async_client(config).chat.completions.with_streaming_response.create(
            **_request_args(body, config)
        ) as response:

            async def lines() -> AsyncIterator[str]:
                async for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise _deadline_passed(config)
                    yield line

            yield lines()


def post_json(config: ClientConfig, body: dict[str, Any]) -> dict[str, Any]:
    """Send a non-streaming chat completion and return the decoded JSON body."""
    with (
        _typed_errors(config, body["model"]),
        sync_client(config).chat.completions.with_streaming_response.create(
            **_request_args(body, config)
        ) as response,
    ):
        return _decode_body(response.read())


async def apost_json(config: ClientConfig, body: dict[str, Any]) -> dict[str, Any]:
    """Async `post_json`."""
    with _typed_errors(config, body["model"]):
        async with async_client(config).chat.completions.with_streaming_response.create(
            **_request_args(body, config)
        ) as response:
            return _decode_body(await response.read())


def _decode_body(raw: bytes) -> dict[str, Any]:
    from langchain_wandb._errors import WandbStreamError

    try:
        data = json_loads(raw)
    except ValueError:
        raise WandbStreamError(f"W&B sent a malformed JSON body: {raw[:120]!r}") from None
    if not isinstance(data, dict):
        raise WandbStreamError(f"W&B sent a JSON body that is not an object: {raw[:120]!r}")
    return data


def models_response(config: ClientConfig) -> list[dict[str, Any]]:
    """GET /models: the raw model entries W&B serves."""
    with _typed_errors(config, "(list models)"):
        return [model.model_dump() for model in sync_client(config).models.list().data]


async def amodels_response(config: ClientConfig) -> list[dict[str, Any]]:
    """Async `models_response`."""
    with _typed_errors(config, "(list models)"):
        page = await async_client(config).models.list()
        return [model.model_dump() for model in page.data]


__all__ = [
    "ClientConfig",
    "aclose_async_client",
    "amodels_response",
    "apost_json",
    "astream_lines",
    "async_client",
    "close_sync_client",
    "models_response",
    "post_json",
    "stream_lines",
    "sync_client",
]
