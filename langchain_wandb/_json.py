"""JSON for the whole package: orjson when installed (the `fast` extra), else `json`.

Kept apart from the conversion modules so that the transport can decode a body
without importing LangChain messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

json_loads: Callable[[str | bytes], Any]
"""Parse JSON text (str, or UTF-8 bytes); raises `ValueError` when it is not JSON
(or is nested too deep to read: never `RecursionError`)."""
loads_utf8: Callable[[bytes], Any]
"""Parse JSON from bytes that should be UTF-8, invalid bytes read as U+FFFD.

Event streams are UTF-8 by definition (whatever a Content-Type charset says), and a
stray invalid byte inside a string must not sink the whole event. orjson reads valid
UTF-8 bytes directly (the fast path); only invalid bytes pay for a decode. Raises
`ValueError` when the text is not JSON.
"""
_TOO_DEEP = "JSON nested too deep to read"


class JsonTooDeepError(ValueError):
    """JSON text nested deeper than `MAX_DEPTH`: whole, perhaps, but not read."""


MAX_DEPTH = 1024
"""Deepest nesting read (orjson's own limit): deeper JSON raises `ValueError` with either
decoder and on every Python (3.11's `json` recursed into a RecursionError near 1,000
levels, 3.13's reads far deeper)."""


def _stdlib_loads(
    text: str | bytes, *, strict: bool = True, max_depth: int | None = MAX_DEPTH
) -> Any:
    try:
        value = json.loads(text, strict=strict)
    except RecursionError:
        raise JsonTooDeepError(_TOO_DEEP) from None
    # Only text with more brackets than the limit can be too deep: a C-speed count first.
    if isinstance(text, str):
        brackets = text.count("{") + text.count("[")
    else:
        brackets = text.count(b"{") + text.count(b"[")
    if max_depth is not None and brackets > max_depth and _deeper_than(value, max_depth):
        raise JsonTooDeepError(_TOO_DEEP)
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value`'s dicts and lists nest more than `limit` levels (no recursion)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


try:
    from orjson import loads as _orjson_loads

    def json_loads(text: str | bytes) -> Any:
        try:
            return _orjson_loads(text)
        except ValueError as error:  # past 1,024 levels orjson says "depth limit exceeded"
            # (3.10.x: "array and object recursion depth exceeded")
            if "depth limit exceeded" in str(error) or "recursion depth exceeded" in str(error):
                raise JsonTooDeepError(_TOO_DEEP) from None
            raise

    def loads_utf8(raw: bytes) -> Any:
        try:
            return json_loads(raw)
        except JsonTooDeepError:
            raise
        except ValueError:
            return json_loads(raw.decode("utf-8", "replace"))

except ImportError:  # exercised by tests that hide orjson
    json_loads = _stdlib_loads

    def loads_utf8(raw: bytes) -> Any:
        # json.loads(bytes) would guess UTF-16/32 from NUL bytes: decode as UTF-8 first.
        return _stdlib_loads(raw.decode("utf-8", "replace"))


def loads_lenient(text: str) -> Any:
    """Parse JSON as LangChain's tool-call parsers do (control characters allowed in strings).

    As deep as langchain-core's own parser reads (the `json` module's limit, which depends
    on the Python), so that tool-call arguments read the same whether we or core merge them.

    Raises:
        ValueError: If the text is not JSON, or is nested too deep to read
            (`JsonTooDeepError`).

    """
    return _stdlib_loads(text, strict=False, max_depth=None)
