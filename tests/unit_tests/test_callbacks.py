"""`get_wandb_callback`'s handler on hand-built results (the emulator tests run real calls)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from langchain_wandb import get_wandb_callback
from langchain_wandb.callbacks import ModelUsage, WandbCallbackHandler


def result(
    model: str, usage: dict[str, Any] | None, cost: dict[str, Any] | None = None
) -> LLMResult:
    meta: dict[str, Any] = {"model_name": model}
    if cost is not None or usage is not None:
        meta["cost"] = cost
    message = AIMessage(content="x", response_metadata=meta, usage_metadata=usage)
    return LLMResult(generations=[[ChatGeneration(message=message)]])


USAGE = {
    "input_tokens": 10,
    "output_tokens": 20,
    "total_tokens": 30,
    "input_token_details": {"cache_read": 4},
    "output_token_details": {"reasoning": 15},
}
COST = {"input": 0.001, "output": 0.002, "total": 0.003, "currency": "USD", "prices_as_of": None}


def test_counts_tokens_by_kind_requests_cost_and_models() -> None:
    handler = WandbCallbackHandler()
    handler.on_llm_end(result("a/one", USAGE, COST))
    handler.on_llm_end(result("a/one", USAGE, COST))
    handler.on_llm_end(result("b/two", USAGE, None))  # unpriced
    assert (handler.requests, handler.input_tokens, handler.output_tokens) == (3, 30, 60)
    assert (handler.total_tokens, handler.reasoning_tokens, handler.cached_tokens) == (90, 45, 12)
    # One call's price is unknown, so the run's total is: a partial sum read as the total
    # is get_openai_callback's bug (0 for models it cannot price) in a milder form.
    assert handler.total_cost is None
    assert handler.priced_cost == 0.006  # the part that is known, a lower bound
    assert handler.unpriced_requests == 1
    assert handler.by_model["a/one"].total_cost == 0.006
    assert handler.by_model["b/two"].total_cost is None  # unknown, never 0
    assert "Total Cost (USD): unknown (at least $0.006000; 1 unpriced requests)" in repr(handler)


def test_nothing_known_reads_as_unknown_not_zero() -> None:
    assert WandbCallbackHandler().total_cost == 0.0  # no calls: nothing spent
    handler = WandbCallbackHandler()
    handler.on_llm_end(result("new/model", None))  # usage never arrived
    assert (handler.requests, handler.total_cost, handler.total_tokens) == (1, None, 0)
    assert "Total Cost (USD): unknown" in repr(handler)


def test_results_without_a_chat_answer_are_not_counted() -> None:
    handler = WandbCallbackHandler()
    handler.on_llm_end(LLMResult(generations=[[]]))
    handler.on_llm_end(LLMResult(generations=[[Generation(text="completion")]]))
    assert handler.requests == 0
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=HumanMessage("odd"))]]))
    assert (handler.requests, handler.unpriced_requests) == (1, 1)
    assert handler.by_model == {"unknown": ModelUsage(requests=1, unpriced_requests=1)}


def test_nested_blocks_count_their_own_calls_and_the_outer_one_all() -> None:
    with get_wandb_callback() as outer:
        outer.on_llm_end(result("a/one", USAGE, COST))
        with get_wandb_callback() as inner:
            inner.on_llm_end(result("a/one", USAGE, COST))
    assert (outer.requests, inner.requests) == (2, 1)


def test_answers_from_langchains_cache_cost_nothing() -> None:
    handler = WandbCallbackHandler()
    handler.on_llm_end(result("a/one", USAGE, COST))
    # What core hands on for a cache hit: the stored message, usage marked total_cost 0.
    handler.on_llm_end(result("a/one", {**USAGE, "total_cost": 0}, COST))
    assert (handler.requests, handler.cache_hits, handler.total_tokens) == (1, 1, 30)
    assert handler.total_cost == 0.003
    assert repr(handler).endswith("Total Cost (USD): $0.003000")


def test_a_cost_that_is_not_a_price_counts_as_unpriced() -> None:
    # Another chat model in the block may put its own shape under "cost": never a crash,
    # never a made-up number.
    handler = WandbCallbackHandler()
    handler.on_llm_end(result("other/model", USAGE, {"usd": 0.01}))
    handler.on_llm_end(result("other/model", USAGE, {"total": True}))
    assert (handler.requests, handler.unpriced_requests, handler.priced_cost) == (2, 2, 0.0)
    assert handler.total_cost is None
