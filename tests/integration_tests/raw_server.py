"""A loopback TCP server whose every connection runs a script of ours: exact bytes, timing.

For what an HTTP framework would not let a test do: answer slowly, byte by byte, never,
with malformed framing, or not at all. Connections are counted so tests can check that
nothing was left open.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType

Handler = Callable[[socket.socket, bytes], None]
"""Called with the client socket and the request bytes read so far (headers and body)."""


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers, and a Content-Length body) from `conn`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def http_response(
    status: int, body: bytes, *, content_type: str = "application/json", extra: str = ""
) -> bytes:
    """A complete HTTP/1.1 response with a Content-Length body."""
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
"""Headers of an event stream delimited by closing the connection."""


class RawServer:
    """Serve each connection with `handler` in its own thread until stopped."""

    def __init__(self, handler: Handler) -> None:
        """Listen on a free loopback port."""
        self.handler = handler
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.open = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        """The `base_url` for a model pointed at this server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> RawServer:
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving and close every connection."""
        self._stop.set()
        self.sock.close()
        with self._lock:
            for conn in self._conns:
                with suppress(OSError):
                    conn.close()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self.open += 1
                self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            request = read_request(conn)
            if request:
                self.handler(conn, request)
        except OSError:
            pass  # the client went away: what these tests provoke
        finally:
            with suppress(OSError):
                conn.close()
            with self._lock:
                self.open -= 1

    def stopped(self) -> bool:
        """Whether the server is stopping (handlers that loop should check it)."""
        return self._stop.is_set()


@contextmanager
def raw_server(handler: Handler) -> Iterator[RawServer]:
    """A running `RawServer` for the block."""
    with RawServer(handler) as server:
        yield server


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll `condition` until it holds or `seconds` pass; returns whether it held."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
