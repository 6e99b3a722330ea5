"""Structured output never returns a plausible value for an answer that cannot be right.

Every method, streamed and plain requests, sync and async, with and without include_raw:
an answer cut off at max_tokens raises `OutputTruncatedError`; a broken stream raises
`StreamEndedEarlyError`; JSON that is incomplete or does not fit the schema, and a
function_calling answer in prose, raise `OutputParserException`, never `None` or `{}`.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable

from langchain_wandb import OutputTruncatedError, StreamEndedEarlyError
from langchain_wandb._tools import StructuredMethod
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator
from tests.schemas import Person, PersonDict

METHODS: list[StructuredMethod] = ["json_schema", "function_calling", "json_mode"]
APIS = ["invoke", "ainvoke", "stream", "astream"]
CUT = '{"name": "Ada", "age": 3'
CUT_OFF = "answer was cut off before the structured output was complete"
PROMPT = "Who is Ada?"
# Large enough that the emulator never cuts the scripted replies itself.
BUDGET = 4096


PERSON_SCHEMA = {
    "title": "Person",
    "description": "A person.",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def scripted(
    method: StructuredMethod, text: str, *, finish_reason: str | None = None, name: str = "Person"
) -> Reply:
    """The reply that carries `text` as the answer: tool arguments or content."""
    if method == "function_calling":
        return Reply(
            tool_calls=[ToolCallReply(name, text, id="call_1")], finish_reason=finish_reason
        )
    return Reply(content=text, finish_reason=finish_reason)


async def run(runnable: Runnable[LanguageModelInput, Any], api: str) -> Any:
    """Run through one public API; streams return their last part."""
    if api == "invoke":
        return runnable.invoke(PROMPT)
    if api == "ainvoke":
        return await runnable.ainvoke(PROMPT)
    parts = (
        list(runnable.stream(PROMPT))
        if api == "stream"
        else [part async for part in runnable.astream(PROMPT)]
    )
    return parts[-1] if parts else None


def answer_text(message: AIMessage) -> str:
    """What the model wrote as its answer: the text, or the tool call's raw arguments."""
    for call in message.invalid_tool_calls:
        return str(call["args"])
    for tool_call in message.tool_calls:
        return json.dumps(tool_call["args"])
    return message.text


# -- finish_reason="length" ----------------------------------------------------------------
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("method", METHODS)
async def test_cut_off_answer_raises_truncated_error(
    emulator: WandbEmulator,
    method: StructuredMethod,
    streaming: bool,
    api: str,
) -> None:
    emulator.script(scripted(method, CUT, finish_reason="length"))
    llm = emulator.chat_model(max_retries=0, streaming=streaming, max_tokens=BUDGET)
    runnable = llm.with_structured_output(Person, method=method)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        with pytest.raises(OutputTruncatedError, match=CUT_OFF) as caught:
            await run(runnable, api)
    # Part of the answer arrived: no warning may claim that none did.
    assert [str(w.message) for w in warned if "returned no answer" in str(w.message)] == []
    error = caught.value
    assert isinstance(
        error, OutputParserException
    )  # LangChain's retry machinery sees a parse failure
    text = str(error)
    assert "finish_reason='length'" in text
    assert f"max_tokens={BUDGET}" in text
    assert "openai/gpt-oss-120b" in text
    assert "reasoning" in text
    assert error.ai_message.response_metadata["finish_reason"] == "length"
    assert answer_text(error.ai_message).startswith(CUT)
    assert emulator.chat_requests[-1]["stream"] is streaming


@pytest.mark.parametrize("api", ["invoke", "ainvoke"])
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("method", METHODS)
async def test_cut_off_answer_with_include_raw_is_a_parsing_error(
    emulator: WandbEmulator, method: StructuredMethod, streaming: bool, api: str
) -> None:
    emulator.script(scripted(method, CUT, finish_reason="length"))
    llm = emulator.chat_model(max_retries=0, streaming=streaming)
    runnable = llm.with_structured_output(Person, method=method, include_raw=True)
    result = await run(runnable, api)
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], OutputTruncatedError)
    assert "max_tokens is not set" in str(result["parsing_error"])
    assert result["raw"].response_metadata["finish_reason"] == "length"
    assert result["parsing_error"].ai_message is result["raw"]


