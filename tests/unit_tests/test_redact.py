"""The API key never appears in error text, whatever form it takes; other text is untouched."""

from __future__ import annotations

import pytest

from langchain_wandb._redact import redact, redact_chain, redact_value

KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {KEY} rejected", "key *** rejected"),
        (f"Illegal header value b'Bearer {KEY}\\n'", "Illegal header value b'Bearer ***\\n'"),
        (f'{{"auth": "Bearer {KEY}"}}', '{"auth": "Bearer ***"}'),
        (f"{KEY}.", "***."),
        (f"x{KEY}", f"x{KEY}"),  # part of a longer token: not this key
        ("authorization: bearer something-else", "authorization: bearer ***"),
    ],
)
def test_every_written_form_of_the_key_is_masked(text: str, expected: str) -> None:
    assert redact(text, KEY) == expected


def test_escaped_and_quoted_forms_of_a_key_with_odd_characters() -> None:
    key = 'k/e"y\\1'
    for form in ['k/e\\"y\\\\1', "k%2Fe%22y%5C1"]:
        assert redact(f"echo {form} end", key) == "echo *** end"


def test_a_short_key_does_not_mangle_the_servers_words() -> None:
    text = "This model's maximum context length is 2048 tokens; got x"
    assert redact(text, "x") == "This model's maximum context length is 2048 tokens; got ***"


def test_values_and_chains_are_masked_in_place() -> None:
    assert redact_value({"a": [KEY, 1, {"b": f"Bearer {KEY}"}]}, KEY) == {
        "a": ["***", 1, {"b": "Bearer ***"}]
    }
    inner = ValueError(f"inner {KEY}")
    outer = RuntimeError(f"outer {KEY}")
    outer.__cause__ = inner
    redact_chain(outer, KEY)
    assert str(outer) == "outer ***"
    assert str(inner) == "inner ***"
