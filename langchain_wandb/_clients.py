"""openai SDK clients for W&B: one per configuration, per process, per event loop; closable.

Three lifecycles a cached client must never cross:
- a fork: a child that reuses its parent's pooled socket interleaves both processes' bytes
  on one connection (answers swapped or corrupted, returned as success). Caches are
  emptied in the child (`os.register_at_fork`), and every lookup checks the pid as well.
- an event loop: an async pool bound to a closed loop fails with "Event loop is closed",
  and a cache that holds the client holds the loop (and its sockets) for good. Each
  loop's clients are closed when the loop shuts down its async generators (what
  `asyncio.run()` does before closing the loop), and dropped if a loop closed without it.
- the user's own settings for OpenAI: see `_omit_openai_environment`.

Unless the user passes their own, each SDK client gets an httpx2 client of ours: the
SDK's defaults plus a response hook that bounds error bodies (`_deadline`), and, for
async, no finalizer that would schedule `aclose()` on whichever loop runs at collection.

`openai` is imported on the first request, not with the package.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    import openai


@dataclass(frozen=True)
class ClientConfig:
    """Everything that makes one SDK client differ from another (hashable: a cache key).

    Timeouts and retries are per request (see `_transport`), so they are not part of it.
    """

    api_key: str = field(repr=False)
    base_url: str
    project: str | None
    headers: tuple[tuple[str, str], ...] = ()
    http_client: Any = None
    """The user's own `httpx2.Client` / `httpx2.AsyncClient`, if any (compared by identity)."""


ClientT = TypeVar("ClientT", "openai.OpenAI", "openai.AsyncOpenAI")

# Most programs use one or two configurations; an app with a key per user uses many.
# Past this many, the least recently used client is dropped (not closed: a stream may
# still be reading from its pool; its sockets close once nothing references it).
MAX_CLIENTS = 32

_lock = threading.Lock()
_pid = os.getpid()
_sync_clients: OrderedDict[ClientConfig, openai.OpenAI] = OrderedDict()
_loops: dict[asyncio.AbstractEventLoop, _LoopClients] = {}


