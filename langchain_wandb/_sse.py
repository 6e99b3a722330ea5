"""W&B's event stream, from raw response bytes to `ChatGenerationChunk`s.

Two pure layers (no I/O, no logging) and two thin edges:

- `EventStreamParser` applies the WHATWG server-sent-events parsing rules to bytes
  that arrive in arbitrary pieces: always UTF-8 (invalid bytes read as U+FFFD,
  whatever the Content-Type charset says), one leading BOM skipped, lines ending
  only at CR, LF or CRLF (never at U+2028/U+2029/U+0085 inside JSON), `field:value`
  with one optional space dropped, `data` lines joined with a line feed, an event
  dispatched at a blank line. Lines and events are bounded by `MAX_EVENT_BYTES`.
- `StreamDecoder` turns each event's data into chunks (`_chunks`): `[DONE]` ends the
  stream, an `{"error": ...}` event or malformed data raises. At the end it decides
  whether the stream ended properly: a stream with neither an answer nor a finish
  reason is an error, and when no event came at all the error quotes what the
  server sent instead (a JSON error body, an HTML page from a proxy).
- `decode_stream` / `adecode_stream` feed it from sync or async byte iterables.

Deviation from the spec, on purpose: a final event whose blank line never came (the
connection closed right after it, or after an unterminated `data: [DONE]`) is still
read when its data is complete JSON, because servers and proxies do close that way and
the finish chunk or `[DONE]` it carries is real. If its data is cut off, the stream
ended mid-event: `StreamEndedEarlyError`, never a silently shorter answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

from langchain_core.outputs import ChatGenerationChunk

from langchain_wandb._chunks import StreamState, chunk_to_generation, final_generation
from langchain_wandb._errors import (
    EventTooLargeError,
    MalformedResponseError,
    NoAnswerError,
    StreamEndedEarlyError,
    WandbStreamError,
    excerpt,
)
from langchain_wandb._json import json_loads, loads_utf8

__all__ = [
    "MAX_EVENT_BYTES",
    "EventStreamParser",
    "StreamDecoder",
    "StreamState",
    "adecode_stream",
    "decode_stream",
]

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""The largest line or event accepted; a server streaming an endless line is cut off here."""
_STRAY_BYTES = 64 * 1024  # non-event text kept to explain a reply that is not a stream
_BOM = b"\xef\xbb\xbf"
_DONE = b"[DONE]"


