"""Batch input, read one line at a time: OpenAI Batch API JSONL and the simple forms.

Each non-blank line is one request, in any of these forms (they may be mixed):
- OpenAI Batch API: `{"custom_id", "method": "POST", "url": "/v1/chat/completions",
  "body": {"model", "messages", ...}}`; every body field but `messages`/`stream`/
  `stream_options`/`metadata` is a per-call parameter of the chat model (`model`
  included; the model drops OpenAI's defaults for `store` and `service_tier`, which ask
  for nothing); `metadata` becomes LangChain run metadata;
- `{"custom_id", "messages", ...}`: the same without the envelope;
- plain text (a line not starting with `{`): one user prompt.

A row without `custom_id` is named `line-<N>`. A line that cannot be a request becomes
a `BadRow` naming its line number and the problem; it never stops the other lines.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages

from langchain_wandb._json import json_loads

_CHAT_URLS = ("/v1/chat/completions", "/chat/completions")
# Body fields the runner decides itself (it always reads whole answers and their usage).
_RUNNER_FIELDS = ("messages", "stream", "stream_options", "metadata")


@dataclass(frozen=True)
class Row:
    """One request to run."""

    line: int
    """Line number in the input (from 1)."""
    custom_id: str
    """The row's id in the output."""
    messages: list[BaseMessage]
    """The conversation to send."""
    params: dict[str, Any] = field(default_factory=dict)
    """Per-call parameters for the chat model (`model`, `temperature`, `tools`, ...)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """The body's `metadata` (OpenAI's request tags): LangChain run metadata, for traces."""


@dataclass(frozen=True)
class BadRow:
    """A line that cannot be a request."""

    line: int
    """Line number in the input (from 1)."""
    custom_id: str
    """Its `custom_id` when one could be read, else `line-<N>`."""
    problem: str
    """What is wrong, for the output's error row."""


class InputError(ValueError):
    """The input file as a whole cannot run (missing, or with duplicate `custom_id`s)."""


def fallback_id(line: int) -> str:
    """The id of a row that has none."""
    return f"line-{line}"


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, stripped bytes) of each non-blank line, streamed.

    A UTF-8 byte order mark (what Windows editors save) is not part of the first line.
    """
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read the input file {str(path)!r}: {error.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            text = (raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw).strip()
            if text:
                yield number, text


def custom_id_of(line: int, raw: bytes) -> str:
    """The id a line will have in the output (cheap: for the duplicate check)."""
    if not raw.startswith(b"{"):
        return fallback_id(line)
    try:
        data = json_loads(raw)
    except ValueError:
        return fallback_id(line)
    value = data.get("custom_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else fallback_id(line)


def parse_line(line: int, raw: bytes) -> Row | BadRow:
    """The request on one input line, or what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return BadRow(line, fallback_id(line), f"line {line} is not UTF-8 text ({error.reason})")
    if not text.startswith("{"):
        return Row(line, fallback_id(line), convert_to_messages([("human", text)]))
    try:
        data = json_loads(text)
    except ValueError as error:
        return BadRow(line, fallback_id(line), f"line {line} is not valid JSON: {error}")
    custom_id = data.get("custom_id", fallback_id(line))
    if not isinstance(custom_id, str) or not custom_id:
        return BadRow(line, fallback_id(line), f"line {line}: custom_id must be a non-empty string")
    problem, request = _request_of(data)
    if problem:
        return BadRow(line, custom_id, f"line {line}: {problem}")
    params = {key: value for key, value in request.items() if key not in _RUNNER_FIELDS}
    try:
        messages = convert_to_messages(request["messages"])
    except (ValueError, TypeError, KeyError, NotImplementedError) as error:
        return BadRow(line, custom_id, f"line {line}: messages cannot be read: {error}")
    return Row(line, custom_id, messages, params, request.get("metadata") or {})


def _request_of(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(problem or "", the request fields) of a JSON line."""
    if "body" in data:
        if data.get("method", "POST") != "POST":
            return f"method must be POST, got {data['method']!r}", {}
        if data.get("url", _CHAT_URLS[0]) not in _CHAT_URLS:
            return (
                f"url {data['url']!r} is not served: W&B Inference answers "
                "/v1/chat/completions only",
                {},
            )
        if not isinstance(data["body"], dict):
            return "body must be a JSON object", {}
        request = data["body"]
    elif "messages" in data or "prompt" in data:
        request = {key: value for key, value in data.items() if key != "custom_id"}
        if "prompt" in request and "messages" not in request:
            prompt = request.pop("prompt")
            if not isinstance(prompt, str):
                return "prompt must be a string", {}
            request["messages"] = [{"role": "user", "content": prompt}]
    else:
        return (
            "a JSON line needs `body` (OpenAI Batch API format), `messages` or `prompt`",
            {},
        )
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list", {}
    if not isinstance(request.get("metadata") or {}, dict):
        return "metadata must be a JSON object", {}
    return "", request
