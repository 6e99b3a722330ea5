"""Streaming, invoke, usage, reasoning and metadata, end to end against the emulator."""

from __future__ import annotations

import asyncio
from functools import reduce
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import LLMResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import RAMBLING_JOKE, Reply, WandbEmulator
from langchain_wandb.testing._replies import DEFAULT_REASONING, prompt_tokens_of, tokens_of


def merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return reduce(lambda a, b: a + b, chunks)


def expected_usage(emulator: WandbEmulator, content: str, reasoning: str = "") -> dict[str, Any]:
    out = len(tokens_of(content)) + len(tokens_of(reasoning))
    inp = prompt_tokens_of(emulator.chat_requests[-1])
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "output_token_details": {"reasoning": len(tokens_of(reasoning))},
    }


def test_stream_merges_to_exactly_what_the_emulator_sent(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    chunks = list(llm.stream("Tell me a rambling joke"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert len([c for c in chunks if c.content]) == len(tokens_of(RAMBLING_JOKE))
    full = merged(chunks)
    assert full.content == RAMBLING_JOKE
    assert full.additional_kwargs["reasoning_content"] == DEFAULT_REASONING
    assert full.usage_metadata == expected_usage(emulator, RAMBLING_JOKE, DEFAULT_REASONING)
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_name"] == "openai/gpt-oss-120b"
    assert full.response_metadata["model_provider"] == "wandb"
    assert full.id == full.response_metadata["id"]
    assert all(c.response_metadata.get("model_provider") == "wandb" for c in chunks)
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert chunks[-1].chunk_position == "last"
    assert full.content_blocks[0] == {"type": "reasoning", "reasoning": DEFAULT_REASONING}


def test_request_body_for_streaming(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    list(llm.stream("hi", temperature=0.3, max_tokens=50, stop=["\n\n"]))
    body = emulator.chat_requests[-1]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50
    assert body["stop"] == ["\n\n"]
    assert body["model"] == "openai/gpt-oss-120b"


def test_max_completion_tokens_is_sent_as_max_tokens(emulator: WandbEmulator) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ChatOpenAI's name is known: no "unknown argument"
        llm = emulator.chat_model(max_completion_tokens=40)
    assert llm.max_tokens == 40
    assert llm.model_kwargs == {}
    llm.invoke("hi")
    llm.invoke("hi", max_completion_tokens=7)
    first, second = emulator.chat_requests
    assert first["max_tokens"] == 40
    assert second["max_tokens"] == 7
    assert "max_completion_tokens" not in first
    assert "max_completion_tokens" not in second


def test_request_headers(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(project="team/proj", default_headers={"X-Trace": "1"})
    llm.invoke("hi")
    headers = emulator.requests[-1].headers
    assert headers["authorization"] == "Bearer emulator-key"
    assert headers["openai-project"] == "team/proj"
    assert headers["x-trace"] == "1"


@pytest.mark.parametrize("where", ["instance", "call"])
def test_stream_usage_can_be_turned_off(emulator: WandbEmulator, where: str) -> None:
    if where == "instance":
        chunks = list(emulator.chat_model(stream_usage=False).stream("hi"))
    else:
        chunks = list(emulator.chat_model().stream("hi", stream_usage=False))
    assert "stream_options" not in emulator.chat_requests[-1]
    assert merged(chunks).usage_metadata is None


async def test_astream_matches_stream(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    chunks = [c async for c in llm.astream("Tell me a rambling joke")]
    full = merged(chunks)
    assert full.content == RAMBLING_JOKE
    assert full.usage_metadata == expected_usage(emulator, RAMBLING_JOKE, DEFAULT_REASONING)
    assert full.response_metadata["finish_reason"] == "stop"


def test_invoke_streams_under_the_hood(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    message = llm.invoke("Tell me a rambling joke")
    assert isinstance(message, AIMessage)
    assert emulator.chat_requests[-1]["stream"] is True
    assert message.content == RAMBLING_JOKE
    assert message.additional_kwargs["reasoning_content"] == DEFAULT_REASONING
    assert message.usage_metadata == expected_usage(emulator, RAMBLING_JOKE, DEFAULT_REASONING)
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == "openai/gpt-oss-120b"


async def test_ainvoke_streams_under_the_hood(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    message = await llm.ainvoke("Tell me a rambling joke")
    assert emulator.chat_requests[-1]["stream"] is True
    assert message.content == RAMBLING_JOKE
    assert message.usage_metadata == expected_usage(emulator, RAMBLING_JOKE, DEFAULT_REASONING)


@pytest.mark.parametrize("how", ["instance", "call"])
async def test_non_streaming_requests_give_the_same_message(
    emulator: WandbEmulator, how: str
) -> None:
    llm = emulator.chat_model(streaming=False) if how == "instance" else emulator.chat_model()
    kwargs: dict[str, Any] = {"stream": False} if how == "call" else {}
    for message in (
        llm.invoke("Tell me a rambling joke", **kwargs),
        await llm.ainvoke("Tell me a rambling joke", **kwargs),
    ):
        assert emulator.chat_requests[-1]["stream"] is False
        assert "stream_options" not in emulator.chat_requests[-1]
        assert message.content == RAMBLING_JOKE
        assert message.additional_kwargs["reasoning_content"] == DEFAULT_REASONING
        assert message.usage_metadata == expected_usage(emulator, RAMBLING_JOKE, DEFAULT_REASONING)
        assert message.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("streaming", [True, False])
def test_logprobs_reach_response_metadata_in_order(
    emulator: WandbEmulator, streaming: bool
) -> None:
    llm = emulator.chat_model(streaming=streaming, logprobs=True, top_logprobs=2)
    message = llm.invoke("Tell me a rambling joke")
    assert emulator.chat_requests[-1]["logprobs"] is True
    entries = message.response_metadata["logprobs"]["content"]
    assert message.content == RAMBLING_JOKE
    # vLLM (and so the emulator) gives logprobs for the reasoning tokens too, first.
    assert "".join(entry["token"] for entry in entries) == DEFAULT_REASONING + RAMBLING_JOKE
    assert all(len(entry["top_logprobs"]) == 2 for entry in entries)
    assert all(entry["logprob"] <= 0 for entry in entries)


class MetadataCollector(BaseCallbackHandler):
    """Keeps the metadata a chat run starts with (where LangSmith's trace params go)."""

    def __init__(self) -> None:
        self.metadata: dict[str, Any] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.metadata = dict(metadata or {})


def test_per_call_model_shows_in_metadata_and_trace_params(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    message = llm.invoke("hi", model="meta-llama/Llama-3.1-8B-Instruct")
    assert emulator.chat_requests[-1]["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert message.response_metadata["model_name"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert "reasoning_content" not in message.additional_kwargs
    traced = MetadataCollector()
    llm.invoke("hi", model="meta-llama/Llama-3.1-8B-Instruct", config={"callbacks": [traced]})
    assert traced.metadata["ls_provider"] == "wandb"
    assert traced.metadata["ls_model_name"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_reasoning_content_field_from_other_backends(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(
        Reply(content="ok", reasoning="deep thought", reasoning_field="reasoning_content")
    )
    message = llm.invoke("hi")
    assert message.additional_kwargs["reasoning_content"] == "deep thought"
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": "deep thought"}


def test_duplicate_finish_and_keepalives_and_crlf(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    emulator.script(Reply(content="a b c", duplicate_finish=True, keepalive=True, crlf=True))
    full = merged(list(llm.stream("hi")))
    assert full.content == "a b c"
    assert full.response_metadata["finish_reason"] == "stop"


def test_continuous_usage_is_counted_once(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="one two three", reasoning="", continuous_usage=True))
    full = merged(list(llm.stream("hi")))
    assert full.usage_metadata is not None
    assert full.usage_metadata["output_tokens"] == 3


def test_output_version_v1(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(output_version="v1")
    message = llm.invoke("Tell me a rambling joke")
    assert isinstance(message.content, list)
    blocks = [b for b in message.content if isinstance(b, dict)]
    assert len(blocks) == len(message.content)
    assert [b["type"] for b in blocks] == ["reasoning", "text"]
    assert blocks[1]["text"] == RAMBLING_JOKE
    full = merged(list(llm.stream("Tell me a rambling joke")))
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]


def test_lcel_chain_stream_and_batch(llm: ChatWandbInference) -> None:
    chain = (
        ChatPromptTemplate.from_messages([("system", "Be funny."), ("human", "{ask}")])
        | llm
        | StrOutputParser()
    )
    assert "".join(chain.stream({"ask": "Tell me a rambling joke"})) == RAMBLING_JOKE
    assert chain.batch([{"ask": "one"}, {"ask": "two"}]) == ["You said: one", "You said: two"]


async def test_lcel_chain_astream_and_abatch(llm: ChatWandbInference) -> None:
    chain = llm | StrOutputParser()
    assert "".join([t async for t in chain.astream("Tell me a rambling joke")]) == RAMBLING_JOKE
    assert await chain.abatch(["a", "b", "c"]) == ["You said: a", "You said: b", "You said: c"]


async def test_astream_events_v2(llm: ChatWandbInference) -> None:
    tokens = [
        event["data"]["chunk"].content
        async for event in llm.astream_events("Tell me a rambling joke", version="v2")
        if event["event"] == "on_chat_model_stream"
    ]
    assert "".join(tokens) == RAMBLING_JOKE


def test_stream_events_v3(llm: ChatWandbInference) -> None:
    stream = llm.stream_events("Tell me a rambling joke", version="v3")
    events = list(stream)
    assert events
    assert stream.output.text == RAMBLING_JOKE


class TokenCollector(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.ended = 0

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        assert isinstance(token, str)
        self.tokens.append(token)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.ended += 1


class AsyncTokenCollector(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], **kwargs: Any
    ) -> None:
        assert isinstance(token, str)
        self.tokens.append(token)


@pytest.mark.parametrize("method", ["invoke", "stream"])
def test_callbacks_get_every_token_once(llm: ChatWandbInference, method: str) -> None:
    handler = TokenCollector()
    config: RunnableConfig = {"callbacks": [handler]}
    if method == "invoke":
        llm.invoke("Tell me a rambling joke", config=config)
    else:
        list(llm.stream("Tell me a rambling joke", config=config))
    assert "".join(handler.tokens) == RAMBLING_JOKE
    assert len([t for t in handler.tokens if t]) == len(tokens_of(RAMBLING_JOKE))
    assert handler.ended == 1


async def test_async_callbacks_get_every_token(llm: ChatWandbInference) -> None:
    handler = AsyncTokenCollector()
    await llm.ainvoke("Tell me a rambling joke", config={"callbacks": [handler]})
    assert "".join(handler.tokens) == RAMBLING_JOKE


def test_multimodal_and_history_reach_the_request(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(model="moonshotai/Kimi-K2.5", max_retries=0)  # takes images
    llm.invoke(
        [
            ("system", "describe"),
            HumanMessage(
                content=[
                    {"type": "text", "text": "what?"},
                    {"type": "image", "base64": "AAAA", "mime_type": "image/png"},
                ]
            ),
        ]
    )
    messages = emulator.chat_requests[-1]["messages"]
    assert messages[0] == {"role": "system", "content": "describe"}
    assert messages[1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA"},
    }


def test_extra_body_and_model_kwargs_reach_the_request(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(
        model="zai-org/GLM-5.1",  # reasons by default; extra_body switches it off
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
        model_kwargs={"logit_bias": {"42": 1}},
        cache_salt="s1",
        reasoning_effort="low",
        seed=7,
    )
    message = llm.invoke("hi", top_k=5, extra_body={"min_p": 0.1})
    body = emulator.chat_requests[-1]
    assert body["min_p"] == 0.1  # per-call extra_body merges into the body, as in ChatOpenAI
    assert "extra_body" not in body
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["logit_bias"] == {"42": 1}
    assert body["cache_salt"] == "s1"
    assert body["reasoning_effort"] == "low"
    assert body["seed"] == 7
    assert body["top_k"] == 5
    assert "reasoning_content" not in message.additional_kwargs


async def test_two_event_loops_with_one_model(llm: ChatWandbInference) -> None:
    # asyncio.run() from a worker thread: each run has its own loop.
    def run_twice() -> list[str]:
        return [str(asyncio.run(llm.ainvoke("x")).content) for _ in range(2)]

    assert await asyncio.to_thread(run_twice) == ["You said: x", "You said: x"]