class EventStreamParser:
    """Server-sent events from bytes, by the WHATWG parsing rules; yields each event's data.

    Only the `data` field matters to us: `event`, `id` and `retry` are parsed and
    their values dropped, `:` lines are comments. Lines with any other field are not
    events (per spec ignored); the first `_STRAY_BYTES` of them are kept in `stray`
    to explain a reply that turns out not to be an event stream.
    """

    __slots__ = (
        "_after_cr",
        "_data",
        "_data_size",
        "_head",
        "_limit",
        "_line",
        "_line_size",
        "_stray",
        "_stray_size",
    )

    def __init__(self, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        """Start before the first byte.

        Args:
            max_event_bytes: Largest line or event accepted before `EventTooLargeError`.
        """
        self._limit = max_event_bytes
        self._head: bytes | None = b""  # first bytes, until we know if they are a BOM
        self._after_cr = False  # the last piece ended in CR: a LF next is the same line end
        self._line: list[bytes] = []  # pieces of the unfinished line
        self._line_size = 0
        self._data: list[bytes] = []  # data lines of the unfinished event
        self._data_size = 0
        self._stray: list[bytes] = []
        self._stray_size = 0

    def feed(self, piece: bytes) -> list[bytes]:
        """Take the next bytes; returns the data of each event they complete.

        Raises:
            EventTooLargeError: If a line or an event grows past the limit.

        """
        piece = self._lf_only(piece)
        if b"\n" not in piece:
            self._grow_line(piece)
            return []
        lines = piece.split(b"\n")
        if self._line:
            self._grow_line(lines[0])
            lines[0] = b"".join(self._line)
        self._line = []
        self._line_size = 0
        self._grow_line(lines.pop())
        events = []
        data = self._data
        for line in lines:  # `data:` and blank lines inline: they are nearly all lines
            if line.startswith(b"data:"):
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value)
                self._data_size += len(value) + 1
                if self._data_size > self._limit:
                    raise self._too_large("an event")
            elif line:
                self._take_field(line)
            elif data:
                events.append(data[0] if len(data) == 1 else b"\n".join(data))
                data.clear()
                self._data_size = 0
        return events

    def _lf_only(self, piece: bytes) -> bytes:
        """`piece` without a leading BOM, every line end (CR, LF, CRLF) made one LF."""
        if self._head is not None:
            piece = self._head + piece
            if len(piece) < len(_BOM) and _BOM.startswith(piece):
                self._head = piece
                return b""
            self._head = None
            if piece.startswith(_BOM):
                piece = piece[len(_BOM) :]
        if self._after_cr and piece:
            self._after_cr = False
            if piece[0] == 0x0A:  # the LF of a CRLF split between two pieces
                piece = piece[1:]
        if b"\r" in piece:
            self._after_cr = piece[-1] == 0x0D
            piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return piece

    def close(self) -> bytes | None:
        """The end of the stream: the data of an event left without its blank line, if any.

        The spec drops it; see the module docstring for why we hand it on.
        """
        if self._head:  # the stream was a BOM's first bytes and nothing else
            self._grow_line(self._head)
            self._head = None
        if self._line:
            self._take_field(b"".join(self._line))
            self._line = []
        if not self._data:
            return None
        data = b"\n".join(self._data)
        self._data = []
        return data

    @property
    def stray(self) -> str:
        """The start of the non-event text received, decoded (empty when there was none)."""
        return b"\n".join(self._stray).decode("utf-8", "replace")

    def _grow_line(self, piece: bytes) -> None:
        if piece:
            self._line.append(piece)
            self._line_size += len(piece)
            if self._line_size > self._limit:
                raise self._too_large("a line")

    def _take_field(self, line: bytes) -> None:
        """A line other than a blank one; `data:` lines usually take the inline path."""
        colon = line.find(b":")
        if colon == 0:
            return  # a comment, e.g. `: keep-alive`
        field, value = (line, b"") if colon < 0 else (line[:colon], line[colon + 1 :])
        if field == b"data":
            self._data.append(value[1:] if value[:1] == b" " else value)
            self._data_size += len(value) + 1
            if self._data_size > self._limit:
                raise self._too_large("an event")
        elif field not in (b"event", b"id", b"retry"):
            self._keep_stray(line)  # per spec ignored; kept to explain a non-stream reply

    def _keep_stray(self, line: bytes) -> None:
        room = _STRAY_BYTES - self._stray_size
        if room > 0:
            self._stray.append(line[:room])
            self._stray_size += min(len(line), room) + 1

    def _too_large(self, what: str) -> EventTooLargeError:
        return EventTooLargeError(
            f"The W&B stream sent {what} larger than {self._limit:,} bytes; reading "
            "stopped to bound memory (the server may be streaming without end)."
        )


