"""The JSON Schema check of structured answers follows the spec's type and enum rules."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_wandb._tools import parse_structured

PERSON = {
    "title": "Person",
    "type": "object",
    "properties": {
        "age": {"type": "integer"},
        "height": {"type": "number"},
        "kind": {"enum": [1, "x", None]},
        "pair": {"enum": [[1, "a"], {"on": 1}]},
        "ok": {"type": "boolean"},
    },
    "required": ["age"],
}


def _fits(value: dict[str, Any]) -> bool:
    import json

    from langchain_core.exceptions import OutputParserException
    from langchain_core.messages import AIMessage

    try:
        parse_structured(AIMessage(json.dumps(value)), PERSON)
    except OutputParserException:
        return False
    return True


@pytest.mark.parametrize(
    "value",
    [
        {"age": 36},
        {"age": 36.0},  # a number with a zero fraction is an integer
        {"age": 1e2},
        {"age": 10**400},  # beyond a float: still an integer
        {"age": 1, "height": 1},  # an integer is a number
        {"age": 1, "height": 1.5},
        {"age": 1, "kind": 1.0},  # 1.0 equals 1
        {"age": 1, "kind": None},
        {"age": 1, "ok": False},
        {"age": 1, "pair": [1.0, "a"]},  # equal inside arrays and objects too
        {"age": 1, "pair": {"on": 1.0}},
    ],
    ids=str,
)
def test_what_json_schema_accepts_fits(value: dict[str, Any]) -> None:
    assert _fits(value)


@pytest.mark.parametrize(
    "value",
    [
        {"age": 36.5},
        {"age": True},  # booleans are not numbers
        {"age": 1, "height": False},
        {"age": "36"},
        {"age": 1, "kind": True},  # true does not equal 1
        {"age": 1, "ok": 0},
        {"age": 1, "pair": [True, "a"]},  # nor inside arrays and objects
        {"age": 1, "pair": {"on": True}},
        {"age": 1, "pair": [1]},
        {"age": 1, "pair": {"on": 1, "off": 0}},
        {},
    ],
    ids=str,
)
def test_what_json_schema_refuses_does_not_fit(value: dict[str, Any]) -> None:
    assert not _fits(value)
