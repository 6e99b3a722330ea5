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
_IMAGE_BLOCK_TYPES = {"image", "image_url"}


def messages_to_dicts(
    messages: Sequence[BaseMessage], *, send_reasoning: bool = False
) -> list[dict[str, Any]]:
    """Convert a conversation to request messages.

    Args:
        messages: The conversation.
        send_reasoning: Send the reasoning of the assistant messages of the tool loop in
            progress (those after the last user message) as `reasoning_content`. Earlier,
            finished turns never carry their reasoning: it is the model's scratchpad.

    Raises:
        ValueError: If the list is empty, or a message has an unknown role or malformed
            content (for example an image block with neither data nor a URL).
        TypeError: If an item is not a LangChain message or its content has the wrong type.

    """
    if not messages:
        raise ValueError("Cannot send an empty list of messages to W&B Inference.")
    converted = [message_to_dict(message) for message in messages]
    if send_reasoning:
        for message, wire in zip(_current_tool_loop(messages), reversed(converted), strict=False):
            if text := _reasoning_text(message):
                wire["reasoning_content"] = text
    return converted


def _current_tool_loop(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages after the last user message, latest first."""
    loop = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage) or (
            isinstance(message, ChatMessage) and message.role == "user"
        ):
            break
        loop.append(message)
    return loop


def _reasoning_text(message: BaseMessage) -> str:
    if not isinstance(message, AIMessage):
        return ""
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str):
        return reasoning
    if isinstance(message.content, list):
        return "".join(
            str(block.get("reasoning", ""))
            for block in message.content
            if isinstance(block, dict) and block.get("type") == "reasoning"
        )
    return ""


def has_image_content(message: BaseMessage) -> bool:
    """Whether a message carries an image (any LangChain or OpenAI image block form)."""
    if isinstance(message.content, str):
        return False
    return any(
        isinstance(block, dict) and block.get("type") in _IMAGE_BLOCK_TYPES
        for block in message.content
    )


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
    for block in content:  # converted: strings are text blocks by now
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            parts.append(json.dumps(block, default=str))
    return "\n".join(parts)
