"""Wire dicts -> LangChain chunks, on hand-built data (no server)."""

from __future__ import annotations

from functools import reduce
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_wandb._chunks import (
    StreamState,
    chunk_to_generation,
    final_generation,
    merge_strictly,
    response_to_result,
    usage_to_metadata,
)
from langchain_wandb._errors import WandbStreamError

USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 230,
    "total_tokens": 242,
    "prompt_tokens_details": {"cached_tokens": 4},
    "completion_tokens_details": {"reasoning_tokens": 180},
}


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "c1", "model": "openai/gpt-oss-120b", **top}
    if delta is not None or finish is not None:
        data["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    return data


def merge(datas: list[dict[str, Any]]) -> AIMessageChunk:
    state = StreamState()
    gens = [g for d in datas if (g := chunk_to_generation(d, state)) is not None]
    gens.append(final_generation(state))
    merged = reduce(lambda a, b: a + b, (g.message for g in gens))
    assert isinstance(merged, AIMessageChunk)
    return merged


def test_usage_mapping_includes_cache_and_reasoning() -> None:
    assert usage_to_metadata(USAGE) == {
        "input_tokens": 12,
        "output_tokens": 230,
        "total_tokens": 242,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 180},
    }


def test_usage_without_details_or_total() -> None:
    assert usage_to_metadata({"prompt_tokens": 3, "completion_tokens": 4}) == {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
    }


def test_usage_only_chunk_is_kept_with_empty_content() -> None:
    state = StreamState()
    gen = chunk_to_generation(chunk(choices=[], usage=USAGE), state)
    assert gen is not None
    assert gen.message.content == ""
    assert isinstance(gen.message, AIMessageChunk)
    assert gen.message.usage_metadata is not None
    assert gen.message.usage_metadata["total_tokens"] == 242


def test_full_stream_merges_to_what_was_sent() -> None:
    merged = merge(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"reasoning": "The user "}),
            chunk({"reasoning": "wants a joke"}),
            chunk({"content": "Why did"}),
            chunk({"content": " the chicken"}),
            chunk({}, "stop"),
            chunk(choices=[], usage=USAGE),
        ]
    )
    assert merged.content == "Why did the chicken"
    assert merged.additional_kwargs["reasoning_content"] == "The user wants a joke"
    assert merged.usage_metadata == usage_to_metadata(USAGE)
    assert merged.response_metadata == {
        "model_provider": "wandb",
        "model_name": "openai/gpt-oss-120b",
        "id": "c1",
        "finish_reason": "stop",
    }
    assert merged.id == "c1"
    assert merged.chunk_position == "last"
    blocks = merged.content_blocks
    assert blocks[0] == {"type": "reasoning", "reasoning": "The user wants a joke"}
    assert blocks[1]["type"] == "text"


def test_reasoning_content_field_is_accepted() -> None:
    merged = merge([chunk({"reasoning_content": "hmm"}), chunk({"content": "ok"}, "stop")])
    assert merged.additional_kwargs["reasoning_content"] == "hmm"


def test_both_reasoning_fields_are_not_doubled() -> None:
    merged = merge([chunk({"reasoning": "same", "reasoning_content": "same"}), chunk({}, "stop")])
    assert merged.additional_kwargs["reasoning_content"] == "same"


def test_duplicate_finish_chunk_does_not_give_stopstop() -> None:
    merged = merge([chunk({"content": "hi"}), chunk({}, "stop"), chunk({}, "stop")])
    assert merged.response_metadata["finish_reason"] == "stop"


def test_empty_deltas_and_missing_fields_are_harmless() -> None:
    merged = merge([chunk({}), {"choices": [{"delta": None}]}, chunk({"content": None}, "stop")])
    assert merged.content == ""
    assert merged.response_metadata["finish_reason"] == "stop"


def test_chunk_without_choices_or_usage_yields_nothing() -> None:
    assert chunk_to_generation({"id": "x", "choices": []}, StreamState()) is None


def test_usage_is_reported_once_even_if_repeated() -> None:
    merged = merge(
        [
            chunk({"content": "a"}, "stop"),
            chunk(choices=[], usage=USAGE),
            chunk(choices=[], usage=USAGE),
        ]
    )
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["total_tokens"] == 242


