"""What ChatOpenAI's results carry beyond the message: `llm_output` and `generation_info`.

Callback handlers (Weave, cost trackers) read `LLMResult.llm_output["token_usage"]` in
OpenAI's shape and `generation_info["finish_reason"]`; ChatOpenAI fills both on its plain
path. Here they are filled on every path, streamed or not, from what the message holds
(so the numbers are the server's, only reshaped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult


def token_usage(usage: UsageMetadata | None) -> dict[str, Any]:
    """`usage_metadata` in OpenAI's `usage` shape and field order (`{}` when there is none)."""
    if usage is None:
        return {}
    out: dict[str, Any] = {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }
    cached = usage.get("input_token_details", {}).get("cache_read")
    if cached is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    reasoning = usage.get("output_token_details", {}).get("reasoning")
    if reasoning is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return out


def with_openai_outputs(result: ChatResult, model_name: str) -> ChatResult:
    """`result` with ChatOpenAI's `llm_output` and `generation_info` filled in (in place)."""
    generation = result.generations[0]
    message = generation.message
    metadata = message.response_metadata
    info = dict(generation.generation_info or {})
    info["finish_reason"] = metadata.get("finish_reason")
    if "logprobs" in metadata:
        info["logprobs"] = metadata["logprobs"]
    generation.generation_info = info
    usage = message.usage_metadata if isinstance(message, AIMessage) else None
    llm_output: dict[str, Any] = {
        "token_usage": token_usage(usage),
        "model_name": metadata.get("model_name") or model_name,
    }
    if fingerprint := metadata.get("system_fingerprint"):
        llm_output["system_fingerprint"] = fingerprint
    result.llm_output = llm_output
    return result


def with_generation_info(chunk: ChatGenerationChunk) -> ChatGenerationChunk:
    """`chunk` with `generation_info` (`finish_reason`, `logprobs`) as ChatOpenAI's carry.

    For when langchain-core merges the stream itself (`streaming=True` set explicitly, or
    a streaming callback attached): its result's `generation_info` is the chunks' merged.
    """
    metadata = chunk.message.response_metadata
    if "finish_reason" in metadata or "logprobs" in metadata:
        info = {key: metadata[key] for key in ("finish_reason", "logprobs") if key in metadata}
        chunk.generation_info = {**(chunk.generation_info or {}), **info}
    return chunk


def combine_llm_outputs(outputs: list[dict[str, Any] | None], model_name: str) -> dict[str, Any]:
    """One `llm_output` for `generate()` over several prompts, as ChatOpenAI combines them.

    Token counts are summed (nested details too); the first fingerprint is kept.
    """
    total: dict[str, Any] = {}
    fingerprint = None
    for output in outputs:
        if output is None:
            continue  # a cached answer
        _add(total, output.get("token_usage") or {})
        fingerprint = fingerprint or output.get("system_fingerprint")
    combined: dict[str, Any] = {"token_usage": total, "model_name": model_name}
    if fingerprint:
        combined["system_fingerprint"] = fingerprint
    return combined


def _add(total: dict[str, Any], usage: Mapping[str, Any]) -> None:
    for key, value in usage.items():
        if isinstance(value, Mapping):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value