@pytest.mark.parametrize("api", ["stream", "astream"])
@pytest.mark.parametrize("method", METHODS)
async def test_cut_off_answer_streamed_with_include_raw_raises_at_the_end(
    emulator: WandbEmulator, method: StructuredMethod, api: str
) -> None:
    # LangChain's fallback (which fills parsing_error) cannot catch an error after the
    # first streamed part, so a stream yields the raw chunks and then raises.
    emulator.script(scripted(method, CUT, finish_reason="length"))
    runnable = emulator.chat_model(max_retries=0).with_structured_output(
        Person,
        method=method,
        include_raw=True,
    )
    parts: list[object] = []
    with pytest.raises(OutputTruncatedError, match=CUT_OFF):
        if api == "stream":
            parts.extend(runnable.stream(PROMPT))
        else:
            parts.extend([part async for part in runnable.astream(PROMPT)])


@pytest.mark.parametrize("method", METHODS)
def test_complete_json_cut_off_after_it_still_raises(
    emulator: WandbEmulator, method: StructuredMethod
) -> None:
    # ChatOpenAI raises LengthFinishReasonError here too: the budget ran out, whatever the text.
    emulator.script(scripted(method, '{"name": "Ada", "age": 36}', finish_reason="length"))
    runnable = emulator.chat_model(max_retries=0).with_structured_output(Person, method=method)
    with pytest.raises(OutputTruncatedError, match="finish_reason='length'"):
        runnable.invoke(PROMPT)


def test_cut_off_reasoning_answer_names_the_reasoning_spent(emulator: WandbEmulator) -> None:
    emulator.script(
        Reply(reasoning="Let me think about Ada at length", content="", finish_reason="length")
    )
    runnable = emulator.chat_model(max_retries=0, max_tokens=7).with_structured_output(Person)
    with pytest.raises(OutputTruncatedError, match=r"7 of them reasoning") as caught:
        runnable.invoke(PROMPT)
    assert "reasoning_effort='low'" in str(caught.value)  # gpt-oss always reasons
    assert "max_tokens=7" in str(caught.value)


# -- a stream that ends early ----------------------------------------------------------------
@pytest.mark.parametrize("include_raw", [False, True])
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("method", METHODS)
async def test_broken_stream_raises_stream_ended_early(
    emulator: WandbEmulator, method: StructuredMethod, api: str, include_raw: bool
) -> None:
    # A broken connection is a transport failure (retry the request), not a parse
    # failure: it raises even with include_raw, as ChatOpenAI's connection error does.
    if method == "function_calling":
        reply = Reply(
            content="Calling the tool now",
            tool_calls=[ToolCallReply("Person", {"name": "Ada", "age": 36})],
            truncate_after=2,
        )
    else:
        reply = Reply(content='{"name": "Ada", "age": 36}', truncate_after=3)
    emulator.script(reply)
    runnable = emulator.chat_model(max_retries=0).with_structured_output(
        Person,
        method=method,
        include_raw=include_raw,
    )
    with pytest.raises(StreamEndedEarlyError, match="ended early") as caught:
        await run(runnable, api)
    assert caught.value.partial is not None
    assert caught.value.partial.text


# -- JSON that cannot be right -------------------------------------------------------------
@pytest.mark.parametrize("include_raw", [False, True])
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "schema", [Person, PersonDict, PERSON_SCHEMA], ids=["pydantic", "typeddict", "json-schema"]
)
@pytest.mark.parametrize(
    "text", ["{", CUT, "{}", '{"name": "Ada"}', '{"name": "Ada", "age": "old"}']
)
@pytest.mark.parametrize("method", METHODS)
async def test_json_that_cannot_be_right_is_refused(
    emulator: WandbEmulator,
    method: StructuredMethod,
    text: str,
    schema: type | dict[str, Any],
    api: str,
    include_raw: bool,
) -> None:
    name = schema.__name__ if isinstance(schema, type) else "Person"
    emulator.script(scripted(method, text, name=name))
    runnable = emulator.chat_model(max_retries=0).with_structured_output(
        schema,
        method=method,
        include_raw=include_raw,
    )
    # Invalid JSON or JSON that does not fit, named with the schema it was meant for.
    refused = (
        rf"The (answer does not fit {name}: |answer for {name} is not valid JSON"
        rf"|arguments of the call to '{name}' are not valid JSON)"
    )
    if not include_raw:
        with pytest.raises(OutputParserException, match=refused):
            await run(runnable, api)
        return
    if api in ("stream", "astream"):  # the error comes after the first part: it raises
        with pytest.raises(OutputParserException, match=refused):
            await run(runnable, api)
        return
    result = await run(runnable, api)
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], OutputParserException)
    assert not isinstance(result["parsing_error"], OutputTruncatedError)


