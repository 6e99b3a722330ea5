"""JSON nested deeper than the decoders go: a typed error or an invalid call, never RecursionError.

Both decoders are checked: orjson (the `fast` extra) and the standard library's `json`,
which recurses once per level and hits Python's recursion limit near 1,000.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from tests.deep_json import DEEP, DEPTH, READABLE, assert_deep_call, nesting


@pytest.fixture(params=["orjson", "json"])
def decoders(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the test with `_json` built on orjson, then on the standard library."""
    import langchain_wandb._json as json_module

    if request.param == "json":
        monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson fails
    _reload(json_module)
    yield
    monkeypatch.undo()
    _reload(json_module)


def _reload(json_module: ModuleType) -> None:
    """Reload `_json` and point every module that imported its names at the new ones."""
    old = {name: getattr(json_module, name) for name in _EXPORTS}
    importlib.reload(json_module)
    for name, module in list(sys.modules.items()):
        if not name.startswith("langchain_wandb.") or module is json_module:
            continue
        for attr, value in list(vars(module).items()):
            for export, before in old.items():
                if value is before:
                    setattr(module, attr, getattr(json_module, export))


_EXPORTS = ("json_loads", "loads_utf8", "loads_lenient", "JsonTooDeepError")


@pytest.mark.usefixtures("decoders")
def test_the_decoders_raise_value_error() -> None:
    from langchain_wandb._json import json_loads, loads_lenient, loads_utf8

    with pytest.raises(ValueError, match=r"deep|depth|recursion"):
        json_loads(DEEP)
    with pytest.raises(ValueError, match=r"deep|depth|recursion"):
        loads_utf8(DEEP.encode())
    if READABLE:
        assert nesting(loads_lenient(DEEP)) == (DEPTH, 1)
    else:
        with pytest.raises(ValueError, match=r"deep|depth"):
            loads_lenient(DEEP)


@pytest.fixture
def readable_deep() -> Iterator[None]:
    """Let this Python's `json` read past MAX_DEPTH (3.11 stops near 1,000 levels)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    yield
    sys.setrecursionlimit(limit)


@pytest.mark.usefixtures("decoders", "readable_deep")
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_both_decoders_read_up_to_max_depth_and_refuse_one_more(as_bytes: bool) -> None:
    from langchain_wandb._json import MAX_DEPTH, json_loads

    def nested(depth: int) -> str | bytes:
        text = "[" * depth + "]" * depth
        return text.encode() if as_bytes else text

    value = json_loads(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        assert value
        (value,) = value
    assert value == []
    with pytest.raises(ValueError, match=r"deep|depth"):
        json_loads(nested(MAX_DEPTH + 1))


@pytest.mark.usefixtures("decoders")
def test_many_brackets_side_by_side_are_not_too_deep() -> None:
    from langchain_wandb._json import MAX_DEPTH, json_loads

    wide = [{"a": [1]} for _ in range(MAX_DEPTH)]
    assert json_loads(json.dumps(wide)) == wide
    assert json_loads(json.dumps(wide).encode()) == wide


@pytest.mark.usefixtures("decoders")
def test_deep_arguments_of_a_whole_response_are_an_invalid_call() -> None:
    from langchain_wandb._chunks import response_to_result

    call = {"id": "t1", "type": "function", "function": {"name": "f", "arguments": DEEP}}
    data = {"id": "r1", "choices": [{"index": 0, "message": {"tool_calls": [call]}}]}
    message = response_to_result(data).generations[0].message
    assert isinstance(message, AIMessage)
    assert_deep_call(message)


@pytest.mark.usefixtures("decoders")
@pytest.mark.parametrize("text", [DEEP, DEEP[:-1]], ids=["whole", "cut-off"])
def test_deep_streamed_arguments_are_an_invalid_call(text: str) -> None:
    from langchain_wandb._chunks import (
        StreamState,
        chunk_to_generation,
        is_cut_off_object,
        merge_strictly,
    )

    state = StreamState()
    delta = {"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "f", "arguments": text}}]}
    first = chunk_to_generation({"choices": [{"delta": delta}]}, state)
    last = chunk_to_generation({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}, state)
    assert first is not None
    assert last is not None
    if text == DEEP or not READABLE:  # whole JSON, or too deep to read and so to repair
        assert is_cut_off_object(text) is False
    messages = [first.message, last.message]
    assert_deep_call(merge_strictly([m for m in messages if isinstance(m, AIMessageChunk)]), text)


@pytest.mark.usefixtures("decoders")
def test_a_deep_stream_event_is_malformed_data_quoted_short() -> None:
    from langchain_wandb._errors import MalformedResponseError
    from langchain_wandb._sse import StreamState, decode_stream

    event = b"data: " + json.dumps({"choices": []})[:-1].encode() + b', "x": ' + DEEP.encode()
    with pytest.raises(MalformedResponseError, match="malformed JSON") as caught:
        list(decode_stream([event + b"}\n\n"], StreamState()))
    assert len(str(caught.value)) < 400
