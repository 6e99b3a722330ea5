"""JSON nested thousands deep from the server: an invalid tool call or a typed error.

The standard library's decoder and LangChain's partial-JSON parser recurse once per
level; before the fix such arguments raised a raw RecursionError.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any, Literal

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel, SecretStr

from langchain_wandb import ChatWandbInference, MalformedResponseError
from langchain_wandb.errors import WandbBadRequestError
from langchain_wandb.testing import Reply, WandbEmulator
from tests.deep_json import DEEP, DEPTH, READABLE, assert_deep_call
from tests.integration_tests.raw_server import SSE_HEAD, http_response, raw_server


def _call(arguments: str) -> dict[str, Any]:
    return {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}


def _plain(conn: socket.socket, request: bytes) -> None:
    message = {"role": "assistant", "content": None, "tool_calls": [_call(DEEP)]}
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
    conn.sendall(http_response(200, json.dumps({"id": "r", "choices": [choice]}).encode()))


def _streamed(conn: socket.socket, request: bytes) -> None:
    events = [
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **_call(DEEP)}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    conn.sendall(SSE_HEAD + body + b"data: [DONE]\n\n")


def _deep_event(conn: socket.socket, request: bytes) -> None:
    conn.sendall(SSE_HEAD + b'data: {"choices": [], "x": ' + DEEP.encode() + b"}\n\n")


def _model(base_url: str, *, streaming: bool) -> ChatWandbInference:
    return ChatWandbInference(
        base_url=base_url, api_key=SecretStr("k"), max_retries=0, streaming=streaming
    )


@pytest.mark.parametrize("api", ["invoke", "ainvoke"])
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
def test_deep_tool_arguments_are_an_invalid_call(streaming: bool, api: str) -> None:
    with raw_server(_streamed if streaming else _plain) as server:
        llm = _model(server.base_url, streaming=streaming)
        message = llm.invoke("hi") if api == "invoke" else asyncio.run(llm.ainvoke("hi"))
    assert_deep_call(message)


def test_a_deep_stream_event_is_malformed_data() -> None:
    with raw_server(_deep_event) as server:
        llm = _model(server.base_url, streaming=True)
        with pytest.raises(MalformedResponseError, match="malformed JSON") as caught:
            llm.invoke("hi")
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize("depth", [900, 5000])
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
def test_a_deep_error_body_still_gives_the_typed_error_with_the_servers_text(
    streaming: bool, depth: int
) -> None:
    body = '{"error": {"message": "Bad tools", "x": ' + "[" * depth + "]" * depth + "}}"

    def answer(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(400, body.encode()))

    with raw_server(answer) as server, pytest.raises(WandbBadRequestError) as caught:
        _model(server.base_url, streaming=streaming).invoke("hi")
    text = str(caught.value)
    assert "Server said (400): " in text
    assert "Bad tools" in text  # read as its message, or quoted where too deep to read


class _City(BaseModel):
    name: str


@pytest.mark.parametrize("api", ["stream", "astream"])
@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
def test_deep_structured_output_streamed_is_a_parsing_error(
    emulator: WandbEmulator, method: Literal["json_schema", "json_mode"], streaming: bool, api: str
) -> None:
    """Core's partial-JSON parser recursed into a RecursionError on each streamed part (3.11).

    Read as deep as this Python's `json` reads (see `tests/deep_json.py`): where it reads
    5,000 levels (3.13) the answer parses; else a typed parsing error that says too deep.
    """
    emulator.script(Reply(content='{"name": "x", "d": ' + "[" * DEPTH + "]" * DEPTH + "}"))
    structured = emulator.chat_model(max_retries=0, streaming=streaming).with_structured_output(
        _City, method=method
    )

    async def collect() -> list[Any]:
        return [part async for part in structured.astream("hi")]

    def run() -> list[Any]:
        return list(structured.stream("hi")) if api == "stream" else asyncio.run(collect())

    if READABLE:
        last = run()[-1]
        assert (last.name if isinstance(last, _City) else last["name"]) == "x"
        return
    with pytest.raises(OutputParserException, match="not valid JSON") as caught:
        run()
    assert isinstance(caught.value.__cause__, ValueError)
    assert "too deep" in str(caught.value.__cause__)
