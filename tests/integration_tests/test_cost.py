"""Cost on every path through the emulator, cost per run, and what LangSmith is sent."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_wandb import (
    ChatWandbInference,
    ModelPrice,
    OutputTruncatedError,
    get_wandb_callback,
)
from langchain_wandb._cost import call_cost
from langchain_wandb.models import price_date
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

MODEL = "openai/gpt-oss-120b"
LORA = "wandb-artifact:///my-team/my-project/support-bot:v2"


def expected_cost(message: AIMessage, model: str = MODEL) -> dict[str, Any]:
    assert message.usage_metadata is not None
    cost = call_cost(model, message.usage_metadata)
    assert cost is not None
    assert cost["total"] > 0
    assert cost["prices_as_of"] == price_date()
    return cost


def test_invoke_streamed_and_plain(emulator: WandbEmulator) -> None:
    for streaming in (True, False):
        message = emulator.chat_model(streaming=streaming).invoke("hi")
        assert message.response_metadata["cost"] == expected_cost(message)


def test_stream_puts_cost_on_the_chunk_with_usage_only(llm: ChatWandbInference) -> None:
    chunks = list(llm.stream("hi"))
    with_usage = [c for c in chunks if c.usage_metadata]
    assert len(with_usage) == 1
    assert [c for c in chunks if "cost" in c.response_metadata] == with_usage
    merged = sum(chunks[1:], chunks[0])
    assert isinstance(merged, AIMessageChunk)
    assert merged.response_metadata["cost"] == expected_cost(merged)


def test_stream_without_usage_has_no_cost(llm: ChatWandbInference) -> None:
    chunks = list(llm.stream("hi", stream_usage=False))
    assert not any("cost" in c.response_metadata for c in chunks)


async def test_astream_and_ainvoke(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model()
    chunks = [chunk async for chunk in llm.astream("hi")]
    priced = [c for c in chunks if "cost" in c.response_metadata]
    assert len(priced) == 1
    assert priced[0].response_metadata["cost"] == expected_cost(priced[0])
    for streaming in (True, False):
        message = await emulator.chat_model(streaming=streaming).ainvoke("hi")
        assert message.response_metadata["cost"] == expected_cost(message)


def test_batch_and_abatch(llm: ChatWandbInference) -> None:
    for message in llm.batch(["one", "two words", "three words here"]):
        assert message.response_metadata["cost"] == expected_cost(message)
    for message in asyncio.run(llm.abatch(["one", "two words"])):
        assert message.response_metadata["cost"] == expected_cost(message)


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is sunny in {city}."


def test_every_turn_of_a_tool_loop_is_priced(emulator: WandbEmulator) -> None:
    from langchain.agents import create_agent

    emulator.script(
        Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="c1")]),
        Reply(content="Sunny in Paris."),
    )
    agent = create_agent(emulator.chat_model(max_retries=0), tools=[get_weather])
    with get_wandb_callback() as cb:
        result = agent.invoke({"messages": [HumanMessage("Weather in Paris?")]})
    answers = [m for m in result["messages"] if isinstance(m, AIMessage)]
    assert len(answers) == 2
    assert any(isinstance(m, ToolMessage) for m in result["messages"])
    for message in answers:
        assert message.response_metadata["cost"] == expected_cost(message)
    assert cb.requests == 2
    assert cb.total_cost == pytest.approx(
        sum(m.response_metadata["cost"]["total"] for m in answers)
    )


class Person(BaseModel):
    """A person."""

    name: str
    age: int


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize("streaming", [True, False])
def test_structured_output_include_raw(
    emulator: WandbEmulator, method: Any, *, streaming: bool
) -> None:
    if method == "json_schema":
        emulator.script(Reply(content='{"name": "Ada", "age": 36}'))
    else:
        emulator.script(Reply(tool_calls=[ToolCallReply("Person", {"name": "Ada", "age": 36})]))
    llm = emulator.chat_model(streaming=streaming)
    result = llm.with_structured_output(Person, method=method, include_raw=True).invoke("Ada?")
    assert isinstance(result, dict)
    assert result["parsed"] == Person(name="Ada", age=36)
    raw = result["raw"]
    assert raw.response_metadata["cost"] == expected_cost(raw)


@pytest.mark.parametrize("streaming", [True, False])
def test_cached_tokens_reach_usage_and_cost_on_every_path(
    emulator: WandbEmulator, *, streaming: bool
) -> None:
    # DeepSeek-V4-Flash: cached input $0.07 per 1M against $0.14.
    model = "deepseek-ai/DeepSeek-V4-Flash"
    llm = emulator.chat_model(model=model, streaming=streaming, cache_salt="tenant-1")
    prompt = "a long shared prefix " * 10
    emulator.script(Reply(cached_tokens=20), Reply(cached_tokens=20))
    invoked = llm.invoke(prompt)
    chunks = list(llm.stream(prompt))
    merged = sum(chunks[1:], chunks[0])
    for message in (invoked, merged):
        assert message.usage_metadata is not None
        assert message.usage_metadata["input_token_details"] == {"cache_read": 20}
        cost = message.response_metadata["cost"]
        assert cost["cached_input"] == pytest.approx(20 * 0.07 / 1e6)
        uncached = message.usage_metadata["input_tokens"] - 20
        assert cost["input"] == pytest.approx(uncached * 0.14 / 1e6 + 20 * 0.07 / 1e6)
    assert all(r["cache_salt"] == "tenant-1" for r in emulator.chat_requests)


@pytest.mark.parametrize("streaming", [True, False])
async def test_cached_tokens_reach_usage_and_cost_on_async_paths(
    emulator: WandbEmulator, *, streaming: bool
) -> None:
    llm = emulator.chat_model(model="deepseek-ai/DeepSeek-V4-Flash", streaming=streaming)
    emulator.script(Reply(cached_tokens=2), Reply(cached_tokens=2))
    invoked = await llm.ainvoke("a shared prefix")
    chunks = [chunk async for chunk in llm.astream("a shared prefix")]
    merged = sum(chunks[1:], chunks[0])
    for message in (invoked, merged):
        assert message.usage_metadata is not None
        assert message.usage_metadata["input_token_details"] == {"cache_read": 2}
        assert message.response_metadata["cost"]["cached_input"] == pytest.approx(2 * 0.07 / 1e6)


def test_usage_metadata_callback_still_sums_calls_of_one_model(llm: ChatWandbInference) -> None:
    with get_usage_metadata_callback() as cb:
        messages = [llm.invoke("hi"), llm.invoke("hello there"), next(iter(llm.batch(["x"])))]
    totals = cb.usage_metadata[MODEL]
    usages = [m.usage_metadata for m in messages if m.usage_metadata is not None]
    assert len(usages) == 3
    assert totals["input_tokens"] == sum(usage["input_tokens"] for usage in usages)
    assert totals["output_tokens"] == sum(usage["output_tokens"] for usage in usages)
    assert totals["total_tokens"] == sum(usage["total_tokens"] for usage in usages)


# -- overrides and LoRA ----------------------------------------------------------------
def test_negotiated_prices_are_used(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(prices={MODEL: ModelPrice(input=0.03, output=0.17)})
    message = llm.invoke("hi")
    assert message.usage_metadata is not None
    cost = message.response_metadata["cost"]
    assert cost["output"] == pytest.approx(message.usage_metadata["output_tokens"] * 0.17 / 1e6)
    assert cost["prices_as_of"] is None  # your prices, not the snapshot's


def test_a_lora_is_billed_at_its_base_rate_when_the_base_is_known(emulator: WandbEmulator) -> None:
    priced = emulator.chat_model(model=LORA, project="my-team/my-project", prices={LORA: MODEL})
    unpriced = emulator.chat_model(model=LORA, project="my-team/my-project")
    with get_wandb_callback() as cb:
        message = priced.invoke("hi")
        assert message.response_metadata["cost"] == expected_cost(message)
        unknown = unpriced.invoke("hi")
        assert unknown.response_metadata["cost"] is None  # unknown, never 0
    assert (cb.requests, cb.unpriced_requests) == (2, 1)
    assert cb.total_cost is None  # one call's cost is unknown, so the total is
    assert cb.priced_cost == message.response_metadata["cost"]["total"]
    assert cb.by_model[LORA].unpriced_requests == 1


def test_a_per_call_retired_model_is_refused_before_sending(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    with pytest.raises(ValueError, match="retired from W&B Inference on 2026-03-04"):
        llm.invoke("hi", model="Qwen/Qwen2.5-14B-Instruct")
    with pytest.raises(ValueError, match="OpenPipe/Qwen3-14B-Instruct"):
        list(llm.stream("hi", model="Qwen/Qwen2.5-14B-Instruct"))
    assert emulator.requests == []


# -- cost per run ----------------------------------------------------------------------
def test_callback_counts_tokens_by_kind_requests_and_models(emulator: WandbEmulator) -> None:
    gpt = emulator.chat_model()
    llama = emulator.chat_model(model="meta-llama/Llama-3.1-8B-Instruct")
    emulator.script(Reply(), Reply(cached_tokens=1), Reply())
    with get_wandb_callback() as cb:
        answers = [gpt.invoke("hi"), gpt.invoke("hello you"), *llama.stream("hi")]
    assert cb.requests == 3
    assert set(cb.by_model) == {MODEL, "meta-llama/Llama-3.1-8B-Instruct"}
    assert cb.by_model[MODEL].requests == 2
    assert cb.cached_tokens == 1
    reasoning = [
        m.usage_metadata.get("output_token_details", {}).get("reasoning", 0)
        for m in answers
        if m.usage_metadata
    ]
    assert cb.reasoning_tokens == sum(reasoning)
    assert cb.reasoning_tokens > 0  # gpt-oss always reasons
    costs = [m.response_metadata["cost"]["total"] for m in answers if "cost" in m.response_metadata]
    assert cb.total_cost == pytest.approx(sum(costs))
    assert cb.unpriced_requests == 0


def test_callback_does_not_bill_answers_from_langchains_cache(emulator: WandbEmulator) -> None:
    from langchain_core.caches import InMemoryCache

    llm = emulator.chat_model(cache=InMemoryCache())
    with get_wandb_callback() as cb:
        first = llm.invoke("hi")
        llm.invoke("hi")
    assert len(emulator.chat_requests) == 1
    assert (cb.requests, cb.cache_hits) == (1, 1)
    assert cb.total_cost == first.response_metadata["cost"]["total"]


@pytest.mark.parametrize("streaming", [True, False])
def test_callback_counts_a_billed_answer_that_raised(
    emulator: WandbEmulator, *, streaming: bool
) -> None:
    # The answer arrived whole, with usage (W&B bills it), and was refused because the
    # token limit cut the forced tool call off: the run's cost must still include it.
    emulator.script(
        Reply(content='<tool_call>{"name": "Person", "argu', finish_reason="length"), Reply()
    )
    llm = emulator.chat_model(streaming=streaming, max_retries=0)
    with get_wandb_callback() as cb:
        with pytest.raises(OutputTruncatedError) as caught:
            llm.bind_tools([Person], tool_choice="Person").invoke("Ada?")
        answer = llm.invoke("hi")
    refused = caught.value.ai_message
    assert refused.usage_metadata is not None
    assert answer.usage_metadata is not None
    billed = [refused.response_metadata["cost"]["total"], answer.response_metadata["cost"]["total"]]
    assert cb.requests == 2
    assert (
        cb.input_tokens
        == refused.usage_metadata["input_tokens"] + answer.usage_metadata["input_tokens"]
    )
    assert cb.total_cost == pytest.approx(sum(billed))


async def test_callback_counts_a_billed_answer_that_raised_on_the_async_path(
    emulator: WandbEmulator,
) -> None:
    emulator.script(Reply(content='<tool_call>{"name": "Person", "argu', finish_reason="length"))
    llm = emulator.chat_model(max_retries=0).bind_tools([Person], tool_choice="Person")
    with get_wandb_callback() as cb:
        with pytest.raises(OutputTruncatedError) as caught:
            await llm.ainvoke("Ada?")
    assert cb.requests == 1
    assert cb.total_cost == caught.value.ai_message.response_metadata["cost"]["total"]


def test_callback_does_not_count_a_request_that_failed_without_an_answer(
    emulator: WandbEmulator,
) -> None:
    llm = emulator.chat_model(max_retries=0)
    with get_wandb_callback() as cb:
        with pytest.raises(ValueError, match="retired"):
            llm.invoke("hi", model="deepseek-ai/DeepSeek-R1-0528")
    assert (cb.requests, cb.total_cost) == (0, 0.0)


def test_callback_outside_its_block_counts_nothing(llm: ChatWandbInference) -> None:
    with get_wandb_callback() as cb:
        llm.invoke("hi")
    llm.invoke("hi")
    assert cb.requests == 1


def test_callback_counts_calls_in_threads(llm: ChatWandbInference) -> None:
    with get_wandb_callback() as cb:
        llm.batch([f"prompt {i}" for i in range(6)], config={"max_concurrency": 3})
        context = contextvars.copy_context()
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda i: context.copy().run(llm.invoke, f"t {i}"), range(3)))
    assert cb.requests == 9


def test_callbacks_in_separate_threads_stay_separate(llm: ChatWandbInference) -> None:
    counts: dict[int, int] = {}
    barrier = threading.Barrier(3)

    def run(calls: int) -> None:
        with get_wandb_callback() as cb:
            barrier.wait()
            for _ in range(calls):
                llm.invoke("hi")
        counts[calls] = cb.requests

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == {1: 1, 2: 2, 3: 3}


async def test_callback_counts_calls_in_asyncio_tasks(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model()
    with get_wandb_callback() as cb:
        await asyncio.gather(*(llm.ainvoke(f"p {i}") for i in range(5)))
        await llm.abatch(["a", "b"])
    assert cb.requests == 7
    assert cb.total_cost is not None
    assert cb.total_cost > 0


async def test_callbacks_in_separate_tasks_stay_separate(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model()
    started = asyncio.Event()

    async def run(calls: int) -> int:
        with get_wandb_callback() as cb:
            if calls == 1:
                started.set()
            await started.wait()
            for _ in range(calls):
                await llm.ainvoke("hi")
        return cb.requests

    assert list(await asyncio.gather(run(1), run(2), run(3))) == [1, 2, 3]


# -- LangSmith ---------------------------------------------------------------------------
class _Recorder(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict[str, Any]]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.posts.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PATCH = do_POST  # noqa: N815 - the name http.server dispatches PATCH to


@pytest.fixture
def langsmith_posts() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    posts: list[tuple[str, dict[str, Any]]] = []
    handler = type("Recorder", (_Recorder,), {"posts": posts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", posts
    finally:
        server.shutdown()
        server.server_close()


def test_what_the_langsmith_tracer_sends_for_a_call(
    llm: ChatWandbInference,
    langsmith_posts: tuple[str, list[tuple[str, dict[str, Any]]]],
) -> None:
    import langsmith
    from langchain_core.tracers.context import tracing_v2_enabled
    from langchain_core.tracers.langchain import wait_for_all_tracers

    url, posts = langsmith_posts
    # Tracing switched on as LANGSMITH_TRACING=true does (langsmith reads the environment
    # once per process, so a test uses core's switch, which installs the same tracer),
    # with one JSON post per run start and end instead of batched multipart, to read them.
    client = langsmith.Client(api_url=url, api_key="ls-test-key", auto_batch_tracing=False)
    with tracing_v2_enabled(project_name="wandb-cost", client=client):
        message = llm.invoke("hi")
    wait_for_all_tracers()
    end = next(body for path, body in posts if path.startswith("/runs/"))
    metadata = end["extra"]["metadata"]
    # LangSmith prices a run by ls_provider + ls_model_name (its model price map) ...
    assert (metadata["ls_provider"], metadata["ls_model_name"]) == ("wandb", MODEL)
    # ... or by cost keys in usage_metadata, which core's tracer fills from the message's
    # usage_metadata only (ints: add_usage refuses floats), so W&B's cost cannot ride there.
    assert metadata["usage_metadata"] == message.usage_metadata
    assert not {"input_cost", "output_cost", "total_cost"} & set(metadata["usage_metadata"])
    # The cost is in the run's output message, for anyone reading the trace.
    (generation,) = end["outputs"]["generations"][0]
    sent = generation["message"]["kwargs"]["response_metadata"]["cost"]
    assert sent == message.response_metadata["cost"]
