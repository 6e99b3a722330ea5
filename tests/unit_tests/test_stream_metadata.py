"""Once-per-response metadata lands on exactly one chunk, wherever the server puts it."""

from __future__ import annotations

import json
from typing import Any, cast

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import add_ai_message_chunks

from langchain_wandb._chunks import StreamState
from langchain_wandb._sse import decode_stream


def _events(*payloads: dict[str, Any]) -> list[bytes]:
    return [b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads] + [b"data: [DONE]\n\n"]


def _merged(*payloads: dict[str, Any]) -> AIMessageChunk:
    chunks = list(decode_stream(_events(*payloads), StreamState()))
    return add_ai_message_chunks(*[cast("AIMessageChunk", c.message) for c in chunks])


def test_a_fingerprint_on_the_usage_chunk_is_kept_once() -> None:
    # vLLM 0.32 sends system_fingerprint only on the final usage chunk (choices: []).
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    merged = _merged(
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c1", "choices": [], "usage": usage, "system_fingerprint": "vllm-0.32.0-abc"},
    )
    assert merged.response_metadata["system_fingerprint"] == "vllm-0.32.0-abc"
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["total_tokens"] == 4


def test_a_fingerprint_repeated_on_every_chunk_is_not_concatenated() -> None:
    chunk = {"id": "c1", "model": "m", "system_fingerprint": "fp"}
    merged = _merged(
        {**chunk, "choices": [{"index": 0, "delta": {"content": "a"}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "stop"}]},
    )
    assert merged.response_metadata["system_fingerprint"] == "fp"
    assert merged.text == "ab"


def test_a_preamble_event_that_carries_nothing_keeps_the_model_name() -> None:
    merged = _merged(
        {"id": "c1", "model": "served/model-x", "choices": []},  # a gateway's opening event
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": "hi"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    )
    assert merged.response_metadata["model_name"] == "served/model-x"
    assert merged.id == "c1"


def test_a_usage_event_cut_off_after_the_finish_keeps_the_answer() -> None:
    events = _events(
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "whole"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    )[:-1]  # no [DONE]: the connection breaks inside the usage event
    state = StreamState()
    chunks = list(decode_stream([*events, b'data: {"id": "c1", "choices": [], "usa'], state))
    merged = add_ai_message_chunks(*[cast("AIMessageChunk", c.message) for c in chunks])
    assert merged.text == "whole"
    assert merged.response_metadata["finish_reason"] == "stop"
    assert state.usage_lost
