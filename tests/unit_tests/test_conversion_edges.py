"""Edges of the conversion modules that the main suites do not reach, each a behaviour."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import Generation
from pydantic import BaseModel, SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb._chunks import (
    StreamState,
    chunk_to_generation,
    final_generation,
    is_cut_off_object,
)
from langchain_wandb._errors import EventTooLargeError, NoAnswerError
from langchain_wandb._messages import messages_to_dicts
from langchain_wandb._request import check_body
from langchain_wandb._sse import EventStreamParser, decode_stream
from langchain_wandb._sse import StreamState as SseState
from langchain_wandb._tools import (
    OutputTruncatedError,
    json_schema_response_format,
    structured_output_parser,
    tool_choice_field,
)

FORM = {
    "type": "json_schema",
    "json_schema": {
        "name": "Point",
        "schema": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
    },
}


class Point(BaseModel):
    """A point."""

    x: int


# -- tools and structured output -----------------------------------------------------------
def test_a_ready_made_response_format_works_as_a_schema() -> None:
    parser = structured_output_parser(FORM, method="json_schema")
    assert parser.parse('{"x": 1}') == {"x": 1}
    with pytest.raises(OutputParserException, match="does not fit Point"):
        parser.parse('{"x": "one"}')
    assert json_schema_response_format(FORM, strict=None) is FORM
    llm = ChatWandbInference(api_key=SecretStr("k"))
    assert llm.with_structured_output(FORM) is not None


def test_tool_choice_forms() -> None:
    assert tool_choice_field({"type": "function"}, ["f"]) == {"type": "function"}
    with pytest.raises(TypeError, match="tool_choice must be a str, bool or dict"):
        tool_choice_field(3, ["f"])  # type: ignore[arg-type]


def test_a_model_that_never_reasons_is_only_told_to_raise_max_tokens() -> None:
    message = AIMessage(
        '{"x": ',
        response_metadata={"finish_reason": "length", "model_name": "deepseek-ai/DeepSeek-V3.1"},
    )
    with pytest.raises(OutputTruncatedError) as caught:
        structured_output_parser(Point, method="json_schema").invoke(message)
    assert "Raise max_tokens. The cut-off" in str(caught.value)
    assert "reasoning" not in str(caught.value).split("Raise max_tokens")[1]


def test_the_parser_reads_text_and_plain_generations() -> None:
    parser = structured_output_parser(Point, method="json_schema")
    assert parser._type == "wandb_structured_output"
    assert parser.parse_result([Generation(text='{"x": 2}')]) == Point(x=2)
    assert structured_output_parser(None, method="json_mode").parse('{"any": [1]}') == {"any": [1]}


def test_the_parser_streams_text_and_async() -> None:
    parser = structured_output_parser(Point, method="json_schema")
    assert list(parser.transform(iter(['{"x"', ": 3}"]))) == [Point(x=3)]
    assert list(parser.transform(iter([]))) == []

    any_json = structured_output_parser(None, method="json_mode")

    async def collect() -> list[Any]:
        async def pieces() -> Any:
            for piece in ('{"x": 4', ', "y": 5', "}"):
                yield AIMessageChunk(content=piece)

        return [value async for value in any_json.atransform(pieces())]

    assert asyncio.run(collect()) == [{"x": 4}, {"x": 4, "y": 5}]


def test_function_calling_reads_only_the_named_tool() -> None:
    parser = structured_output_parser(Point, method="function_calling")
    message = AIMessage(
        "",
        tool_calls=[{"name": "other", "args": {"x": 9}, "id": "a", "type": "tool_call"}],
        invalid_tool_calls=[
            {"name": "other", "args": "{", "id": "b", "error": None, "type": "invalid_tool_call"},
            {
                "name": "Point",
                "args": '{"x": ',
                "id": "c",
                "error": None,
                "type": "invalid_tool_call",
            },
        ],
    )
    with pytest.raises(OutputParserException, match="call to 'Point' are not valid JSON"):
        parser.invoke(message)


# -- chunks --------------------------------------------------------------------------------
def test_an_id_that_comes_after_the_first_fragment_names_the_call() -> None:
    state = StreamState()
    datas: list[dict[str, Any]] = [
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}}]},
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "a", "function": {"arguments": "{}"}}]
                    }
                }
            ]
        },
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
    ]
    messages = [g.message for d in datas if (g := chunk_to_generation(d, state)) is not None]
    messages.append(final_generation(state).message)
    merged: Any = sum(messages[1:], messages[0])
    assert [(c["name"], c["args"], c["id"]) for c in merged.tool_calls] == [("f", {}, "a")]


@pytest.mark.parametrize("text", ["[1, 2]", '"abc"', "42", '{"a": 1}}', "nope"])
def test_text_that_is_json_or_unrepairable_is_not_a_cut_off_object(text: str) -> None:
    assert not is_cut_off_object(text)


# -- the event stream ----------------------------------------------------------------------
def test_a_reply_of_half_a_bom_is_not_an_event_stream() -> None:
    with pytest.raises(NoAnswerError, match="not an event stream"):
        list(decode_stream([b"\xef\xbb"], SseState()))


def test_an_unterminated_last_data_line_counts_toward_the_event_limit() -> None:
    parser = EventStreamParser(max_event_bytes=10)
    assert parser.feed(b"data:12345\n") == []
    assert parser.feed(b"data:12345") == []
    with pytest.raises(EventTooLargeError, match="an event"):
        parser.close()


def test_text_that_is_not_events_is_kept_only_up_to_a_bound() -> None:
    parser = EventStreamParser()
    line = b"x" * 1000 + b"\n"
    for _ in range(100):
        parser.feed(line)
    assert 64 * 1024 <= len(parser.stray) < 64 * 1024 + 100


# -- requests ------------------------------------------------------------------------------
def test_tools_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="tools must be a list"):
        check_body({"tools": {"name": "f"}})


def test_a_conversation_without_a_user_message_sends_the_current_loop_reasoning() -> None:
    messages = [
        SystemMessage("Be brief."),
        AIMessage("", additional_kwargs={"reasoning_content": "think"}, name="bot"),
    ]
    sent = messages_to_dicts(messages, send_reasoning=True)
    assert sent[1]["reasoning_content"] == "think"
    assert sent[1]["name"] == "bot"


def test_content_of_the_wrong_type_is_named() -> None:
    message = HumanMessage.model_construct(content=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content must be a string or a list"):
        messages_to_dicts([message])


def test_tool_results_go_back_as_plain_text() -> None:
    result = ToolMessage(
        content=["line 1", {"type": "text", "text": "line 2"}, {"type": "image", "url": "u"}],
        tool_call_id="a",
    )
    sent = messages_to_dicts([HumanMessage("hi"), result])
    assert sent[1]["content"].split("\n")[:2] == ["line 1", "line 2"]
    assert '"image_url"' in sent[1]["content"].split("\n")[2]  # as JSON text


def test_a_final_value_that_differs_from_the_last_partial_one_is_yielded() -> None:
    from langchain_core.output_parsers import StrOutputParser

    from langchain_wandb._tools import StructuredOutputParser

    # The partial parser shows the text; the checked final value is the parsed JSON.
    parser = StructuredOutputParser(partial_parser=StrOutputParser())
    assert list(parser.transform(iter(['{"x"', ": 1}"]))) == ['{"x"', '{"x": 1}', {"x": 1}]

    async def collect() -> list[Any]:
        async def pieces() -> Any:
            yield '{"x": 1}'

        return [value async for value in parser.atransform(pieces())]

    assert asyncio.run(collect()) == ['{"x": 1}', {"x": 1}]
