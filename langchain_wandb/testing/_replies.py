"""Scripted replies and how the emulator turns them into W&B wire data (vLLM 0.32's shapes)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_wandb.models import ReasoningMode, lookup
from langchain_wandb.testing._checks import requested_max_tokens, wandb_error_body
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

#: The `system_fingerprint` vLLM 0.32 sends (the version, then a hash of its config).
SYSTEM_FINGERPRINT = "vllm-0.32.0-" + hashlib.blake2b(b"wandb-emulator", digest_size=4).hexdigest()

# Keys a vLLM 0.32 chat completion carries as null (besides `service_tier`).
_NULL_RESPONSE_KEYS = (
    "prompt_logprobs",
    "prompt_token_ids",
    "prompt_text",
    "kv_transfer_params",
    "ec_transfer_params",
    "metrics",
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
    """Tool calls to make; the finish reason becomes `tool_calls` (`stop` when the request
    named the tool, as vLLM finishes a named `tool_choice`)."""
    tool_call_index: Literal["normal", "omit", "zero"] = "normal"
    """How tool-call fragments carry `index`: per call, not at all, or all on 0."""
    finish_reason: str | None = None
    """Finish reason; None means `tool_calls` or `stop`. `length` rides the last token's
    chunk, others an empty delta (vLLM's way)."""
    model: str | None = None
    """Model id reported in chunks; None echoes the requested model."""
    usage: dict[str, Any] | None = None
    """Usage to report; None computes it from the streamed pieces."""
    cached_tokens: int | None = None
    """`prompt_tokens_details.cached_tokens` to report (prefix caching, `cache_salt`);
    None: no details, as vLLM sends them (absent in streams, null otherwise)."""
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
    error_body: dict[str, Any] | None = None
    """The exact JSON body for `status` >= 400; None: vLLM's envelope around
    `error_message`. `Reply.wandb_error` fills it with W&B's documented errors."""
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

    @classmethod
    def wandb_error(cls, kind: str, **fields: Any) -> Reply:
        """W&B's documented error `kind`, exactly: status, body shape and text.

        Kinds (`langchain_wandb.testing.WANDB_ERROR_KINDS`): `auth` (401), `quota` (402),
        `quota_429` (the same text as a 429, as older accounts get it), `region` and
        `gateway_disabled` (403), `not_found` (404, also what retired models return),
        `invalid_parameters` (422 with `detail`), `invalid_request` (400 with
        `error.message`, as newer gateways answer), `concurrency` and `personal_account`
        (429), `server_error` (500), `overloaded` (503). `fields` set other `Reply`
        fields, e.g. `headers`.

        Raises:
            ValueError: For an unknown `kind`.

        """
        status, body = wandb_error_body(kind)
        return cls(status=status, error_body=body, **fields)


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
    """A reply resolved against one request: what to stream and what to report.

    The wire shapes are vLLM 0.32's (module docstring of `langchain_wandb.testing._server`
    lists what is matched and what is not).
    """

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
    named_tool_choice: bool = False
    """Whether the request named the tool to call (vLLM then finishes with `stop`)."""

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
        Like vLLM 0.32, the budget is at most what the prompt leaves of the context window
        (the whole of it when `max_tokens` is not sent).
        """
        model = reply.model or str(request.get("model") or "unknown-model")
        content = reply.content
        if content is None:
            content = "" if reply.tool_calls else default_content(request)
        reasoning = _reasoning_of(reply, request, model, served)
        reasoning_tokens, content_tokens = tokens_of(reasoning), tokens_of(content)
        tool_calls = list(reply.tool_calls)
        wanted = len(reasoning_tokens) + len(content_tokens) + len(tool_calls)
        prompt_tokens = prompt_tokens_of(request)
        budget = _budget(request, prompt_tokens, served)
        if budget is not None and wanted > budget:
            reasoning_tokens = reasoning_tokens[:budget]
            content_tokens = content_tokens[: budget - len(reasoning_tokens)]
            tool_calls = tool_calls[: budget - len(reasoning_tokens) - len(content_tokens)]
        return cls(
            reply=reply,
            model=model,
            content=_group(content_tokens, reply.pieces_per_chunk),
            reasoning=reasoning_tokens,
            prompt_tokens=prompt_tokens,
            response_id=response_id,
            tool_calls=tool_calls,
            cut=budget is not None and wanted > budget,
            top_logprobs=int(request.get("top_logprobs") or 0) if request.get("logprobs") else None,
            named_tool_choice=isinstance(request.get("tool_choice"), dict),
        )

    @property
    def finish_reason(self) -> str:
        """The finish reason to send.

        `length` when `max_tokens` cut the answer; else the scripted one; else, with tool
        calls, `stop` for a named tool choice and `tool_calls` otherwise (vLLM's way).
        """
        if self.cut:
            return "length"
        if self.reply.finish_reason:
            return self.reply.finish_reason
        if self.tool_calls and not self.named_tool_choice:
            return "tool_calls"
        return "stop"

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

    def usage(
        self, completion_tokens: int | None = None, *, streamed: bool = False
    ) -> dict[str, Any]:
        """The usage object (exact counts unless the reply scripts its own).

        `prompt_tokens_details` is vLLM's: absent in streams and null otherwise, unless
        the reply scripts `cached_tokens` (then `{"cached_tokens": n}` in both).
        """
        if self.reply.usage is not None:
            return self.reply.usage
        if completion_tokens is None:
            completion_tokens = self.completion_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
        }
        cached = self.reply.cached_tokens
        if cached is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        elif not streamed:
            usage["prompt_tokens_details"] = None
        usage["completion_tokens_details"] = {"reasoning_tokens": len(self.reasoning)}
        return usage

    @property
    def completion_tokens(self) -> int:
        """Reasoning pieces + content pieces + one per tool call."""
        content_tokens = sum(len(tokens_of(text)) for text in self.content)
        return len(self.reasoning) + content_tokens + len(self.tool_calls)

    def _envelope(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.response_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def _chunk(self, delta: dict[str, Any]) -> dict[str, Any]:
        text = delta.get("content") or delta.get(self.reply.reasoning_field)
        logprobs = None
        if self.top_logprobs is not None and isinstance(text, str) and text:
            logprobs = self.logprobs(tokens_of(text))
        choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": None}
        return self._envelope([{**choice, "token_ids": None}])

    def logprobs(self, pieces: list[str]) -> dict[str, Any]:
        """vLLM-style `logprobs` for pieces: made-up but deterministic values, no `refusal`."""
        entries = []
        for piece in pieces:
            chosen = _token_logprob(piece, -(len(piece) % 4) / 4)
            alternatives = [
                _token_logprob(f"{piece}~{rank}", chosen["logprob"] - rank)
                for rank in range(1, self.top_logprobs or 0)
            ]
            top = [chosen, *alternatives] if self.top_logprobs else []
            entries.append({**chosen, "top_logprobs": top})
        return {"content": entries}

    def stream_events(self, *, include_usage: bool = True) -> list[dict[str, Any]]:
        """The chunk objects of the stream, in order (faults excluded), as vLLM 0.32 sends them.

        `length` rides the chunk with the last token; `stop` and `tool_calls` come on an
        empty delta. The fingerprint rides the usage chunk, or the finish chunk when usage
        was not asked for (`include_usage` False: no usage anywhere).
        """
        reply = self.reply
        role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None}
        first = self._envelope([{**role, "finish_reason": None}])
        tokens = [self._chunk({reply.reasoning_field: piece}) for piece in self.reasoning]
        tokens += [self._chunk({"content": piece}) for piece in self.content]
        for position, call in enumerate(self.tool_calls):
            tokens += self._tool_call_events(position, call)
        finish_reason = self.finish_reason
        # `length` rides the last token's chunk; other reasons come on an empty delta.
        finish = tokens.pop() if finish_reason == "length" and tokens else self._chunk({})
        events = [{**first, "prompt_token_ids": None, "prompt_text": None}, *tokens]
        events.append(self._finished(finish, finish_reason))
        if reply.duplicate_finish:
            events.append(self._finished(self._chunk({}), finish_reason))
        if not include_usage:
            events[-1]["system_fingerprint"] = SYSTEM_FINGERPRINT
            return events
        if reply.continuous_usage:
            produced = 0
            for event in events:
                delta = event["choices"][0]["delta"]
                produced += 1 if delta.get("content") or delta.get(reply.reasoning_field) else 0
                event["usage"] = self.usage(produced, streamed=True)
        usage = {**self._envelope([]), "usage": self.usage(streamed=True)}
        events.append({**usage, "system_fingerprint": SYSTEM_FINGERPRINT})
        return events

    @staticmethod
    def _finished(event: dict[str, Any], finish_reason: str) -> dict[str, Any]:
        choice = event["choices"][0]
        token_ids = choice.pop("token_ids", None)
        choice.update(finish_reason=finish_reason, stop_reason=None, token_ids=token_ids)
        return event

    def _tool_call_events(self, position: int, call: ToolCallReply) -> list[dict[str, Any]]:
        mode = self.reply.tool_call_index
        index = {"normal": position, "zero": 0}.get(mode)

        def fragment(head: dict[str, Any], function: dict[str, Any]) -> dict[str, Any]:
            body = {**head, **({} if index is None else {"index": index}), "function": function}
            return self._chunk({"content": None, "tool_calls": [body]})

        arguments = call.arguments_json()
        head = {"id": self._call_id(position, call), "type": "function"}
        events = [fragment(head, {"name": call.name})]
        step = max(1, len(arguments) // 3 or 1)
        events += [
            fragment({}, {"arguments": arguments[start : start + step]})
            for start in range(0, len(arguments), step)
        ]
        return events

    def _call_id(self, position: int, call: ToolCallReply) -> str:
        if call.id:
            return call.id
        digest = hashlib.blake2b(f"{self.response_id}/{position}".encode(), digest_size=8)
        return f"chatcmpl-tool-{digest.hexdigest()}"

    def completion(self) -> dict[str, Any]:
        """The non-streaming chat completion object, with vLLM 0.32's null extras."""
        reasoning = "".join(self.reasoning) or None
        content: str | None = "".join(self.content)
        if not content and reasoning and not self.tool_calls:
            content = None  # vLLM: still thinking when cut off, no answer yet
        message: dict[str, Any] = {"role": "assistant", "content": content}
        message.update(refusal=None, annotations=None, audio=None, function_call=None)
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._call_id(position, call),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for position, call in enumerate(self.tool_calls)
            ]
        if self.reply.reasoning_field == "reasoning":
            message["reasoning"] = reasoning
        elif reasoning:
            message[self.reply.reasoning_field] = reasoning
        logprobs = None
        if self.top_logprobs is not None:
            logprobs = self.logprobs([*self.reasoning, *tokens_of("".join(self.content))])
        choice = {"index": 0, "message": message, "logprobs": logprobs}
        choice.update(finish_reason=self.finish_reason, stop_reason=None, token_ids=None)
        return {
            "id": self.response_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{**choice, "routed_experts": None}],
            "service_tier": None,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "usage": self.usage(),
            **dict.fromkeys(_NULL_RESPONSE_KEYS),
        }


def _reasoning_of(
    reply: Reply, request: dict[str, Any], model: str, served: EmulatedModel | None
) -> str:
    """The reply's reasoning: the scripted text, else the default where the model thinks."""
    if reply.reasoning is not None:
        return reply.reasoning
    switch = (request.get("chat_template_kwargs") or {}).get("enable_thinking")
    mode = served.reasoning_mode if served is not None else None
    return DEFAULT_REASONING if thinks(model, switch, mode) else ""


def _budget(
    request: dict[str, Any], prompt_tokens: int, served: EmulatedModel | None
) -> int | None:
    """The completion tokens allowed: `max_tokens`, at most what the context window leaves.

    None when neither limits the answer.
    """
    budget = requested_max_tokens(request)
    if served is not None and served.context_window is not None:
        room = max(served.context_window - prompt_tokens, 0)
        budget = room if budget is None else min(budget, room)
    return budget


def _token_logprob(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def _group(pieces: list[str], size: int) -> list[str]:
    if size <= 1:
        return pieces
    return ["".join(pieces[start : start + size]) for start in range(0, len(pieces), size)]
