"""Scripted replies and how the emulator turns them into W&B wire data."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_wandb.models import lookup

_TOKEN = re.compile(r"\s*\S+|\s+")

#: What the emulator answers when no reply is scripted and the prompt asks for a joke.
RAMBLING_JOKE = (
    "So a man walks into a library, which is already unusual, because he is carrying a "
    "fish. Not a big fish, mind you, more of a medium, thoughtful fish. He asks the "
    "librarian for books about paranoia. She leans in and whispers: they're right behind "
    "you. The fish, who had been quiet until then, says it always knew."
)

#: Default reasoning for models that think before answering.
DEFAULT_REASONING = "The user wants something fun. A short story with a twist should do."

# Ids outside the catalogue that the emulator still plays as always reasoning.
_REASONING_MARKERS = ("gpt-oss", "thinking")


def tokens_of(text: str) -> list[str]:
    """Split text into the pieces the emulator streams, one piece per "token"."""
    return _TOKEN.findall(text)


@dataclass
class ToolCallReply:
    """A tool call the emulator makes: streamed as a name delta then argument fragments."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the JSON text sent on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass
class Reply:
    """One scripted answer of the emulator, with optional faults.

    Every field has a default, so `Reply(content="hi")` is a complete answer. Token
    counts in `usage` are exact: one streamed piece is one token.
    """

    content: str | None = None
    """The answer text; None means the default answer for the request."""
    reasoning: str | None = None
    """Reasoning text; None means: reasoning only for always-reasoning models."""
    reasoning_field: Literal["reasoning", "reasoning_content"] = "reasoning"
    """The delta field carrying reasoning (W&B documents `reasoning`)."""
    tool_calls: list[ToolCallReply] = field(default_factory=list)
    """Tool calls to make; the finish reason becomes `tool_calls`."""
    tool_call_index: Literal["normal", "omit", "zero"] = "normal"
    """How tool-call fragments carry `index`: per call, not at all, or all on 0."""
    finish_reason: str | None = None
    """Finish reason; None means `tool_calls` or `stop`."""
    model: str | None = None
    """Model id reported in chunks; None echoes the requested model."""
    usage: dict[str, Any] | None = None
    """Usage to report; None computes it from the streamed pieces."""
    cached_tokens: int = 0
    """`prompt_tokens_details.cached_tokens` to report."""
    pieces_per_chunk: int = 1
    """How many text pieces go into one content delta."""
    delay: float = 0.0
    """Seconds to wait between events."""
    first_byte_delay: float = 0.0
    """Seconds to wait before the response starts (headers included)."""
    status: int = 200
    """An HTTP error status to answer with instead of a completion."""
    error_message: str = "Emulated error"
    """The error message for `status` >= 400 or `error_after`."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (for example `Retry-After`)."""
    echo_auth: bool = False
    """Quote the request's Authorization header in the error message (a leaky server)."""
    disconnect: bool = False
    """Close the connection without answering at all (a connection error)."""
    duplicate_finish: bool = False
    """Send the finish chunk twice, as some servers do."""
    keepalive: bool = False
    """Interleave `: keep-alive` comment lines and `event:` lines."""
    crlf: bool = False
    """End lines with CRLF instead of LF."""
    error_after: int | None = None
    """Send a `data: {"error": ...}` event after this many content events."""
    truncate_after: int | None = None
    """Close the connection after this many content events, without finishing."""
    drop_tail: bool = False
    """Break the connection right after the finish chunk (no usage chunk, no `[DONE]`)."""
    malformed_after: int | None = None
    """Send a line of broken JSON after this many content events."""
    stall_after: int | None = None
    """Go silent (for `stall_seconds`) after this many content events."""
    stall_seconds: float = 0.0
    """How long `stall_after` stays silent."""
    continuous_usage: bool = False
    """Put a running usage total on every chunk (vLLM's continuous usage stats)."""


def default_content(request: dict[str, Any]) -> str:
    """The emulator's answer when none is scripted: a joke if asked, else an echo."""
    prompt = last_user_text(request)
    if "joke" in prompt.lower():
        return RAMBLING_JOKE
    return f"You said: {prompt}" if prompt else "Hello from the W&B Inference emulator."


def last_user_text(request: dict[str, Any]) -> str:
    """The text of the last user message of a request."""
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(
                part.get("text", "") for part in content or [] if isinstance(part, dict)
            )
    return ""


def thinks(model: str, enable_thinking: bool | None) -> bool:
    """Whether the model reasons for this request, as W&B's catalogue says it would.

    Always-on models reason whatever `enable_thinking` says; default-on ones unless it
    is false; default-off ones only when it is true; others never.
    """
    mode = lookup(model).reasoning
    if mode is None:
        mode = "always" if any(m in model.lower() for m in _REASONING_MARKERS) else "none"
    if mode == "always":
        return True
    if mode == "default_on":
        return enable_thinking is not False
    if mode == "default_off":
        return enable_thinking is True
    return False


def prompt_tokens_of(request: dict[str, Any]) -> int:
    """A deterministic prompt token count: pieces of all message text."""
    total = 0
    for message in request.get("messages") or []:
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        total += len(tokens_of(text or "")) + 1
    return total