class StreamDecoder:
    """The one stream loop body, shared by the sync and async edges: bytes in, chunks out."""

    __slots__ = ("_parser", "state")

    def __init__(self, state: StreamState, *, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        """Decode into `state`, which the caller reads afterwards.

        Args:
            state: The stream's state, fresh.
            max_event_bytes: Largest line or event accepted.
        """
        self.state = state
        self._parser = EventStreamParser(max_event_bytes=max_event_bytes)

    def feed(self, piece: bytes) -> Iterator[ChatGenerationChunk]:
        """The chunks completed by the next bytes, each as soon as it is made.

        Events after `[DONE]` are ignored. Chunks before a failing event are yielded
        first, so the caller's partial answer keeps them.

        Raises:
            WandbStreamError: For an error event, malformed data or an oversized event.

        """
        for data in self._parser.feed(piece):
            chunk = self._event(data, cut_off=False)
            if chunk is not None:
                yield chunk
            elif self.state.done:
                return

    def finish(self) -> Iterator[ChatGenerationChunk]:
        """The last chunks once the bytes ended (the closing one last).

        Raises:
            StreamEndedEarlyError: If the stream ended before `[DONE]` and before any
                finish reason (the answer may be cut short), or mid-event.
            NoAnswerError: If it carried neither an answer nor a finish reason: the
                message quotes what the server sent instead of events, if anything.

        """
        if not self.state.done and (data := self._parser.close()) is not None:
            chunk = self._event(data, cut_off=True)
            if chunk is not None:
                yield chunk
        self._check_ending()
        yield final_generation(self.state)

    def _event(self, data: bytes, *, cut_off: bool) -> ChatGenerationChunk | None:
        if data[:1] != b"{":
            stripped = data.strip()
            if stripped == _DONE:
                self.state.done = True
                return None
            if not stripped:
                return None  # an empty event carries nothing
        try:
            event = loads_utf8(data)
        except ValueError:
            if cut_off and self.state.finish_reason is not None:
                return None  # the answer had finished: only the usage event was cut off
            if cut_off:
                raise StreamEndedEarlyError(
                    "The W&B stream ended mid-event, so the answer is incomplete: "
                    f"{excerpt(data.decode('utf-8', 'replace'))!r}"
                ) from None
            raise MalformedResponseError(
                f"W&B sent malformed JSON in the stream: {_quote(data)}"
            ) from None
        if not isinstance(event, dict):
            raise MalformedResponseError(
                f"W&B sent a stream event that is not an object: {_quote(data)}"
            )
        return chunk_to_generation(event, self.state)

    def _check_ending(self) -> None:
        state = self.state
        if state.finish_reason is not None or (state.done and state.has_answer):
            return  # finished, or ended properly by a server that omits finish reasons
        stray = self._parser.stray
        if state.events == 0 and stray:
            raise _not_a_stream(stray)
        if state.done:
            also = f" It also sent: {excerpt(stray)!r}" if stray else ""
            raise NoAnswerError(
                f"The W&B stream ended ([DONE]) without any answer or finish reason.{also}"
            )
        raise StreamEndedEarlyError(
            "The W&B stream ended early: the connection closed before the response "
            "finished, so the answer is incomplete."
        )


def _quote(data: bytes) -> str:
    return repr(excerpt(data.decode("utf-8", "replace"), 120))


def _not_a_stream(text: str) -> WandbStreamError:
    """The error for a reply with no events: the server's own message when it gave one."""
    try:
        body = json_loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.keys() & {"error", "detail", "message"}:
        return NoAnswerError.from_event(
            body.get("error") or body, where="instead of an event stream"
        )
    return NoAnswerError(
        "W&B Inference answered with something that is not an event stream, "
        f"and no answer: {excerpt(text)!r}"
    )


def decode_stream(
    chunks: Iterable[bytes], state: StreamState, *, max_event_bytes: int = MAX_EVENT_BYTES
) -> Iterator[ChatGenerationChunk]:
    """Decode a whole streamed response from its raw bytes, closing chunk included.

    Stops reading at `[DONE]`. The caller reads `state` afterwards (finish reason,
    what arrived, `usage_lost`) to warn or log.

    Raises:
        WandbStreamError: See `StreamDecoder.feed` and `StreamDecoder.finish`.

    """
    decoder = StreamDecoder(state, max_event_bytes=max_event_bytes)
    for piece in chunks:
        yield from decoder.feed(piece)
        if state.done:
            break
    yield from decoder.finish()


async def adecode_stream(
    chunks: AsyncIterable[bytes], state: StreamState, *, max_event_bytes: int = MAX_EVENT_BYTES
) -> AsyncIterator[ChatGenerationChunk]:
    """Async `decode_stream`."""
    decoder = StreamDecoder(state, max_event_bytes=max_event_bytes)
    async for piece in chunks:
        for chunk in decoder.feed(piece):
            yield chunk
        if state.done:
            break
    for chunk in decoder.finish():
        yield chunk
