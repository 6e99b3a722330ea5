"""The emulator and a real vLLM 0.32 answer the same requests in the same SHAPES.

Token text differs (random weights against scripted answers), so what is compared is the
skeleton of each answer: status, media type, the keys of every object and the JSON type
of every value, the values that name a protocol fact (`object`, `finish_reason`, `role`,
`index`, error `type`/`param`/`code`), and for streams the sequence of chunk shapes with
runs of alike chunks collapsed: which chunk carries `finish_reason`, usage and the
fingerprint. When vLLM's wire format drifts, a test here fails and names the difference.

Deliberate differences (documented in `langchain_wandb.testing._server`) are not asked:
`model` for an alias, `GET /models` entries, error message wording beyond the context
window's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from langchain_wandb.testing import WandbEmulator
from tests.compat.conftest import Vllm

HI = [{"role": "user", "content": "hi"}]
NO_THINK = {"chat_template_kwargs": {"enable_thinking": False}}
USAGE = {"stream_options": {"include_usage": True}}
TOOL = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Apply a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "integer"}},
            "required": ["input"],
            "additionalProperties": False,
        },
    },
}
JOKE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "joke",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
            "required": ["setup", "punchline"],
            "additionalProperties": False,
        },
    },
}
# Values that are protocol facts, not generated text: compared as values, not types.
VALUE_KEYS = frozenset({"object", "finish_reason", "role", "index", "type", "param", "code"})

REQUESTS: dict[str, dict[str, Any]] = {
    # A stream that ends by itself (the schema's grammar makes the tiny model stop).
    "stream-stop": {"response_format": JOKE_SCHEMA, "max_tokens": 200, "stream": True, **USAGE},
    "stream-without-usage": {"max_tokens": 2, "min_tokens": 2, "stream": True},
    "stream-max-tokens-cut": {"max_tokens": 2, "min_tokens": 2, "stream": True, **USAGE},
    "stream-tool-call": {
        "tools": [TOOL],
        "tool_choice": "required",
        "max_tokens": 200,
        "stream": True,
        **USAGE,
    },
    "plain-max-tokens-cut": {"max_tokens": 2, "min_tokens": 2},
    "plain-tool-call-named": {
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "magic_function"}},
        "max_tokens": 200,
    },
    "unknown-model": {"model": "no-such-model", "max_tokens": 2},
    "unknown-model-stream": {"model": "no-such-model", "max_tokens": 2, "stream": True},
    "max-tokens-over-window": {"max_tokens": 4096},
    "prompt-over-window": {"messages": [{"role": "user", "content": "hi " * 2100}]},
}


@pytest.fixture(scope="module")
def emulator(vllm: Vllm) -> Iterator[WandbEmulator]:
    """An emulator serving vLLM's model name with vLLM's window (2048, no reasoning)."""
    with WandbEmulator() as emulator:
        emulator.add_model(vllm.model, context_window=2048, reasoning="none")
        yield emulator


def shape(value: Any, key: str = "") -> Any:
    """The skeleton of a JSON value: keys and types (values for `VALUE_KEYS`)."""
    if isinstance(value, dict):
        return {name: shape(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    if key in VALUE_KEYS:
        return value
    return type(value).__name__


def is_token_delta(event: Any) -> bool:
    """A chunk that only carries tokens: no role, no finish_reason, no usage."""
    choices = event.get("choices") or [{}]
    return "usage" not in event and all(
        "role" not in choice.get("delta", {"role": None}) and choice.get("finish_reason") is None
        for choice in choices
    )


def coalesced(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` as vLLM sends it when its reader lags: without plain token chunks.

    vLLM merges the deltas produced while a stream's consumer is behind (its
    `RequestOutputCollector`), so under CPU load a 2-token answer may arrive as the role
    chunk and one finishing chunk. The emulator sends a chunk per token, as W&B does.
    """
    if "events" not in answer:
        return answer
    return {**answer, "events": collapse([e for e in answer["events"] if not is_token_delta(e)])}


def collapse(shapes: list[Any]) -> list[Any]:
    """The shapes with runs of equal neighbours collapsed to one (token counts differ)."""
    collapsed: list[Any] = []
    for item in shapes:
        if not collapsed or collapsed[-1] != item:
            collapsed.append(item)
    return collapsed


def answer_shape(base_url: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    """Status, media type and the shape of the body (for streams, of each event)."""
    request = {"model": model, "messages": HI, "temperature": 0, **NO_THINK, **body}
    answer = httpx2.post(
        f"{base_url}/chat/completions",
        json=request,
        headers={"Authorization": "Bearer compat"},
        timeout=120,
    )
    media_type = answer.headers["content-type"].split(";")[0]
    result: dict[str, Any] = {"status": answer.status_code, "media_type": media_type}
    if media_type != "text/event-stream":
        result["body"] = shape(answer.json())
        return result
    payloads = [line[6:] for line in answer.text.splitlines() if line.startswith("data: ")]
    result["ends_with_done"] = payloads[-1:] == ["[DONE]"]
    result["events"] = collapse([shape(json.loads(p)) for p in payloads if p != "[DONE]"])
    return result


@pytest.mark.parametrize("name", list(REQUESTS))
def test_the_emulator_answers_in_vllms_shapes(
    vllm: Vllm, emulator: WandbEmulator, name: str
) -> None:
    body = REQUESTS[name]
    expected = answer_shape(vllm.base_url, vllm.model, body)
    actual = answer_shape(emulator.base_url, vllm.model, body)
    if actual != expected and expected == coalesced(expected):
        actual = coalesced(actual)  # vLLM merged its token deltas: compare the rest
    assert actual == expected, (
        f"{name}: the emulator's shape (left) differs from vLLM's (right):\n"
        f"emulator: {json.dumps(actual, indent=1)}\nvllm: {json.dumps(expected, indent=1)}"
    )