@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
def test_lone_brace_in_json_mode_without_schema_raises(
    emulator: WandbEmulator, method: StructuredMethod
) -> None:
    emulator.script(Reply(content="{"))
    runnable = emulator.chat_model(max_retries=0).with_structured_output(
        None if method == "json_mode" else PERSON_SCHEMA,
        method=method,
    )
    with pytest.raises(OutputParserException, match="not valid JSON"):
        runnable.invoke(PROMPT)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("method", METHODS)
async def test_valid_answers_still_parse_and_stream(
    emulator: WandbEmulator, method: StructuredMethod, api: str
) -> None:
    emulator.script(
        scripted(
            method,
            '```json\n{"name": "Ada", "age": 36}\n```'
            if method == "json_mode"
            else '{"name": "Ada", "age": 36}',
        )
    )
    runnable = emulator.chat_model(max_retries=0).with_structured_output(Person, method=method)
    assert await run(runnable, api) == Person(name="Ada", age=36)


def test_streamed_structured_output_still_yields_partial_objects(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content='{"name": "Ada Lovelace", "age": 36}'))
    parts = list(emulator.chat_model().with_structured_output(PersonDict).stream(PROMPT))
    assert parts[0] == {}  # partial objects while the JSON arrives, as before
    assert len(parts) > 2
    assert parts[-1] == {"name": "Ada Lovelace", "age": 36}


# -- function_calling answered in prose ------------------------------------------------------
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
async def test_function_calling_prose_answer_raises(
    emulator: WandbEmulator, streaming: bool, api: str
) -> None:
    emulator.script(Reply(content="Ada Lovelace was 36."))
    llm = emulator.chat_model(max_retries=0, streaming=streaming)
    runnable = llm.with_structured_output(Person, method="function_calling")
    with pytest.raises(
        OutputParserException, match="instead of calling the tool 'Person'"
    ) as caught:
        await run(runnable, api)
    assert "Ada Lovelace was 36." in str(caught.value)
    assert "json_schema" in str(caught.value)


@pytest.mark.parametrize("schema", [Person, PERSON_SCHEMA], ids=["pydantic", "json-schema"])
def test_function_calling_prose_with_include_raw_is_a_parsing_error(
    emulator: WandbEmulator, schema: type | dict[str, Any]
) -> None:
    emulator.script(Reply(content="Ada Lovelace was 36."))
    result = (
        emulator.chat_model(max_retries=0)
        .with_structured_output(schema, method="function_calling", include_raw=True)
        .invoke(PROMPT)
    )
    assert isinstance(result, dict)
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], OutputParserException)
    assert result["raw"].content == "Ada Lovelace was 36."


def test_function_calling_after_tool_choice_relaxed_to_auto_raises(
    emulator: WandbEmulator,
) -> None:
    # W&B refuses the forced choice; the retry with "auto" gets a prose answer.
    emulator.script(
        Reply(status=400, error_message="tool_choice 'function' is not supported"),
        Reply(content="Ada Lovelace was 36."),
    )
    runnable = emulator.chat_model(max_retries=0).with_structured_output(
        Person, method="function_calling"
    )
    with pytest.raises(OutputParserException, match="instead of calling the tool 'Person'"):
        runnable.invoke(PROMPT)
    assert [body.get("tool_choice") for body in emulator.chat_requests][-1] == "auto"
