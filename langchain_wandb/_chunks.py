"""W&B wire data (chat completion chunks and responses) -> LangChain messages.

Pure: no I/O, no logging, no warnings, no global state. What the caller may want to
warn about (finish reason, what arrived, lost usage) is recorded on `StreamState`.
Every wire field is type-checked where it is read (`_field`), so malformed server data
raises `MalformedResponseError`, which keeps the partial answer, instead of a raw
KeyError or TypeError from deep inside.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk, InvalidToolCall, ToolCall
from langchain_core.messages.ai import (
    InputTokenDetails,
    OutputTokenDetails,
    UsageMetadata,
    add_ai_message_chunks,
)
from langchain_core.messages.tool import ToolCallChunk, invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.json import parse_partial_json

from langchain_wandb._errors import MalformedResponseError, WandbStreamError, excerpt
from langchain_wandb._json import JsonTooDeepError, loads_lenient

PROVIDER = "wandb"

_NULL_ARGS = "null"


# -- reading the wire: each field's type is checked where it is read -------------------
_EXPECTED = {dict: "an object", list: "an array", str: "a string", int: "an integer"}


def _field(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """`obj[key]`, None when absent or null; a value of another type is malformed data."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise _malformed(f"{where}.{key}", value, kind)


def _object(value: Any, where: str) -> dict[str, Any]:
    """`value` when it is a JSON object; anything else is malformed data."""
    if isinstance(value, dict):
        return value
    raise _malformed(where, value, dict)


def _malformed(where: str, value: Any, kind: type) -> MalformedResponseError:
    found = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )
    return MalformedResponseError(
        f"W&B sent malformed data: {where} is {found}, expected {_EXPECTED[kind]}."
    )


def usage_to_metadata(usage: dict[str, Any]) -> UsageMetadata:
    """Convert an OpenAI-style `usage` dict to LangChain `UsageMetadata`."""
    input_tokens = _field(usage, "prompt_tokens", int, "usage") or 0
    output_tokens = _field(usage, "completion_tokens", int, "usage") or 0
    total = _field(usage, "total_tokens", int, "usage") or input_tokens + output_tokens
    metadata = UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total
    )
    prompt_details = _field(usage, "prompt_tokens_details", dict, "usage") or {}
    cached = _field(prompt_details, "cached_tokens", int, "usage.prompt_tokens_details")
    if cached is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=cached)
    output_details = _field(usage, "completion_tokens_details", dict, "usage") or {}
    reasoning = _field(output_details, "reasoning_tokens", int, "usage.completion_tokens_details")
    if reasoning is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return metadata


def _reasoning_of(delta: dict[str, Any], where: str) -> str | None:
    # Servers disagree on the field: W&B documents `reasoning` (vLLM >= 0.9), some
    # backends send `reasoning_content` (DeepSeek style), a few send both with the same
    # text. One of them is read, never both.
    text = _field(delta, "reasoning", str, where) or _field(delta, "reasoning_content", str, where)
    return cast("str | None", text or None)


