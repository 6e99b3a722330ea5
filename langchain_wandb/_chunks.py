"""W&B wire data (chat completion chunks and responses) -> LangChain messages.

Pure functions and one small per-stream state object; no I/O. Sync and async streams
share all of it, and unit tests feed it hand-built dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import (
    InputTokenDetails,
    OutputTokenDetails,
    UsageMetadata,
    add_ai_message_chunks,
)
from langchain_core.messages.tool import ToolCallChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.json import parse_partial_json

from langchain_wandb._errors import WandbStreamError
from langchain_wandb._quirks import warn_if_thinking_ate_budget

PROVIDER = "wandb"

# Servers disagree on the reasoning field: W&B documents `reasoning` (vLLM >= 0.9),
# some backends send `reasoning_content` (DeepSeek style), a few send both with the
# same text. One of them is read, never both.
_REASONING_FIELDS = ("reasoning", "reasoning_content")
_NULL_ARGS = "null"


def usage_to_metadata(usage: dict[str, Any]) -> UsageMetadata:
    """Convert an OpenAI-style `usage` dict to LangChain `UsageMetadata`."""
    input_tokens = usage.get("prompt_tokens") or 0
    output_tokens = usage.get("completion_tokens") or 0
    total = usage.get("total_tokens") or input_tokens + output_tokens
    metadata = UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total
    )
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=cached)
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return metadata


def _reasoning_of(delta: dict[str, Any]) -> str | None:
    for field in _REASONING_FIELDS:
        text = delta.get(field)
        if text:
            return str(text)
    return None


def _response_metadata(data: dict[str, Any]) -> dict[str, Any]:
    """The once-per-response metadata: model as the server reports it, id, fingerprint."""
    metadata: dict[str, Any] = {"model_provider": PROVIDER}
    if model := data.get("model"):
        metadata["model_name"] = model
    if response_id := data.get("id"):
        metadata["id"] = response_id
    if fingerprint := data.get("system_fingerprint"):
        metadata["system_fingerprint"] = fingerprint
    return metadata


class StreamState:
    """What one stream must remember so that merging its chunks gives the right message.

    Chunks are merged by concatenating strings and adding numbers, so each
    once-per-response value (model name, id, finish reason, usage) is put on exactly
    one chunk; and tool-call fragments get indices that keep distinct calls apart even
    when a server omits `index` or reuses index 0 for parallel calls.
    """

    __slots__ = (
        "block_index",
        "block_key",
        "finish_reason",
        "has_reasoning",
        "has_text",
        "held_args",
        "last_tool_index",
        "metadata_sent",
        "model",
        "pending_usage",
        "response_id",
        "tool_args",
        "tool_ids",
        "tool_index_map",
        "usage_sent",
        "v1",
    )

    def __init__(self, *, v1: bool = False) -> None:
        """Start with nothing seen.

        Args:
            v1: Emit content as standard v1 content blocks (`output_version="v1"`).
        """
        self.v1 = v1
        self.block_key: tuple[str, int] | None = None
        self.block_index = -1
        self.metadata_sent = False
        self.has_text = False
        self.has_reasoning = False
        self.model = ""
        self.response_id: str | None = None
        self.finish_reason: str | None = None
        self.usage_sent = False
        self.pending_usage: dict[str, Any] | None = None
        self.tool_index_map: dict[int, int] = {}
        self.tool_ids: dict[int, str] = {}
        self.last_tool_index = -1
        # Arguments held back while they could still turn out to be the literal
        # `null`, which some servers send for argument-less calls and which must
        # become `{}` rather than an invalid tool call.
        self.held_args: dict[int, str] = {}
        self.tool_args: dict[int, list[str]] = {}

    def tool_call_chunks(self, deltas: list[dict[str, Any]]) -> list[ToolCallChunk]:
        """Turn `delta.tool_calls` fragments into `ToolCallChunk`s with stable indices."""
        chunks: list[ToolCallChunk] = []
        for delta in deltas:
            function = delta.get("function") or {}
            call_id = delta.get("id") or None
            index = self._tool_index(delta.get("index"), call_id)
            args = self._release_args(index, function.get("arguments") or "")
            self.tool_args.setdefault(index, []).append(args)
            chunks.append(
                ToolCallChunk(
                    name=function.get("name") or None,
                    args=args,
                    id=call_id,
                    index=index,
                    type="tool_call_chunk",
                )
            )
        return chunks

    def _tool_index(self, raw_index: Any, call_id: str | None) -> int:
        if isinstance(raw_index, int) and raw_index in self.tool_index_map:
            index = self.tool_index_map[raw_index]
            known_id = self.tool_ids.get(index)
            if call_id is None or known_id is None or known_id == call_id:
                if call_id is not None:
                    self.tool_ids[index] = call_id
                self.last_tool_index = index
                return index
            # A new id on a used index: a parallel call squeezed onto the same index.
        elif not isinstance(raw_index, int) and (
            call_id is None or call_id in self.tool_ids.values()
        ):
            # No index: a fragment without a new id continues the current call.
            self.last_tool_index = max(self.last_tool_index, 0)
            return self.last_tool_index
        index = self.last_tool_index + 1
        if isinstance(raw_index, int):
            self.tool_index_map[raw_index] = index
        if call_id is not None:
            self.tool_ids[index] = call_id
        self.last_tool_index = index
        return index

    def _release_args(self, index: int, fragment: str) -> str:
        held = self.held_args.get(index)
        if held is None:
            if not fragment or not _NULL_ARGS.startswith(fragment):
                return fragment
            self.held_args[index] = fragment
            return ""
        text = held + fragment
        if _NULL_ARGS.startswith(text):
            self.held_args[index] = text
            return ""
        del self.held_args[index]
        return text

    def v1_blocks(
        self, reasoning: str | None, text: str, tool_call_chunks: list[ToolCallChunk]
    ) -> list[str | dict[str, Any]]:
        """The chunk's content as v1 blocks, each with its position in the final message.

        LangChain merges streamed blocks by `index`; reasoning, text and each tool call
        must get distinct indices (a tool call's own index restarts at 0 and would
        otherwise merge into the reasoning block).
        """
        blocks: list[str | dict[str, Any]] = []
        if reasoning:
            blocks.append(
                {"type": "reasoning", "reasoning": reasoning, "index": self._block(("r", 0))}
            )
        if text:
            blocks.append({"type": "text", "text": text, "index": self._block(("t", 0))})
        blocks.extend(
            {
                "type": "tool_call_chunk",
                "id": call["id"],
                "name": call["name"],
                "args": call["args"],
                "index": self._block(("c", call["index"] or 0)),
            }
            for call in tool_call_chunks
        )
        return blocks

    def _block(self, key: tuple[str, int]) -> int:
        if key != self.block_key:
            self.block_key = key
            self.block_index += 1
        return self.block_index

    def finish_tool_calls(self) -> list[ToolCallChunk]:
        """Chunks that complete the tool calls once the response is finished.

        Held-back arguments are released (`null` becomes `{}`). Arguments that are not
        valid JSON get a closing marker that LangChain's lenient partial-JSON parser
        cannot repair, so the merged message lists them in `invalid_tool_calls`
        instead of silently calling the tool with `{}` or with half its arguments.
        """
        chunks = []
        for index, held in self.held_args.items():
            released = "{}" if held == _NULL_ARGS else held
            self.tool_args.setdefault(index, []).append(released)
            chunks.append(_args_chunk(index, released))
        self.held_args.clear()
        for index, parts in self.tool_args.items():
            text = "".join(parts)
            if text and not _is_json(text):
                chunks.append(_args_chunk(index, _unrepairable_suffix(text)))
        return chunks


def _args_chunk(index: int, args: str) -> ToolCallChunk:
    return ToolCallChunk(name=None, args=args, id=None, index=index, type="tool_call_chunk")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _unrepairable_suffix(text: str) -> str:
    # A closing bracket that matches nothing makes the parser give up; which one works
    # depends on whether the text ends inside a string, an escape, an object or a list.
    for suffix in ("]", "}", '"]', '"}', '""]', '""}'):
        if parse_partial_json(text + suffix) is None:
            return suffix
    return '""]'


def chunk_to_generation(data: dict[str, Any], state: StreamState) -> ChatGenerationChunk | None:
    """Convert one decoded SSE chunk to a `ChatGenerationChunk` (None if it carries nothing).

    Raises:
        WandbStreamError: If the chunk is an error event sent mid-stream.

    """
    if "error" in data:
        raise WandbStreamError.from_event(data["error"])
    response_metadata: dict[str, Any]
    if state.metadata_sent:
        response_metadata = {"model_provider": PROVIDER}
    else:
        response_metadata = _response_metadata(data)
        state.metadata_sent = True
        state.response_id = data.get("id")
        state.model = str(data.get("model") or "")
    usage = data.get("usage")
    choices = data.get("choices")
    if not choices:
        if not usage or state.usage_sent:
            return None
        state.usage_sent = True
        state.pending_usage = None
        return _empty_chunk(state, response_metadata, usage_to_metadata(usage))
    if usage:
        # Servers with continuous usage stats repeat a running total on every chunk;
        # only the latest one is kept, emitted with the usage-only chunk or at the end.
        state.pending_usage = usage
    choice = choices[0]
    delta = choice.get("delta") or {}
    finish_reason = choice.get("finish_reason")
    if logprobs := choice.get("logprobs"):
        # Per-token lists: merging chunks concatenates them in order.
        response_metadata["logprobs"] = logprobs
    additional_kwargs: dict[str, Any] = {}
    reasoning = _reasoning_of(delta)
    if reasoning is not None:
        additional_kwargs["reasoning_content"] = reasoning
        state.has_reasoning = True
    text = delta.get("content") or ""
    if text:
        state.has_text = True
    tool_call_chunks: list[ToolCallChunk] = []
    if raw_tool_calls := delta.get("tool_calls"):
        tool_call_chunks = state.tool_call_chunks(raw_tool_calls)
    if finish_reason and state.finish_reason is None:
        state.finish_reason = finish_reason
        response_metadata["finish_reason"] = finish_reason
        tool_call_chunks.extend(state.finish_tool_calls())
        warn_if_thinking_ate_budget(
            state.model, finish_reason, state.has_text or bool(state.tool_args), state.has_reasoning
        )
    content: str | list[str | dict[str, Any]] = text
    if state.v1:
        content = state.v1_blocks(reasoning, text, tool_call_chunks)
        response_metadata["output_version"] = "v1"
    return _generation(
        AIMessageChunk(
            content=content,
            id=state.response_id,
            additional_kwargs=additional_kwargs,
            tool_call_chunks=tool_call_chunks,
            response_metadata=response_metadata,
        )
    )


def final_generation(state: StreamState) -> ChatGenerationChunk:
    """The closing chunk of a stream, marked `chunk_position="last"`.

    It carries usage that arrived only on content chunks, if any, so merging a stream
    gives the same message whether or not LangChain adds its own closing chunk.
    """
    usage = None
    if state.pending_usage is not None and not state.usage_sent:
        usage = usage_to_metadata(state.pending_usage)
        state.usage_sent = True
    return _empty_chunk(state, {"model_provider": PROVIDER}, usage, last=True)


def _empty_chunk(
    state: StreamState,
    response_metadata: dict[str, Any],
    usage: UsageMetadata | None,
    *,
    last: bool = False,
) -> ChatGenerationChunk:
    """A chunk with no content (usage-only or closing), in the stream's output format."""
    if state.v1:
        response_metadata["output_version"] = "v1"
    return _generation(
        AIMessageChunk(
            content=[] if state.v1 else "",
            id=state.response_id,
            usage_metadata=usage,
            response_metadata=response_metadata,
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
            messages = [cast("AIMessageChunk", chunk.message) for chunk in received]
            error.partial = add_ai_message_chunks(*messages)
        raise


def _generation(message: AIMessageChunk) -> ChatGenerationChunk:
    return ChatGenerationChunk(message=message)


def response_to_result(data: dict[str, Any]) -> ChatResult:
    """Convert a non-streaming chat completion response to a `ChatResult`.

    Raises:
        WandbStreamError: If the body is an error object or has no choices.

    """
    from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

    if "error" in data:
        raise WandbStreamError.from_event(data["error"], where="in its response")
    choices = data.get("choices")
    if not choices:
        raise WandbStreamError(f"W&B returned a response without choices: {_excerpt(data)}")
    choice = choices[0]
    message = choice.get("message") or {}
    response_metadata = _response_metadata(data)
    if finish_reason := choice.get("finish_reason"):
        response_metadata["finish_reason"] = finish_reason
    if logprobs := choice.get("logprobs"):
        response_metadata["logprobs"] = logprobs
    additional_kwargs: dict[str, Any] = {}
    if (reasoning := _reasoning_of(message)) is not None:
        additional_kwargs["reasoning_content"] = reasoning
    warn_if_thinking_ate_budget(
        str(data.get("model") or ""),
        finish_reason,
        bool(message.get("content") or message.get("tool_calls")),
        reasoning is not None,
    )
    tool_calls = []
    invalid_tool_calls = []
    for wire_call in message.get("tool_calls") or []:
        function = wire_call.get("function") or {}
        raw = wire_call
        if function.get("arguments") in (None, "", _NULL_ARGS):
            raw = {**wire_call, "function": {**function, "arguments": "{}"}}
        try:
            parsed = parse_tool_call(raw, return_id=True)
        except Exception as error:
            invalid_tool_calls.append(make_invalid_tool_call(raw, str(error)))
        else:
            if parsed is not None:
                tool_calls.append(parsed)
    usage = data.get("usage")
    ai_message = AIMessage(
        content=message.get("content") or "",
        id=data.get("id"),
        additional_kwargs=additional_kwargs,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid_tool_calls,
        usage_metadata=usage_to_metadata(usage) if usage else None,
        response_metadata=response_metadata,
    )
    return ChatResult(generations=[ChatGeneration(message=ai_message)])


def _excerpt(data: Any, limit: int = 200) -> str:
    text = data if isinstance(data, str) else json.dumps(data, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
