"""Coming from ChatOpenAI, on the wire: keys, LangChain's standard switches, result fields."""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelAuthenticationError
from langchain_core.load import dumpd, dumps
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

KEY = "wandb_v1_FAKEKEY_ALIAS_0123456789"


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"Sunny in {city}"


class Answer(BaseModel):
    """An answer."""

    text: str


class Recorder(BaseCallbackHandler):
    """Keeps what LangChain hands callbacks: start tags/metadata and the LLMResult."""

    def __init__(self) -> None:
        self.results: list[LLMResult] = []
        self.starts: list[dict[str, Any]] = []

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.starts.append({"tags": tags, "metadata": metadata})

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


# -- keys ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "alias", ["api_key", "openai_api_key", "wandb_api_key", "env", "openai_api_key+env"]
)
async def test_a_key_under_any_name_goes_only_into_the_authorization_header(
    emulator: WandbEmulator,
    alias: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    if alias == "env":
        monkeypatch.setenv("WANDB_API_KEY", KEY)
        llm = ChatWandbInference(base_url=emulator.base_url, max_retries=0)
    else:
        # The case: WANDB_API_KEY set, and the key given under ChatOpenAI's name.
        monkeypatch.setenv("WANDB_API_KEY", "the-environment-key")
        if alias == "openai_api_key+env":
            alias = "openai_api_key"
        else:
            monkeypatch.delenv("WANDB_API_KEY")
        llm = ChatWandbInference(base_url=emulator.base_url, max_retries=0, **{alias: KEY})
    llm.invoke("hi")
    list(llm.stream("hi"))
    await llm.ainvoke("hi")
    llm.invoke("hi", stream=False)
    llm.list_models()
    assert len(emulator.requests) == 5
    for request in emulator.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        others = {name: value for name, value in request.headers.items() if name != "authorization"}
        assert KEY not in json.dumps(others)
        assert KEY not in json.dumps(request.body)
    shown = [repr(llm), str(llm), dumps(llm), json.dumps(dumpd(llm)), llm.model_dump_json()]
    shown += [json.dumps(llm._identifying_params), caplog.text]
    for text in shown:
        assert KEY not in text
    assert "model_kwargs" not in dumpd(llm)["kwargs"]


def test_a_key_is_not_shown_by_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with WandbEmulator(api_key="the-right-key") as emulator:
        llm = ChatWandbInference(base_url=emulator.base_url, openai_api_key=KEY, max_retries=0)
        with pytest.raises(ModelAuthenticationError) as caught:
            llm.invoke("hi")
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


# -- disable_streaming -----------------------------------------------------------------
async def test_disable_streaming_sends_plain_requests(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(disable_streaming=True)
    assert llm.invoke("hi").content
    assert (await llm.ainvoke("hi")).content
    assert "".join(str(chunk.content) for chunk in llm.stream("hi"))
    assert [chunk async for chunk in llm.astream("hi")]
    assert len(emulator.chat_requests) == 4
    for body in emulator.chat_requests:
        assert body["stream"] is False
        assert "stream_options" not in body


async def test_disable_streaming_tool_calling_is_plain_only_with_tools(
    emulator: WandbEmulator,
) -> None:
    llm = emulator.chat_model(disable_streaming="tool_calling")
    llm.invoke("hi")
    await llm.ainvoke("hi")
    with_tools = llm.bind_tools([get_weather])
    with_tools.invoke("hi")
    await with_tools.ainvoke("hi")
    assert [body["stream"] for body in emulator.chat_requests] == [True, True, False, False]


async def test_a_per_call_stream_option_works_as_with_chatopenai(emulator: WandbEmulator) -> None:
    """`invoke(..., stream=True)` (or bound) makes core stream: the option is not a field."""
    llm = emulator.chat_model()
    assert llm.invoke("hi", stream=True).content
    assert (await llm.ainvoke("hi", stream=True)).content
    assert llm.bind(stream=True).invoke("hi").content
    assert "".join(str(chunk.content) for chunk in llm.stream("hi", stream=True))
    assert [chunk async for chunk in llm.astream("hi", stream=True)]
    assert [body["stream"] for body in emulator.chat_requests] == [True] * 5


def test_a_per_call_reasoning_dict_is_its_effort_as_in_the_constructor(
    emulator: WandbEmulator,
) -> None:
    """ChatOpenAI's `reasoning={"effort": ...}`, per call or bound: sent as `reasoning_effort`."""
    llm = emulator.chat_model(model="openai/gpt-oss-120b")
    assert llm.invoke("hi", reasoning={"effort": "low"}).content
    assert llm.bind(reasoning={"effort": "high"}).invoke("hi").content
    sent = [(body.get("reasoning_effort"), "reasoning" in body) for body in emulator.chat_requests]
    assert sent == [("low", False), ("high", False)]
    with pytest.raises(ValueError, match="only its 'effort' has a meaning"):
        llm.bind(reasoning={"effort": "low", "summary": "auto"})
    with pytest.raises(ValueError, match="give it once"):
        llm.invoke("hi", reasoning={"effort": "low"}, reasoning_effort="high")


@pytest.mark.parametrize(
    "options", [{"store": False}, {"service_tier": "auto"}, {"service_tier": "default"}]
)
def test_openais_defaults_ask_for_nothing_alike_at_construction_per_call_and_bound(
    emulator: WandbEmulator, options: dict[str, Any]
) -> None:
    """ChatOpenAI code passes these; W&B lacks what other values ask for. Before: accepted
    at construction, refused per call (one argument behaving two ways)."""
    llm = emulator.chat_model(**options)
    assert llm.invoke("hi", **options).content
    assert llm.bind(**options).invoke("hi").content
    assert len(emulator.chat_requests) == 2
    assert not any(set(options) & set(body) for body in emulator.chat_requests)  # not sent
    with pytest.raises(ValueError, match="is not supported"):
        asks: dict[str, Any] = dict.fromkeys(options, "flex")
        llm.invoke("hi", **asks)


# -- LangChain's other standard switches -----------------------------------------------
class CountingLimiter(BaseRateLimiter):
    def __init__(self) -> None:
        self.calls = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.calls += 1
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.calls += 1
        return True


async def test_rate_limiter_is_asked_before_each_request(emulator: WandbEmulator) -> None:
    limiter = CountingLimiter()
    llm = emulator.chat_model(rate_limiter=limiter)
    llm.invoke("hi")
    await llm.ainvoke("hi")
    list(llm.stream("hi"))
    assert limiter.calls == 3 == len(emulator.chat_requests)


async def test_cache_answers_a_repeated_prompt_without_a_request(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(cache=InMemoryCache())
    first = llm.invoke("hi")
    assert llm.invoke("hi").content == first.content
    assert (await llm.ainvoke("hi")).content == first.content
    assert len(emulator.chat_requests) == 1


def test_callbacks_tags_and_metadata_reach_the_handlers(emulator: WandbEmulator) -> None:
    recorder = Recorder()
    llm = emulator.chat_model(callbacks=[recorder], tags=["t1"], metadata={"who": "me"})
    llm.invoke("hi")
    assert recorder.starts[0]["tags"] == ["t1"]
    assert recorder.starts[0]["metadata"]["who"] == "me"
    assert len(recorder.results) == 1


def test_output_version_v1_gives_content_blocks(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="Hello"))
    message = emulator.chat_model(output_version="v1").invoke("hi")
    assert isinstance(message.content, list)
    assert message.content[-1] == {"type": "text", "text": "Hello", "index": 1}
    assert message.response_metadata["output_version"] == "v1"


# -- what results carry ----------------------------------------------------------------
def _usage_of(result: LLMResult, index: int) -> UsageMetadata:
    generation = result.generations[index][0]
    assert isinstance(generation, ChatGeneration)
    assert isinstance(generation.message, AIMessage)
    assert generation.message.usage_metadata is not None
    return generation.message.usage_metadata


_PATHS = [
    "invoke",
    "ainvoke",
    "invoke-plain",
    "ainvoke-plain",
    "generate",
    "agenerate",
    "invoke-streaming-set",  # ChatOpenAI users say streaming=True
    "ainvoke-streaming-set",
]


async def _run(llm: ChatWandbInference, path: str, recorder: Recorder) -> None:
    config = {"callbacks": [recorder]}
    messages: list[BaseMessage] = [HumanMessage("hi")]
    if path == "invoke":
        llm.invoke(messages, config)  # type: ignore[arg-type]
    elif path == "ainvoke":
        await llm.ainvoke(messages, config)  # type: ignore[arg-type]
    elif path == "invoke-plain":
        llm.invoke(messages, config, stream=False)  # type: ignore[arg-type]
    elif path == "ainvoke-plain":
        await llm.ainvoke(messages, config, stream=False)  # type: ignore[arg-type]
    elif path == "generate":
        recorder.results.append(llm.generate([messages]))
    else:
        recorder.results.append(await llm.agenerate([messages]))


@pytest.mark.parametrize("path", _PATHS)
async def test_results_carry_llm_output_and_generation_info(
    emulator: WandbEmulator, path: str
) -> None:
    emulator.script(Reply(content="Hello there", reasoning="think"))
    recorder = Recorder()
    streaming = {"streaming": True} if path.endswith("streaming-set") else {}
    llm = emulator.chat_model(
        model="openai/gpt-oss-20b", logprobs=True, top_logprobs=1, **streaming
    )
    await _run(llm, path.removesuffix("-streaming-set"), recorder)
    assert emulator.chat_requests[-1]["stream"] is not path.endswith("-plain")
    result = recorder.results[-1]
    assert result.llm_output is not None
    usage = result.llm_output["token_usage"]
    assert usage["completion_tokens"] > 0
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    used = _usage_of(result, 0)
    reasoning = used["output_token_details"].get("reasoning", 0)
    assert reasoning > 0
    assert usage["completion_tokens_details"] == {"reasoning_tokens": reasoning}
    assert usage["completion_tokens"] == used["output_tokens"]
    assert result.llm_output["model_name"] == "openai/gpt-oss-20b"
    assert result.llm_output["system_fingerprint"]
    info = result.generations[0][0].generation_info
    assert info is not None
    assert info["finish_reason"] == "stop"
    assert info["logprobs"]["content"]


@pytest.mark.parametrize("streaming", [True, False])
def test_logprobs_only_when_asked(emulator: WandbEmulator, streaming: bool) -> None:
    result = emulator.chat_model(streaming=streaming).generate([[HumanMessage("hi")]])
    info = result.generations[0][0].generation_info
    assert info is not None
    assert info["finish_reason"] == "stop"
    assert "logprobs" not in info


def test_generate_over_several_prompts_sums_token_usage(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="one two"), Reply(content="three"))
    llm = emulator.chat_model(model="openai/gpt-oss-20b")
    result = llm.generate([[HumanMessage("a")], [HumanMessage("b")]])
    assert result.llm_output is not None
    usage = result.llm_output["token_usage"]
    each = [_usage_of(result, index) for index in range(2)]
    assert usage["completion_tokens"] == sum(u["output_tokens"] for u in each)
    assert usage["prompt_tokens"] == sum(u["input_tokens"] for u in each)


def test_structured_output_with_tools_answers_or_calls(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model()
    structured = llm.with_structured_output(
        Answer, tools=[get_weather], strict=True, include_raw=True
    )
    emulator.script(Reply(content='{"text": "hi"}'))
    answered = structured.invoke("hi")
    assert answered["parsed"] == Answer(text="hi")  # type: ignore[index]
    body = emulator.chat_requests[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    assert body["tools"][0]["function"]["strict"] is True


async def test_structured_output_with_tools_returns_the_call_in_raw(
    emulator: WandbEmulator,
) -> None:
    structured = emulator.chat_model().with_structured_output(
        Answer, tools=[get_weather], include_raw=True
    )
    emulator.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})]))
    called = await structured.ainvoke("weather?")
    assert isinstance(called, dict)
    assert called["raw"].tool_calls[0]["name"] == "get_weather"
    assert called["raw"].tool_calls[0]["args"] == {"city": "Paris"}
    assert called["parsed"] is None
    assert called["parsing_error"] is not None


async def test_cores_own_stream_loop_keeps_finish_reason_and_logprobs(
    emulator: WandbEmulator,
) -> None:
    """`astream_events` (and LangGraph's streaming) merge the stream in langchain-core."""
    recorder = Recorder()
    llm = emulator.chat_model(logprobs=True)
    async for _ in llm.astream_events("hi", {"callbacks": [recorder]}, version="v2"):
        pass
    info = recorder.results[-1].generations[0][0].generation_info
    assert info is not None
    assert info["finish_reason"] == "stop"
    assert info["logprobs"]["content"]
    assert len(emulator.chat_requests) == 1