def _response_metadata(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The once-per-response metadata: model as the server reports it, id, fingerprint."""
    metadata: dict[str, Any] = {"model_provider": PROVIDER}
    if model := _field(data, "model", str, where):
        metadata["model_name"] = model
    if response_id := _field(data, "id", str, where):
        metadata["id"] = response_id
    if fingerprint := _field(data, "system_fingerprint", str, where):
        metadata["system_fingerprint"] = fingerprint
    return metadata


# -- streamed tool calls -----------------------------------------------------------------
class ToolCallAssembler:
    """Turns streamed `delta.tool_calls` fragments into `ToolCallChunk`s that merge right.

    Merging joins fragments with equal `index`, so a server that omits `index`, or puts
    parallel calls all on index 0, would have them collapse into one call: each new call
    id gets the next index instead. Argument fragments that could still spell `null`
    (sent by some servers for argument-less calls) are held back; a whole `null` is
    dropped. A call's whole name sent again with a later fragment (some servers repeat
    it on every delta) is not a new piece of it: merging would join it into a name the
    server never sent. Every fragment a chunk carries is the server's text, unchanged.
    """

    __slots__ = ("_held", "_ids", "_index_map", "_last", "_names")

    def __init__(self) -> None:
        """Start with no calls seen."""
        self._index_map: dict[int, int] = {}
        self._ids: dict[int, str] = {}
        self._last = -1
        self._held: dict[int, str] = {}
        self._names: dict[int, str] = {}

    @property
    def any(self) -> bool:
        """Whether any tool call arrived."""
        return self._last >= 0

    def chunks(self, wire_calls: list[Any]) -> list[ToolCallChunk]:
        """`ToolCallChunk`s, with stable indices, for one delta's `tool_calls`."""
        chunks: list[ToolCallChunk] = []
        for wire_call in wire_calls:
            call = _object(wire_call, "delta.tool_calls[]")
            function = _field(call, "function", dict, "delta.tool_calls[]") or {}
            call_id = _field(call, "id", str, "delta.tool_calls[]") or None
            index = self._index(_field(call, "index", int, "delta.tool_calls[]"), call_id)
            fragment = _field(function, "arguments", str, "delta.tool_calls[].function") or ""
            args = self._release(index, fragment)
            name = self._new_name(
                index, _field(function, "name", str, "delta.tool_calls[].function")
            )
            chunks.append(_tool_call_chunk(index, args, name=name, call_id=call_id))
        return chunks

    def finish(self) -> list[ToolCallChunk]:
        """Chunks that release the fragments held back, once the response is finished.

        A whole `null` is dropped (an argument-less call: merging reads no text as `{}`);
        a held-back fragment that did not become `null` goes out as it came. Nothing is
        ever added: a cut-off call is reported by the caller (`cut_off_tool_calls`).
        """
        chunks = [
            _tool_call_chunk(index, held)
            for index, held in self._held.items()
            if held != _NULL_ARGS
        ]
        self._held.clear()
        return chunks

    def _index(self, raw_index: int | None, call_id: str | None) -> int:
        if raw_index is not None and raw_index in self._index_map:
            index = self._index_map[raw_index]
            known_id = self._ids.get(index)
            if call_id is None or known_id is None or known_id == call_id:
                if call_id is not None:
                    self._ids[index] = call_id
                self._last = index
                return index
            # A new id on a used index: a parallel call squeezed onto the same index.
        elif raw_index is None and (call_id is None or call_id in self._ids.values()):
            # No index: a fragment without a new id continues the current call.
            self._last = max(self._last, 0)
            return self._last
        index = self._last + 1
        if raw_index is not None:
            self._index_map[raw_index] = index
        if call_id is not None:
            self._ids[index] = call_id
        self._last = index
        return index

    def _new_name(self, index: int, name: str | None) -> str | None:
        """The name piece to merge: None for none, or for the whole name sent again."""
        so_far = self._names.get(index)
        if not name or name == so_far:
            return None
        self._names[index] = (so_far or "") + name
        return name

    def _release(self, index: int, fragment: str) -> str:
        held = self._held.get(index)
        if held is None:
            if not fragment or not _NULL_ARGS.startswith(fragment):
                return fragment
            self._held[index] = fragment
            return ""
        text = held + fragment
        if _NULL_ARGS.startswith(text):
            self._held[index] = text
            return ""
        del self._held[index]
        return text


def _tool_call_chunk(
    index: int, args: str, *, name: str | None = None, call_id: str | None = None
) -> ToolCallChunk:
    return ToolCallChunk(name=name, args=args, id=call_id, index=index, type="tool_call_chunk")


def is_cut_off_object(text: str) -> bool:
    """Whether `text` is not JSON, yet LangChain's partial-JSON parser makes an object of it.

    Merging streamed chunks would turn such text (`{"city": "Par`) into a plausible call
    with half its arguments.
    """
    try:
        loads_lenient(text)
    except JsonTooDeepError:
        return False  # not cut off: too deep to read whole, and so to repair
    except ValueError:
        return _repairs_to_object(text)
    return False


def _repairs_to_object(text: str) -> bool:
    try:
        return isinstance(parse_partial_json(text), dict)
    except (ValueError, RecursionError):  # the parser gives up by raising on some texts
        return False


def read_tool_call(name: str, call_id: str | None, text: str) -> ToolCall | InvalidToolCall:
    """One call from its argument text as sent: a call when it is a JSON object (or empty)."""
    if text in ("", _NULL_ARGS):
        return tool_call(name=name, args={}, id=call_id)
    try:
        args = loads_lenient(text)
    except ValueError as error:
        return invalid_tool_call(name=name, args=text, id=call_id, error=f"not JSON: {error}")
    if not isinstance(args, dict):
        return invalid_tool_call(
            name=name, args=text, id=call_id, error="the arguments are not a JSON object"
        )
    return tool_call(name=name, args=args, id=call_id)