class _LoopClients:
    """The async clients of one event loop, closed when that loop shuts down."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.clients: OrderedDict[ClientConfig, openai.AsyncOpenAI] = OrderedDict()
        # An async generator started on the loop: `loop.shutdown_asyncgens()` (run by
        # asyncio.run and asyncio.Runner) closes it, and its cleanup closes the clients
        # while the loop can still run their coroutines. Held here: the loop's own
        # registry of async generators is weak.
        self._sentinel = self._close_at_shutdown()
        # Run it to its first `yield` now: nothing in it awaits before, so one step does.
        with contextlib.suppress(StopIteration):
            cast("Coroutine[Any, Any, None]", self._sentinel.__anext__()).send(None)

    async def _close_at_shutdown(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            with _lock:
                if _loops.get(self.loop) is self:
                    del _loops[self.loop]
                clients = list(self.clients.values())
                self.clients.clear()
            for client in clients:
                await client.close()


def _forget_all() -> None:
    """Drop every cached client (in a forked child: they are the parent's).

    The lock is replaced, not taken: another thread of the parent may have held it at
    the fork, and in the child nothing would ever release it.
    """
    global _pid, _lock  # noqa: PLW0603 - the process-wide cache belongs to one pid
    _lock = threading.Lock()
    _pid = os.getpid()
    _sync_clients.clear()
    _loops.clear()


os.register_at_fork(after_in_child=_forget_all)


@atexit.register
def _close_sync_clients() -> None:
    """Close the sync clients' connections while the interpreter can still run that code.

    Left to the garbage collector at shutdown, closing fails (httpcore2's logging is torn
    down by then) and each pooled socket is reported "unclosed" (a ResourceWarning). A
    user's own `http_client` is theirs to close (other code may still use it).
    """
    with _lock:
        clients = [c for config, c in _sync_clients.items() if config.http_client is None]
        _sync_clients.clear()
    for client in clients:
        with contextlib.suppress(Exception):
            client.close()


def _check_pid() -> None:
    # register_at_fork covers os.fork(); this covers forks it does not see.
    if os.getpid() != _pid:
        _forget_all()


def _cached(
    cache: OrderedDict[ClientConfig, ClientT], config: ClientConfig, make: Callable[[], ClientT]
) -> ClientT:
    """The cached client for `config`, made and stored (LRU-bounded) when missing.

    The client is built outside the lock (it takes milliseconds): a fork meanwhile must
    not find the lock held, and other configurations need not wait.
    """
    with _lock:
        client = cache.get(config)
        if client is not None:
            cache.move_to_end(config)
            return client
    made = make()
    with _lock:
        client = cache.setdefault(config, made)
        while len(cache) > MAX_CLIENTS:
            cache.popitem(last=False)
        return client


def _omit_openai_environment(config: ClientConfig) -> dict[str, Any]:
    """Default headers that keep a user's OpenAI settings from reaching W&B.

    The SDK fills organization, project and extra headers from OPENAI_ORG_ID,
    OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS when not given, and a wrong project is
    a 401 at W&B. The SDK's public `Omit` marker in `default_headers` removes a header;
    this integration's own headers win over everything. (base_url is always passed, so
    OPENAI_BASE_URL is never read.)
    """
    import openai

    headers: dict[str, Any] = {"OpenAI-Organization": openai.Omit()}
    for line in os.environ.get("OPENAI_CUSTOM_HEADERS", "").splitlines():
        name = line.partition(":")[0].strip()
        if name and name.lower() != "authorization":  # ours: the W&B key
            headers[name] = openai.Omit()
    headers["OpenAI-Project"] = config.project or openai.Omit()
    # Naming Authorization explicitly makes the SDK drop one from OPENAI_CUSTOM_HEADERS.
    headers["Authorization"] = f"Bearer {config.api_key}"
    headers.update(config.headers)
    return headers


def _http_client(cls: type[ClientT], config: ClientConfig) -> Any:
    """The user's own httpx2 client, or the SDK's default one with our error-body hook.

    The hook (`_deadline.read_error_body`) bounds an error body in time and size before
    the SDK reads it. A user's own client is used as given: its error bodies are read
    by the SDK, bounded only by its read timeout per read.
    """
    import openai

    from langchain_wandb._deadline import aread_error_body, bound_by_deadlines, read_error_body

    if config.http_client is not None:
        return config.http_client
    if cls is openai.OpenAI:
        return bound_by_deadlines(
            _closed_when_collected()(event_hooks={"response": [read_error_body]})
        )
    # No finalizer here: the SDK's own async one schedules `aclose()` on whatever loop runs
    # when it is collected, which fails loudly for a client of a loop closed since
    # ("Task exception was never retrieved"). Loops close their clients (`_LoopClients`).
    return openai.DefaultAsyncHttpxClient(event_hooks={"response": [aread_error_body]})


@functools.cache
def _closed_when_collected() -> type[Any]:
    """The SDK's default sync httpx2 client, closed when collected (as the SDK's is)."""
    import openai

    class ClosedWhenCollected(openai.DefaultHttpxClient):
        def __del__(self) -> None:
            if not self.is_closed:
                with contextlib.suppress(Exception):
                    self.close()

    return ClosedWhenCollected


def _new_client(cls: type[ClientT], config: ClientConfig) -> ClientT:
    return cls(
        api_key=config.api_key,
        admin_api_key="",  # never OPENAI_ADMIN_KEY
        base_url=config.base_url,
        # Retries are ours (see _retry): they must be visible to callbacks and logs.
        max_retries=0,
        default_headers=_omit_openai_environment(config),
        http_client=_http_client(cls, config),
    )


def sync_client(config: ClientConfig) -> openai.OpenAI:
    """The shared sync SDK client for this configuration in this process."""
    import openai

    _check_pid()
    return _cached(_sync_clients, config, lambda: _new_client(openai.OpenAI, config))


def async_client(config: ClientConfig) -> openai.AsyncOpenAI:
    """The async SDK client for this configuration on the running event loop."""
    import openai

    _check_pid()
    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _loops.get(loop)
        if per_loop is None:
            for closed in [other for other in _loops if other.is_closed()]:
                del _loops[closed]  # closed without shutting down its async generators
    if per_loop is None:
        per_loop = _LoopClients(loop)
        with _lock:
            per_loop = _loops.setdefault(loop, per_loop)
    return _cached(per_loop.clients, config, lambda: _new_client(openai.AsyncOpenAI, config))


def close_sync_client(config: ClientConfig) -> None:
    """Close and forget the sync client for this configuration, if any."""
    _check_pid()
    with _lock:
        client = _sync_clients.pop(config, None)
    if client is not None:
        client.close()


async def aclose_async_client(config: ClientConfig) -> None:
    """Close and forget this loop's async client for this configuration, if any."""
    _check_pid()
    with _lock:
        per_loop = _loops.get(asyncio.get_running_loop())
        client = per_loop.clients.pop(config, None) if per_loop else None
    if client is not None:
        await client.close()
