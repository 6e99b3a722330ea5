"""A local HTTP server that speaks W&B Inference's wire format."""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from langchain_wandb.models import catalogue
from langchain_wandb.testing._auto import automatic_reply
from langchain_wandb.testing._replies import RenderedReply, Reply

#: Models the emulator lists at `GET /models`: the packaged catalogue snapshot.
EMULATED_MODELS = tuple(catalogue())
_PROJECT = re.compile(r"^[^/\s]+/[^/\s]+$")

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_denied",
    404: "not_found_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


@dataclass(frozen=True)
class RecordedRequest:
    """A request the emulator received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: dict[str, Any] | None


class WandbEmulator:
    """A W&B Inference look-alike on loopback, for offline tests and demos.

    Start it as a context manager, point `ChatWandbInference(base_url=emu.base_url,
    api_key="any")` at it (or use `emu.chat_model()`), script replies with
    `emu.script(Reply(...))`, and read what was sent in `emu.requests`. Unscripted
    requests get a default answer: a rambling joke when asked for one, else an echo.

    Example:
        ```python
        from langchain_wandb.testing import Reply, WandbEmulator

        with WandbEmulator() as emu:
            emu.script(Reply(content="Hello!"))
            llm = emu.chat_model()
            assert llm.invoke("hi").content == "Hello!"
            assert emu.requests[-1].body["stream"] is True
        ```

    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None
    ) -> None:
        """Configure the emulator.

        Args:
            host: Loopback address to listen on.
            port: Port to listen on; 0 picks a free one.
            api_key: If set, only this bearer token is accepted (others get 401).

        """
        self.host = host
        self.port = port
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.models: list[str] = list(EMULATED_MODELS)
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.active_streams = 0
        """Streaming responses being written right now."""
        self.open_connections = 0
        """Client connections currently open."""
        self.connections_accepted = 0
        """Client connections accepted since start."""
        self.active_requests = 0
        """Chat requests being answered right now."""
        self.peak_active_requests = 0
        """The most chat requests answered at once since start."""

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> WandbEmulator:
        """Start serving in a background thread; returns self."""
        handler = type("_Handler", (_Handler,), {"emulator": self})
        server = _Server((self.host, self.port), handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="wandb-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WandbEmulator:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def base_url(self) -> str:
        """The `base_url` to give `ChatWandbInference`."""
        return f"http://{self.host}:{self.port}/v1"

    def chat_model(self, **kwargs: Any) -> Any:
        """A `ChatWandbInference` pointed at this emulator (kwargs override defaults)."""
        from langchain_wandb import ChatWandbInference

        params: dict[str, Any] = {"base_url": self.base_url, "api_key": "emulator-key"}
        params.update(kwargs)
        return ChatWandbInference(**params)

    # -- scripting -------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one, then defaults resume."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget scripted replies and recorded requests."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat completion requests received, in order."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions") and r.body]

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        # A client in another process can script its own reply in the request body.
        if isinstance(inline := request.pop("emulator_reply", None), dict):
            return Reply(**inline)
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return automatic_reply(request)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _count(self, attribute: str, step: int) -> None:
        with self._lock:
            setattr(self, attribute, getattr(self, attribute) + step)
            if attribute == "active_requests":
                self.peak_active_requests = max(self.peak_active_requests, self.active_requests)

    def _new_id(self) -> str:
        return f"chatcmpl-emu{next(self._ids):06d}"


class _Server(ThreadingHTTPServer):
    # Many clients connect at once in concurrency tests; the default backlog is 5.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up mid-answer (cancellation tests do it)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    emulator: WandbEmulator
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each response waits
    # for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.emulator._count("open_connections", 1)
        self.emulator._count("connections_accepted", 1)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.emulator._count("open_connections", -1)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and demos read the request log instead."""

    # -- routing -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._record(None)
        if not self._authorized():
            return
        if self.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "system", "root": m}
                for m in self.emulator.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error(404, f"No route for GET {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._record(None)
            self._send_error(400, "Request body is not valid JSON")
            return
        self._record(body)
        if not self._authorized():
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_error(404, f"No route for POST {self.path}")
            return
        if not body.get("model"):
            self._send_error(400, "`model` is required")
            return
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            self._send_error(400, "`messages` must be a non-empty list")
            return
        self.emulator._count("active_requests", 1)
        try:
            self._answer(self.emulator._next_reply(body), body)
        finally:
            self.emulator._count("active_requests", -1)

    def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
        if reply.first_byte_delay:
            time.sleep(reply.first_byte_delay)
        if reply.disconnect:
            self.close_connection = True
            return
        if reply.status >= 400:
            message = reply.error_message
            if reply.echo_auth:
                message += f" (got {self.headers.get('Authorization')})"
            self._send_error(reply.status, message, reply.headers)
            return
        rendered = RenderedReply.resolve(reply, body, self.emulator._new_id())
        if body.get("stream"):
            self._stream(rendered, body)
        else:
            self._send_json(200, rendered.completion(), reply.headers)

    # -- helpers ------------------------------------------------------------------------
    def _record(self, body: dict[str, Any] | None) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.emulator._record(RecordedRequest(self.command, self.path, headers, body))

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip()
        expected = self.emulator.api_key
        if not token or (expected is not None and token != expected):
            self._send_error(401, "Invalid API key or team/project")
            return False
        project = self.headers.get("OpenAI-Project")
        if project is not None and not _PROJECT.match(project):
            # W&B answers a malformed or unknown project with 401, like a bad key.
            self._send_error(401, f"Invalid team/project {project!r}")
            return False
        return True

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = _STATUS_TYPES.get(status, "server_error")
        self._send_json(status, {"error": {"message": message, "type": kind}}, headers)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _stream(self, rendered: RenderedReply, body: dict[str, Any]) -> None:
        reply = rendered.reply
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = rendered.stream_events()
        if not include_usage:
            events = [e for e in events if e["choices"]]
            for event in events:
                event.pop("usage", None)
        newline = "\r\n" if reply.crlf else "\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.emulator._count("active_streams", 1)
        try:
            self._write_events(events, reply, newline)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.emulator._count("active_streams", -1)

    def _write_events(self, events: list[dict[str, Any]], reply: Reply, newline: str) -> None:
        buffer = bytearray()
        paced = reply.delay > 0

        def emit(text: str) -> None:
            buffer.extend(text.encode())
            if paced or len(buffer) > 65536:
                flush()

        def flush() -> None:
            if buffer:
                self._write_chunk(bytes(buffer))
                self.wfile.flush()
                buffer.clear()

        sent_content = 0
        for event in events:
            choices = event["choices"]
            if choices and choices[0]["delta"].get("content"):
                sent_content += 1
                fault = self._fault_at(reply, sent_content)
                if fault == "truncate":
                    flush()
                    self.close_connection = True
                    return
                if fault == "error":
                    error = {"error": {"message": reply.error_message, "type": "server_error"}}
                    emit(f"data: {json.dumps(error)}{newline}{newline}")
                    break
                if fault == "malformed":
                    emit(f'data: {{"id": "broken", "choices": [{newline}{newline}')
                    break
                if fault == "stall":
                    flush()
                    time.sleep(reply.stall_seconds)
            if reply.keepalive:
                emit(f": keep-alive{newline}event: message{newline}")
            emit(f"data: {json.dumps(event)}{newline}{newline}")
            if reply.drop_tail and choices and choices[0]["finish_reason"]:
                flush()
                self.close_connection = True
                return
            if paced:
                time.sleep(reply.delay)
        else:
            emit(f"data: [DONE]{newline}{newline}")
        flush()
        self._write_chunk(b"")
        self.wfile.flush()

    @staticmethod
    def _fault_at(reply: Reply, sent: int) -> str | None:
        faults = (
            ("truncate", reply.truncate_after),
            ("error", reply.error_after),
            ("malformed", reply.malformed_after),
            ("stall", reply.stall_after),
        )
        for name, after in faults:
            if after is not None and sent == after + 1:
                return name
        return None