def merge_strictly(messages: list[AIMessageChunk]) -> AIMessageChunk:
    """Chunks merged, their tool calls read from the argument text as the server sent it.

    LangChain's merge completes cut-off argument text (`{"city": "Par` becomes the call
    `{"city": "Par"}`); here such a call is invalid, its text unchanged.
    """
    merged = add_ai_message_chunks(*messages) if len(messages) > 1 else messages[0]
    calls = [
        read_tool_call(chunk["name"] or "", chunk["id"], chunk["args"] or "")
        for chunk in merged.tool_call_chunks
    ]
    return merged.model_copy(
        update={
            "content": _blocks_as_read(merged.content, calls),
            "tool_calls": [call for call in calls if call["type"] == "tool_call"],
            "invalid_tool_calls": [call for call in calls if call["type"] == "invalid_tool_call"],
        }
    )


def _blocks_as_read(
    content: str | list[str | dict[str, Any]], calls: list[ToolCall | InvalidToolCall]
) -> str | list[str | dict[str, Any]]:
    """v1 content with each `tool_call` block as its call reads; text content as it is.

    Core's merge completes cut-off arguments in the blocks too.
    """
    if isinstance(content, str):
        return content
    read = iter(calls)
    blocks: list[str | dict[str, Any]] = []
    for block in content:
        shown = block
        if isinstance(block, dict) and block.get("type") == "tool_call":
            call = next(read, None)
            if call is not None and call["type"] == "invalid_tool_call":
                shown = {**{k: v for k, v in block.items() if k != "args"}, **call}
        blocks.append(shown)
    return blocks


# -- v1 content blocks -------------------------------------------------------------------
class BlockIndexer:
    """Numbers v1 content blocks by their position in the final message.

    LangChain merges streamed blocks by `index`; reasoning, text and each tool call
    must get distinct indices (a tool call's own index restarts at 0 and would
    otherwise merge into the reasoning block).
    """

    __slots__ = ("_index", "_key")

    def __init__(self) -> None:
        """Start before the first block."""
        self._key: tuple[str, int] | None = None
        self._index = -1

    def content(
        self, reasoning: str | None, text: str, tool_call_chunks: list[ToolCallChunk]
    ) -> list[str | dict[str, Any]]:
        """One chunk's content as v1 blocks."""
        blocks: list[str | dict[str, Any]] = []
        if reasoning:
            blocks.append({"type": "reasoning", "reasoning": reasoning, "index": self._at("r", 0)})
        if text:
            blocks.append({"type": "text", "text": text, "index": self._at("t", 0)})
        blocks.extend(
            {
                "type": "tool_call_chunk",
                "id": call["id"],
                "name": call["name"],
                "args": call["args"],
                "index": self._at("c", call["index"] or 0),
            }
            for call in tool_call_chunks
        )
        return blocks

    def _at(self, kind: str, index: int) -> int:
        if (kind, index) != self._key:
            self._key = (kind, index)
            self._index += 1
        return self._index


# -- one stream --------------------------------------------------------------------------
class StreamState:
    """One stream's memory: the caller creates it, passes it to the decoder, reads it after.

    Merging chunks concatenates strings and adds numbers, so each once-per-response
    value (model name, id, finish reason, usage) is put on exactly one chunk.

    Read afterwards: `finish_reason`, `model`, `has_text`, `has_reasoning`,
    `has_tool_calls`, `done` (`[DONE]` arrived) and `usage_lost`.
    """

    __slots__ = (
        "blocks",
        "done",
        "events",
        "fingerprint_sent",
        "finish_reason",
        "has_reasoning",
        "has_text",
        "metadata_sent",
        "model",
        "pending_usage",
        "response_id",
        "tool_calls",
        "usage_sent",
    )

    def __init__(self, *, v1: bool = False) -> None:
        """Start with nothing seen.

        Args:
            v1: Emit content as standard v1 content blocks (`output_version="v1"`).
        """
        self.blocks = BlockIndexer() if v1 else None
        self.tool_calls = ToolCallAssembler()
        self.events = 0
        self.model = ""
        self.response_id: str | None = None
        self.finish_reason: str | None = None
        self.fingerprint_sent = False
        self.has_text = False
        self.metadata_sent = False
        self.has_reasoning = False
        self.pending_usage: dict[str, Any] | None = None
        self.usage_sent = False
        self.done = False

    @property
    def has_tool_calls(self) -> bool:
        """Whether any tool-call fragment arrived."""
        return self.tool_calls.any

    @property
    def has_answer(self) -> bool:
        """Whether any text, reasoning or tool call arrived."""
        return self.has_text or self.has_reasoning or self.tool_calls.any

    @property
    def usage_lost(self) -> bool:
        """The answer finished, but the stream closed before `[DONE]` and before usage.

        Only meaningful when usage was asked for (`stream_options.include_usage`).
        """
        return self.finish_reason is not None and not self.done and not self.usage_sent


