"""Errors raised while reading a W&B reply (no SDK import needed)."""

from __future__ import annotations

from typing import Any

from langchain_core.exceptions import ModelAPIError, ModelTimeoutError
from langchain_core.messages import AIMessageChunk


class WandbStreamError(ModelAPIError):
    """The server sent an error event, malformed data, or ended the stream early."""

    partial: AIMessageChunk | None = None
    """What arrived before the failure (text, reasoning, tool-call fragments), merged;
    None when nothing did. `invoke()` raises without returning it, so it is kept here."""

    @classmethod
    def from_event(cls, error: Any, *, where: str = "mid-stream") -> WandbStreamError:
        """Build the error from an `{"error": ...}` payload (`where` it came, for the text)."""
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail") or str(error)
            kind = error.get("type") or error.get("code")
            suffix = f" ({kind})" if kind else ""
            return cls(f"W&B Inference reported an error {where}: {message}{suffix}")
        return cls(f"W&B Inference reported an error {where}: {error}")


class StreamEndedEarlyError(WandbStreamError):
    """The connection closed before the response finished: the answer is incomplete."""


class StreamTimeoutError(WandbStreamError, ModelTimeoutError):
    """The stream went silent for longer than allowed, or ran past the total timeout."""


class MalformedResponseError(WandbStreamError):
    """The server sent data we cannot read: malformed JSON, or a field of the wrong type."""


class ToolCallCutOffError(MalformedResponseError):
    """A tool call's arguments stopped mid-object, though the answer did not hit `max_tokens`.

    LangChain's merge would complete the text into a plausible call; `partial` lists the
    call as invalid, with the arguments exactly as the server sent them.
    """


class NoAnswerError(WandbStreamError):
    """The reply ended with neither an answer nor a finish reason.

    Raised, for example, for a 200 whose body is a JSON error or an HTML page instead
    of an event stream (the message quotes what the server said), or for a stream
    that sent only `[DONE]`.
    """


class EventTooLargeError(WandbStreamError):
    """One stream event (or line) grew past the size limit; reading stopped to bound memory."""


def excerpt(text: str, limit: int = 200) -> str:
    """`text` with whitespace runs collapsed, cut to `limit` characters, for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
