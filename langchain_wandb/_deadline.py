"""Bound reads the SSE decoder does not see: the sync deadline cutoff, and error bodies.

Error bodies: see `read_error_body`. Sync reads before a response exists (the status
line and headers): see `bound_by_deadlines`.

Cutting a sync response off at its request's deadline, and never a later request's:

A blocked `recv()` cannot be interrupted from its own thread, so one daemon thread (a
heap of deadlines, no thread per request) shuts the response's socket down at the
deadline. The socket belongs to a pooled connection, which carries the next request as
soon as this response is closed: so the response's stream is wrapped, and closing it
(which is what hands the connection back to the pool, whether httpx2 closes it at the
body's end or the caller does) disarms the cut under the same lock the cut takes. A cut
can only ever land on the request it was armed for.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2


class _Watchdog:
    """One daemon thread that runs callbacks at deadlines."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_at(self, deadline: float, callback: Callable[[], None]) -> int:
        with self._wake:
            handle = next(self._ids)
            heapq.heappush(self._heap, (deadline, handle, callback))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="langchain-wandb-watchdog", daemon=True
                )
                self._thread.start()
            self._wake.notify()
            return handle

    def cancel(self, handle: int) -> None:
        with self._wake:
            self._cancelled.add(handle)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(wait)
                    self._drop_cancelled()
                _, handle, callback = heapq.heappop(self._heap)
                if handle in self._cancelled:
                    self._cancelled.discard(handle)
                    continue
            callback()

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._heap)[1])


_watchdog = _Watchdog()


def _new_watchdog() -> None:
    global _watchdog  # noqa: PLW0603 - the parent's thread does not exist in a forked child
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog)


def _socket_of(response: httpx2.Response) -> socket.socket | None:
    """The response's socket, through httpcore's documented `network_stream` extension.

    None for a transport that has none (the deadline is then checked between reads).
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None


class Cutoff:
    """Shuts one response's socket down at a deadline, until that response is closed."""

    __slots__ = ("_armed", "_handles", "_lock", "fired", "sock")

    def __init__(self, sock: socket.socket | None) -> None:
        """Armed for `sock` (None: nothing to shut; `fired` still records the deadline)."""
        self.sock = sock
        self.fired = False
        """Whether the deadline came while the response was open."""
        self._armed = True
        self._handles: list[int] = []
        self._lock = threading.Lock()

    def at(self, deadline: float) -> None:
        """Cut at `deadline` (`time.monotonic()`), too, unless already disarmed."""
        with self._lock:
            if self._armed:
                self._handles.append(_watchdog.call_at(deadline, self))

    def __call__(self) -> None:
        """Cut now, unless disarmed."""
        with self._lock:
            if not self._armed:
                return
            self.fired = True
            if self.sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    self.sock.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> None:
        """Never cut from now on (the connection may carry another request)."""
        with self._lock:
            self._armed = False
            handles, self._handles = self._handles, []
        for handle in handles:
            _watchdog.cancel(handle)


class _ClosingDisarms(httpx2.SyncByteStream):
    """A response stream whose closing first disarms the response's cutoff."""

    def __init__(self, inner: Any, cutoff: Cutoff) -> None:
        self._inner = inner
        self._cutoff = cutoff

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def close(self) -> None:
        self._cutoff.disarm()
        self._inner.close()


def watch(response: httpx2.Response, deadline: float) -> Cutoff:
    """Arm a cutoff for `response` at `deadline`; it disarms when the response closes."""
    cutoff = Cutoff(_socket_of(response))
    response.stream = _ClosingDisarms(response.stream, cutoff)
    cutoff.at(deadline)
    return cutoff


request_deadline: ContextVar[float | None] = ContextVar(
    "langchain_wandb_request_deadline", default=None
)
"""The running request's deadline (`time.monotonic()`), set by the transport around each
attempt; the reads and response hooks below run in the request's own thread or task and read it."""