def chunk_to_generation(data: dict[str, Any], state: StreamState) -> ChatGenerationChunk | None:
    """Convert one decoded stream event to a `ChatGenerationChunk` (None if it carries nothing).

    Raises:
        WandbStreamError: If the event is an error sent mid-stream.
        MalformedResponseError: If a field has the wrong type.

    """
    if data.get("error") is not None:
        raise WandbStreamError.from_event(data["error"])
    metadata = _chunk_metadata(data, state)
    # The hot path: plain gets, types checked once here (`_field` for the rarer fields).
    usage = data.get("usage")
    choices = data.get("choices")
    if not (usage is None or isinstance(usage, dict)):
        raise _malformed("chunk.usage", usage, dict)
    if not (choices is None or isinstance(choices, list)):
        raise _malformed("chunk.choices", choices, list)
    if not choices:
        return _usage_generation(state, metadata, usage)
    if usage:
        # Servers with continuous usage stats repeat a running total on every chunk;
        # only the latest one is kept, emitted with the usage-only chunk or at the end.
        state.pending_usage = usage
    choice, delta, text = _first_choice(choices)
    # A delta holding only text (most chunks) can carry no reasoning or tool call.
    if len(delta) > 1 or not text:
        reasoning, tool_call_chunks = _reasoning_and_calls(delta, state)
    else:
        reasoning, tool_call_chunks = None, []
    state.has_text = state.has_text or bool(text)
    if choice.get("finish_reason") is not None or "logprobs" in choice:
        _choice_ending(choice, state, metadata, tool_call_chunks)
    state.metadata_sent = True
    return _generation(state, metadata, text, reasoning, tool_call_chunks)


def _first_choice(choices: list[Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The first choice, its delta and the delta's text, types checked."""
    choice = _object(choices[0], "chunk.choices[0]")
    delta = _field(choice, "delta", dict, "chunk.choices[0]") or {}
    text = delta.get("content") or ""
    if not isinstance(text, str):
        raise _malformed("delta.content", text, str)
    return choice, delta, text


def _chunk_metadata(data: dict[str, Any], state: StreamState) -> dict[str, Any]:
    # The once-per-response metadata goes on the first chunk emitted, which need not be the
    # first event: a gateway may open with an event that carries nothing.
    metadata = {"model_provider": PROVIDER} if state.metadata_sent else _first_metadata(data, state)
    state.events += 1
    if not state.fingerprint_sent and data.get("system_fingerprint") is not None:
        # vLLM sends it on the last chunk (with usage), not the first: put it on one chunk.
        state.fingerprint_sent = True
        metadata["system_fingerprint"] = _field(data, "system_fingerprint", str, "chunk")
    return metadata


def _usage_generation(
    state: StreamState, metadata: dict[str, Any], usage: dict[str, Any] | None
) -> ChatGenerationChunk | None:
    """The usage-only chunk of an event without choices (None: nothing new in it)."""
    if not usage or state.usage_sent:
        return None
    state.usage_sent = True
    state.pending_usage = None
    state.metadata_sent = True
    return _empty_generation(state, metadata, usage_to_metadata(usage))


def _reasoning_and_calls(
    delta: dict[str, Any], state: StreamState
) -> tuple[str | None, list[ToolCallChunk]]:
    reasoning = _reasoning_of(delta, "delta")
    state.has_reasoning = state.has_reasoning or reasoning is not None
    wire_calls = _field(delta, "tool_calls", list, "delta") if "tool_calls" in delta else None
    return reasoning, state.tool_calls.chunks(wire_calls) if wire_calls else []


def _choice_ending(
    choice: dict[str, Any],
    state: StreamState,
    metadata: dict[str, Any],
    tool_call_chunks: list[ToolCallChunk],
) -> None:
    """The finish reason (once) and logprobs of a choice, into the chunk's metadata."""
    finish_reason = _field(choice, "finish_reason", str, "chunk.choices[0]")
    if finish_reason and state.finish_reason is None:
        state.finish_reason = metadata["finish_reason"] = finish_reason
        tool_call_chunks.extend(state.tool_calls.finish())
    if logprobs := _field(choice, "logprobs", dict, "chunk.choices[0]"):
        metadata["logprobs"] = logprobs  # per-token lists: merging concatenates them in order


def _generation(
    state: StreamState,
    metadata: dict[str, Any],
    text: str,
    reasoning: str | None,
    tool_call_chunks: list[ToolCallChunk],
) -> ChatGenerationChunk:
    content: str | list[str | dict[str, Any]] = text
    if state.blocks is not None:
        content = state.blocks.content(reasoning, text, tool_call_chunks)
        metadata["output_version"] = "v1"
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=content,
            id=state.response_id,
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            tool_call_chunks=tool_call_chunks,
            response_metadata=metadata,
        )
    )