def test_continuous_usage_keeps_only_the_latest_total() -> None:
    running = [dict(USAGE, completion_tokens=n, total_tokens=12 + n) for n in (1, 2, 3)]
    merged = merge(
        [
            chunk({"content": "a"}, usage=running[0]),
            chunk({"content": "b"}, usage=running[1]),
            chunk({}, "stop", usage=running[2]),
        ]
    )
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["output_tokens"] == 3
    assert merged.usage_metadata["total_tokens"] == 15


def test_model_name_comes_from_the_server() -> None:
    merged = merge([chunk({"content": "x"}, "stop", model="other/model")])
    assert merged.response_metadata["model_name"] == "other/model"


def test_system_fingerprint_is_kept_once() -> None:
    merged = merge(
        [
            chunk({"content": "x"}, system_fingerprint="fp1"),
            chunk({}, "stop", system_fingerprint="fp1"),
        ]
    )
    assert merged.response_metadata["system_fingerprint"] == "fp1"


def test_error_event_raises_with_server_message() -> None:
    with pytest.raises(WandbStreamError, match="overloaded"):
        chunk_to_generation({"error": {"message": "model overloaded"}}, StreamState())
    # An error that is a bare string, not an object: its text as sent.
    with pytest.raises(WandbStreamError, match=r"an error mid-stream: model overloaded$"):
        chunk_to_generation({"error": "model overloaded"}, StreamState())


def tool_delta(index: int | None, id_: str | None, name: str | None, args: str) -> dict[str, Any]:
    call: dict[str, Any] = {"function": {"arguments": args}}
    if index is not None:
        call["index"] = index
    if id_ is not None:
        call["id"] = id_
        call["type"] = "function"
    if name is not None:
        call["function"]["name"] = name
    return chunk({"tool_calls": [call]})


def test_parallel_tool_calls_merge_into_separate_calls() -> None:
    merged = merge(
        [
            tool_delta(0, "a", "add", ""),
            tool_delta(0, None, None, '{"x": 1'),
            tool_delta(1, "b", "mul", '{"y"'),
            tool_delta(0, None, None, "}"),
            tool_delta(1, None, None, ": 2}"),
            chunk({}, "tool_calls"),
        ]
    )
    assert [(c["name"], c["args"], c["id"]) for c in merged.tool_calls] == [
        ("add", {"x": 1}, "a"),
        ("mul", {"y": 2}, "b"),
    ]


@pytest.mark.parametrize("index", [None, 0], ids=["no-index", "all-on-zero"])
def test_index_less_or_colliding_tool_calls_stay_separate(index: int | None) -> None:
    merged = merge(
        [
            tool_delta(index, "a", "add", ""),
            tool_delta(index, None, None, '{"x": 1}'),
            tool_delta(index, "b", "mul", ""),
            tool_delta(index, None, None, '{"y": 2}'),
            chunk({}, "tool_calls"),
        ]
    )
    assert [(c["name"], c["args"], c["id"]) for c in merged.tool_calls] == [
        ("add", {"x": 1}, "a"),
        ("mul", {"y": 2}, "b"),
    ]
    assert not merged.invalid_tool_calls


@pytest.mark.parametrize("args", ["", "null"])
def test_empty_or_null_arguments_mean_no_arguments(args: str) -> None:
    pieces = [args[:2], args[2:]] if args else [""]
    datas = [tool_delta(0, "a", "now", "")]
    datas += [tool_delta(0, None, None, p) for p in pieces]
    merged = merge([*datas, chunk({}, "tool_calls")])
    assert merged.tool_calls == [{"name": "now", "args": {}, "id": "a", "type": "tool_call"}]


def test_arguments_starting_like_null_are_not_swallowed() -> None:
    merged = merge(
        [tool_delta(0, "a", "f", "n"), tool_delta(0, None, None, "ope"), chunk({}, "tool_calls")]
    )
    assert merged.tool_calls == []
    assert merged.invalid_tool_calls[0]["args"] == "nope"


