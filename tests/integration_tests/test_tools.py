"""Tool calling, structured output and agent loops against the emulator."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from functools import reduce
from typing import TYPE_CHECKING, Any, Literal

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from pydantic import v1 as pydantic_v1
from typing_extensions import TypedDict

from langchain_wandb import ChatWandbInference
from langchain_wandb._errors import ToolCallCutOffError
from langchain_wandb._tools import StructuredMethod
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

if TYPE_CHECKING:
    from langchain.agents.middleware.types import InputAgentState


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is sunny in {city}."


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Person(BaseModel):
    """A person."""

    name: str = Field(description="The person's name")
    age: int


class PersonV1(pydantic_v1.BaseModel):
    """A person."""

    name: str
    age: int


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int


PERSON_JSON_SCHEMA = {
    "title": "Person",
    "description": "A person.",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def chunks_of(messages: Iterable[BaseMessage]) -> list[AIMessageChunk]:
    """A stream's messages, checked to be the chunks a stream must yield."""
    chunks = list(messages)
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    return [c for c in chunks if isinstance(c, AIMessageChunk)]


def merged(messages: Iterable[BaseMessage]) -> AIMessageChunk:
    return reduce(lambda a, b: a + b, chunks_of(messages))


WEATHER_IN_PARIS: InputAgentState = {"messages": [HumanMessage("Weather in Paris?")]}


# -- bind_tools ------------------------------------------------------------------------
def test_bind_tools_request_body(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="no tools needed"))
    llm.bind_tools([get_weather, Person, PersonDict], parallel_tool_calls=False).invoke("hi")
    body = emulator.chat_requests[-1]
    names = [t["function"]["name"] for t in body["tools"]]
    assert names == ["get_weather", "Person", "PersonDict"]
    assert all(t["type"] == "function" for t in body["tools"])
    assert body["tools"][0]["function"]["parameters"]["properties"] == {"city": {"type": "string"}}
    assert body["parallel_tool_calls"] is False
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        ("any", "required"),
        (True, "required"),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (
            {"type": "function", "function": {"name": "add"}},
            {"type": "function", "function": {"name": "add"}},
        ),
    ],
)
def test_tool_choice_forms(
    llm: ChatWandbInference,
    emulator: WandbEmulator,
    choice: str | bool | dict[str, Any],
    sent: str | dict[str, Any],
) -> None:
    emulator.script(Reply(content="ok"))
    llm.bind_tools([get_weather, add], tool_choice=choice).invoke("hi")
    assert emulator.chat_requests[-1]["tool_choice"] == sent


def test_tool_choice_must_name_a_bound_tool(llm: ChatWandbInference) -> None:
    with pytest.raises(ValueError, match="'nope', which is not among the bound tools"):
        llm.bind_tools([get_weather], tool_choice="nope")
    with pytest.raises(ValueError, match="not among the bound tools"):
        llm.bind_tools([get_weather], tool_choice={"type": "function", "function": {"name": "x"}})


def test_strict_tools(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="ok"))
    llm.bind_tools([add], strict=True).invoke("hi")
    function = emulator.chat_requests[-1]["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["additionalProperties"] is False


# -- streamed tool calls -----------------------------------------------------------------
@pytest.mark.parametrize("index_mode", ["normal", "omit", "zero"])
def test_parallel_tool_calls_stream_and_merge(
    llm: ChatWandbInference,
    emulator: WandbEmulator,
    index_mode: Literal["normal", "omit", "zero"],
) -> None:
    calls = [
        ToolCallReply("get_weather", {"city": "Paris"}, id="call_a"),
        ToolCallReply("add", {"a": 2, "b": 3}, id="call_b"),
    ]
    emulator.script(Reply(tool_calls=calls, tool_call_index=index_mode))
    chunks = chunks_of(llm.bind_tools([get_weather, add]).stream("weather and sum"))
    full = merged(chunks)
    assert [(c["name"], c["args"], c["id"]) for c in full.tool_calls] == [
        ("get_weather", {"city": "Paris"}, "call_a"),
        ("add", {"a": 2, "b": 3}, "call_b"),
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"
    assert sum(1 for c in chunks if c.tool_call_chunks) > 2  # arguments arrived in fragments


def test_invoke_returns_parsed_tool_calls(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("add", {"a": 1, "b": 2}, id="c1")]))
    message = llm.bind_tools([add]).invoke("add 1 and 2")
    assert message.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    ]


