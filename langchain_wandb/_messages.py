"""LangChain messages -> W&B (OpenAI chat completions) request messages.

Pure functions; invalid input raises before any request is sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import convert_to_openai_messages

_ROLES = {"system", "developer", "user", "assistant", "tool"}


def messages_to_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert a conversation to request messages.

    Raises:
        ValueError: If the list is empty, or a message has an unknown role or malformed
            content (for example an image block with neither data nor a URL).
        TypeError: If an item is not a LangChain message or its content has the wrong type.

    """
    if not messages:
        raise ValueError("Cannot send an empty list of messages to W&B Inference.")
    return [message_to_dict(message) for message in messages]


def message_to_dict(message: BaseMessage) -> dict[str, Any]:
    """Convert one LangChain message to a request message dict."""
    if not isinstance(message, BaseMessage):
        raise TypeError(f"Expected a LangChain message, got {type(message).__name__}.")
    content = message.content
    if not isinstance(content, (str, list)):
        raise TypeError(
            f"{type(message).__name__}.content must be a string or a list of content "
            f"blocks, got {type(content).__name__}."
        )
    if isinstance(message, AIMessage):
        return _assistant_to_dict(message)
    if isinstance(message, ChatMessage) and message.role not in _ROLES:
        raise ValueError(f"Unknown message role {message.role!r}; W&B accepts {sorted(_ROLES)}.")
    if not isinstance(message, (HumanMessage, SystemMessage, ToolMessage, ChatMessage)):
        raise ValueError(  # noqa: TRY004 - a valid message type we cannot send: a value problem
            f"Cannot send a {type(message).__name__} to W&B Inference; use system, human, "
            "AI or tool messages."
        )
    converted = convert_to_openai_messages(message, pass_through_unknown_blocks=False)
    if isinstance(message, ToolMessage):
        # Tool results go back as plain text: servers differ on list content here.
        converted["content"] = _text_of(converted["content"])
    return converted


def _assistant_to_dict(message: AIMessage) -> dict[str, Any]:
    # Only the visible answer and the tool calls are sent back: reasoning from earlier
    # turns is the model's scratchpad, and W&B's chat templates drop it anyway.
    result: dict[str, Any] = {"role": "assistant", "content": message.text or ""}
    tool_calls = [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
        }
        for call in message.tool_calls
    ] + [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": call["args"] or "{}"},
        }
        for call in message.invalid_tool_calls
    ]
    if tool_calls:
        result["tool_calls"] = tool_calls
        if not result["content"]:
            result["content"] = None
    if message.name:
        result["name"] = message.name
    return result


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            parts.append(json.dumps(block, default=str))
    return "\n".join(parts)


_SDK_ONLY_OPTIONS = ("extra_headers", "extra_query", "http_client")
_NUMBER_PARAMS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")


def check_request_params(body: dict[str, Any]) -> None:
    """Reject ill-typed sampling parameters before the request is sent.

    Raises:
        TypeError: If a standard parameter has the wrong type.
        ValueError: If `max_tokens` is not positive.
    """
    for name in _NUMBER_PARAMS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    for name in ("max_tokens", "seed"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    if (max_tokens := body.get("max_tokens")) is not None and max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}.")
    for name in _SDK_ONLY_OPTIONS:
        if name in body:
            # The openai SDK takes these per call; as body fields they would reach W&B as such.
            raise ValueError(
                f"{name} is not a request field but an openai SDK option, which "
                "ChatWandbInference does not take per call; use default_headers instead."
            )
    if body.get("n", 1) != 1:
        # Several choices would interleave in one stream; LangChain keeps one message.
        raise ValueError("n must be 1: ask for several answers with batch() instead.")
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise TypeError(f"stop must be a string or a list of strings, got {stop!r}.")
