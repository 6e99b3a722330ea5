"""JSON for the whole package: orjson when installed (the `fast` extra), else `json`.

Kept apart from the conversion modules so that the transport can decode a body
without importing LangChain messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

json_loads: Callable[[str | bytes], Any]
"""Parse JSON text (str, or UTF-8 bytes); raises `ValueError` when it is not JSON."""
loads_utf8: Callable[[bytes], Any]
"""Parse JSON from bytes that should be UTF-8, invalid bytes read as U+FFFD.

Event streams are UTF-8 by definition (whatever a Content-Type charset says), and a
stray invalid byte inside a string must not sink the whole event. orjson reads valid
UTF-8 bytes directly (the fast path); only invalid bytes pay for a decode. Raises
`ValueError` when the text is not JSON.
"""
try:
    from orjson import loads as json_loads

    def loads_utf8(raw: bytes) -> Any:
        try:
            return json_loads(raw)
        except ValueError:
            return json_loads(raw.decode("utf-8", "replace"))

except ImportError:  # pragma: no cover - exercised only without the optional extra
    json_loads = json.loads

    def loads_utf8(raw: bytes) -> Any:
        # json.loads(bytes) would guess UTF-16/32 from NUL bytes: decode as UTF-8 first.
        return json.loads(raw.decode("utf-8", "replace"))


def loads_lenient(text: str) -> Any:
    """Parse JSON as LangChain's tool-call parsers do (control characters allowed in strings).

    Raises:
        ValueError: If the text is not JSON.

    """
    return json.loads(text, strict=False)
