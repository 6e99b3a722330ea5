"""openai SDK clients for W&B: one per configuration, per event loop for async, closable.

`openai` is imported on the first request, not with the package.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

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


ClientT = TypeVar("ClientT", "openai.OpenAI", "openai.AsyncOpenAI")

# Most programs use one or two configurations; an app with a key per user uses many.
# Past this many, the least recently used client is dropped (not closed: a stream may
# still be reading from its pool; its sockets close once nothing references them).
MAX_CLIENTS = 32

_sync_clients: OrderedDict[ClientConfig, openai.OpenAI] = OrderedDict()
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, OrderedDict[ClientConfig, openai.AsyncOpenAI]
] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cached(cache: OrderedDict[ClientConfig, ClientT], config: ClientConfig, make: Any) -> ClientT:
    """The cached client for `config`, made and stored (LRU-bounded) when missing."""
    with _lock:
        client = cache.get(config)
        if client is None:
            client = cache[config] = make()
            while len(cache) > MAX_CLIENTS:
                cache.popitem(last=False)
        else:
            cache.move_to_end(config)
        return client


def _client_kwargs(config: ClientConfig) -> dict[str, Any]:
    import httpx2

    return {
        "api_key": config.api_key,
        "base_url": config.base_url,
        "project": config.project,
        # Retries are ours (see _retry): they must be visible to callbacks and logs.
        "max_retries": 0,
        "timeout": httpx2.Timeout(config.timeout, read=config.idle_timeout),
        "default_headers": dict(config.headers),
    }


def _isolate_from_openai_env(
    client: openai.OpenAI | openai.AsyncOpenAI, config: ClientConfig
) -> None:
    # The SDK fills organization, project and extra headers from OPENAI_ORG_ID,
    # OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS when not given. A user's OpenAI
    # settings must never reach W&B (a wrong project is a 401 there), so only what
    # this integration was given is kept. (base_url is always passed explicitly, so
    # OPENAI_BASE_URL is never read.)
    client.organization = None
    client.project = config.project
    client._custom_headers = dict(config.headers)
    client.admin_api_key = None


def _new_client(cls: type[ClientT], config: ClientConfig) -> ClientT:
    client = cls(**_client_kwargs(config))
    _isolate_from_openai_env(client, config)
    return client


def sync_client(config: ClientConfig) -> openai.OpenAI:
    """The shared sync SDK client for this configuration."""
    import openai

    return _cached(_sync_clients, config, lambda: _new_client(openai.OpenAI, config))


def async_client(config: ClientConfig) -> openai.AsyncOpenAI:
    """The async SDK client for this configuration on the running event loop.

    Clients are cached per loop: an async connection pool bound to a closed loop
    raises "Event loop is closed", so `asyncio.run()` twice must not share one.
    """
    import openai

    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _async_clients.get(loop)
        if per_loop is None:
            per_loop = _async_clients[loop] = OrderedDict()
    return _cached(per_loop, config, lambda: _new_client(openai.AsyncOpenAI, config))


def close_sync_client(config: ClientConfig) -> None:
    """Close and forget the sync client for this configuration, if any."""
    with _lock:
        client = _sync_clients.pop(config, None)
    if client is not None:
        client.close()


async def aclose_async_client(config: ClientConfig) -> None:
    """Close and forget this loop's async client for this configuration, if any."""
    with _lock:
        per_loop = _async_clients.get(asyncio.get_running_loop()) or OrderedDict()
        client = per_loop.pop(config, None)
    if client is not None:
        await client.close()
