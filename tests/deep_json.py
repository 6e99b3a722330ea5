"""The deeply nested JSON that the deep-JSON tests send, and how this Python reads it."""

from __future__ import annotations

import json

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
