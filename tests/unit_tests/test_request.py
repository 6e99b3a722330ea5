"""Request bodies: one path from messages and parameters to what W&B receives."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from langchain_wandb._request import RequestOptions, build_body, check_body


def _body(messages: list[BaseMessage] | None = None, **kwargs: Any) -> dict[str, Any]:
    options = RequestOptions(
        model=kwargs.pop("model", "openai/gpt-oss-120b"),
        messages=messages or [HumanMessage("hi")],
        **kwargs,
    )
    return build_body(options)


def test_order_and_rules() -> None:
    body = _body(params={"max_completion_tokens": 9, "temperature": 0.5}, stop=["x"])
    assert body["max_tokens"] == 9
    assert "max_completion_tokens" not in body
    assert body["stop"] == ["x"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in _body(stream_usage=False)
    assert "stream_options" not in _body(stream=False)


def _tool_loop() -> list[BaseMessage]:
    call = {"name": "f", "args": {}, "id": "c1", "type": "tool_call"}
    return [
        HumanMessage("first"),
        AIMessage("done", additional_kwargs={"reasoning_content": "old thoughts"}),
        HumanMessage("second"),
        AIMessage("", tool_calls=[call], additional_kwargs={"reasoning_content": "loop thoughts"}),
        ToolMessage("42", tool_call_id="c1"),
    ]


def test_reasoning_of_the_current_tool_loop_goes_back_only_where_asked() -> None:
    sent = _body(_tool_loop(), send_reasoning=True)["messages"]
    assert sent[3]["reasoning_content"] == "loop thoughts"
    assert "reasoning_content" not in sent[1]  # a finished turn keeps its scratchpad
    assert all(
        "reasoning_content" not in m for m in _body(_tool_loop(), send_reasoning=False)["messages"]
    )


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        ("deepseek-ai/DeepSeek-V4-Flash", True),
        ("openai/gpt-oss-20b", True),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507", False),
    ],
)
def test_reasoning_goes_back_by_default_where_the_model_needs_it(model: str, sent: bool) -> None:
    messages = _body(_tool_loop(), model=model)["messages"]
    assert ("reasoning_content" in messages[3]) is sent


def test_reasoning_from_content_blocks_goes_back_too() -> None:
    call = {"name": "f", "args": {}, "id": "c1", "type": "tool_call"}
    message = AIMessage(content=[{"type": "reasoning", "reasoning": "blocks"}], tool_calls=[call])
    sent = _body(
        [HumanMessage("q"), message, ToolMessage("1", tool_call_id="c1")], send_reasoning=True
    )
    assert sent["messages"][1]["reasoning_content"] == "blocks"


def test_images_to_a_text_only_model_fail_before_sending() -> None:
    image = HumanMessage(
        content=[
            {"type": "image", "url": "https://example.com/a.png"},
            {"type": "text", "text": "what?"},
        ]
    )
    with pytest.raises(ValueError, match=r"takes text only.*Models that take images: .*Kimi"):
        _body([image], model="openai/gpt-oss-120b")
    assert _body([image], model="moonshotai/Kimi-K2.5")["messages"][0]["content"]
    assert _body([image], model="wandb-artifact:///team/project/lora:v0")  # unknown: passes


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"temperature": -1}, ValueError, "temperature must be a finite number at least 0"),
        ({"temperature": float("nan")}, ValueError, "temperature"),
        ({"top_p": 1.5}, ValueError, "top_p must be a finite number between 0 and 1"),
        ({"temperature": "hot"}, TypeError, "temperature must be a number"),
        ({"max_tokens": 0}, ValueError, "max_tokens must be positive"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"n": 2}, ValueError, "n must be 1"),
        ({"extra_headers": {}}, ValueError, "extra_headers is not a request field"),
        ({"stop": [1]}, TypeError, "stop must be a string"),
        ({"tools": [{"function": {}}]}, ValueError, "Each tool must be"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]},
            ValueError,
            "Tool 'f': `parameters` must be a JSON schema",
        ),
        ({"tools": [{"type": "function", "function": {"name": " "}}]}, ValueError, "empty name"),
    ],
)
def test_bad_parameters_are_named(
    params: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        check_body({"model": "m", **params})
