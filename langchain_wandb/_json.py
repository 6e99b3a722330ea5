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


def _stdlib_loads(text: str | bytes, *, strict: bool = True) -> Any:
    # `json` recurses once per nesting level: deep JSON would raise RecursionError.
    try:
        return json.loads(text, strict=strict)
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None


try:
    from orjson import loads as json_loads  # raises ValueError past 1,024 levels

    def loads_utf8(raw: bytes) -> Any:
        try:
            return json_loads(raw)
        except ValueError:
            return json_loads(raw.decode("utf-8", "replace"))

except ImportError:  # exercised by tests that hide orjson
    json_loads = _stdlib_loads

    def loads_utf8(raw: bytes) -> Any:
        # json.loads(bytes) would guess UTF-16/32 from NUL bytes: decode as UTF-8 first.
        return _stdlib_loads(raw.decode("utf-8", "replace"))


def loads_lenient(text: str) -> Any:
    """Parse JSON as LangChain's tool-call parsers do (control characters allowed in strings).

    Raises:
        ValueError: If the text is not JSON, or is nested too deep to read.

    """
    return _stdlib_loads(text, strict=False)
