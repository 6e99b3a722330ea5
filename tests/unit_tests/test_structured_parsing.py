"""The structured-output parser on hand-built messages: strict final values, typed errors."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_wandb._tools import (
    OutputTruncatedError,
    StructuredMethod,
    parse_structured,
    structured_output_parser,
)
from tests.schemas import Person, PersonDict

CUT_OFF = "answer was cut off before the structured output was complete"
TEAM_SCHEMA: dict[str, Any] = {
    "title": "Team",
    "type": "object",
    "properties": {
        "lead": {"$ref": "#/$defs/Member"},
        "members": {"type": "array", "items": {"$ref": "#/$defs/Member"}},
        "size": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "kind": {"enum": ["small", "large"]},
    },
    "required": ["lead", "members"],
    "$defs": {
        "Member": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        }
    },
}


def cut_off(content: str = '{"name": "Ada", "age": 3', **metadata: Any) -> AIMessage:
    return AIMessage(
        content=content,
        response_metadata={
            "finish_reason": "length",
            "model_name": "openai/gpt-oss-120b",
            **metadata,
        },
        usage_metadata={
            "input_tokens": 5,
            "output_tokens": 64,
            "total_tokens": 69,
            "output_token_details": {"reasoning": 50},
        },
    )


@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
def test_cut_off_answer_raises_with_what_to_do(method: StructuredMethod) -> None:
    parser = structured_output_parser(Person, method=method, max_tokens=64)
    with pytest.raises(OutputTruncatedError, match=CUT_OFF) as caught:
        parser.invoke(cut_off())
    text = str(caught.value)
    assert "openai/gpt-oss-120b's answer" in text
    assert "finish_reason='length', max_tokens=64; 64 output tokens, 50 of them reasoning" in text
    assert "reasoning_effort='low' (this model always reasons)" in text
    assert caught.value.ai_message.content == '{"name": "Ada", "age": 3'
    assert caught.value.llm_output == '{"name": "Ada", "age": 3'
    assert caught.value.max_tokens == 64


def test_cut_off_answer_of_a_switchable_model_suggests_switching_reasoning_off() -> None:
    parser = structured_output_parser(Person, method="json_schema")
    with pytest.raises(
        OutputTruncatedError, match=r"switch reasoning off \(reasoning=False\)"
    ) as caught:
        parser.invoke(cut_off(model_name="some-lab/unknown-model"))
    assert "max_tokens is not set" in str(caught.value)


@pytest.mark.parametrize(
    "text", ["{", '{"name": "Ada", "age": 3', '{"name": "Ada", "age": 36} and more', ""]
)
@pytest.mark.parametrize("schema", [Person, PersonDict, None])
def test_incomplete_json_is_refused_even_when_finished(text: str, schema: type | None) -> None:
    parser = structured_output_parser(schema, method="json_mode")
    message = AIMessage(content=text, response_metadata={"finish_reason": "stop"})
    with pytest.raises(OutputParserException, match="is not valid JSON"):
        parser.invoke(message)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('{"members": []}', "lacks the required 'lead'"),
        ('{"lead": {}, "members": []}', "lacks the required 'name'"),
        ('{"lead": {"name": 1}, "members": []}', "name should be string, got 1"),
        ('{"lead": {"name": "A"}, "members": [{"name": "B"}, {}]}', r"members\[1\] lacks"),
        ('{"lead": {"name": "A"}, "members": [], "size": "big"}', "size fits none of the anyOf"),
        ('{"lead": {"name": "A"}, "members": [], "kind": "huge"}', "kind should be one of"),
        ("[1, 2]", "the answer should be object"),
    ],
)
def test_json_schema_dicts_are_checked(value: str, why: str) -> None:
    parser = structured_output_parser(TEAM_SCHEMA, method="json_schema")
    with pytest.raises(OutputParserException, match=f"does not fit Team: .*{why}"):
        parser.invoke(AIMessage(content=value))


def test_fitting_answers_parse() -> None:
    team = '{"lead": {"name": "A"}, "members": [{"name": "B"}], "size": null, "kind": "small"}'
    assert structured_output_parser(TEAM_SCHEMA, method="json_schema").invoke(
        AIMessage(content=team)
    ) == {"lead": {"name": "A"}, "members": [{"name": "B"}], "size": None, "kind": "small"}
    assert structured_output_parser(PersonDict, method="json_mode").invoke(
        AIMessage(content='```json\n{"name": "Ada", "age": 36}\n```')
    ) == {"name": "Ada", "age": 36}


def test_typeddict_values_are_type_checked() -> None:
    parser = structured_output_parser(PersonDict, method="json_schema")
    with pytest.raises(OutputParserException, match="does not fit PersonDict"):
        parser.invoke(AIMessage(content='{"name": "Ada", "age": "old"}'))


def test_function_calling_without_the_call_raises() -> None:
    parser = structured_output_parser(Person, method="function_calling")
    with pytest.raises(OutputParserException, match="instead of calling the tool 'Person'"):
        parser.invoke(AIMessage(content="Ada is 36.", response_metadata={"finish_reason": "stop"}))
    broken = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "type": "invalid_tool_call",
                "name": "Person",
                "args": '{"name"',
                "id": "c1",
                "error": None,
            }
        ],
    )
    with pytest.raises(
        OutputParserException, match="arguments of the call to 'Person' are not valid JSON"
    ):
        parser.invoke(broken)


def test_streaming_yields_partial_objects_then_the_checked_value() -> None:
    parser = structured_output_parser(PersonDict, method="json_schema")
    pieces = ['{"name": "A', 'da", ', '"age": 36', "}"]
    chunks = [AIMessageChunk(content=piece) for piece in pieces]
    chunks.append(AIMessageChunk(content="", response_metadata={"finish_reason": "stop"}))
    assert list(parser.transform(iter(chunks))) == [
        {"name": "A"},
        {"name": "Ada"},
        {"name": "Ada", "age": 36},
    ]


def test_streaming_a_cut_off_answer_raises_after_the_partial_objects() -> None:
    parser = structured_output_parser(PersonDict, method="json_schema")
    chunks = [
        AIMessageChunk(content='{"name": "Ada", '),
        AIMessageChunk(content='"age": 3', response_metadata={"finish_reason": "length"}),
    ]
    seen: list[object] = []
    with pytest.raises(OutputTruncatedError, match=CUT_OFF):
        seen.extend(parser.transform(iter(chunks)))
    assert seen == [{"name": "Ada"}, {"name": "Ada", "age": 3}]  # partial, as they streamed


def test_response_format_class_parse_is_strict() -> None:
    assert parse_structured(AIMessage(content='{"name": "Ada", "age": 36}'), Person) == Person(
        name="Ada", age=36
    )
    with pytest.raises(OutputTruncatedError, match=CUT_OFF):
        parse_structured(cut_off(), Person)
