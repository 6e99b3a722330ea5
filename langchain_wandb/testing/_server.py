"""A local HTTP server that speaks W&B Inference's wire format.

W&B serves its models with vLLM behind a gateway of its own, so the emulator sends what a
vLLM 0.32 server sends (tests/compat checks it against one, shape by shape):

- Streams: a role chunk `{"role": "assistant", "content": ""}` with `logprobs: null` and
  null `prompt_token_ids`/`prompt_text`; one chunk per token with `logprobs` and null
  `token_ids`; `finish_reason` `length` on the chunk with the last token, `stop` and
  `tool_calls` on an empty delta, with `stop_reason: null`; then, when
  `stream_options.include_usage` is set, a usage chunk with `choices: []`; the
  `system_fingerprint` (`vllm-0.32.0-...`) rides the usage chunk, or the finish chunk
  without usage. Usage has no `prompt_tokens_details` in streams (null in plain answers)
  unless a `Reply` scripts `cached_tokens` (W&B documents them for prefix caching).
- Tool calls: the first fragment `{"id": "chatcmpl-tool-<hex>", "type": "function",
  "index": i, "function": {"name": ...}}` without `arguments`, then
  `{"index": i, "function": {"arguments": ...}}` fragments, each delta with
  `"content": null`. A named `tool_choice` finishes with `stop`, others with `tool_calls`.
- Plain answers carry vLLM's null extras (`refusal`, `annotations`, `audio`,
  `function_call`, `reasoning` on the message; `stop_reason`, `token_ids`,
  `routed_experts` on the choice; `service_tier`, `prompt_logprobs`, ...); content is null
  when the budget ran out while reasoning, "" beside tool calls.
- Logprobs (`{"content": [...]}`, no `refusal` key) cover reasoning tokens too.
- Errors use vLLM's envelope `{"error": {"message", "type", "param", "code": status}}`
  with its type names (`BadRequestError`, `NotFoundError`, `InternalServerError`);
  refusals are vLLM 0.32's (see `_checks`), `top_logprobs` > 20 in a stream is a 200
  stream holding one error event.

Kept as W&B has it, not as vLLM: `model` echoes the requested id (vLLM reports its first
served name for any alias); `GET /models` lists W&B's documented entries
(`owned_by: "system"`, no `max_model_len` or `permission`); the gateway's own errors
(401, 402, 403, 429) keep OpenAI-style types. Not emulated: token text, `stop` sequences
(`stop_reason` is always null), logprobs of tool-call tokens, vLLM's validation of every
request field.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from langchain_wandb.models import ReasoningMode, catalogue
from langchain_wandb.testing._auto import automatic_reply
from langchain_wandb.testing._checks import Refusal, error_body, refusal_for, unknown_model
from langchain_wandb.testing._concurrency import (
    ConcurrencyGate,
    ConcurrencyKey,
    ConcurrencyScope,
    concurrency_key,
    concurrency_refusal,
)
from langchain_wandb.testing._models import EmulatedModel, resolve_model
from langchain_wandb.testing._replies import RenderedReply, Reply, prompt_tokens_of

if TYPE_CHECKING:
    from langchain_wandb.chat_models import ChatWandbInference

#: Models the emulator lists at `GET /models`: the packaged catalogue snapshot.
EMULATED_MODELS = tuple(catalogue())
_PROJECT = re.compile(r"^[^/\s]+/[^/\s]+$")


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

    It refuses what W&B refuses, before taking a scripted reply: an unknown model id
    (404; register test ids with `add_model`), more than `concurrency_limit` requests
    in flight per project and model (429), a prompt over the model's context window or
    `max_tokens` over it, images to a text-only model and `max_tokens` < 1 (400). It
    honours `max_tokens`, cut to what the prompt leaves of the window (reasoning first,
    then content; finish reason `length`).

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
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        concurrency_limit: int | None = None,
        concurrency_scope: ConcurrencyScope | None = None,
        time_to_first_token: float = 0.0,
        tokens_per_second: float | None = None,
    ) -> None:
        """Configure the emulator.

        Args:
            host: Loopback address to listen on.
            port: Port to listen on; 0 picks a free one.
            api_key: If set, only this bearer token is accepted (others get 401).
            concurrency_limit: Chat requests allowed in flight per (`OpenAI-Project`
                header or none, model); one more gets W&B's 429 at once. None: no limit.
            concurrency_scope: What the limit counts, and the 429's words: "project"
                (per project and model), "user" (per key and model, across projects),
                "project-all-models"; None: per project and model, documented text.
            time_to_first_token: Seconds before the first token of each answer (a
                `Reply` may override it).
            tokens_per_second: Generation speed of each answer; None: as fast as
                possible (a `Reply` may override it).

        """
        self.host = host
        self.port = port
        self.api_key = api_key
        self.time_to_first_token = time_to_first_token
        self.tokens_per_second = tokens_per_second
        self.requests: list[RecordedRequest] = []
        self.models: list[str] = list(EMULATED_MODELS)
        """Ids listed at `GET /models` (ids added here are served, text only)."""
        self._registered: dict[str, EmulatedModel] = {}
        self._gate = ConcurrencyGate(concurrency_limit, concurrency_scope)
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

    def chat_model(self, **kwargs: Any) -> ChatWandbInference:
        """A `ChatWandbInference` pointed at this emulator (kwargs override defaults)."""
        from langchain_wandb import ChatWandbInference

        params: dict[str, Any] = {"base_url": self.base_url, "api_key": "emulator-key"}
        params.update(kwargs)
        return ChatWandbInference(**params)

    # -- served models -----------------------------------------------------------------
    def add_model(
        self,
        model_id: str,
        *,
        context_window: int | None = None,
        vision: bool = False,
        reasoning: ReasoningMode | None = None,
    ) -> EmulatedModel:
        """Serve an extra model id (or replace a known one's properties) for this test.

        Args:
            model_id: The id clients will send.
            context_window: Prompt plus completion tokens accepted; None: unchecked.
            vision: Whether image inputs are accepted.
            reasoning: How the model reasons; None guesses from the id.

        """
        model = EmulatedModel(model_id, context_window, vision, reasoning)
        with self._lock:
            self._registered[model_id] = model
            if model_id not in self.models:
                self.models.append(model_id)
        return model

    def served_model(self, model_id: str) -> EmulatedModel | None:
        """The model the emulator plays for `model_id`, or None when it answers 404."""
        with self._lock:
            model = resolve_model(model_id, self._registered)
            if model is None and model_id in self.models:
                model = EmulatedModel(model_id)
        return model

    # -- concurrency counters ------------------------------------------------------------
    @property
    def concurrency_limit(self) -> int | None:
        """Chat requests allowed in flight per (project, model); None: unlimited."""
        return self._gate.limit

    @property
    def refused_requests(self) -> int:
        """Chat requests refused with 429 for the concurrency limit, over all keys."""
        return self._gate.refused_total

    def refused_by_key(self) -> dict[ConcurrencyKey, int]:
        """Concurrency refusals per (`OpenAI-Project` header or None, model)."""
        return self._gate.snapshot().refused

    def peak_in_flight(self) -> dict[ConcurrencyKey, int]:
        """The most requests in flight at once per (`OpenAI-Project` or None, model)."""
        return self._gate.snapshot().peak_in_flight

    def in_flight(self) -> dict[ConcurrencyKey, int]:
        """Requests holding a concurrency slot right now, per key."""
        return self._gate.snapshot().in_flight

    # -- scripting -------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one, then defaults resume."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget scripted replies, recorded requests and concurrency counts."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()
        self._gate.reset_counts()

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
        model = self.emulator.served_model(str(body["model"]))
        if model is None:
            self._send_refusal(unknown_model(str(body["model"])))
            return
        # Like W&B, refuse at once and without Retry-After; the slot is held until the
        # answer is written or the client hangs up (both end `_answer`).
        gate = self.emulator._gate
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        key = concurrency_key(gate.scope, self.headers.get("OpenAI-Project"), bearer, model.id)
        if not gate.acquire(key):
            self._send_json(429, concurrency_refusal(gate.scope, model.id))
            return
        self.emulator._count("active_requests", 1)
        try:
            self._admitted(body, model)
        finally:
            self.emulator._count("active_requests", -1)
            self.emulator._gate.release(key)

    def _admitted(self, body: dict[str, Any], model: EmulatedModel) -> None:
        # A scripted reply stands for the model's answer: a request vLLM refuses never
        # reaches the model, so it leaves the script untouched.
        if (refusal := refusal_for(body, model, prompt_tokens_of(body))) is not None:
            if refusal.in_stream and body.get("stream"):
                self._stream_refusal(refusal)
            else:
                self._send_refusal(refusal)
            return
        self._answer(self.emulator._next_reply(body), body, model)

    def _answer(self, reply: Reply, body: dict[str, Any], model: EmulatedModel) -> None:
        if reply.first_byte_delay:
            self._wait(reply.first_byte_delay)
        if reply.disconnect:
            self.close_connection = True
            return
        if reply.status >= 400 and reply.error_body is not None:
            self._send_json(reply.status, reply.error_body, reply.headers)
            return
        if reply.status >= 400:
            message = reply.error_message
            if reply.echo_auth:
                message += f" (got {self.headers.get('Authorization')})"
            self._send_error(reply.status, message, reply.headers)
            return
        rendered = RenderedReply.resolve(reply, body, self.emulator._new_id(), model)
        pace = self._pace(reply)
        if body.get("stream"):
            self._stream(rendered, body, pace)
        else:
            pace.wait_all(rendered.completion_tokens)
            self._send_json(200, rendered.completion(), reply.headers)

    def _pace(self, reply: Reply) -> _Pace:
        emulator = self.emulator
        first = reply.time_to_first_token
        speed = reply.tokens_per_second
        return _Pace(
            emulator.time_to_first_token if first is None else first,
            emulator.tokens_per_second if speed is None else speed,
            self._wait,
        )

    def _wait(self, seconds: float) -> None:
        """Sleep, but raise ConnectionResetError as soon as the client hangs up.

        So a cancelled request gives its concurrency slot back at once, as on W&B.
        """
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], left)
            if not readable:
                continue
            try:
                peeked = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if not peeked:
                msg = "the client closed the connection"
                raise ConnectionResetError(msg)
            time.sleep(max(deadline - time.monotonic(), 0))  # the client sent more: just wait

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
        self._send_json(status, error_body(status, message), headers)

    def _send_refusal(self, refusal: Refusal) -> None:
        self._send_json(refusal.status, refusal.body())

    def _start_stream(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _stream_refusal(self, refusal: Refusal) -> None:
        self._start_stream({})
        self._write_chunk(f"data: {json.dumps(refusal.body())}\n\ndata: [DONE]\n\n".encode())
        self._write_chunk(b"")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _stream(self, rendered: RenderedReply, body: dict[str, Any], pace: _Pace) -> None:
        reply = rendered.reply
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = rendered.stream_events(include_usage=include_usage)
        newline = "\r\n" if reply.crlf else "\n"
        self._start_stream(reply.headers)
        self.emulator._count("active_streams", 1)
        try:
            self._write_events(events, rendered, newline, pace)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.emulator._count("active_streams", -1)

    def _write_events(
        self, events: list[dict[str, Any]], rendered: RenderedReply, newline: str, pace: _Pace
    ) -> None:
        reply = rendered.reply
        paced = reply.delay > 0 or pace.active
        out = _ChunkedWriter(self._write_chunk, self.wfile.flush, paced=paced)
        sent_content = 0
        for event in events:
            choices = event["choices"]
            if choices and choices[0]["delta"].get("content"):
                sent_content += 1
                ending = self._inject_fault(reply, sent_content, out, newline)
                if ending == "hang up":
                    self.close_connection = True
                    return
                if ending == "end":
                    break
            self._send_event(event, rendered, out, pace, newline)
            if reply.drop_tail and choices and choices[0]["finish_reason"]:
                out.flush()
                self.close_connection = True
                return
            if paced:
                self._wait(reply.delay)
        else:
            out.emit(f"data: [DONE]{newline}{newline}")
        out.flush()
        self._write_chunk(b"")
        self.wfile.flush()

    def _inject_fault(
        self, reply: Reply, sent_content: int, out: _ChunkedWriter, newline: str
    ) -> Literal["hang up", "end"] | None:
        """Act out the reply's fault due before content event `sent_content`, if any.

        "hang up": the stream stops here without its end; "end": the stream ends here (an
        error event or malformed data, no `[DONE]`); None: it goes on (after a stall).
        """
        fault = self._fault_at(reply, sent_content)
        if fault == "truncate":
            out.flush()
            return "hang up"
        if fault == "error":
            error = error_body(500, reply.error_message)
            out.emit(f"data: {json.dumps(error)}{newline}{newline}")
            return "end"
        if fault == "malformed":
            out.emit(f'data: {{"id": "broken", "choices": [{newline}{newline}')
            return "end"
        if fault == "stall":
            out.flush()
            self._wait(reply.stall_seconds)
        return None

    @staticmethod
    def _send_event(
        event: dict[str, Any],
        rendered: RenderedReply,
        out: _ChunkedWriter,
        pace: _Pace,
        newline: str,
    ) -> None:
        """Write one event once the model would have generated its tokens."""
        if tokens := rendered.event_tokens(event):
            out.flush()
            pace.wait(tokens)
        if rendered.reply.keepalive:
            out.emit(f": keep-alive{newline}event: message{newline}")
        out.emit(f"data: {json.dumps(event)}{newline}{newline}")

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


class _ChunkedWriter:
    """Stream text gathered into HTTP chunks.

    Written at once when `paced`, else when 64 KiB have gathered or on `flush`.
    """

    def __init__(
        self, write_chunk: Callable[[bytes], None], flush: Callable[[], None], *, paced: bool
    ) -> None:
        self._buffer = bytearray()
        self._write_chunk = write_chunk
        self._flush = flush
        self._paced = paced

    def emit(self, text: str) -> None:
        """Add `text` to the stream."""
        self._buffer.extend(text.encode())
        if self._paced or len(self._buffer) > 65536:
            self.flush()

    def flush(self) -> None:
        """Send what has gathered as one chunk (nothing when nothing has)."""
        if self._buffer:
            self._write_chunk(bytes(self._buffer))
            self._flush()
            self._buffer.clear()


class _Pace:
    """Waits like a model generating.

    `first` seconds before the first token, then `1 / speed` per token (`speed` None or
    infinite: no wait).
    """

    def __init__(self, first: float, speed: float | None, sleep: Callable[[float], None]) -> None:
        self.first = max(first, 0.0)
        self.per_token = 0.0 if not speed or math.isinf(speed) else 1.0 / speed
        self.started = False
        self.sleep = sleep

    @property
    def active(self) -> bool:
        """Whether this pace waits at all."""
        return bool(self.first or self.per_token)

    def wait(self, tokens: int) -> None:
        """Wait for `tokens` more tokens to be generated."""
        seconds = tokens * self.per_token
        if not self.started:
            self.started = True
            seconds += self.first - self.per_token  # the first token comes at `first`
        if seconds > 0:
            self.sleep(seconds)

    def wait_all(self, tokens: int) -> None:
        """Wait for a whole answer of `tokens` tokens (non-streaming)."""
        if tokens:
            self.wait(tokens)
