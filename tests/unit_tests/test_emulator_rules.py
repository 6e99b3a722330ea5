"""The emulator's W&B rules as pure functions: refusals, served ids, budgets, the gate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from langchain_wandb.testing._auto import automatic_reply
from langchain_wandb.testing._checks import refusal_for, unknown_model
from langchain_wandb.testing._concurrency import ConcurrencyGate
from langchain_wandb.testing._models import EmulatedModel, resolve_model
from langchain_wandb.testing._replies import (
    IMAGE_TOKENS,
    RenderedReply,
    Reply,
    ToolCallReply,
    prompt_tokens_of,
    tokens_of,
)

TEXT_ONLY = EmulatedModel("org/text", context_window=100)


def request(content: Any = "hi", **fields: Any) -> dict[str, Any]:
    return {"model": "org/text", "messages": [{"role": "user", "content": content}], **fields}


def test_unknown_ids_are_not_served_but_catalogue_lora_and_registered_ids_are() -> None:
    registered = {"my/test-model": EmulatedModel("my/test-model", vision=True)}
    assert resolve_model("openai/gpt-oss-20b", {}) is not None
    assert resolve_model("openai/gpt-oss-2b", {}) is None
    assert resolve_model("wandb-artifact:///team/project/lora:v1", {}) is not None
    assert resolve_model("wandb-artifact:///", {}) is None
    assert resolve_model("my/test-model", registered) == registered["my/test-model"]


def test_registered_properties_override_the_catalogue() -> None:
    small = EmulatedModel("openai/gpt-oss-20b", context_window=10)
    assert resolve_model("openai/gpt-oss-20b", {small.id: small}) == small


def test_unknown_model_is_vllms_404() -> None:
    refusal = unknown_model("org/typo")
    assert refusal.status == 404
    assert refusal.body() == {
        "error": {
            "message": "The model `org/typo` does not exist.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
    }


def test_a_prompt_over_the_window_is_refused_with_vllm_032s_words() -> None:
    refusal = refusal_for(request(), TEXT_ONLY, prompt_tokens=101)
    assert refusal is not None
    assert (refusal.status, refusal.param) == (400, "input_tokens")
    assert refusal.message == (
        "This model's maximum context length is 100 tokens. However, your prompt contains at "
        "least 101 input tokens, which exceeds this limit even without any output tokens. "
        "Please reduce the length of the input prompt. (parameter=input_tokens, value=101)"
    )
    assert refusal_for(request(), TEXT_ONLY, prompt_tokens=99) is None


def test_a_prompt_that_fills_the_window_leaves_a_budget_of_zero() -> None:
    refusal = refusal_for(request(), TEXT_ONLY, prompt_tokens=100)
    assert refusal is not None
    assert (
        refusal.message == "max_tokens must be at least 1, got 0. (parameter=max_tokens, value=0)"
    )


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_over_the_window_is_refused_but_prompt_plus_max_tokens_is_not(
    field: str,
) -> None:
    refusal = refusal_for(request(**{field: 101}), TEXT_ONLY, prompt_tokens=1)
    assert refusal is not None
    assert refusal.param == field
    assert refusal.message == (
        f"{field}=101 cannot be greater than max_model_len=100. Please request fewer output "
        f"tokens. (parameter={field}, value=101)"
    )
    assert refusal_for(request(**{field: 100}), TEXT_ONLY, prompt_tokens=70) is None


def test_the_budget_is_cut_to_what_the_prompt_leaves_of_the_window() -> None:
    reply = Reply(content=" ".join(["w"] * 200))
    body = request(max_tokens=100)
    cut = RenderedReply.resolve(reply, body, "chatcmpl-test01", TEXT_ONLY)
    assert cut.completion_tokens == 100 - prompt_tokens_of(body)
    assert cut.finish_reason == "length"


def test_too_many_top_logprobs_is_refused_inside_a_stream() -> None:
    refusal = refusal_for(request(logprobs=True, top_logprobs=21), TEXT_ONLY, prompt_tokens=1)
    assert refusal is not None
    assert (refusal.param, refusal.in_stream) == ("logprobs", True)
    assert refusal_for(request(logprobs=True, top_logprobs=20), TEXT_ONLY, prompt_tokens=1) is None


def test_no_window_means_no_context_check() -> None:
    assert refusal_for(request(max_tokens=10**9), EmulatedModel("x"), 10**9) is None


@pytest.mark.parametrize("budget", [0, -3])
def test_a_budget_below_one_is_refused(budget: int) -> None:
    refusal = refusal_for(request(max_tokens=budget), TEXT_ONLY, prompt_tokens=1)
    assert refusal is not None
    assert refusal.message == (
        f"max_tokens must be at least 1, got {budget}. (parameter=max_tokens, value={budget})"
    )


def test_images_to_a_text_only_model_are_refused_and_accepted_by_a_vision_model() -> None:
    parts = [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {}}]
    refusal = refusal_for(request(parts), TEXT_ONLY, prompt_tokens=1)
    assert refusal is not None
    assert refusal.message == "org/text is not a multimodal model"
    assert refusal_for(request(parts), EmulatedModel("v", vision=True), 1) is None


def test_prompt_tokens_count_text_parts_images_tool_calls_and_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a b c"}, {"type": "image_url"}]},
            {"role": "assistant", "content": None, "tool_calls": calls},
        ],
        "tools": tools,
    }
    expected = (
        (1 + 3 + IMAGE_TOKENS)
        + (1 + len(tokens_of(json.dumps(calls))))
        + len(tokens_of(json.dumps(tools)))
    )
    assert prompt_tokens_of(body) == expected


def rendered(reply: Reply, **fields: Any) -> RenderedReply:
    return RenderedReply.resolve(reply, request(**fields), "chatcmpl-test01")


def test_max_tokens_spends_reasoning_first_then_content() -> None:
    reply = Reply(content="one two three four", reasoning="r1 r2 r3")
    cut = rendered(reply, max_tokens=5)
    assert cut.reasoning == tokens_of("r1 r2 r3")
    assert "".join(cut.content) == "one two"
    assert cut.finish_reason == "length"
    assert cut.usage()["completion_tokens"] == 5
    assert cut.usage()["completion_tokens_details"] == {"reasoning_tokens": 3}

    thinking_only = rendered(reply, max_tokens=2)
    assert (thinking_only.reasoning, thinking_only.content) == (["r1", " r2"], [])
    assert thinking_only.finish_reason == "length"


def test_a_reply_that_fits_keeps_its_finish_reason() -> None:
    fits = rendered(Reply(content="one two"), max_tokens=2)
    assert fits.finish_reason == "stop"
    assert fits.usage()["completion_tokens"] == 2


def test_tool_calls_beyond_the_budget_are_not_made() -> None:
    reply = Reply(content="ok", tool_calls=[ToolCallReply("a"), ToolCallReply("b")])
    cut = rendered(reply, max_tokens=2)
    assert [call.name for call in cut.tool_calls] == ["a"]
    assert cut.finish_reason == "length"
    message = cut.completion()["choices"][0]["message"]
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["a"]


def test_the_gate_refuses_one_over_the_limit_per_key() -> None:
    gate = ConcurrencyGate(limit=1)
    alpha, beta = ("team/a", "m"), ("team/b", "m")
    assert gate.acquire(alpha)
    assert not gate.acquire(alpha)
    assert gate.acquire(beta)
    gate.release(alpha)
    assert gate.acquire(alpha)
    counts = gate.snapshot()
    assert counts.refused == {alpha: 1}
    assert counts.peak_in_flight == {alpha: 1, beta: 1}
    assert gate.refused_total == 1


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="concurrency_limit must be at least 1"):
        ConcurrencyGate(limit=0)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "metric": {"type": "boolean"},
                "lat": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                "day": {"type": "string", "format": "date"},
            },
        },
    },
}


def tool_arguments(prompt: str) -> Any:
    reply = automatic_reply(request(prompt, tools=[WEATHER]))
    return reply.tool_calls[0].arguments


@pytest.mark.parametrize(
    ("prompt", "city"),
    [
        ("What's the weather in 'Paris' for 3 days?", "Paris"),
        ("What's the weather in Paris for 3 days?", "Paris"),
        ("It\u2019s cold in \u201cNew York\u201d, isn't it? 3 days", "New York"),
    ],
)
def test_tool_arguments_take_phrases_from_the_prompt_not_across_apostrophes(
    prompt: str, city: str
) -> None:
    assert tool_arguments(prompt) == {
        "city": city,
        "days": 3,
        "metric": True,
        "lat": 1.5,
        "day": "2025-01-01",
    }


def test_tool_arguments_have_the_schemas_types_and_bounds() -> None:
    arguments = tool_arguments("For 2.5 and then 40 days in 'Oslo'")
    assert arguments["days"] == 7  # the whole number 40, held to the maximum
    assert isinstance(arguments["days"], int)
    assert arguments["lat"] == 2.5
    assert isinstance(arguments["metric"], bool)
