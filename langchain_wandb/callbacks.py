"""Cost and tokens of everything run inside a `with get_wandb_callback() as cb:` block.

Shaped like langchain-community's `get_openai_callback` and langchain-core's
`get_usage_metadata_callback`: a callback handler that LangChain hands every chat model
call made in the block (chains, agents, `batch`'s threads and asyncio tasks included),
read from each answer's `usage_metadata` and `response_metadata["cost"]`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook


@dataclass
class ModelUsage:
    """Requests, tokens by kind and cost of the calls to one model (or to all)."""

    requests: int = 0
    """Chat model calls that finished (answers from LangChain's cache not included)."""
    input_tokens: int = 0
    """Input (prompt) tokens, cached ones included."""
    output_tokens: int = 0
    """Output tokens, reasoning tokens included."""
    reasoning_tokens: int = 0
    """The part of `output_tokens` spent reasoning, where the server reported it."""
    cached_tokens: int = 0
    """The part of `input_tokens` served from W&B's prefix cache."""
    unpriced_requests: int = 0
    """Calls whose cost is unknown: no price for the model (a LoRA without a base
    price, a model newer than the price snapshot) or no usage reported."""
    priced_cost: float = 0.0
    """USD of the calls whose cost is known."""
    cache_hits: int = 0
    """Answers LangChain's cache gave without a request (no tokens, no cost; core marks
    them with `usage_metadata["total_cost"] = 0`)."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def total_cost(self) -> float | None:
        """USD of all the calls; None when any call's cost is unknown.

        A sum that leaves unpriced calls out would read as the total and be too low;
        `priced_cost` is that lower bound, `unpriced_requests` the calls it misses.
        """
        return None if self.unpriced_requests else self.priced_cost

    def add(self, usage: Mapping[str, Any] | None, cost: Any) -> None:
        """Count one finished call from its `usage_metadata` and `response_metadata["cost"]`.

        An answer from LangChain's cache (`usage["total_cost"] == 0`) is a cache hit, not
        a request. A call is unpriced unless `cost` is a dict with a numeric `"total"`.
        """
        if usage and usage.get("total_cost") == 0:
            self.cache_hits += 1
            return
        self.requests += 1
        if usage:
            self.input_tokens += usage.get("input_tokens", 0)
            self.output_tokens += usage.get("output_tokens", 0)
            self.reasoning_tokens += usage.get("output_token_details", {}).get("reasoning", 0)
            self.cached_tokens += usage.get("input_token_details", {}).get("cache_read", 0)
        total = cost.get("total") if isinstance(cost, dict) else None
        if isinstance(total, (int, float)) and not isinstance(total, bool):
            self.priced_cost = round(self.priced_cost + total, 12)
        else:
            self.unpriced_requests += 1


class WandbCallbackHandler(BaseCallbackHandler):
    """Adds up requests, tokens and USD cost of chat model calls, overall and by model.

    Safe to share between threads and asyncio tasks. Reads what every answer carries
    (`usage_metadata`, `response_metadata["cost"]`), so prices are those the model used
    (the packaged snapshot or its `prices=` overrides).
    """

    run_inline = True  # a few additions under a lock: no need for an executor thread

    def __init__(self, parent: WandbCallbackHandler | None = None) -> None:
        """A handler with nothing counted; calls are also passed on to `parent`."""
        super().__init__()
        self._lock = threading.Lock()
        self._parent = parent
        self.total = ModelUsage()
        """Everything counted."""
        self.by_model: dict[str, ModelUsage] = {}
        """The same, per model id (as the server named it)."""

    @property
    def requests(self) -> int:
        """Chat model calls that finished."""
        return self.total.requests

    @property
    def input_tokens(self) -> int:
        """Input tokens, cached ones included."""
        return self.total.input_tokens

    @property
    def output_tokens(self) -> int:
        """Output tokens, reasoning tokens included."""
        return self.total.output_tokens

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.total.total_tokens

    @property
    def reasoning_tokens(self) -> int:
        """Output tokens spent reasoning."""
        return self.total.reasoning_tokens

    @property
    def cached_tokens(self) -> int:
        """Input tokens served from the prefix cache."""
        return self.total.cached_tokens

    @property
    def cache_hits(self) -> int:
        """Answers from LangChain's cache: not requests, not billed."""
        return self.total.cache_hits

    @property
    def unpriced_requests(self) -> int:
        """Calls whose cost is unknown (and so missing from `total_cost`)."""
        return self.total.unpriced_requests

    @property
    def total_cost(self) -> float | None:
        """USD of all the calls; None when any call's cost is unknown (see `priced_cost`)."""
        return self.total.total_cost

    @property
    def priced_cost(self) -> float:
        """USD of the calls whose cost is known: all of it unless `unpriced_requests`."""
        return self.total.priced_cost

    def __repr__(self) -> str:
        """A summary in the shape of `get_openai_callback`'s."""
        shown = f"${self.priced_cost:.6f}"
        if self.unpriced_requests:
            known = f"at least {shown}; " if self.unpriced_requests < self.requests else ""
            shown = f"unknown ({known}{self.unpriced_requests} unpriced requests)"
        return (
            f"Tokens Used: {self.total_tokens}\n"
            f"\tPrompt Tokens: {self.input_tokens}\n"
            f"\t\tPrompt Tokens Cached: {self.cached_tokens}\n"
            f"\tCompletion Tokens: {self.output_tokens}\n"
            f"\t\tReasoning Tokens: {self.reasoning_tokens}\n"
            f"Successful Requests: {self.requests}\n"
            f"Total Cost (USD): {shown}"
        )

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Count the finished call's tokens and cost."""
        try:
            generation = response.generations[0][0]
        except IndexError:
            return
        if not isinstance(generation, ChatGeneration):
            return  # a text-completion LLM's answer: neither usage nor cost to read
        message = generation.message
        model = str(message.response_metadata.get("model_name") or "unknown")
        usage = message.usage_metadata if isinstance(message, AIMessage) else None
        self._record(model, usage, message.response_metadata.get("cost"))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        """Count a call that raised after its answer arrived with usage (W&B billed it).

        A tool call or structured answer cut off by `max_tokens`, or a stream that failed
        after its usage event, carries the answer as it arrived (`ai_message`, or a
        stream error's `partial`). A call that failed without usage is not counted.
        """
        message = getattr(error, "ai_message", None) or getattr(error, "partial", None)
        if isinstance(message, AIMessage) and message.usage_metadata:
            model = str(message.response_metadata.get("model_name") or "unknown")
            self._record(model, message.usage_metadata, message.response_metadata.get("cost"))

    def _record(self, model: str, usage: Any, cost: dict[str, Any] | None) -> None:
        with self._lock:
            self.total.add(usage, cost)
            self.by_model.setdefault(model, ModelUsage()).add(usage, cost)
        if self._parent is not None:
            self._parent._record(model, usage, cost)


_current: ContextVar[WandbCallbackHandler | None] = ContextVar(
    "langchain_wandb_callback", default=None
)
register_configure_hook(_current, inheritable=True)


@contextmanager
def get_wandb_callback() -> Iterator[WandbCallbackHandler]:
    """Count tokens, requests and USD cost of the chat model calls made in the block.

    Calls in threads LangChain starts (`batch`, `RunnableParallel`) and in asyncio tasks
    created in the block are counted; a thread you start yourself is counted when it
    runs in a copy of the block's context (`contextvars.copy_context().run`). Nested
    blocks each count their own calls, and the outer one counts the inner's too.

    Example:
        ```python
        from langchain_wandb.callbacks import get_wandb_callback

        with get_wandb_callback() as cb:
            llm.invoke("Hello")
        print(cb.total_cost, cb.by_model)
        ```

    Yields:
        The handler; its counts stay readable after the block.
    """
    handler = WandbCallbackHandler(parent=_current.get())
    token = _current.set(handler)
    try:
        yield handler
    finally:
        _current.reset(token)
