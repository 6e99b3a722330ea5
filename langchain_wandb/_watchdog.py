"""Cut a sync response off at its request's deadline, and never a later request's.

A blocked `recv()` cannot be interrupted from its own thread, so one daemon thread (a
heap of deadlines, no thread per request) shuts the response's socket down at the
deadline. The socket belongs to a pooled connection, which carries the next request as
soon as this response is closed: so the response's stream is wrapped, and closing it
(which is what hands the connection back to the pool, whether httpx2 closes it at the
body's end or the caller does) disarms the cut under the same lock the cut takes. A cut
can only ever land on the request it was armed for.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

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
