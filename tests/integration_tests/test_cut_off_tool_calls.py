"""A tool call cut off mid-arguments: a typed error, and never a byte the server did not send.

LangChain's chunk merging reads `{"city": "Par` as the call `{"city": "Par"}`: a wrong
answer that looks right. So the stream raises at its end (after every chunk, each
carrying exactly the server's fragments), and the error's message lists the call as
invalid with the server's own text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool

from langchain_wandb import MalformedResponseError, OutputTruncatedError
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

CUT = '{"city": "Par'
APIS = ["stream", "astream", "invoke", "ainvoke"]


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is sunny in {city}."


def _run(
    emulator: WandbEmulator, api: str, *, streaming: bool, shown: list[AIMessageChunk]
) -> None:
    llm = emulator.chat_model(max_retries=0, streaming=streaming).bind_tools([get_weather])
    if api == "stream":
        shown.extend(llm.stream("Weather in Paris?"))  # type: ignore[arg-type]
    elif api == "astream":

        async def collect() -> None:
            shown.extend([chunk async for chunk in llm.astream("Weather in Paris?")])  # type: ignore[misc]

        asyncio.run(collect())
    elif api == "invoke":
        llm.invoke("Weather in Paris?")
    else:
        asyncio.run(llm.ainvoke("Weather in Paris?"))


def _shown_args(shown: list[AIMessageChunk]) -> str:
    """Every argument fragment the streamed chunks carried, joined."""
    return "".join(call["args"] or "" for chunk in shown for call in chunk.tool_call_chunks)


def _only_invalid(message: AIMessage, args: str) -> None:
    assert message.tool_calls == []
    assert [(c["name"], c["args"], c["id"]) for c in message.invalid_tool_calls] == [
        ("get_weather", args, "c1")
    ]


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("api", APIS)
def test_a_tool_call_cut_off_by_max_tokens_raises_with_the_server_text(
    emulator: WandbEmulator, api: str, streaming: bool
) -> None:
    emulator.script(
        Reply(tool_calls=[ToolCallReply("get_weather", CUT, id="c1")], finish_reason="length")
    )
    shown: list[AIMessageChunk] = []
    with pytest.raises(OutputTruncatedError) as caught:
        _run(emulator, api, streaming=streaming, shown=shown)
    text = str(caught.value)
    assert "the tool call to 'get_weather'" in text
    assert "structured output" not in text
    assert "the call cannot run" in text
    _only_invalid(caught.value.ai_message, CUT)
    assert caught.value.llm_output == CUT
    if shown:
        assert _shown_args(shown) == CUT


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("api", APIS)
def test_cut_off_arguments_without_max_tokens_are_a_typed_error(
    emulator: WandbEmulator, api: str, streaming: bool
) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("get_weather", CUT, id="c1")]))
    shown: list[AIMessageChunk] = []
    with pytest.raises(MalformedResponseError, match="cut off") as caught:
        _run(emulator, api, streaming=streaming, shown=shown)
    assert CUT in str(caught.value)
    partial = caught.value.partial
    assert partial is not None
    _only_invalid(partial, CUT)
    if shown:
        assert _shown_args(shown) == CUT


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_a_whole_call_streams_exactly_and_is_a_call(emulator: WandbEmulator, api: str) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("get_weather", '{"city": "Paris"}', id="c1")]))
    shown: list[AIMessageChunk] = []
    _run(emulator, api, streaming=True, shown=shown)
    assert _shown_args(shown) == '{"city": "Paris"}'
    merged: Any = sum(shown[1:], shown[0])
    assert merged.tool_calls[0]["args"] == {"city": "Paris"}


@tool
def get_time(zone: str) -> str:
    """Get the time in a time zone."""
    return f"It is noon in {zone}."


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("api", APIS)
def test_the_error_names_the_call_that_was_cut_not_a_whole_one_before_it(
    emulator: WandbEmulator, api: str, streaming: bool
) -> None:
    emulator.script(
        Reply(
            tool_calls=[
                ToolCallReply("get_weather", '{"city": "Paris"}', id="c1"),
                ToolCallReply("get_time", '{"zone": "Eu', id="c2"),
            ],
            finish_reason="length",
        )
    )
    llm = emulator.chat_model(max_retries=0, streaming=streaming).bind_tools(
        [get_weather, get_time]
    )
    shown: list[AIMessageChunk] = []
    with pytest.raises(OutputTruncatedError) as caught:
        if api == "stream":
            shown.extend(llm.stream("Weather and time?"))  # type: ignore[arg-type]
        elif api == "astream":

            async def collect() -> None:
                shown.extend([chunk async for chunk in llm.astream("Weather and time?")])  # type: ignore[misc]

            asyncio.run(collect())
        elif api == "invoke":
            llm.invoke("Weather and time?")
        else:
            asyncio.run(llm.ainvoke("Weather and time?"))
    text = str(caught.value)
    assert "the tool call to 'get_time'" in text
    assert "get_weather" not in text
    message = caught.value.ai_message
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert [(c["name"], c["args"]) for c in message.invalid_tool_calls] == [
        ("get_time", '{"zone": "Eu')
    ]
    if shown:
        assert _shown_args(shown) == '{"city": "Paris"}{"zone": "Eu'


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("api", APIS)
def test_a_call_cut_before_any_argument_is_invalid_with_the_empty_text_sent(
    emulator: WandbEmulator, api: str, streaming: bool
) -> None:
    """Core reads arguments `""` as `{}`: the error must not offer that as a runnable call."""
    emulator.script(
        Reply(tool_calls=[ToolCallReply("get_weather", "", id="c1")], finish_reason="length")
    )
    shown: list[AIMessageChunk] = []
    with pytest.raises(OutputTruncatedError) as caught:
        _run(emulator, api, streaming=streaming, shown=shown)
    assert "the tool call to 'get_weather'" in str(caught.value)
    _only_invalid(caught.value.ai_message, "")
    assert caught.value.llm_output == ""
    if shown:
        assert _shown_args(shown) == ""


@pytest.mark.parametrize("finish_reason", ["length", None], ids=["max_tokens", "cut"])
def test_v1_content_blocks_of_a_cut_off_call_show_the_text_sent(
    emulator: WandbEmulator, finish_reason: str | None
) -> None:
    """With output_version='v1' core's merge made the block {'city': 'Par'}: a call nobody sent."""
    emulator.script(
        Reply(tool_calls=[ToolCallReply("get_weather", CUT, id="c1")], finish_reason=finish_reason)
    )
    llm = emulator.chat_model(max_retries=0, output_version="v1").bind_tools([get_weather])
    with pytest.raises((OutputTruncatedError, MalformedResponseError)) as caught:
        list(llm.stream("Weather in Paris?"))
    error: Any = caught.value
    message = error.ai_message if isinstance(error, OutputTruncatedError) else error.partial
    assert isinstance(message, AIMessage)
    blocks = [b for b in message.content if isinstance(b, dict) and "tool_call" in b["type"]]
    assert [(b["type"], b["name"], b["args"], b["id"]) for b in blocks] == [
        ("invalid_tool_call", "get_weather", CUT, "c1")
    ]