@pytest.mark.parametrize("arguments", ["", "null"])
def test_argument_less_tool_calls(
    llm: ChatWandbInference, emulator: WandbEmulator, arguments: str
) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("now", arguments, id="c1")]))
    message = llm.invoke("what time is it")
    assert message.tool_calls == [{"name": "now", "args": {}, "id": "c1", "type": "tool_call"}]


def test_malformed_tool_arguments_are_invalid_tool_calls(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(tool_calls=[ToolCallReply("add", '{"a": 1}}', id="c1")]))
    message = llm.invoke("add")
    assert message.tool_calls == []
    assert [(c["id"], c["args"]) for c in message.invalid_tool_calls] == [("c1", '{"a": 1}}')]


def test_cut_off_tool_arguments_are_a_typed_error_with_the_invalid_call(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    # LangChain's merge would read them as the call {"a": 1}: never a plausible half call.
    emulator.script(Reply(tool_calls=[ToolCallReply("add", '{"a": 1, "b": ', id="c1")]))
    with pytest.raises(ToolCallCutOffError, match="cut off") as caught:
        llm.invoke("add")
    partial = caught.value.partial
    assert partial is not None
    assert partial.tool_calls == []
    assert [(c["id"], c["args"]) for c in partial.invalid_tool_calls] == [("c1", '{"a": 1, "b": ')]


def test_tool_calls_with_reasoning_in_v1_output(emulator: WandbEmulator) -> None:
    emulator.script(
        Reply(reasoning="I should call add.", tool_calls=[ToolCallReply("add", {"a": 1, "b": 1})])
    )
    llm = emulator.chat_model(output_version="v1")
    full = merged(llm.bind_tools([add]).stream("1+1"))
    types = [block["type"] for block in full.content_blocks]
    assert types == ["reasoning", "tool_call"]
    assert full.tool_calls[0]["args"] == {"a": 1, "b": 1}


# -- message history ---------------------------------------------------------------------
def test_tool_history_round_trip(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    history = [
        HumanMessage("What is 1 + 2?"),
        AIMessage(
            "",
            tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}],
            additional_kwargs={"reasoning_content": "use the tool"},
        ),
        ToolMessage("3", tool_call_id="c1"),
        ToolMessage(content=[{"type": "text", "text": "boom"}], tool_call_id="c2", status="error"),
    ]
    answer = llm.bind_tools([add]).invoke(history)
    assert answer.content == "The tool returned: 3; boom"
    sent = emulator.chat_requests[-1]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
            }
        ],
        # gpt-oss reads the reasoning of the tool loop in progress: it goes back.
        "reasoning_content": "use the tool",
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": "3"}
    assert sent[3] == {"role": "tool", "tool_call_id": "c2", "content": "boom"}
    llm.bind_tools([add]).invoke(history, send_reasoning=False)
    assert "reasoning_content" not in emulator.chat_requests[-1]["messages"][1]


