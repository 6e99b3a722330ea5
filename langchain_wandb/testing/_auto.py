"""What the emulator answers when no reply is scripted.

It behaves like an obliging model, deterministically: it calls a bound tool when the
request has tools (the one `tool_choice` names, else one the prompt mentions, else the
first), with arguments built from the tool's JSON schema (numbers and quoted phrases taken
from the prompt in order); it answers from the tool results once they come back, or, when
a tool choice still forces a call, calls a tool it has not called yet this turn; it returns
a JSON instance of the schema for `response_format` (and then calls no tool unless forced,
as vLLM-served models do); otherwise a joke or an echo.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_wandb.testing._replies import Reply, ToolCallReply, last_user_text

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
# A quote opens only where a word does not go on ("What's" holds no phrase), in straight
# or typographic quotes.
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]+?)'(?!\w)|\"([^\"\n]+)\"|\u2018([^\u2019\n]+)\u2019|\u201c([^\u201d\n]+)\u201d"
)
_PROPER_NOUN = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s[A-Z][a-z]+)*)\b")
# What a model puts in strings of a well-known `format`.
_FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def automatic_reply(request: dict[str, Any]) -> Reply:
    """The default reply for a request."""
    messages = request.get("messages") or []
    prompt = last_user_text(request)
    tools = request.get("tools") or []
    choice = request.get("tool_choice")
    results = _trailing_tool_results(messages)
    response_format = request.get("response_format") or {}
    if _calls_a_tool(tools, choice, results, response_format):
        if results:  # forced to call again: a tool this turn has not called yet
            called = _called_this_turn(messages)
            tools = [tool for tool in tools if _name(tool) not in called] or tools
        return _tool_call(_pick_tool(tools, choice, prompt), prompt)
    return _answer(response_format, prompt, results)


def _calls_a_tool(
    tools: list[dict[str, Any]], choice: Any, results: list[str], response_format: dict[str, Any]
) -> bool:
    """Whether the reply is a tool call: tools are bound and the choice lets it call one.

    Like vLLM-served models, `response_format` constrains the whole reply: with tools on
    "auto" the model answers in JSON at once and cannot call a tool (vllm#39929); tool
    results on "auto" are answered, not called again.
    """
    forced = choice == "required" or isinstance(choice, dict)
    return bool(tools) and choice != "none" and (forced or not (results or response_format))


def _tool_call(tool: dict[str, Any], prompt: str) -> Reply:
    """A call of `tool` with arguments sampled from its schema and the prompt."""
    function = tool.get("function") or {}
    parameters = function.get("parameters") or {}
    args = _sample(parameters, _Fill(prompt), parameters)
    return Reply(tool_calls=[ToolCallReply(name=function.get("name", "tool"), arguments=args)])


def _answer(response_format: dict[str, Any], prompt: str, results: list[str]) -> Reply:
    """A text reply: JSON for `response_format`, else the tool results, else the default."""
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return Reply(content=json.dumps(_sample(schema, _Fill(prompt), schema)))
    if response_format.get("type") == "json_object":
        # JSON mode: the keys the prompt quotes, as a model asked for them would.
        keys = _quoted(prompt) or ["answer"]
        return Reply(content=json.dumps({key: f"example {key}" for key in keys}))
    if results:
        return Reply(content="The tool returned: " + "; ".join(results))
    return Reply()


def _name(tool_or_call: dict[str, Any]) -> str:
    """The function name of a tool definition or of a tool call (both nest it alike)."""
    return str((tool_or_call.get("function") or {}).get("name", ""))


def _called_this_turn(messages: list[dict[str, Any]]) -> set[str]:
    """Names of the tools the assistant called since the last user message."""
    called: set[str] = set()
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        for call in message.get("tool_calls") or []:
            called.add(_name(call))
    return called


def _trailing_tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """The contents of the tool messages that end the conversation, in order."""
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, str(message.get("content")))
    return results


def _pick_tool(tools: list[dict[str, Any]], choice: Any, prompt: str) -> dict[str, Any]:
    names = [_name(tool) for tool in tools]
    wanted = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if wanted is None:
        wanted = next((name for name in names if name and name in prompt), None)
    return tools[names.index(wanted)] if wanted in names else tools[0]


def _proper_nouns(text: str) -> list[str]:
    """Capitalised words that do not start a sentence: the names a prompt mentions."""
    return [m.group(1) for m in _PROPER_NOUN.finditer(text)]


def _quoted(text: str) -> list[str]:
    return [next(group for group in groups if group) for groups in _QUOTED.findall(text)]


class _Fill:
    """Values taken from the prompt, in order: its numbers and its quoted phrases."""

    def __init__(self, prompt: str) -> None:
        self.numbers = [float(match) for match in _NUMBER.findall(prompt)]
        self.phrases = _quoted(prompt) or _proper_nouns(prompt)

    def number(self, default: float, *, integral: bool = False) -> float:
        """The next number of the prompt (the next whole one when `integral`)."""
        for position, number in enumerate(self.numbers):
            if not integral or number.is_integer():
                return self.numbers.pop(position)
        return default

    def phrase(self, name: str) -> str:
        return self.phrases.pop(0) if self.phrases else f"example {name}"


def _sample(schema: dict[str, Any], fill: _Fill, root: dict[str, Any], name: str = "value") -> Any:
    """A deterministic instance of a JSON schema, filled from the prompt where it can."""
    if (chosen := _chosen(schema, root)) is not None:
        return _sample(chosen, fill, root, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = _kind(schema)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {key: _sample(sub, fill, root, key) for key, sub in properties.items()}
    if kind == "array":
        items = schema.get("items")
        items = items if isinstance(items, dict) else {}
        count = max(1, int(schema.get("minItems") or 0))
        return [_sample(items, fill, root, name) for _ in range(count)]
    return _scalar(kind, schema, fill, name)


def _chosen(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any] | None:
    """The schema `schema` stands for: its `$ref`'s target, or its first non-null option.

    None when it is neither a reference nor a choice (`anyOf`, `oneOf`, `allOf`).
    """
    if "$ref" in schema:
        return _resolve(schema["$ref"], root)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            chosen: dict[str, Any] = options[0]
            return chosen
    return None


def _kind(schema: dict[str, Any]) -> Any:
    """The schema's `type`: the first non-null one of a list (`string` if all are null)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return kind


def _scalar(kind: Any, schema: dict[str, Any], fill: _Fill, name: str) -> Any:
    """A value of a scalar schema type (strings for anything unknown)."""
    if kind == "integer":
        return int(_bounded(schema, fill.number(1, integral=True)))
    if kind == "number":
        return _bounded(schema, fill.number(1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    return fill.phrase(name)


def _bounded(schema: dict[str, Any], value: float) -> float:
    """`value` moved inside the schema's `minimum`/`maximum`."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and value < low:
        value = low
    if isinstance(high, int | float) and value > high:
        value = high
    return value


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}
