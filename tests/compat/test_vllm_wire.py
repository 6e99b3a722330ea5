"""Raw requests to real vLLM: which fields it accepts and what exactly it sends back.

These pin the facts the client and the emulator rely on (see samples/ for recorded
wire excerpts). Answers are random-weight noise; only shapes and names are asserted.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from tests.compat.conftest import Vllm

HI = [{"role": "user", "content": "hi"}]
NO_THINK = {"chat_template_kwargs": {"enable_thinking": False}}
STREAM = {"stream": True, "stream_options": {"include_usage": True}}
TOOL = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Apply a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "integer"}},
            "required": ["input"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}


def post(vllm: Vllm, body: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.post(
        f"{vllm.base_url}/chat/completions",
        json={"model": vllm.model, **body},
        headers=headers,
        timeout=120,
    )


def events(vllm: Vllm, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON events of a streamed answer (the stream must end with `[DONE]`)."""
    answer = post(vllm, {**body, "stream": True})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    payloads = [
        line.removeprefix("data: ") for line in answer.text.splitlines() if line.startswith("data:")
    ]
    assert payloads[-1] == "[DONE]"
    return [json.loads(payload) for payload in payloads[:-1]]


def ok(vllm: Vllm, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    answer = post(vllm, body, **headers)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


# -- fields we send are accepted ---------------------------------------------------------
@pytest.mark.parametrize(
    "extra",
    [
        {"chat_template_kwargs": {"enable_thinking": True}},
        {"chat_template_kwargs": {"enable_thinking": False}},
        {"cache_salt": "tenant-a"},
        {"reasoning_effort": "low"},
        {"reasoning_effort": "high"},
        {"max_completion_tokens": 2},
        {"seed": 7, "temperature": 0.5, "top_p": 0.9},
        {"stop": ["x", "y"]},
        {"frequency_penalty": 0.1, "presence_penalty": 0.1},
        {"parallel_tool_calls": False, "tools": [TOOL], "tool_choice": "auto"},
    ],
    ids="+".join,
)
def test_vllm_accepts_the_fields_we_send(vllm: Vllm, extra: dict[str, Any]) -> None:
    data = ok(vllm, {"messages": HI, "max_tokens": 2, **extra})
    assert data["object"] == "chat.completion"


def test_openai_project_header_is_ignored_by_vllm(vllm: Vllm) -> None:
    data = ok(vllm, {"messages": HI, "max_tokens": 1}, **{"OpenAI-Project": "team/project"})
    assert data["choices"][0]["finish_reason"] in {"stop", "length"}


def test_a_served_alias_is_answered_under_the_first_served_name(vllm: Vllm) -> None:
    data = ok(vllm, {"model": vllm.second_model, "messages": HI, "max_tokens": 1})
    assert data["model"] == vllm.model


def test_max_tokens_past_the_window_left_by_the_prompt_is_accepted(vllm: Vllm) -> None:
    # Only max_tokens > max_model_len is refused; prompt + max_tokens > window is not.
    assert ok(vllm, {"messages": HI, "max_tokens": 2040, **NO_THINK})["object"] == "chat.completion"


def test_max_completion_tokens_wins_over_max_tokens(vllm: Vllm) -> None:
    body = {"messages": HI, "max_tokens": 2, "max_completion_tokens": 5, "min_tokens": 5}
    assert ok(vllm, {**body, **NO_THINK})["usage"]["completion_tokens"] == 5


# -- reasoning sent back on assistant messages -------------------------------------------
@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_reasoning_of_the_current_tool_loop_reaches_the_template(vllm: Vllm, field: str) -> None:
    messages = [
        *HI,
        {"role": "assistant", "content": None, "tool_calls": [CALL], field: "THOUGHT-A"},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    prompt = vllm.prompt_text({"messages": messages})
    assert '<think>\nTHOUGHT-A\n</think>\n\n<tool_call>\n{"name": "f"' in prompt


def test_reasoning_wins_over_reasoning_content_when_both_are_sent(vllm: Vllm) -> None:
    assistant = {"role": "assistant", "content": None, "tool_calls": [CALL]}
    messages = [
        *HI,
        {**assistant, "reasoning": "R1", "reasoning_content": "R2"},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    prompt = vllm.prompt_text({"messages": messages})
    assert "<think>\nR1\n</think>" in prompt
    assert "R2" not in prompt


def test_reasoning_of_an_earlier_turn_is_dropped_by_the_qwen3_template(vllm: Vllm) -> None:
    messages = [
        *HI,
        {"role": "assistant", "content": "answer", "reasoning": "OLD-THOUGHT"},
        {"role": "user", "content": "again"},
    ]
    prompt = vllm.prompt_text({"messages": messages})
    assert "<|im_start|>assistant\nanswer<|im_end|>" in prompt
    assert "OLD-THOUGHT" not in prompt


def test_enable_thinking_switches_the_generation_prompt(vllm: Vllm) -> None:
    on = vllm.prompt_text({"messages": HI})
    off = vllm.prompt_text({"messages": HI, **NO_THINK})
    assert on.endswith("<|im_start|>assistant\n<think>\n")
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


# -- streaming framing ------------------------------------------------------------------
def test_stream_framing_usage_chunk_and_finish(vllm: Vllm) -> None:
    chunks = events(vllm, {"messages": HI, "max_tokens": 4, "min_tokens": 4, **STREAM, **NO_THINK})
    first, *middle, finish, usage = chunks
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {chunk["id"] for chunk in chunks} == {first["id"]}
    assert {chunk["model"] for chunk in chunks} == {vllm.model}
    # vLLM puts the finish reason on the chunk with the last token, not on an empty delta.
    assert finish["choices"][0]["finish_reason"] == "length"
    assert finish["choices"][0]["delta"].get("content")
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in [first, *middle])
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 4
    assert usage["usage"]["total_tokens"] == usage["usage"]["prompt_tokens"] + 4
    assert usage["usage"]["completion_tokens_details"] == {"reasoning_tokens": 0}
    assert "prompt_tokens_details" not in usage["usage"]
    assert usage["system_fingerprint"].startswith("vllm-")
    assert "system_fingerprint" not in first


def test_stream_without_include_usage_has_no_usage_chunk(vllm: Vllm) -> None:
    chunks = events(vllm, {"messages": HI, "max_tokens": 3, **NO_THINK})
    assert all(chunk["choices"] for chunk in chunks)
    assert all("usage" not in chunk or chunk["usage"] is None for chunk in chunks)


def test_reasoning_streams_in_the_reasoning_field(vllm: Vllm) -> None:
    think_end = str(vllm.token_ids["</think>"])
    body = {"messages": HI, "max_tokens": 40, "logit_bias": {think_end: 6.0}, **STREAM}
    chunks = events(vllm, body)
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    assert any(delta.get("reasoning") for delta in deltas)
    assert not any("reasoning_content" in delta for delta in deltas)
    reasoning_tokens = chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning_tokens > 0


def test_nonstream_reasoning_field_and_null_content(vllm: Vllm) -> None:
    data = ok(vllm, {"messages": HI, "max_tokens": 3, "min_tokens": 3})
    message = data["choices"][0]["message"]
    assert message["content"] is None  # thinking until cut off: no answer yet
    assert message["reasoning"]
    assert "reasoning_content" not in message
    assert data["usage"]["prompt_tokens_details"] is None
    assert data["usage"]["completion_tokens_details"] == {"reasoning_tokens": 3}


def test_stop_sequence_ends_with_finish_reason_stop(vllm: Vllm) -> None:
    quote = '"'  # the model's bias makes it say '"' within a few tokens
    data = ok(vllm, {"messages": HI, "max_tokens": 200, "stop": [quote], "seed": 1, **NO_THINK})
    choice = data["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["stop_reason"] == quote
    assert quote not in (choice["message"]["content"] or "")


def test_seed_makes_sampling_repeatable(vllm: Vllm) -> None:
    body = {"messages": HI, "max_tokens": 8, "min_tokens": 8, "seed": 42, **NO_THINK}
    first = ok(vllm, body)["choices"][0]["message"]["content"]
    assert ok(vllm, body)["choices"][0]["message"]["content"] == first


# -- logprobs -------------------------------------------------------------------------
def test_logprobs_shapes_streamed_and_not(vllm: Vllm) -> None:
    body = {"messages": HI, "max_tokens": 2, "min_tokens": 2, "logprobs": True, "top_logprobs": 2}
    whole = ok(vllm, {**body, **NO_THINK})["choices"][0]["logprobs"]
    assert set(whole) == {"content"}  # no "refusal" key, unlike OpenAI and the emulator
    assert len(whole["content"]) == 2
    entry = whole["content"][0]
    assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"}
    assert len(entry["top_logprobs"]) == 2
    streamed = events(vllm, {**body, **STREAM, **NO_THINK})
    per_token = [chunk["choices"][0]["logprobs"] for chunk in streamed if chunk["choices"]]
    assert per_token[0] is None  # the role chunk
    # One entry per token, carried by the chunk that carries the token: under CPU load vLLM
    # merges the deltas of a lagging stream, so the two tokens may come in one chunk.
    assert sum(len(lp["content"]) for lp in per_token[1:]) == 2
    assert all(lp["content"] for lp in per_token[1:])


# -- tool calls ---------------------------------------------------------------------------
def tool_body(choice: str | dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"messages": HI, "tools": [TOOL], "tool_choice": choice, "max_tokens": 80, **extra}


def test_required_tool_choice_streams_one_call_with_id_on_the_first_fragment(vllm: Vllm) -> None:
    chunks = events(vllm, tool_body("required", **STREAM, **NO_THINK))
    fragments = [
        call
        for chunk in chunks
        if chunk["choices"]
        for call in chunk["choices"][0]["delta"].get("tool_calls") or []
    ]
    head, *rest = fragments
    assert head["index"] == 0
    assert head["type"] == "function"
    assert head["id"].startswith("chatcmpl-tool-")
    assert head["function"]["name"] == "magic_function"
    assert all(set(fragment) <= {"index", "function"} for fragment in rest)
    arguments = head["function"].get("arguments", "") + "".join(
        fragment["function"]["arguments"] for fragment in rest
    )
    assert isinstance(json.loads(arguments)["input"], int)
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks if chunk["choices"]]
    assert finishes[-1] == "tool_calls"


@pytest.mark.parametrize(
    ("choice", "finish_reason"),
    [
        ("required", "tool_calls"),
        ({"type": "function", "function": {"name": "magic_function"}}, "stop"),
    ],
    ids=["required", "named"],
)
def test_forced_tool_call_nonstream(
    vllm: Vllm, choice: str | dict[str, Any], finish_reason: str
) -> None:
    choice_data = ok(vllm, tool_body(choice, **NO_THINK))["choices"][0]
    # A named tool choice finishes with "stop", not "tool_calls" (vLLM's way).
    assert choice_data["finish_reason"] == finish_reason
    assert choice_data["message"]["content"] == ""
    (call,) = choice_data["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "magic_function"
    assert isinstance(json.loads(call["function"]["arguments"])["input"], int)


def test_a_forced_call_under_a_small_budget_says_truly_how_it_ended(vllm: Vllm) -> None:
    # With thinking on, vLLM decodes a forced call only after </think>: a small budget
    # usually ends in the reasoning ("length", no call), but random weights sometimes close
    # it early. Either way the finish reason must match what arrived; our cut-off checks
    # (OutputTruncatedError for "length" with a forced choice) rely on that.
    # Seen in CI too: "tool_calls" with no call at all, when vLLM's tool parser cannot read
    # what was decoded; the client raises for that (test_model_on_vllm / emulator tests).
    choice = ok(vllm, tool_body("required", max_tokens=6))["choices"][0]
    calls = choice["message"].get("tool_calls") or []
    if choice["finish_reason"] == "length":
        assert not calls
        assert choice["message"]["reasoning"]
    else:
        assert choice["finish_reason"] == "tool_calls"
        assert len(calls) <= 1
        assert all(call["function"]["name"] == "magic_function" for call in calls)


# -- structured output ----------------------------------------------------------------
def test_json_schema_response_format_gives_schema_valid_json(vllm: Vllm) -> None:
    schema = {
        "type": "object",
        "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
        "required": ["setup", "punchline"],
        "additionalProperties": False,
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "joke", "strict": True, "schema": schema},
    }
    body = {"messages": HI, "response_format": response_format, "max_tokens": 300, **NO_THINK}
    choice = ok(vllm, body)["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert set(json.loads(choice["message"]["content"])) == {"setup", "punchline"}


def test_json_object_response_format_gives_json(vllm: Vllm) -> None:
    body = {
        "messages": HI,
        "response_format": {"type": "json_object"},
        "max_tokens": 300,
        "seed": 3,
        **NO_THINK,
    }
    choice = ok(vllm, body)["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert isinstance(json.loads(choice["message"]["content"]), dict)


# -- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "error_type", "param", "message"),
    [
        ({"model": "no-such-model"}, 404, "NotFoundError", "model", "does not exist"),
        (
            {"max_tokens": 4096},
            400,
            "BadRequestError",
            "max_tokens",
            "cannot be greater than max_model_len",
        ),
        (
            {"messages": [{"role": "user", "content": "hi " * 2100}]},
            400,
            "BadRequestError",
            "input_tokens",
            "maximum context length is 2048 tokens",
        ),
        ({"max_tokens": 0}, 400, "BadRequestError", "max_tokens", "at least 1"),
        ({"cache_salt": ""}, 400, "BadRequestError", "cache_salt", "non-empty string"),
        ({"reasoning_effort": "bogus"}, 400, "Bad Request", "body.reasoning_effort", "literal"),
        ({"temperature": -1}, 400, "BadRequestError", None, "non-negative"),
    ],
    ids=[
        "unknown-model",
        "max-tokens-over-window",
        "prompt-over-window",
        "max-tokens-zero",
        "empty-cache-salt",
        "bad-reasoning-effort",
        "negative-temperature",
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_error_bodies(
    vllm: Vllm,
    body: dict[str, Any],
    status: int,
    error_type: str,
    param: str | None,
    message: str,
    stream: bool,
) -> None:
    extra = STREAM if stream else {}
    answer = post(vllm, {"messages": HI, "max_tokens": 2, **extra, **body})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == status
    assert error["type"] == error_type
    if param is not None:
        assert error["param"] == param
    assert message in error["message"]


def test_too_many_top_logprobs_plain_is_400(vllm: Vllm) -> None:
    answer = post(vllm, {"messages": HI, "max_tokens": 1, "logprobs": True, "top_logprobs": 30})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "logprobs"


def test_too_many_top_logprobs_streamed_is_an_error_event_in_a_200_stream(vllm: Vllm) -> None:
    body = {"messages": HI, "max_tokens": 1, "logprobs": True, "top_logprobs": 30, **STREAM}
    answer = post(vllm, body)
    assert answer.status_code == 200
    payloads = [line for line in answer.text.splitlines() if line.startswith("data: ")]
    assert payloads[-1] == "data: [DONE]"
    (error_event,) = [json.loads(line.removeprefix("data: ")) for line in payloads[:-1]]
    assert error_event == {
        "error": {
            "message": "Requested sample logprobs of 30, which is greater than max allowed: 20 "
            "(parameter=logprobs, value=30)",
            "type": "BadRequestError",
            "param": "logprobs",
            "code": 400,
        }
    }
