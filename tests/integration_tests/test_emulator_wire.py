"""The emulator's bytes look like vLLM 0.32's (tests/compat/samples/vllm-0.32.0.json).

Each test pins one shape a W&B client meets on the wire: where `finish_reason` and the
fingerprint go, which null keys come along, tool-call fragments, logprobs, error bodies,
the context-window refusals. tests/compat/test_emulator_matches_vllm.py compares the same
shapes against a running vLLM.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from langchain_core.exceptions import ContextOverflowError

from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
STREAM = {"stream": True, "stream_options": {"include_usage": True}}
TOOL = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "parameters": {"type": "object", "properties": {"input": {"type": "integer"}}},
    },
}
NAMED = {"type": "function", "function": {"name": "magic_function"}}


@pytest.fixture
def http(emulator: WandbEmulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer k"}) as c:
        yield c


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}], **fields}


def events(http: httpx2.Client, **fields: Any) -> list[dict[str, Any]]:
    answer = http.post("/chat/completions", json=chat(**{"stream": True, **fields}))
    assert answer.status_code == 200, answer.text
    payloads = [line[6:] for line in answer.text.splitlines() if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    return [json.loads(payload) for payload in payloads[:-1]]


def choice_events(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk["choices"][0] for chunk in chunks if chunk["choices"]]


# -- finish reasons --------------------------------------------------------------------
def test_length_comes_on_the_last_content_chunk(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(content="one two three four"))
    choices = choice_events(events(http, max_tokens=2, **STREAM))
    *_, last = choices
    assert last["delta"] == {"content": " two"}
    assert last["finish_reason"] == "length"
    assert last["stop_reason"] is None
    assert [c["finish_reason"] for c in choices[:-1]] == [None] * (len(choices) - 1)


def test_length_while_reasoning_comes_on_the_last_reasoning_chunk(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(reasoning="a b c d", content="answer"))
    *_, last = choice_events(events(http, max_tokens=3, **STREAM))
    assert last["delta"] == {"reasoning": " c"}
    assert last["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("reply", "fields", "finish_reason"),
    [
        (Reply(content="done"), {}, "stop"),
        (Reply(tool_calls=[ToolCallReply("magic_function", {"input": 1})]), {}, "tool_calls"),
    ],
    ids=["stop", "tool_calls"],
)
def test_stop_and_tool_calls_come_on_an_empty_delta(
    emulator: WandbEmulator,
    http: httpx2.Client,
    reply: Reply,
    fields: dict[str, Any],
    finish_reason: str,
) -> None:
    emulator.script(reply)
    *_, last = choice_events(events(http, tools=[TOOL], **fields, **STREAM))
    assert last["delta"] == {}
    assert last["finish_reason"] == finish_reason


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_named_tool_choice_finishes_with_stop_and_required_with_tool_calls(
    http: httpx2.Client, stream: bool
) -> None:
    finishes = []
    for choice in (NAMED, "required"):
        body = chat(tools=[TOOL], tool_choice=choice, stream=stream)
        if stream:
            finishes.append(choice_events(events(http, **body))[-1]["finish_reason"])
        else:
            finishes.append(http.post("/chat/completions", json=body).json()["choices"][0])
            finishes[-1] = finishes[-1]["finish_reason"]
    assert finishes == ["stop", "tool_calls"]


# -- usage and the fingerprint ---------------------------------------------------------
def test_stream_usage_has_no_prompt_details_and_the_fingerprint_rides_the_usage_chunk(
    http: httpx2.Client,
) -> None:
    chunks = events(http, **STREAM)
    *others, usage_chunk = chunks
    assert usage_chunk["choices"] == []
    assert "prompt_tokens_details" not in usage_chunk["usage"]
    assert set(usage_chunk["usage"]) == {
        "prompt_tokens",
        "total_tokens",
        "completion_tokens",
        "completion_tokens_details",
    }
    assert usage_chunk["system_fingerprint"].startswith("vllm-0.32.0-")
    assert not any("system_fingerprint" in chunk for chunk in others)


def test_without_include_usage_the_fingerprint_rides_the_finish_chunk(
    http: httpx2.Client,
) -> None:
    chunks = events(http)
    assert all(chunk["choices"] for chunk in chunks)
    assert [bool(chunk.get("system_fingerprint")) for chunk in chunks][-2:] == [False, True]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_plain_usage_has_null_prompt_details_unless_cached_tokens_are_scripted(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    assert (
        http.post("/chat/completions", json=chat()).json()["usage"]["prompt_tokens_details"] is None
    )
    emulator.script(Reply(content="a", cached_tokens=3), Reply(content="b", cached_tokens=3))
    plain = http.post("/chat/completions", json=chat()).json()
    assert plain["usage"]["prompt_tokens_details"] == {"cached_tokens": 3}
    assert events(http, **STREAM)[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 3}


def test_scripted_cached_tokens_reach_usage_metadata(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="a", cached_tokens=7))
    message = emulator.chat_model(model=LLAMA).invoke("hi")
    assert message.usage_metadata is not None
    assert message.usage_metadata.get("input_token_details") == {"cache_read": 7}


# -- vLLM's null extras ----------------------------------------------------------------
def test_stream_chunks_carry_vllms_null_keys(http: httpx2.Client) -> None:
    first, *middle, finish, _usage = events(http, **STREAM)
    assert first["prompt_token_ids"] is None
    assert first["prompt_text"] is None
    assert first["choices"][0] == {
        "index": 0,
        "delta": {"role": "assistant", "content": ""},
        "logprobs": None,
        "finish_reason": None,
    }
    assert all(
        set(c["choices"][0]) == {"index", "delta", "logprobs", "finish_reason", "token_ids"}
        for c in middle
    )
    assert set(finish["choices"][0]) == {
        "index",
        "delta",
        "logprobs",
        "finish_reason",
        "stop_reason",
        "token_ids",
    }


def test_plain_answers_carry_vllms_null_keys(http: httpx2.Client) -> None:
    body = http.post("/chat/completions", json=chat()).json()
    assert body["system_fingerprint"].startswith("vllm-0.32.0-")
    for key in ("service_tier", "prompt_logprobs", "prompt_token_ids", "kv_transfer_params"):
        assert body[key] is None
    (choice,) = body["choices"]
    assert choice["logprobs"] is None
    assert choice["stop_reason"] is None
    assert choice["token_ids"] is None
    message = choice["message"]
    assert message["role"] == "assistant"
    for key in ("refusal", "annotations", "audio", "function_call", "reasoning"):
        assert message[key] is None
    assert "tool_calls" not in message


def test_a_plain_answer_cut_while_thinking_has_null_content(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(reasoning="think think think", content="answer"))
    message = http.post("/chat/completions", json=chat(max_tokens=2)).json()["choices"][0]
    assert message["message"]["content"] is None
    assert message["message"]["reasoning"] == "think think"


# -- tool-call fragments ---------------------------------------------------------------
def test_tool_fragments_are_shaped_like_vllms(emulator: WandbEmulator, http: httpx2.Client) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("magic_function", {"input": 42})]))
    deltas = [c["delta"] for c in choice_events(events(http, tools=[TOOL], **STREAM))]
    calls = [delta for delta in deltas if "tool_calls" in delta]
    assert all(delta["content"] is None for delta in calls)
    (head,), *rest = [delta["tool_calls"] for delta in calls]
    assert list(head) == ["id", "type", "index", "function"]
    assert head["id"].startswith("chatcmpl-tool-")
    assert head["function"] == {"name": "magic_function"}
    assert all(list(fragment) == ["index", "function"] for (fragment,) in rest)
    arguments = "".join(fragment["function"]["arguments"] for (fragment,) in rest)
    assert json.loads(arguments) == {"input": 42}


def test_a_plain_tool_call_answer_has_empty_content_and_vllm_ids(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("magic_function", {"input": 1})]))
    message = http.post("/chat/completions", json=chat(tools=[TOOL])).json()["choices"][0]
    assert message["message"]["content"] == ""
    (call,) = message["message"]["tool_calls"]
    assert call["id"].startswith("chatcmpl-tool-")
    assert set(call) == {"id", "type", "function"}


def test_streamed_tool_calls_still_merge_through_the_model(emulator: WandbEmulator) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("magic_function", {"input": 5})]))
    llm = emulator.chat_model(model=LLAMA).bind_tools([TOOL])
    message = llm.invoke("go")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("magic_function", {"input": 5})
    ]
    call_id = message.tool_calls[0]["id"]
    assert call_id is not None
    assert call_id.startswith("chatcmpl-tool-")


# -- logprobs ----------------------------------------------------------------------------
def test_logprobs_have_no_refusal_key_and_cover_reasoning(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(reasoning="r1 r2", content="c1"), Reply(reasoning="r1 r2", content="c1"))
    whole = http.post("/chat/completions", json=chat(logprobs=True, top_logprobs=2)).json()
    logprobs = whole["choices"][0]["logprobs"]
    assert set(logprobs) == {"content"}
    assert [entry["token"] for entry in logprobs["content"]] == ["r1", " r2", "c1"]
    streamed = choice_events(events(http, logprobs=True, top_logprobs=2, **STREAM))
    assert streamed[0]["logprobs"] is None
    per_token = [choice["logprobs"] for choice in streamed[1:] if choice["delta"]]
    assert [len(entry["content"]) for entry in per_token] == [1, 1, 1]
    assert all(set(entry) == {"content"} for entry in per_token)


def test_too_many_top_logprobs_is_a_400_plain_and_an_error_event_streamed(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(content="left for the next request"))
    message = (
        "Requested sample logprobs of 30, which is greater than max allowed: 20 "
        "(parameter=logprobs, value=30)"
    )
    plain = http.post("/chat/completions", json=chat(logprobs=True, top_logprobs=30))
    assert plain.status_code == 400
    assert plain.json()["error"] == {
        "message": message,
        "type": "BadRequestError",
        "param": "logprobs",
        "code": 400,
    }
    streamed = http.post("/chat/completions", json=chat(logprobs=True, top_logprobs=30, **STREAM))
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in streamed.text.splitlines() if line]
    assert lines == [f"data: {json.dumps(plain.json())}", "data: [DONE]"]
    assert (
        http.post("/chat/completions", json=chat()).json()["choices"][0]["message"]["content"]
        == "left for the next request"
    )


# -- error bodies --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "error_type"),
    [
        (chat(model="org/nope"), 404, "NotFoundError"),
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "BadRequestError"),
        (chat(messages=[]), 400, "BadRequestError"),
        (chat(max_tokens=0), 400, "BadRequestError"),
    ],
    ids=["unknown-model", "no-model", "no-messages", "max-tokens-zero"],
)
def test_error_bodies_use_vllms_envelope(
    http: httpx2.Client, body: dict[str, Any], status: int, error_type: str
) -> None:
    answer = http.post("/chat/completions", json=body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"]) == (error_type, status)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, "BadRequestError"), (500, "InternalServerError"), (429, "rate_limit_exceeded")],
)
def test_scripted_errors_have_all_four_keys(
    emulator: WandbEmulator, http: httpx2.Client, status: int, error_type: str
) -> None:
    emulator.script(Reply(status=status, error_message="scripted failure"))
    error = http.post("/chat/completions", json=chat()).json()["error"]
    assert error == {
        "message": "scripted failure",
        "type": error_type,
        "param": None,
        "code": status,
    }


def test_a_mid_stream_error_event_is_vllms(emulator: WandbEmulator, http: httpx2.Client) -> None:
    emulator.script(Reply(content="one two three", error_after=1, error_message="engine died"))
    answer = http.post("/chat/completions", json=chat(**STREAM))
    payloads = [line[6:] for line in answer.text.splitlines() if line.startswith("data: ")]
    assert json.loads(payloads[-1]) == {
        "error": {
            "message": "engine died",
            "type": "InternalServerError",
            "param": None,
            "code": 500,
        }
    }


# -- the context window, as vLLM 0.32 guards it ----------------------------------------------
@pytest.fixture
def small(emulator: WandbEmulator) -> str:
    emulator.add_model("my/small", context_window=20)
    return "my/small"


def test_max_tokens_over_the_window_is_refused_naming_the_field(
    http: httpx2.Client, small: str
) -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        error = http.post("/chat/completions", json=chat(model=small, **{field: 21})).json()
        assert error["error"] == {
            "message": f"{field}=21 cannot be greater than max_model_len=20. Please request "
            f"fewer output tokens. (parameter={field}, value=21)",
            "type": "BadRequestError",
            "param": field,
            "code": 400,
        }


def test_prompt_plus_max_tokens_over_the_window_is_answered_and_cut_at_the_window(
    emulator: WandbEmulator, http: httpx2.Client, small: str
) -> None:
    emulator.script(Reply(content=" ".join(["word"] * 30)))
    answer = http.post("/chat/completions", json=chat(model=small, max_tokens=20))
    assert answer.status_code == 200
    body = answer.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["total_tokens"] == 20


def test_a_prompt_over_the_window_gets_vllm_032s_words(http: httpx2.Client, small: str) -> None:
    words = " ".join(["w"] * 30)
    answer = http.post(
        "/chat/completions", json=chat(model=small, messages=[{"role": "user", "content": words}])
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": "This model's maximum context length is 20 tokens. However, your prompt "
        "contains at least 21 input tokens, which exceeds this limit even without any output "
        "tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value=21)",
        "type": "BadRequestError",
        "param": "input_tokens",
        "code": 400,
    }


def test_a_prompt_that_fills_the_window_leaves_a_zero_budget(
    http: httpx2.Client, small: str
) -> None:
    # vLLM 0.32 gives the request window - prompt tokens; a full window makes that 0.
    words = " ".join(["w"] * 19)  # 19 words + 1 for the role markup = 20 tokens
    answer = http.post(
        "/chat/completions", json=chat(model=small, messages=[{"role": "user", "content": words}])
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "max_tokens must be at least 1, got 0. (parameter=max_tokens, value=0)"
    )


@pytest.mark.parametrize(
    ("max_tokens", "prompt"),
    [(21, "hi"), (None, " ".join(["w"] * 30))],
    ids=["max-tokens-over-window", "prompt-over-window"],
)
def test_the_model_classifies_both_overflows_as_context_overflow(
    emulator: WandbEmulator, small: str, max_tokens: int | None, prompt: str
) -> None:
    llm = emulator.chat_model(model=small, max_retries=0, max_tokens=max_tokens)
    with pytest.raises(ContextOverflowError, match=r"max_model_len|maximum context length"):
        llm.invoke(prompt)
