"""What a request asks for and what the answer carries, as a ChatOpenAI user expects."""

from __future__ import annotations

import httpx2
import pytest
from pydantic import BaseModel

from langchain_wandb import ChatWandbInference, MalformedResponseError, OutputTruncatedError
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator


class City(BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("streaming", [None, True])
def test_invoke_always_asks_for_usage_even_with_stream_usage_false(
    emulator: WandbEmulator, streaming: bool | None
) -> None:
    # streaming=True set explicitly makes LangChain call _stream straight from invoke().
    extra = {} if streaming is None else {"streaming": streaming}
    llm = emulator.chat_model(stream_usage=False, max_retries=0, **extra)
    message = llm.invoke("hi")
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] > 0
    assert emulator.chat_requests[-1]["stream_options"] == {"include_usage": True}
    assert llm.batch(["a", "b"])[1].usage_metadata is not None
    # .stream() is what stream_usage governs.
    chunks = list(llm.stream("hi"))
    assert all(chunk.usage_metadata is None for chunk in chunks)
    assert "stream_options" not in emulator.chat_requests[-1]


async def test_ainvoke_always_asks_for_usage_too(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(stream_usage=False, max_retries=0)
    message = await llm.ainvoke("hi")
    assert message.usage_metadata is not None
    assert emulator.chat_requests[-1]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("streaming", [True, False])
def test_a_schema_class_as_response_format_fills_parsed(
    emulator: WandbEmulator, streaming: bool
) -> None:
    emulator.script(Reply(content='{"name": "Paris", "population": 2100000}'))
    llm = emulator.chat_model(streaming=streaming, max_retries=0)
    message = llm.invoke("Paris?", response_format=City)
    assert message.additional_kwargs["parsed"] == City(name="Paris", population=2100000)
    sent = emulator.chat_requests[-1]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "City"


def test_a_cut_off_answer_with_a_schema_class_raises(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content='{"name": "Paris", "popul', finish_reason="length"))
    llm = emulator.chat_model(max_retries=0)
    with pytest.raises(OutputTruncatedError, match="cut off") as caught:
        llm.invoke("Paris?", response_format=City)
    assert caught.value.ai_message.text == '{"name": "Paris", "popul'


def test_a_users_own_http_client_carries_the_requests(emulator: WandbEmulator) -> None:
    seen: list[str] = []

    def record(request: httpx2.Request) -> None:
        seen.append(str(request.url))

    with httpx2.Client(event_hooks={"request": [record]}) as client:
        llm = emulator.chat_model(http_client=client, max_retries=0)
        assert llm.invoke("hi").content == "You said: hi"
    assert seen == [f"{emulator.base_url}/chat/completions"]


async def test_a_users_own_async_http_client_carries_the_requests(
    emulator: WandbEmulator,
) -> None:
    seen: list[str] = []

    async def record(request: httpx2.Request) -> None:
        seen.append(str(request.url))

    async with httpx2.AsyncClient(event_hooks={"request": [record]}) as client:
        llm = emulator.chat_model(http_async_client=client, max_retries=0)
        assert (await llm.ainvoke("hi")).content == "You said: hi"
    assert seen == [f"{emulator.base_url}/chat/completions"]


def test_the_http_clients_are_not_serialized() -> None:
    with httpx2.Client() as client:
        llm = ChatWandbInference(api_key="k", http_client=client)
        assert "http_client" not in llm.model_dump()


@pytest.mark.parametrize("streaming", [True, False])
def test_a_forced_tool_call_cut_off_before_any_call_raises(
    emulator: WandbEmulator, streaming: bool
) -> None:
    # vLLM returns the raw markup as content when a forced call is cut off (seen in compat).
    emulator.script(Reply(content='<tool_call>{"name": "City", "argu', finish_reason="length"))
    llm = emulator.chat_model(streaming=streaming, max_retries=0).bind_tools(
        [City], tool_choice="City"
    )
    with pytest.raises(OutputTruncatedError, match="cut off") as caught:
        llm.invoke("Paris?")
    assert caught.value.ai_message.text.startswith("<tool_call>")


def test_a_cut_off_answer_without_a_forced_call_is_an_answer(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="A long story that stops", finish_reason="length"))
    llm = emulator.chat_model(max_retries=0).bind_tools([City])  # the model may answer in text
    message = llm.invoke("Tell me about Paris")
    assert message.text == "A long story that stops"
    assert message.response_metadata["finish_reason"] == "length"


@pytest.mark.parametrize("streaming", [True, False])
def test_a_tool_call_cut_off_before_its_arguments_raises(
    emulator: WandbEmulator, streaming: bool
) -> None:
    # Empty argument text parses as {}: the tool would run with its defaults.
    emulator.script(Reply(tool_calls=[ToolCallReply("City", arguments="")], finish_reason="length"))
    llm = emulator.chat_model(streaming=streaming, max_retries=0).bind_tools([City])
    with pytest.raises(OutputTruncatedError, match="cut off"):
        llm.invoke("Paris?")


def test_a_streamed_parsed_answer_rides_on_the_closing_chunk(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content='{"name": "Paris", "population": 2100000}'))
    llm = emulator.chat_model(max_retries=0)
    chunks = list(llm.stream("Paris?", response_format=City))
    closing = [c for c in chunks if c.chunk_position == "last"]
    assert len(closing) == 1
    assert closing[0] is chunks[-1]
    assert closing[0].additional_kwargs["parsed"] == City(name="Paris", population=2100000)


async def test_an_async_streamed_parsed_answer_rides_on_the_closing_chunk(
    emulator: WandbEmulator,
) -> None:
    emulator.script(Reply(content='{"name": "Paris", "population": 2100000}'))
    llm = emulator.chat_model(max_retries=0)
    chunks = [chunk async for chunk in llm.astream("Paris?", response_format=City)]
    closing = [c for c in chunks if c.chunk_position == "last"]
    assert len(closing) == 1
    assert closing[0] is chunks[-1]
    assert closing[0].additional_kwargs["parsed"] == City(name="Paris", population=2100000)


@pytest.mark.parametrize("streaming", [True, False])
def test_a_tool_calls_finish_without_a_call_is_an_error_not_an_empty_answer(
    emulator: WandbEmulator, streaming: bool
) -> None:
    # vLLM ends with "tool_calls" and no call when its parser cannot read the output.
    emulator.script(Reply(content="<tool_call>{not json", finish_reason="tool_calls"))
    llm = emulator.chat_model(streaming=streaming, max_retries=0).bind_tools([City])
    with pytest.raises(MalformedResponseError, match="finish_reason='tool_calls' but sent no"):
        llm.invoke("Paris?")