@dataclass
class RenderedReply:
    """A reply resolved against one request: what to stream and what to report."""

    reply: Reply
    model: str
    content: list[str]
    reasoning: list[str]
    prompt_tokens: int
    response_id: str
    top_logprobs: int | None = None
    """None: no logprobs asked for; else how many alternatives per token."""
    created: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def resolve(cls, reply: Reply, request: dict[str, Any], response_id: str) -> RenderedReply:
        """Fill the reply's defaults from the request."""
        model = reply.model or str(request.get("model") or "unknown-model")
        content = reply.content
        if content is None:
            content = "" if reply.tool_calls else default_content(request)
        reasoning = reply.reasoning
        if reasoning is None:
            switch = (request.get("chat_template_kwargs") or {}).get("enable_thinking")
            reasoning = DEFAULT_REASONING if thinks(model, switch) else ""
        return cls(
            reply=reply,
            model=model,
            content=_group(tokens_of(content), reply.pieces_per_chunk),
            reasoning=tokens_of(reasoning),
            prompt_tokens=prompt_tokens_of(request),
            response_id=response_id,
            top_logprobs=int(request.get("top_logprobs") or 0) if request.get("logprobs") else None,
        )

    @property
    def finish_reason(self) -> str:
        """The finish reason to send."""
        if self.reply.finish_reason:
            return self.reply.finish_reason
        return "tool_calls" if self.reply.tool_calls else "stop"

    def usage(self, completion_tokens: int | None = None) -> dict[str, Any]:
        """The usage object (exact counts unless the reply scripts its own)."""
        if self.reply.usage is not None:
            return self.reply.usage
        if completion_tokens is None:
            completion_tokens = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.reply.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": len(self.reasoning)},
        }

    @property
    def completion_tokens(self) -> int:
        """Reasoning pieces + content pieces + one per tool call."""
        content_tokens = sum(len(tokens_of(text)) for text in self.content)
        return len(self.reasoning) + content_tokens + len(self.reply.tool_calls)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        if self.top_logprobs is not None and delta.get("content"):
            choice["logprobs"] = self.logprobs(tokens_of(delta["content"]))
        return {
            "id": self.response_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }

    def logprobs(self, pieces: list[str]) -> dict[str, Any]:
        """OpenAI-style `logprobs` for content pieces: made-up but deterministic values."""
        entries = []
        for piece in pieces:
            chosen = _token_logprob(piece, -(len(piece) % 4) / 4)
            alternatives = [
                _token_logprob(f"{piece}~{rank}", chosen["logprob"] - rank)
                for rank in range(1, self.top_logprobs or 0)
            ]
            top = [chosen, *alternatives] if self.top_logprobs else []
            entries.append({**chosen, "top_logprobs": top})
        return {"content": entries, "refusal": None}

    def stream_events(self) -> list[dict[str, Any]]:
        """The chunk objects of the stream, in order (faults excluded)."""
        reply = self.reply
        events = [self._chunk({"role": "assistant", "content": ""})]
        events += [self._chunk({reply.reasoning_field: piece}) for piece in self.reasoning]
        events += [self._chunk({"content": piece}) for piece in self.content]
        for position, call in enumerate(reply.tool_calls):
            events += self._tool_call_events(position, call)
        events.append(self._chunk({}, self.finish_reason))
        if reply.duplicate_finish:
            events.append(self._chunk({}, self.finish_reason))
        if reply.continuous_usage:
            produced = 0
            for event in events:
                delta = event["choices"][0]["delta"]
                produced += 1 if delta.get("content") or delta.get(reply.reasoning_field) else 0
                event["usage"] = self.usage(produced)
        events.append(
            {
                "id": self.response_id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": self.usage(),
            }
        )
        return events

    def _tool_call_events(self, position: int, call: ToolCallReply) -> list[dict[str, Any]]:
        mode = self.reply.tool_call_index
        call_id = self._call_id(position, call)

        def fragment(body: dict[str, Any]) -> dict[str, Any]:
            if mode == "normal":
                body = {"index": position, **body}
            elif mode == "zero":
                body = {"index": 0, **body}
            return self._chunk({"tool_calls": [body]})

        arguments = call.arguments_json()
        events = [
            fragment(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
            )
        ]
        step = max(1, len(arguments) // 3 or 1)
        events += [
            fragment({"function": {"arguments": arguments[start : start + step]}})
            for start in range(0, len(arguments), step)
        ]
        return events

    def _call_id(self, position: int, call: ToolCallReply) -> str:
        return call.id or f"call_{self.response_id[-6:]}_{position}"

    def completion(self) -> dict[str, Any]:
        """The non-streaming chat completion object."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content)}
        if self.reasoning:
            message[self.reply.reasoning_field] = "".join(self.reasoning)
        if self.reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._call_id(position, call),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for position, call in enumerate(self.reply.tool_calls)
            ]
        completion: dict[str, Any] = {
            "id": self.response_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage(),
        }
        if self.top_logprobs is not None:
            completion["choices"][0]["logprobs"] = self.logprobs(tokens_of("".join(self.content)))
        return completion


def _token_logprob(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def _group(pieces: list[str], size: int) -> list[str]:
    if size <= 1:
        return pieces
    return ["".join(pieces[start : start + size]) for start in range(0, len(pieces), size)]