# -- structured output -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize(
    "schema",
    [Person, PersonV1, PersonDict, PERSON_JSON_SCHEMA],
    ids=["pydantic", "pydantic-v1", "typeddict", "json-schema"],
)
def test_structured_output_every_method_and_schema(
    llm: ChatWandbInference,
    emulator: WandbEmulator,
    method: StructuredMethod,
    schema: dict[str, Any] | type,
) -> None:
    if method == "function_calling":
        emulator.script(
            Reply(
                tool_calls=[
                    ToolCallReply(
                        "PersonV1"
                        if schema is PersonV1
                        else ("PersonDict" if schema is PersonDict else "Person"),
                        {"name": "Ada", "age": 36},
                    )
                ]
            )
        )
    else:
        emulator.script(Reply(content='{"name": "Ada", "age": 36}'))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = llm.with_structured_output(schema, method=method).invoke("Ada is 36")
    if schema is Person or schema is PersonV1:
        assert isinstance(result, (Person, PersonV1))
        assert type(result) is schema
        assert (result.name, result.age) == ("Ada", 36)
    else:
        assert result == {"name": "Ada", "age": 36}
    body = emulator.chat_requests[-1]
    if method == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
        assert set(body["response_format"]["json_schema"]["schema"]["properties"]) == {
            "name",
            "age",
        }
    elif method == "json_mode":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert body["tool_choice"]["function"]["name"] == body["tools"][0]["function"]["name"]
        assert body["parallel_tool_calls"] is False


def test_default_method_is_json_schema_with_strict(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    result = llm.with_structured_output(Person, strict=True).invoke("Tell me about 'Ada', 36")
    assert result == Person(name="Ada", age=36)
    json_schema = emulator.chat_requests[-1]["response_format"]["json_schema"]
    assert json_schema["name"] == "Person"
    assert json_schema["strict"] is True


def test_include_raw_and_parsing_error(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    emulator.script(Reply(content='{"name": "Ada", "age": 36}'), Reply(content="not json at all"))
    runnable = llm.with_structured_output(Person, include_raw=True)
    good = runnable.invoke("x")
    assert isinstance(good, dict)
    assert isinstance(good["raw"], AIMessage)
    assert good["parsed"] == Person(name="Ada", age=36)
    assert good["parsing_error"] is None
    bad = runnable.invoke("x")
    assert isinstance(bad, dict)
    assert bad["parsed"] is None
    assert bad["parsing_error"] is not None
    assert bad["raw"].content == "not json at all"


def test_structured_output_reaches_callbacks_as_ls_format(llm: ChatWandbInference) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[dict[str, Any]] = []

    class Capture(BaseCallbackHandler):
        def on_chat_model_start(
            self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
        ) -> None:
            seen.append(kwargs["options"]["ls_structured_output_format"])

    llm.with_structured_output(Person).invoke("'Ada' 36", config={"callbacks": [Capture()]})
    assert len(seen) == 1
    assert seen[0]["kwargs"] == {"method": "json_schema", "strict": None}
    assert set(seen[0]["schema"]["properties"]) == {"name", "age"}


def test_structured_output_streams_partial_objects(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(content='{"name": "Ada Lovelace", "age": 36, "note": "long text here"}'))
    parts = list(llm.with_structured_output(PERSON_JSON_SCHEMA).stream("x"))
    assert len(parts) > 1
    assert parts[-1] == {"name": "Ada Lovelace", "age": 36, "note": "long text here"}


def test_structured_output_bad_arguments(llm: ChatWandbInference) -> None:
    with pytest.raises(ValueError, match="needs a schema"):
        llm.with_structured_output(None, method="json_schema")
    with pytest.raises(ValueError, match="`strict` does not apply to method='json_mode'"):
        llm.with_structured_output(Person, method="json_mode", strict=True)
    with pytest.raises(ValueError, match="Unknown method"):
        # An unknown method on purpose: the error must name it.
        llm.with_structured_output(Person, method="xml")  # type: ignore[arg-type]


# -- agents --------------------------------------------------------------------------------
def _agent_script(emulator: WandbEmulator) -> None:
    emulator.script(
        Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="call_w")]),
        Reply(content="It is sunny in Paris today."),
    )


