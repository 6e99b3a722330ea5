"""`list_models()` reads W&B's answer as the chat calls do: bounded, and typed when malformed.

Raw servers answer `GET /models` with bodies no model list has; every one must raise a
typed `WandbStreamError` quoting what came (never the SDK's or the decoder's own crash),
sync and async, and within `timeout`.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference, WandbStreamError
from langchain_wandb.errors import WandbNotFoundError
from tests.integration_tests.raw_server import SSE_HEAD, http_response, raw_server

DEEP = "[" * 100_000 + "]" * 100_000


def _answer(body: bytes, content_type: str = "application/json") -> object:
    def handler(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(200, body, content_type=content_type))

    return handler


def _trickle(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{")
    for _ in range(60):
        time.sleep(0.2)
        conn.sendall(b" ")


CASES = {
    "deep JSON": (_answer(('{"data": ' + DEEP + "}").encode()), "nested deeper than"),
    "an event stream": (
        lambda conn, request: conn.sendall(SSE_HEAD + b'data: {"id": "x"}\n\ndata: [DONE]\n\n'),
        "not a JSON object",
    ),
    "a list that is not of models": (_answer(b'{"data": ["gpt"]}'), "not a list of models"),
    "no list": (_answer(b'{"object": "list"}'), "not a list of models"),
    "an id that is not text": (_answer(b'{"data": [{"id": 7}]}'), "not a list of models"),
    "a body past timeout": (_trickle, "total timeout of 1 s"),
}


@pytest.mark.parametrize("api", ["list_models", "alist_models"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_body_that_is_no_model_list_is_a_typed_error(case: str, api: str) -> None:
    handler, said = CASES[case]
    with raw_server(handler) as server:  # type: ignore[arg-type]
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr("k"), max_retries=0, timeout=1.0
        )
        started = time.monotonic()
        with pytest.raises(WandbStreamError, match=said):
            if api == "list_models":
                llm.list_models()
            else:
                asyncio.run(llm.alist_models())
    assert time.monotonic() - started < 10


def test_a_model_list_is_read() -> None:
    body = b'{"object": "list", "data": [{"id": "openai/gpt-oss-120b", "object": "model"}]}'
    with raw_server(_answer(body)) as server:  # type: ignore[arg-type]
        llm = ChatWandbInference(base_url=server.base_url, api_key=SecretStr("k"))
        assert [m.id for m in llm.list_models()] == ["openai/gpt-oss-120b"]
        assert [m.id for m in asyncio.run(llm.alist_models())] == ["openai/gpt-oss-120b"]


@pytest.mark.parametrize("api", ["list_models", "alist_models"])
def test_a_404_for_the_model_list_blames_the_base_url_not_a_model(api: str) -> None:
    """No model was asked for: "Model '(list models)' was not found" told the user nothing."""
    body = b'{"detail": "The requested resource was not found"}'
    with raw_server(lambda conn, request: conn.sendall(http_response(404, body))) as server:
        llm = ChatWandbInference(base_url=server.base_url, api_key=SecretStr("k"), max_retries=0)
        with pytest.raises(WandbNotFoundError) as caught:
            llm.list_models() if api == "list_models" else asyncio.run(llm.alist_models())
    text = str(caught.value)
    assert "Model " not in text
    assert f"{server.base_url}/models" in text
    assert "base_url" in text
    assert "The requested resource was not found" in text