def test_invalid_tool_arguments_become_invalid_tool_calls() -> None:
    merged = merge([tool_delta(0, "a", "f", "{not json"), chunk({}, "tool_calls")])
    assert [c["args"] for c in merged.tool_call_chunks] == ["{not json"]
    strict = merge_strictly([merged])
    assert strict.tool_calls == []
    assert [(c["name"], c["args"]) for c in strict.invalid_tool_calls] == [("f", "{not json")]


@pytest.mark.parametrize(
    "args", ['{"a": "unterminated', '{"a": 1}}', '{"a": [1, 2', '{"a": "esc\\'], ids=str
)
def test_broken_arguments_are_never_repaired_into_a_call(args: str) -> None:
    merged = merge([tool_delta(0, "a", "f", args), chunk({}, "tool_calls")])
    # The chunks carry the server's text, nothing added; read strictly, it is no call.
    assert [c["args"] for c in merged.tool_call_chunks] == [args]
    strict = merge_strictly([merged])
    assert strict.tool_calls == []
    assert [c["args"] for c in strict.invalid_tool_calls] == [args]


def test_valid_arguments_get_no_marker() -> None:
    merged = merge([tool_delta(0, "a", "f", '{"a": "x]"}'), chunk({}, "tool_calls")])
    assert merged.tool_calls[0]["args"] == {"a": "x]"}


def test_non_streaming_response_to_result() -> None:
    result = response_to_result(
        {
            "id": "r1",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": "ok",
                        "reasoning_content": "think",
                        "tool_calls": [
                            {
                                "id": "t1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "null"},
                            },
                            {
                                "id": "t2",
                                "type": "function",
                                "function": {"name": "g", "arguments": "{bad"},
                            },
                        ],
                    },
                }
            ],
            "usage": USAGE,
        }
    )
    message = result.generations[0].message
    assert isinstance(message, AIMessage)
    assert message.content == "ok"
    assert message.additional_kwargs["reasoning_content"] == "think"
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.tool_calls == [{"name": "f", "args": {}, "id": "t1", "type": "tool_call"}]
    assert message.invalid_tool_calls[0]["id"] == "t2"
    assert message.usage_metadata == usage_to_metadata(USAGE)


def test_non_streaming_error_body_raises() -> None:
    with pytest.raises(WandbStreamError, match="error in its response: bad things"):
        response_to_result({"error": {"message": "bad things"}})
    with pytest.raises(WandbStreamError, match="without choices"):
        response_to_result({"id": "x", "choices": []})


def test_logprobs_of_each_chunk_concatenate() -> None:
    def entry(token: str) -> dict[str, Any]:
        return {"token": token, "logprob": -0.5, "top_logprobs": []}

    first = chunk({"content": "Why"}, logprobs={"content": [entry("Why")]})
    second = chunk({"content": " not"}, logprobs={"content": [entry(" not")]})
    for data in (first, second):
        data["choices"][0]["logprobs"] = data.pop("logprobs")
    merged = merge([first, second, chunk({}, "stop")])
    assert merged.response_metadata["logprobs"] == {"content": [entry("Why"), entry(" not")]}
    assert "logprobs" not in merge([chunk({"content": "x"}, "stop")]).response_metadata


@pytest.mark.parametrize("index", [0, None], ids=["indexed", "no-index"])
def test_a_name_and_id_resent_with_every_fragment_are_not_doubled(index: int | None) -> None:
    """Some OpenAI-compatible servers repeat the call's name and id on each delta; core's
    merge joined the names into 'addadd', a tool that does not exist."""
    second = None if index is None else 1
    merged = merge(
        [
            tool_delta(index, "a", "add", '{"x"'),
            tool_delta(index, "a", "add", ": 1}"),
            tool_delta(second, "b", "mul", '{"y": 2}'),
            tool_delta(second, "b", "mul", ""),
            chunk({}, "tool_calls"),
        ]
    )
    assert [(c["name"], c["args"], c["id"]) for c in merged.tool_calls] == [
        ("add", {"x": 1}, "a"),
        ("mul", {"y": 2}, "b"),
    ]


def test_a_name_streamed_in_pieces_is_joined() -> None:
    merged = merge(
        [
            tool_delta(0, "a", "get_", ""),
            tool_delta(0, None, "weather", '{"city": "Paris"}'),
            chunk({}, "tool_calls"),
        ]
    )
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