def _check_agent_run(messages: Sequence[BaseMessage], emulator: WandbEmulator) -> None:
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    assert messages[2].content == "It is sunny in Paris."
    assert messages[-1].content == "It is sunny in Paris today."
    second = emulator.chat_requests[-1]["messages"]
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": "call_w",
        "content": "It is sunny in Paris.",
        "name": "get_weather",
    }


@pytest.mark.parametrize("streaming", [True, False])
def test_create_agent_loop(emulator: WandbEmulator, streaming: bool) -> None:
    from langchain.agents import create_agent

    _agent_script(emulator)
    agent = create_agent(emulator.chat_model(streaming=streaming), tools=[get_weather])
    result = agent.invoke(WEATHER_IN_PARIS)
    _check_agent_run(result["messages"], emulator)
    assert all(body["stream"] is streaming for body in emulator.chat_requests)


async def test_create_agent_loop_async_streamed_messages(emulator: WandbEmulator) -> None:
    from langchain.agents import create_agent

    _agent_script(emulator)
    agent = create_agent(emulator.chat_model(), tools=[get_weather])
    tokens: list[str] = []
    async for message, _meta in agent.astream(WEATHER_IN_PARIS, stream_mode="messages"):
        if isinstance(message, AIMessageChunk) and message.content:
            assert isinstance(message.content, str)
            tokens.append(message.content)
    assert "".join(tokens) == "It is sunny in Paris today."
    # Unscripted now: the emulator calls the tool itself and answers from its result.
    result = await agent.ainvoke({"messages": [HumanMessage("Weather in 'Rome'?")]})
    assert result["messages"][2].content == "It is sunny in Rome."
    assert result["messages"][-1].content == "The tool returned: It is sunny in Rome."


def test_langgraph_prebuilt_react_agent(emulator: WandbEmulator) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        _agent_script(emulator)
        agent = create_react_agent(emulator.chat_model(), [get_weather])
        result = agent.invoke(WEATHER_IN_PARIS)
    _check_agent_run(result["messages"], emulator)


def test_unscripted_agent_loop_runs_on_defaults(emulator: WandbEmulator) -> None:
    from langchain.agents import create_agent

    agent = create_agent(emulator.chat_model(), tools=[add])
    result = agent.invoke({"messages": [HumanMessage("What is 20 + 22? Use add.")]})
    assert result["messages"][2].content == "42"
    assert result["messages"][-1].content == "The tool returned: 42"


class Report(BaseModel):
    """A weather report."""

    city: str
    summary: str


@pytest.mark.parametrize("api", ["sync", "async"])
async def test_create_agent_with_response_format_still_calls_its_tools(
    emulator: WandbEmulator, api: str
) -> None:
    from langchain.agents import create_agent

    agent = create_agent(emulator.chat_model(), tools=[get_weather], response_format=Report)
    inputs: InputAgentState = {"messages": [HumanMessage("Weather in 'Paris'?")]}
    result = agent.invoke(inputs) if api == "sync" else await agent.ainvoke(inputs)
    tool_results = [m.content for m in result["messages"] if isinstance(m, ToolMessage)]
    assert tool_results[0] == "It is sunny in Paris."  # the real tool ran first
    assert result["structured_response"] == Report(city="Paris", summary="example summary")
    # Never response_format together with tools: W&B's serving would then skip the tools.
    assert all("response_format" not in body for body in emulator.chat_requests)


def test_emulator_plays_response_format_with_tools_as_vllm_does(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model().bind_tools([get_weather])
    message = llm.invoke("Weather in 'Paris'?", response_format={"type": "json_object"})
    assert message.tool_calls == []
    assert message.content == '{"Paris": "example Paris"}'  # JSON mode: the quoted keys


def test_response_format_may_be_a_schema_class(emulator: WandbEmulator) -> None:
    message = emulator.chat_model().invoke("Ada is 36.", response_format=Person)
    sent = emulator.chat_requests[-1]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Person"
    assert set(sent["json_schema"]["schema"]["properties"]) == {"name", "age"}
    assert Person.model_validate_json(str(message.content)).age == 36
