"""Record what a real vLLM server sends, as small samples the emulator can be matched to.

Run against a server started with `scripts/compat/vllm_server.py` (project venv):

    python scripts/compat/capture_wire_samples.py http://127.0.0.1:PORT \
        > tests/compat/samples/vllm-0.32.0.json

Each sample is the request body, the status, and the JSON body or the SSE events
(long streams keep their first and last events). Answers are random-weight noise; the
shapes, field names and error bodies are what matter.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx2

MODEL = "tiny-qwen3"
_KEEP = 4  # events kept at each end of a long stream
_HI = [{"role": "user", "content": "hi"}]
_TOOL = {
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
        "strict": True,
    },
}
_SCHEMA = {
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


def _events(lines: list[str]) -> list[Any]:
    events: list[Any] = []
    for line in lines:
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            events.append(data if data == "[DONE]" else json.loads(data))
        elif line:
            events.append({"non_data_line": line})
    if len(events) > 2 * _KEEP + 1:
        events = [*events[:_KEEP], {"elided_events": len(events) - 2 * _KEEP}, *events[-_KEEP:]]
    return events


def sample(client: httpx2.Client, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    """Send one chat request; return it with the status and the body or SSE events."""
    body = {"model": MODEL, **body}
    request = client.build_request("POST", "/v1/chat/completions", json=body, headers=headers)
    answer = client.send(request, stream=True)
    try:
        record: dict[str, Any] = {"request": body, "status": answer.status_code}
        if headers:
            record["request_headers"] = headers
        record["content_type"] = answer.headers.get("content-type")
        if "text/event-stream" in (answer.headers.get("content-type") or ""):
            record["events"] = _events(list(answer.iter_lines()))
        else:
            answer.read()
            record["body"] = answer.json()
        return record
    finally:
        answer.close()


def captures() -> dict[str, dict[str, Any]]:
    """The requests to record, by sample name."""
    stream = {"stream": True, "stream_options": {"include_usage": True}}
    no_think = {"chat_template_kwargs": {"enable_thinking": False}}
    return {
        "stream_thinking_off": {"messages": _HI, "max_tokens": 6, **stream, **no_think},
        "stream_thinking_on": {"messages": _HI, "max_tokens": 6, **stream},
        "stream_without_include_usage": {"messages": _HI, "max_tokens": 3, "stream": True},
        "nonstream_thinking_off": {"messages": _HI, "max_tokens": 6, **no_think},
        "nonstream_thinking_on": {"messages": _HI, "max_tokens": 6},
        "stream_logprobs": {
            "messages": _HI,
            "max_tokens": 2,
            "logprobs": True,
            "top_logprobs": 2,
            **stream,
            **no_think,
        },
        "nonstream_logprobs": {
            "messages": _HI,
            "max_tokens": 2,
            "logprobs": True,
            "top_logprobs": 2,
            **no_think,
        },
        "stream_tool_choice_required": {
            "messages": _HI,
            "tools": [_TOOL],
            "tool_choice": "required",
            "max_tokens": 60,
            **stream,
            **no_think,
        },
        "stream_tool_choice_named": {
            "messages": _HI,
            "tools": [_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "magic_function"}},
            "max_tokens": 60,
            **stream,
            **no_think,
        },
        "nonstream_tool_choice_required": {
            "messages": _HI,
            "tools": [_TOOL],
            "tool_choice": "required",
            "max_tokens": 60,
            **no_think,
        },
        "nonstream_tool_choice_named": {
            "messages": _HI,
            "tools": [_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "magic_function"}},
            "max_tokens": 60,
            **no_think,
        },
        # Thinking on: the forced call is only decoded after `</think>`; this model never
        # closes its thinking unless asked to (logit_bias), so it thinks until the end.
        "stream_tool_choice_required_while_thinking": {
            "messages": _HI,
            "tools": [_TOOL],
            "tool_choice": "required",
            "max_tokens": 8,
            **stream,
        },
        "stream_reasoning_then_content": {
            "messages": _HI,
            "max_tokens": 12,
            "logit_bias": {"507": 4.0},
            "seed": 7,
            **stream,
        },
        "stream_json_schema": {
            "messages": _HI,
            "response_format": _SCHEMA,
            "max_tokens": 80,
            **stream,
            **no_think,
        },
        "error_unknown_model": {"model": "no-such-model", "messages": _HI, "max_tokens": 2},
        "error_unknown_model_stream": {
            "model": "no-such-model",
            "messages": _HI,
            "max_tokens": 2,
            **stream,
        },
        "error_context_overflow": {"messages": _HI, "max_tokens": 4096},
        "error_prompt_too_long": {"messages": [{"role": "user", "content": "hi " * 2100}]},
        "error_bad_reasoning_effort": {"messages": _HI, "reasoning_effort": "bogus"},
        "error_empty_cache_salt": {"messages": _HI, "cache_salt": ""},
        "error_max_tokens_zero": {"messages": _HI, "max_tokens": 0},
        "error_top_logprobs_too_many": {
            "messages": _HI,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": 30,
        },
        "error_tool_choice_unknown_tool": {
            "messages": _HI,
            "tools": [_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "nope"}},
        },
    }


def main() -> None:
    """Print the samples as one JSON document."""
    root = sys.argv[1].rstrip("/")
    samples: dict[str, Any] = {}
    with httpx2.Client(base_url=root, timeout=120) as client:
        samples["models"] = client.get("/v1/models").json()
        for name, body in captures().items():
            samples[name] = sample(client, body)
        samples["openai_project_header"] = sample(
            client, {"messages": _HI, "max_tokens": 1}, **{"OpenAI-Project": "team/project"}
        )
    json.dump(samples, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
