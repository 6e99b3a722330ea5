"""The deeply nested JSON that the deep-JSON tests send, and how this Python reads it."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage

DEPTH = 5000
DEEP = '{"a": ' * DEPTH + "1" + "}" * DEPTH


def _python_reads(text: str) -> bool:
    """Whether this Python's `json` reads `text` (3.11 stops near 1,000 levels; 3.13 not)."""
    try:
        json.loads(text)
    except RecursionError:
        return False
    return True


READABLE = _python_reads(DEEP)
"""Tool-call arguments are read as deep as langchain-core's parser reads them, which is
this Python's `json`: where it reads DEEP the call is valid, else invalid with the text."""


def nesting(args: object) -> tuple[int, object]:
    """How many `{"a": ...}` levels `args` has, and what is at the bottom (no recursion)."""
    depth = 0
    while isinstance(args, dict):
        args, depth = args["a"], depth + 1
    return depth, args


def assert_deep_call(message: AIMessage, sent: str = DEEP) -> None:
    """`message` holds the call `f(sent)` as this Python reads it: valid, or invalid as sent.

    Where this Python reads `sent` (whole DEEP on 3.13), the call is valid with every level;
    otherwise it is an invalid call that keeps the server's text.
    """
    if READABLE and sent == DEEP:
        assert message.invalid_tool_calls == []
        assert [nesting(c["args"]) for c in message.tool_calls] == [(DEPTH, 1)]
        return
    assert message.tool_calls == []
    assert [(c["name"], c["args"]) for c in message.invalid_tool_calls] == [("f", sent)]
