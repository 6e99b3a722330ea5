"""Unexpected wire shapes and broken tool arguments: typed errors or invalid tool calls.

Never a raw KeyError/TypeError/JSONDecodeError, never a lost partial answer, and an
invalid tool call shows the server's own argument text.
"""

from __future__ import annotations

from functools import reduce
from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from langchain_wandb._chunks import (
    StreamState,
    chunk_to_generation,
    final_generation,
    is_cut_off_object,
    keep_partial,
    merge_strictly,
    response_to_result,
)
from langchain_wandb._errors import MalformedResponseError

HELLO = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hello"}}]}


def stream(datas: list[dict[str, Any]]) -> AIMessageChunk:
    """Convert chunks as the decoder does; a stream error gets the partial answer."""
    state = StreamState()
    received: list[ChatGenerationChunk] = []
    with keep_partial(received):
        for data in datas:
            if (generation := chunk_to_generation(data, state)) is not None:
                received.append(generation)
        received.append(final_generation(state))
    return reduce(lambda a, b: a + b, (cast("AIMessageChunk", g.message) for g in received))


def with_delta(**delta: Any) -> dict[str, Any]:
    return {"id": "c1", "choices": [{"index": 0, "delta": delta}]}


STREAM_SHAPES: list[tuple[str, dict[str, Any], str]] = [
    (
        "choices-object",
        {"choices": {"0": {"delta": {}}}},
        "chunk.choices is an object, expected an array",
    ),
    ("choice-string", {"choices": ["hi"]}, r"chunk.choices\[0\] is a string, expected an object"),
    ("delta-string", {"choices": [{"delta": "hi"}]}, "delta is a string, expected an object"),
    ("content-number", with_delta(content=3), "delta.content is a number, expected a string"),
    ("reasoning-list", with_delta(reasoning=["a"]), "delta.reasoning is an array"),
    ("tool-calls-object", with_delta(tool_calls={"index": 0}), "delta.tool_calls is an object"),
    ("tool-call-string", with_delta(tool_calls=["f"]), r"delta.tool_calls\[\] is a string"),
    (
        "function-string",
        with_delta(tool_calls=[{"index": 0, "function": "f"}]),
        "function is a string",
    ),
    (
        "arguments-object",
        with_delta(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": {"a": 1}}}]),
        r"delta.tool_calls\[\].function.arguments is an object, expected a string",
    ),
    ("index-string", with_delta(tool_calls=[{"index": "0"}]), r"tool_calls\[\].index is a string"),
    (
        "usage-string",
        {"choices": [], "usage": "12 tokens"},
        "chunk.usage is a string, expected an object",
    ),
    (
        "usage-count-string",
        {"choices": [], "usage": {"prompt_tokens": "3"}},
        "usage.prompt_tokens is a string",
    ),
    (
        "usage-details-list",
        {"choices": [], "usage": {"prompt_tokens_details": [1]}},
        "usage.prompt_tokens_details is an array",
    ),
    (
        "finish-reason-bool",
        {"choices": [{"delta": {}, "finish_reason": True}]},
        "finish_reason is a boolean",
    ),
    ("logprobs-list", {"choices": [{"delta": {}, "logprobs": [1]}]}, "logprobs is an array"),
]


@pytest.mark.parametrize(
    ("bad", "match"), [c[1:] for c in STREAM_SHAPES], ids=[c[0] for c in STREAM_SHAPES]
)
def test_malformed_stream_data_is_a_typed_error_that_keeps_the_partial(
    bad: dict[str, Any], match: str
) -> None:
    with pytest.raises(MalformedResponseError, match=match) as caught:
        stream([HELLO, bad])
    assert caught.value.partial is not None
    assert caught.value.partial.content == "Hello"


@pytest.mark.parametrize(
    "bad",
    [{"id": 7, "choices": []}, {"model": ["m"], "choices": []}],
    ids=["id-number", "model-list"],
)
def test_malformed_first_chunk_metadata_is_a_typed_error(bad: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError, match=r"chunk\.(id|model) is"):
        stream([bad])


def tool_stream(*fragments: str, finish: str = "tool_calls") -> AIMessageChunk:
    first = {"index": 0, "id": "t1", "type": "function", "function": {"name": "f"}}
    calls = [first] + [{"index": 0, "function": {"arguments": f}} for f in fragments]
    datas = [with_delta(tool_calls=[call]) for call in calls]
    return stream([*datas, {"choices": [{"delta": {}, "finish_reason": finish}]}])


# Arguments that are not a JSON object and that LangChain's partial-JSON parser cannot
# make one of: the invalid tool call carries exactly what the server sent.
EXACT_INVALID = [
    '"abc\\q def',  # a bare string with an invalid escape (seen from a real vLLM server)
    '["a\\qb',  # an array with an invalid escape
    '"abc"',  # a bare string
    "[1, 2]",  # an array
    "42",
    '{"a": 1}}',  # one closing brace too many
]


@pytest.mark.parametrize("args", EXACT_INVALID)
def test_streamed_arguments_that_are_not_an_object_are_invalid_with_the_server_text(
    args: str,
) -> None:
    for cut in range(1, len(args)):
        message = tool_stream(args[:cut], args[cut:])
        assert message.tool_calls == []
        assert [(c["name"], c["args"], c["id"]) for c in message.invalid_tool_calls] == [
            ("f", args, "t1")
        ]


@pytest.mark.parametrize("args", ['{"a": "unterminated', '{"a": [1, 2', '{"a": "esc\\'])
def test_cut_off_object_arguments_carry_exactly_the_server_text(args: str) -> None:
    for cut in range(1, len(args)):
        message = tool_stream(args[:cut], args[cut:], finish="length")
        # The chunks carry the server's fragments, nothing appended (LangChain's merge
        # then repairs them into a call: the model raises at the stream's end for that).
        assert [c["args"] for c in message.tool_call_chunks] == [args]
        assert is_cut_off_object(args)
        strict = merge_strictly([message])
        assert strict.tool_calls == []
        assert [(c["name"], c["args"], c["id"]) for c in strict.invalid_tool_calls] == [
            ("f", args, "t1")
        ]


def test_arguments_with_raw_newlines_are_a_valid_call_as_langchain_parses_them() -> None:
    message = tool_stream('{"text": "line 1\nline 2"}')
    assert message.tool_calls[0]["args"] == {"text": "line 1\nline 2"}


def response(message: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "r1", "model": "m", "choices": [{"index": 0, "message": message}], **top}


def call(arguments: object) -> dict[str, Any]:
    """A tool call whose `arguments` may be any JSON value (W&B should send a string)."""
    return {"id": "t1", "type": "function", "function": {"name": "f", "arguments": arguments}}


RESPONSE_SHAPES: list[tuple[str, dict[str, Any], str]] = [
    ("choices-object", {"choices": {"0": {}}}, "response.choices is an object"),
    (
        "message-string",
        {"choices": [{"message": "hi"}]},
        r"response.choices\[0\].message is a string",
    ),
    ("content-list", response({"content": [1]}), "message.content is an array"),
    (
        "tool-calls-object",
        response({"tool_calls": {"0": call("{}")}}),
        "message.tool_calls is an object",
    ),
    ("tool-call-string", response({"tool_calls": ["f"]}), r"message.tool_calls\[\] is a string"),
    ("arguments-object", response({"tool_calls": [call({"a": 1})]}), "arguments is an object"),
    ("usage-string", response({"content": "x"}, usage="12"), "response.usage is a string"),
    ("id-number", response({"content": "x"}, id=5), "response.id is a number"),
]


@pytest.mark.parametrize(
    ("data", "match"), [c[1:] for c in RESPONSE_SHAPES], ids=[c[0] for c in RESPONSE_SHAPES]
)
def test_malformed_response_is_a_typed_error(data: dict[str, Any], match: str) -> None:
    with pytest.raises(MalformedResponseError, match=match):
        response_to_result(data)


@pytest.mark.parametrize("args", [*EXACT_INVALID, '{"a": "unterminated', "{bad"])
def test_response_arguments_that_are_not_an_object_are_invalid_with_the_server_text(
    args: str,
) -> None:
    message = response_to_result(response({"tool_calls": [call(args)]})).generations[0].message
    assert isinstance(message, AIMessage)
    assert message.tool_calls == []
    assert [(c["name"], c["args"], c["id"]) for c in message.invalid_tool_calls] == [
        ("f", args, "t1")
    ]
    assert message.invalid_tool_calls[0]["error"]


@pytest.mark.parametrize("args", [None, "", "null"])
def test_response_without_arguments_is_a_call_with_none(args: str | None) -> None:
    message = response_to_result(response({"tool_calls": [call(args)]})).generations[0].message
    assert isinstance(message, AIMessage)
    assert message.tool_calls == [{"name": "f", "args": {}, "id": "t1", "type": "tool_call"}]


@pytest.mark.parametrize("v1", [False, True], ids=["v0", "v1"])
@pytest.mark.parametrize("args", ["n", "nu", "nul"])
def test_held_back_fragments_reach_the_closing_chunk_without_a_finish_reason(
    args: str, v1: bool
) -> None:
    # Fragments that could still spell `null` wait; a server that sends no finish reason
    # ends with [DONE] alone, and what waited must still be shown, as it came.
    state = StreamState(v1=v1)
    first = {"index": 0, "id": "t1", "function": {"name": "f", "arguments": args}}
    received = [chunk_to_generation(with_delta(tool_calls=[first]), state)]
    received.append(final_generation(state))
    messages = [cast("AIMessageChunk", g.message) for g in received if g is not None]
    merged = reduce(lambda a, b: a + b, messages)
    assert [c["args"] for c in merged.tool_call_chunks] == [args]
    assert messages[-1].chunk_position == "last"