# -- reads before the response exists (sync) ------------------------------------------
class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose reads and writes end by the running request's deadline.

    httpcore2 gives each read the read timeout afresh, so a server trickling header lines
    would hold a request forever; here each read gets at most the time the request has
    left (`request_deadline`, set in the request's own thread; None: no cap).
    """

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _capped(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _capped(timeout: float | None, late: type[Exception]) -> float | None:
    """`timeout`, cut to what the running request has left; `late` once nothing is."""
    deadline = request_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the request's timeout ran out")
    return left if timeout is None else min(timeout, left)


class _DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore2's sync backend, handing out `_DeadlineStream`s."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _capped(timeout, httpcore2.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _capped(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_by_deadlines(client: httpx2.Client) -> httpx2.Client:
    """`client`, each of its connections bounded by the running request's deadline.

    Direct connections and those through the environment's proxies alike: httpx2 takes
    no network backend, and a client handed a `transport` of its own ignores
    HTTP(S)_PROXY / NO_PROXY; so the client is built as httpx2 builds it, and the
    backend of each of its httpcore2 pools is wrapped in place (pinned by a unit test:
    a changed httpx2 fails it, not users).
    """
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore2.ConnectionPool):
            pool._network_backend = _DeadlineBackend(pool._network_backend)
    return client


# -- error bodies -----------------------------------------------------------------------
ERROR_BODY_LIMIT = 4 * 2**20
"""The most of an error body kept, in decoded bytes (a gzip bomb stops here)."""
CUT = "langchain_wandb.error_body_cut"
"""`response.extensions` key: why an error body was cut short (absent: read whole)."""
_WIRE_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
_MARGIN = 0.05


def _decoding_view(response: httpx2.Response) -> httpx2.Response:
    """A response over the same raw stream and headers, for httpx2's own decoding.

    httpx2 inflates in bounded pieces, so a capped read stops a bomb early; reading
    through this view leaves `response` itself unread, for its stream to be replaced.
    """
    return httpx2.Response(
        response.status_code,
        headers=response.headers,
        stream=response.stream,
        request=response.request,
        extensions=response.extensions,
    )


def _keep(response: httpx2.Response, kept: bytearray, why: str | None) -> None:
    """Give `response` the decoded bytes `kept` as its (identity-encoded) body."""
    for name in _WIRE_HEADERS:
        if name in response.headers:
            del response.headers[name]
    response.stream = httpx2.ByteStream(bytes(kept))
    if why is not None:
        response.extensions[CUT] = why


def _over_limit(kept: bytearray) -> str | None:
    if len(kept) > ERROR_BODY_LIMIT:
        del kept[ERROR_BODY_LIMIT:]
        return f"larger than {ERROR_BODY_LIMIT:,} bytes; reading stopped there"
    return None


def read_error_body(response: httpx2.Response) -> None:
    """httpx2 response hook: read an error status's body within the deadline and the limit.

    The openai SDK reads an error body whole, with neither bound; this hook runs first
    (after the headers) and leaves the response holding what it read, decoded (the
    encoding headers dropped, so it reads back), and, when cut short, why in
    `response.extensions[CUT]`. Successful responses are left alone.
    """
    if response.status_code < 400:
        return
    deadline = request_deadline.get()
    view = _decoding_view(response)
    cutoff = watch(view, deadline) if deadline is not None else None
    kept = bytearray()
    why: str | None = None
    try:
        for chunk in view.iter_bytes():
            kept += chunk
            why = _over_limit(kept)
            if why is not None:
                break
    except httpx2.HTTPError as error:
        why = f"{type(error).__name__} while reading it"
    finally:
        view.close()
    if cutoff is not None and cutoff.fired:
        why = "the request's timeout ran out while it arrived"
    _keep(response, kept, why)


async def aread_error_body(response: httpx2.Response) -> None:
    """Async `read_error_body` (the deadline through `asyncio.timeout_at`)."""
    if response.status_code < 400:
        return
    deadline = request_deadline.get()
    loop = asyncio.get_running_loop()
    # Stop a little before the request's own `asyncio.timeout_at`, which would cancel
    # this read and lose what arrived: the error that quotes it is raised in time.
    at = None if deadline is None else loop.time() + (deadline - time.monotonic()) - _MARGIN
    view = _decoding_view(response)
    kept = bytearray()
    why: str | None = None
    try:
        async with asyncio.timeout_at(at):
            async for chunk in view.aiter_bytes():
                kept += chunk
                why = _over_limit(kept)
                if why is not None:
                    break
    except TimeoutError:
        why = "the request's timeout ran out while it arrived"
    except httpx2.HTTPError as error:
        why = f"{type(error).__name__} while reading it"
    finally:
        await view.aclose()
    _keep(response, kept, why)
