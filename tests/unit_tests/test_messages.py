"""LangChain messages -> request dicts, and token estimates for them."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import trim_messages
from pydantic import BaseModel, SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb._messages import messages_to_dicts


def test_every_role_converts() -> None:
    out = messages_to_dicts(
        [
            SystemMessage("be nice"),
            HumanMessage("hi", name="ann"),
            AIMessage(
                "",
                tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c1"}],
                additional_kwargs={"reasoning_content": "secret thoughts"},
            ),
            ToolMessage("2", tool_call_id="c1"),
            ToolMessage(
                content=[{"type": "text", "text": "oops"}], tool_call_id="c2", status="error"
            ),
            AIMessage("done"),
            ChatMessage(role="developer", content="dev note"),
        ]
    )
    assert out == [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "hi", "name": "ann"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "2"},
        {"role": "tool", "tool_call_id": "c2", "content": "oops"},
        {"role": "assistant", "content": "done"},
        {"role": "developer", "content": "dev note"},
    ]


def test_reasoning_blocks_are_not_sent_back() -> None:
    out = messages_to_dicts(
        [
            AIMessage(
                content=[{"type": "reasoning", "reasoning": "r"}, {"type": "text", "text": "ans"}]
            )
        ]
    )
    assert out == [{"role": "assistant", "content": "ans"}]


def test_images_become_image_url_parts() -> None:
    out = messages_to_dicts(
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "what is this?"},
                    {"type": "image", "base64": "AAAA", "mime_type": "image/png"},
                    {"type": "image", "url": "https://example.com/cat.png"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}},
                ]
            )
        ]
    )
    assert out[0]["content"][1:] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}},
    ]


def test_empty_message_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty list"):
        messages_to_dicts([])


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown message role 'wizard'"):
        messages_to_dicts([ChatMessage(role="wizard", content="x")])


def test_unsupported_message_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="FunctionMessage"):
        messages_to_dicts([FunctionMessage(name="f", content="x")])


def test_non_message_is_rejected() -> None:
    with pytest.raises(TypeError, match="Expected a LangChain message"):
        messages_to_dicts(["hello"])  # type: ignore[list-item]


def test_image_without_data_is_rejected() -> None:
    with pytest.raises(
        ValueError, match=r"messages\[0\]\.content\[0\] .*'image'.* 'source' or 'image' key"
    ):
        messages_to_dicts([HumanMessage(content=[{"type": "image"}])])


class Weather(BaseModel):
    """Get the weather in a city."""

    city: str


def test_token_estimates_need_no_tokenizer_and_drive_trim_messages() -> None:
    llm = ChatWandbInference(api_key=SecretStr("k"))
    history = [SystemMessage("be brief"), *(HumanMessage("word " * 40) for _ in range(5))]
    one = llm.get_num_tokens_from_messages(history[:2])
    assert one > llm.get_num_tokens("word " * 40) == 50
    assert llm.get_num_tokens_from_messages(history) > 4 * one
    assert llm.get_num_tokens_from_messages(history[:2], tools=[Weather]) > one
    trimmed = trim_messages(
        history, max_tokens=2 * one, token_counter=llm, strategy="last", include_system=True
    )
    assert trimmed[0] == history[0]
    assert 2 <= len(trimmed) < len(history)


def test_token_estimates_follow_reported_usage() -> None:
    llm = ChatWandbInference(api_key=SecretStr("k"))
    question = HumanMessage("word " * 40)
    answer = AIMessage(  # as our stream merges it: usage plus the provider's name
        "ok",
        usage_metadata={"input_tokens": 500, "output_tokens": 1, "total_tokens": 501},
        response_metadata={"model_provider": "wandb"},
    )
    unscaled = llm.get_num_tokens_from_messages([question, AIMessage("ok")])
    assert llm.get_num_tokens_from_messages([question, answer]) > unscaled