def _first_metadata(data: dict[str, Any], state: StreamState) -> dict[str, Any]:
    metadata = _response_metadata(data, "chunk")
    state.response_id = metadata.get("id") or state.response_id
    state.model = metadata.get("model_name") or state.model
    if state.model:
        metadata["model_name"] = state.model
    if state.response_id:
        metadata["id"] = state.response_id
    return metadata


def final_generation(state: StreamState) -> ChatGenerationChunk:
    """The closing chunk of a stream, marked `chunk_position="last"`.

    It carries usage that arrived only on content chunks, if any, so merging a stream
    gives the same message whether or not LangChain adds its own closing chunk, and the
    tool-call fragments still held back when no finish reason came.
    """
    usage = None
    if state.pending_usage is not None and not state.usage_sent:
        usage = usage_to_metadata(state.pending_usage)
        state.usage_sent = True
    calls = state.tool_calls.finish()
    return _empty_generation(state, {"model_provider": PROVIDER}, usage, calls, last=True)


def _empty_generation(
    state: StreamState,
    metadata: dict[str, Any],
    usage: UsageMetadata | None,
    calls: list[ToolCallChunk] | None = None,
    *,
    last: bool = False,
) -> ChatGenerationChunk:
    """A chunk with no text (usage-only or closing), in the stream's output format."""
    content: str | list[str | dict[str, Any]] = ""
    if state.blocks is not None:
        metadata["output_version"] = "v1"
        content = state.blocks.content(None, "", calls or [])
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=content,
            id=state.response_id,
            tool_call_chunks=calls or [],
            usage_metadata=usage,
            response_metadata=metadata,
            chunk_position="last" if last else None,
        )
    )


@contextmanager
def keep_partial(received: list[ChatGenerationChunk]) -> Iterator[None]:
    """Attach the chunks received so far, merged, to a stream error raised in the block."""
    try:
        yield
    except WandbStreamError as error:
        if received and error.partial is None:
            error.partial = merge_strictly([cast("AIMessageChunk", c.message) for c in received])
        raise


# -- a whole (non-streamed) response -----------------------------------------------------
def response_to_result(data: dict[str, Any]) -> ChatResult:
    """Convert a non-streaming chat completion response to a `ChatResult`.

    Raises:
        WandbStreamError: If the body is an error object.
        MalformedResponseError: If it has no choices, or a field has the wrong type.

    """
    if data.get("error") is not None:
        raise WandbStreamError.from_event(data["error"], where="in its response")
    choices = _field(data, "choices", list, "response")
    if not choices:
        raise MalformedResponseError(
            f"W&B returned a response without choices: {excerpt(json.dumps(data, default=str))}"
        )
    choice = _object(choices[0], "response.choices[0]")
    message = _field(choice, "message", dict, "response.choices[0]") or {}
    metadata = _response_metadata(data, "response")
    if finish_reason := _field(choice, "finish_reason", str, "response.choices[0]"):
        metadata["finish_reason"] = finish_reason
    if logprobs := _field(choice, "logprobs", dict, "response.choices[0]"):
        metadata["logprobs"] = logprobs
    reasoning = _reasoning_of(message, "message")
    tool_calls: list[ToolCall] = []
    invalid_tool_calls: list[InvalidToolCall] = []
    for wire_call in _field(message, "tool_calls", list, "message") or []:
        call = _whole_tool_call(wire_call)
        if call["type"] == "tool_call":
            tool_calls.append(call)
        else:
            invalid_tool_calls.append(call)
    usage = _field(data, "usage", dict, "response")
    ai_message = AIMessage(
        content=_field(message, "content", str, "message") or "",
        id=metadata.get("id"),
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        tool_calls=tool_calls,
        invalid_tool_calls=invalid_tool_calls,
        usage_metadata=usage_to_metadata(usage) if usage else None,
        response_metadata=metadata,
    )
    return ChatResult(generations=[ChatGeneration(message=ai_message)])


def _whole_tool_call(wire_call: Any) -> ToolCall | InvalidToolCall:
    """One complete wire tool call: a call when its arguments are a JSON object."""
    call = _object(wire_call, "message.tool_calls[]")
    function = _field(call, "function", dict, "message.tool_calls[]") or {}
    name = _field(function, "name", str, "message.tool_calls[].function") or ""
    call_id = _field(call, "id", str, "message.tool_calls[]")
    text = _field(function, "arguments", str, "message.tool_calls[].function") or ""
    return read_tool_call(name, call_id, text)
