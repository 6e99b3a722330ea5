"""Output rows in OpenAI's batch output format, and what each failure means for the run.

A success: `{"id", "custom_id", "response": {"status_code": 200, "request_id", "body":
<chat.completion>}, "error": null}`; the body has `usage` (with token details when the
server sent them) and our `cost` (null when the price is unknown). A failure has
`error: {"code": <typed error class>, "message": <with the server's text>,
"retry_on_resume": bool}` and, when the server answered with an HTTP status, `response`
with that status and the server's error body.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from langchain_core.exceptions import (
    ModelAuthenticationError,
    ModelConnectionError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage

from langchain_wandb._json import json_loads
from langchain_wandb._results import token_usage

Outcome = Literal["stop", "transient", "permanent"]
INVALID_INPUT = "invalid_input"
_TRANSIENT_STATUSES = (408, 409, 429)


def new_row_id() -> str:
    """A fresh output row id, as OpenAI names them."""
    return f"batch_req_{uuid.uuid4().hex}"


def dumps(record: dict[str, Any]) -> bytes:
    """One output line (compact JSON and a newline)."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def outcome_of(error: BaseException) -> Outcome:
    """What a row's error means: stop the run, retry on resume, or a final answer."""
    if isinstance(error, (ModelAuthenticationError, ModelPermissionDeniedError)):
        # 401; 402, 403 and the quota and personal-account 429s (permission errors).
        return "stop"
    status = getattr(error, "status_code", None)
    if isinstance(error, (ModelRateLimitError, ModelTimeoutError, ModelConnectionError)):
        return "transient"
    if isinstance(status, int) and (status >= 500 or status in _TRANSIENT_STATUSES):
        return "transient"
    from langchain_wandb._errors import StreamEndedEarlyError

    return "transient" if isinstance(error, StreamEndedEarlyError) else "permanent"


def error_record(custom_id: str, error: BaseException) -> dict[str, Any]:
    """The output row of a request that failed with `error` (typed, with the server's text)."""
    status = getattr(error, "status_code", None)
    response = None
    if isinstance(status, int):
        response = {"status_code": status, "request_id": None, "body": _server_body(error)}
    return {
        "id": new_row_id(),
        "custom_id": custom_id,
        "response": response,
        "error": {
            "code": type(error).__name__,
            "message": str(error),
            "retry_on_resume": outcome_of(error) == "transient",
        },
    }


def _server_body(error: BaseException) -> Any:
    """The error body as the server sent it (key masked): its JSON, else its text.

    Not the SDK's `error.body`, which is the body's `error` member when it has one and
    the whole body otherwise (W&B's 422 `{"detail": ...}`): rewrapping it would invent.
    """
    response = getattr(error, "response", None)
    content = getattr(response, "content", b"")
    try:
        body = json_loads(content)
        json.dumps(body)  # JSON deep enough to read can be too deep to write back
    except (ValueError, RecursionError):
        return content.decode("utf-8", "replace") or {"error": getattr(error, "body", None)}
    return body


def bad_input_record(custom_id: str, problem: str) -> dict[str, Any]:
    """The output row of an input line that cannot be a request."""
    return {
        "id": new_row_id(),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": INVALID_INPUT, "message": problem, "retry_on_resume": False},
    }


def success_record(custom_id: str, message: AIMessage) -> dict[str, Any]:
    """The output row of an answered request: the answer as a `chat.completion`."""
    meta = message.response_metadata
    body: dict[str, Any] = {
        "id": meta.get("id") or message.id,
        "object": "chat.completion",
        "model": meta.get("model_name"),
        "choices": [
            {
                "index": 0,
                "message": _wire_message(message),
                "finish_reason": meta.get("finish_reason"),
                "logprobs": meta.get("logprobs"),
            }
        ],
        "usage": token_usage(message.usage_metadata) or None,
        "cost": meta.get("cost"),
    }
    if "system_fingerprint" in meta:
        body["system_fingerprint"] = meta["system_fingerprint"]
    return {
        "id": new_row_id(),
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": None, "body": body},
        "error": None,
    }


def _wire_message(message: AIMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": "assistant", "content": message.text or None}
    if reasoning := message.additional_kwargs.get("reasoning_content"):
        wire["reasoning"] = reasoning
    calls: list[dict[str, Any]] = [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
        }
        for call in message.tool_calls
    ]
    calls += [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": call["args"]},
        }
        for call in message.invalid_tool_calls
    ]
    if calls:
        wire["tool_calls"] = calls
    return wire
