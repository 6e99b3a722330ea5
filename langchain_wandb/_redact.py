"""Keep the API key out of every error: messages, bodies, responses, chained causes.

A key can show up escaped (`repr`, JSON, URL-quoted) as well as plain, e.g. in
"Illegal header value b'Bearer sk-...'" or in a body where a proxy echoes the
Authorization header. Only whole tokens equal to the key are replaced, so a short key
(`api_key="x"`, normal for local servers) does not turn "maximum" into "ma***imum".
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

MASK = "***"
# Characters a key is made of: a match must not be part of a longer such token.
_KEY_CHARS = r"A-Za-z0-9_\-"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"\\,;]+")


@lru_cache(maxsize=16)
def _pattern(secret: str) -> re.Pattern[str] | None:
    if not secret:
        return None
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
    }
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![{_KEY_CHARS}])(?:{alternatives})(?![{_KEY_CHARS}])")


def redact(text: str, secret: str) -> str:
    """`text` with the key (in any of its written forms) and bearer tokens masked."""
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    pattern = _pattern(secret)
    return pattern.sub(MASK, text) if pattern is not None else text


def redact_value(value: Any, secret: str) -> Any:
    """A copy of a decoded JSON value (or any str) with the key masked in every string.

    Any depth: walked without recursion, since a server's body may nest deeper than
    Python's stack (a RecursionError here would lose the typed error).
    """
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (value, its copy's parent, key)
    while stack:
        item, parent, key = stack.pop()
        copy: Any
        if isinstance(item, dict):
            parent[key] = copy = dict.fromkeys(item)
            stack.extend((child, copy, name) for name, child in item.items())
        elif isinstance(item, list):
            parent[key] = copy = [None] * len(item)
            stack.extend((child, copy, index) for index, child in enumerate(item))
        else:
            parent[key] = redact(item, secret) if isinstance(item, str) else item
    return root[0]


def redact_chain(error: BaseException, secret: str) -> None:
    """Mask the key, in place, in the text of `error` and of every error it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(redact_value(arg, secret) for arg in current.args)
        for name in ("message", "body"):
            if isinstance(getattr(current, name, None), (str, dict, list)):
                setattr(current, name, redact_value(getattr(current, name), secret))
        current = current.__cause__ or current.__context__
