"""`function_calling` structured output when the model reports a cut-off tool call.

The model raises for a tool call cut off mid-arguments (`OutputTruncatedError` at
`max_tokens`, `ToolCallCutOffError` otherwise). Under `with_structured_output` that call is
the answer: `invoke` hands the message on for the parser to refuse, and a stream raises the
parser's error, in the words of structured output.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel

from langchain_wandb._chunks import merge_strictly
from langchain_wandb._errors import ToolCallCutOffError
from langchain_wandb._tools import (
    OutputTruncatedError,
    _CutOffToolCallAsAnswer,
    structured_output_parser,
)


class Person(BaseModel):
    """A person."""

    name: str


def _message(*calls: tuple[str, str], finish_reason: str) -> AIMessageChunk:
    chunks = [
        tool_call_chunk(name=n, args=a, id=f"c{i}", index=i) for i, (n, a) in enumerate(calls)
    ]
    chunk = AIMessageChunk(
        content="", tool_call_chunks=chunks, response_metadata={"finish_reason": finish_reason}
    )
    return merge_strictly([chunk])


def _truncated() -> OutputTruncatedError:
    message = _message(("Person", '{"name": "A'), finish_reason="length")
    fields = message.model_dump(exclude={"type", "tool_call_chunks", "chunk_position"})
    return OutputTruncatedError.from_message(
        AIMessage(**fields), max_tokens=5, what="the tool call to 'Person'"
    )


def _cut_off(*calls: tuple[str, str]) -> ToolCallCutOffError:
    error = ToolCallCutOffError("cut off")
    error.partial = _message(*calls, finish_reason="stop")
    return error


def _wrapper(error: Exception) -> _CutOffToolCallAsAnswer:
    def fail(_: Any) -> BaseMessage:
        raise error

    parser = structured_output_parser(Person, method="function_calling")
    return _CutOffToolCallAsAnswer(bound=RunnableLambda(fail), parser=parser)


def _stream(wrapper: _CutOffToolCallAsAnswer, api: str) -> None:
    if api == "stream":
        list(wrapper.stream("hi"))
    else:

        async def collect() -> None:
            _ = [chunk async for chunk in wrapper.astream("hi")]

        asyncio.run(collect())


@pytest.mark.parametrize("api", ["invoke", "ainvoke"])
@pytest.mark.parametrize("kind", ["truncated", "cut-off"])
def test_invoke_hands_the_cut_off_message_on(kind: str, api: str) -> None:
    error = _truncated() if kind == "truncated" else _cut_off(("Person", '{"name": "A'))
    wrapper = _wrapper(error)
    message = wrapper.invoke("hi") if api == "invoke" else asyncio.run(wrapper.ainvoke("hi"))
    assert isinstance(message, AIMessage)
    assert [c["args"] for c in message.invalid_tool_calls] == ['{"name": "A']


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_a_stream_cut_off_at_max_tokens_says_structured_output(api: str) -> None:
    with pytest.raises(OutputTruncatedError, match="before the structured output was complete"):
        _stream(_wrapper(_truncated()), api)


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_a_stream_with_cut_off_arguments_raises_the_parser_error(api: str) -> None:
    with pytest.raises(OutputParserException, match="call to 'Person' are not valid JSON"):
        _stream(_wrapper(_cut_off(("Person", '{"name": "A'))), api)


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_a_cut_off_call_that_was_not_the_answer_keeps_the_model_error(api: str) -> None:
    error = _cut_off(("Person", '{"name": "Ada"}'), ("Other", '{"x": '))
    with pytest.raises(ToolCallCutOffError) as caught:
        _stream(_wrapper(error), api)
    assert caught.value is error
