"""Server-sent events from W&B -> `ChatGenerationChunk`s, one line at a time.

The decoder is fed lines by a thin sync or async loop (see `_transport`), so both share
every rule: comments, `event:` lines and blank lines are skipped, `[DONE]` ends the
stream, an `{"error": ...}` payload or malformed JSON raises, and a stream that stops
before both `[DONE]` and a finish reason raises instead of passing for a short answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from langchain_core.outputs import ChatGenerationChunk

from langchain_wandb._chunks import StreamState, chunk_to_generation, final_generation
from langchain_wandb._errors import StreamEndedEarlyError, WandbStreamError

json_loads: Callable[[str | bytes], Any]
try:
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover - exercised only without the optional extra
    from json import loads as json_loads
_EXCERPT = 120
logger = logging.getLogger("langchain_wandb")


class SSEDecoder:
    """Decodes the lines of one chat-completion stream."""

    __slots__ = ("done", "state")

    def __init__(self, *, v1: bool = False) -> None:
        """Start a fresh stream (`v1`: emit standard v1 content blocks)."""
        self.state = StreamState(v1=v1)
        self.done = False

    def feed(self, line: str) -> ChatGenerationChunk | None:
        """Decode one line; returns a chunk when the line carries one."""
        if not line.startswith("data:") or self.done:
            return None
        payload = line[5:].strip()
        if payload == "[DONE]":
            self.done = True
            return None
        try:
            data = json_loads(payload)
        except ValueError:
            excerpt = payload if len(payload) <= _EXCERPT else payload[:_EXCERPT] + "..."
            raise WandbStreamError(f"W&B sent malformed JSON in the stream: {excerpt!r}") from None
        if not isinstance(data, dict):
            raise WandbStreamError(f"W&B sent a stream event that is not an object: {payload!r}")
        return chunk_to_generation(data, self.state)

    def finish(self) -> ChatGenerationChunk:
        """Check the stream ended properly; returns its closing chunk.

        Raises:
            StreamEndedEarlyError: If the connection closed before `[DONE]` and before
                any finish reason, i.e. the answer may be cut short.

        """
        if not self.done and self.state.finish_reason is None:
            raise StreamEndedEarlyError(
                "The W&B stream ended early: the connection closed before the response "
                "finished, so the answer is incomplete."
            )
        if not self.done and not self.state.usage_sent and self.state.pending_usage is None:
            # The answer is whole; only the closing usage chunk (if asked for) is missing.
            logger.warning(
                "The W&B stream closed after the answer finished but before [DONE]; "
                "token usage was not received."
            )
        return final_generation(self.state)


def decode_lines(lines: Iterable[str], *, v1: bool = False) -> Iterator[ChatGenerationChunk]:
    """Decode a whole stream of SSE lines, closing chunk included."""
    decoder = SSEDecoder(v1=v1)
    feed = decoder.feed
    for line in lines:
        chunk = feed(line)
        if chunk is not None:
            yield chunk
    yield decoder.finish()


async def adecode_lines(
    lines: AsyncIterable[str], *, v1: bool = False
) -> AsyncIterator[ChatGenerationChunk]:
    """Async `decode_lines`."""
    decoder = SSEDecoder(v1=v1)
    feed = decoder.feed
    async for line in lines:
        chunk = feed(line)
        if chunk is not None:
            yield chunk
    yield decoder.finish()
