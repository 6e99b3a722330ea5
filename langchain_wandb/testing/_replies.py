"""Scripted replies and how the emulator turns them into W&B wire data."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_wandb.models import ReasoningMode, lookup
from langchain_wandb.testing._checks import requested_max_tokens
from langchain_wandb.testing._models import EmulatedModel

_TOKEN = re.compile(r"\s*\S+|\s+")

#: Prompt tokens an image content part counts for.
IMAGE_TOKENS = 85

#: What the emulator answers when no reply is scripted and the prompt asks for a joke.
RAMBLING_JOKE = (
    "So a man walks into a library, which is already unusual, because he is carrying a "
    "fish. Not a big fish, mind you, more of a medium, thoughtful fish. He asks the "
    "librarian for books about paranoia. She leans in and whispers: they're right behind "
    "you. The fish, who had been quiet until then, says it always knew."
)

#: Default reasoning for models that think before answering.
DEFAULT_REASONING = "The user wants something fun. A short story with a twist should do."


def tokens_of(text: str) -> list[str]:
    """Split text into the emulator's tokens: each word with the whitespace before it.

    This is the emulator's whole tokenizer: deterministic, model-independent, and what
    every count it reports (usage, `max_tokens`, context windows) is measured in.
    """
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
    time_to_first_token: float | None = None
    """Seconds before the first token; None: the emulator's `time_to_first_token`."""
    tokens_per_second: float | None = None
    """Generation speed; None: the emulator's; `math.inf`: unpaced."""


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


def thinks(model: str, enable_thinking: bool | None, mode: ReasoningMode | None = None) -> bool:
    """Whether the model reasons for this request, as W&B's catalogue says it would.

    Always-on models reason whatever `enable_thinking` says; default-on ones unless it
    is false; default-off ones only when it is true; others never. `mode` overrides
    the catalogue (a model a test registered).
    """
    if mode is None:
        mode = lookup(model).reasoning or EmulatedModel(model).reasoning_mode
    if mode == "always":
        return True
    if mode == "default_on":
        return enable_thinking is not False
    if mode == "default_off":
        return enable_thinking is True
    return False


def prompt_tokens_of(request: dict[str, Any]) -> int:
    """The prompt tokens of a request, as the emulator counts them.

    Per message: one for the role markup, the tokens of its text (string content, text
    parts, tool calls as JSON) and `IMAGE_TOKENS` per image part; plus the tokens of the
    tool definitions as JSON, which a chat template renders into the prompt too.
    """
    total = len(tokens_of(json.dumps(request["tools"]))) if request.get("tools") else 0
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        total += 1
        content = message.get("content")
        if isinstance(content, str):
            total += len(tokens_of(content))
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text":
                    total += len(tokens_of(str(part.get("text") or "")))
                else:
                    total += IMAGE_TOKENS
        if message.get("tool_calls"):
            total += len(tokens_of(json.dumps(message["tool_calls"])))
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
    tool_calls: list[ToolCallReply] = field(default_factory=list)
    """The tool calls made (those the `max_tokens` budget left room for)."""
    cut: bool = False
    """Whether `max_tokens` cut the answer short (finish reason `length`)."""
    top_logprobs: int | None = None
    """None: no logprobs asked for; else how many alternatives per token."""
    created: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def resolve(
        cls,
        reply: Reply,
        request: dict[str, Any],
        response_id: str,
        served: EmulatedModel | None = None,
    ) -> RenderedReply:
        """Fill the reply's defaults from the request and cut it to `max_tokens`.

        The budget is spent as W&B's backends spend it: reasoning first, then content,
        then one token per tool call; a reply that does not fit finishes with `length`.
        """
        model = reply.model or str(request.get("model") or "unknown-model")
        content = reply.content
        if content is None:
            content = "" if reply.tool_calls else default_content(request)
        reasoning = reply.reasoning
        if reasoning is None:
            switch = (request.get("chat_template_kwargs") or {}).get("enable_thinking")
            mode = served.reasoning_mode if served is not None else None
            reasoning = DEFAULT_REASONING if thinks(model, switch, mode) else ""
        reasoning_tokens, content_tokens = tokens_of(reasoning), tokens_of(content)
        tool_calls = list(reply.tool_calls)
        wanted = len(reasoning_tokens) + len(content_tokens) + len(tool_calls)
        budget = requested_max_tokens(request)
        if budget is not None and wanted > budget:
            reasoning_tokens = reasoning_tokens[:budget]
            content_tokens = content_tokens[: budget - len(reasoning_tokens)]
            tool_calls = tool_calls[: budget - len(reasoning_tokens) - len(content_tokens)]
        return cls(
            reply=reply,
            model=model,
            content=_group(content_tokens, reply.pieces_per_chunk),
            reasoning=reasoning_tokens,
            prompt_tokens=prompt_tokens_of(request),
            response_id=response_id,
            tool_calls=tool_calls,
            cut=budget is not None and wanted > budget,
            top_logprobs=int(request.get("top_logprobs") or 0) if request.get("logprobs") else None,
        )

    @property
    def finish_reason(self) -> str:
        """The finish reason to send (`length` when `max_tokens` cut the answer)."""
        if self.cut:
            return "length"
        if self.reply.finish_reason:
            return self.reply.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def event_tokens(self, event: dict[str, Any]) -> int:
        """How many tokens a stream event carries (for pacing)."""
        if not event["choices"]:
            return 0
        delta = event["choices"][0]["delta"]
        if delta.get("content"):
            return len(tokens_of(delta["content"]))
        if delta.get(self.reply.reasoning_field):
            return 1
        return sum(1 for call in delta.get("tool_calls") or [] if call.get("id"))

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
        return len(self.reasoning) + content_tokens + len(self.tool_calls)

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
        for position, call in enumerate(self.tool_calls):
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
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._call_id(position, call),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for position, call in enumerate(self.tool_calls)
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
