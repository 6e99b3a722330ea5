"""Servers that hang, trickle, flood or misreport: `timeout` bounds everything, nothing is lost.

Each server here is a raw socket script (see raw_server.py), because the point is bytes
and timing an HTTP framework would not produce. Time bounds are generous multiples of
the configured timeout: before the fixes these cases took minutes or never ended.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelInvalidRequestError,
    ModelTimeoutError,
)
from pydantic import SecretStr

from langchain_wandb import (
    ChatWandbInference,
    EventTooLargeError,
    StreamTimeoutError,
    WandbStreamError,
)
from tests.integration_tests.raw_server import (
    SSE_HEAD,
    Handler,
    RawServer,
    http_response,
    raw_server,
)

APIS = ["stream", "astream", "invoke", "ainvoke"]
BOUND = 15.0  # seconds: far above the 1 s timeout, far below the minutes the bugs took
E = TypeVar("E", bound=Exception)


def _model(server: RawServer, **kwargs: Any) -> ChatWandbInference:
    params: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": SecretStr("k"),
        "timeout": 1.0,
        "stream_idle_timeout": 60.0,
        "max_retries": 2,
    }
    params.update(kwargs)
    return ChatWandbInference(**params)


def _call(llm: ChatWandbInference, api: str) -> str:
    if api == "stream":
        return "".join(chunk.text for chunk in llm.stream("hi"))
    if api == "invoke":
        return llm.invoke("hi").text
    if api == "astream":

        async def collect() -> str:
            return "".join([chunk.text async for chunk in llm.astream("hi")])

        return asyncio.run(collect())
    return asyncio.run(llm.ainvoke("hi")).text


def _timed(call: Callable[[], object], error: type[E], match: str) -> tuple[E, float]:
    """The error `call` raises (checked to be `error` saying `match`) and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(error, match=match) as caught:
        call()
    return caught.value, time.monotonic() - started


def _never_answer(conn: socket.socket, request: bytes) -> None:
    time.sleep(BOUND * 2)


def _trickled_headers(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    end = time.monotonic() + BOUND + 3
    while time.monotonic() < end:
        conn.sendall(b"X-Pad: a\r\n")  # a header line now and then, never the blank line
        time.sleep(0.2)


def _headers_then_silence(conn: socket.socket, request: bytes) -> None:
    conn.sendall(SSE_HEAD)
    time.sleep(BOUND * 2)


def _event(content: str) -> bytes:
    delta = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}
    return b"data: " + json.dumps(delta).encode() + b"\n\n"


def _trickle(conn: socket.socket, request: bytes) -> None:
    conn.sendall(SSE_HEAD + _event("Hello"))
    for _ in range(int(BOUND * 2 / 0.2)):
        conn.sendall(b" ")  # a byte now and then: the idle timeout never fires
        time.sleep(0.2)


def _flood(conn: socket.socket, request: bytes) -> None:
    conn.sendall(SSE_HEAD + _event("Hello") + b"data: ")
    block = b"x" * 65536
    end = time.monotonic() + BOUND * 2
    while time.monotonic() < end:
        conn.sendall(block)  # one endless line, as fast as the socket takes it


# What each server makes the model raise: the timeout (sync: "did not answer in time",
# async: "ran past its total timeout"), or the line-size bound for an endless line.
EXPECTED: dict[Handler, tuple[type[Exception], str]] = {
    _never_answer: (ModelTimeoutError, r"timeout(=| of )1 s"),
    _trickled_headers: (ModelTimeoutError, r"timeout(=| of )1 s"),
    _headers_then_silence: (StreamTimeoutError, "ran past its total timeout of 1 s"),
    _trickle: (StreamTimeoutError, "ran past its total timeout of 1 s"),
    _flood: (EventTooLargeError, "larger than 16,777,216 bytes"),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("handler", list(EXPECTED), ids=lambda h: h.__name__)
def test_timeout_bounds_the_request_whatever_the_server_does(api: str, handler: Handler) -> None:
    error_type, match = EXPECTED[handler]
    with raw_server(handler) as server:
        llm = _model(server)
        error, elapsed = _timed(lambda: _call(llm, api), error_type, match)
    assert elapsed < BOUND, f"{handler.__name__} held a 1 s timeout for {elapsed:.1f} s"
    if handler in (_trickle, _flood):
        # What arrived before the cut is kept.
        assert isinstance(error, WandbStreamError)
        assert error.partial is not None
        assert error.partial.text.startswith("Hello")


def test_plain_json_requests_are_bounded_too() -> None:
    def slow_body(conn: socket.socket, request: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 99\r\n\r\n{"
        )
        for _ in range(int(BOUND * 2 / 0.2)):
            conn.sendall(b" ")
            time.sleep(0.2)

    with raw_server(slow_body) as server:
        llm = _model(server, streaming=False)
        _, elapsed = _timed(lambda: llm.invoke("hi"), StreamTimeoutError, "total timeout of 1 s")
    assert elapsed < BOUND


def test_retries_and_their_waits_stay_inside_the_timeout() -> None:
    def busy(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(503, b'{"error": {"message": "overloaded"}}'))

    with raw_server(busy) as server:
        llm = _model(server, max_retries=50, timeout=1.5)
        _, elapsed = _timed(lambda: llm.invoke("hi"), ModelAPIError, r"\(503\): overloaded")
        attempts = server.connections
    assert elapsed < BOUND
    assert 1 < attempts < 50  # it retried, then stopped when the time was up


def test_a_short_key_leaves_the_servers_words_intact() -> None:
    message = (
        "This model's maximum context length is 2048 tokens. However, you requested 4000 "
        "tokens (3990 in the messages, 10 in the completion). Please reduce the length."
    )

    def overflow(conn: socket.socket, request: bytes) -> None:
        body = {"error": {"message": message, "type": "BadRequestError", "code": 400}}
        conn.sendall(http_response(400, json.dumps(body).encode()))

    with raw_server(overflow) as server:
        llm = _model(server, api_key=SecretStr("x"), max_retries=0)
        with pytest.raises(ContextOverflowError, match="maximum context length is 2048") as caught:
            llm.invoke("hi")
    assert message in str(caught.value)


def test_a_detail_body_says_what_the_server_said() -> None:
    def unprocessable(conn: socket.socket, request: bytes) -> None:
        detail = {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}
        conn.sendall(http_response(422, json.dumps(detail).encode()))

    with raw_server(unprocessable) as server:
        llm = _model(server, max_retries=0)
        with pytest.raises(
            ModelInvalidRequestError, match=r"\(422\): body\.messages: field required"
        ):
            llm.invoke("hi")


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (
            b'{"error": {"message": "model is warming up"}}',
            "application/json",
            "model is warming up",
        ),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "502 Bad Gateway"),
    ],
)
@pytest.mark.parametrize("api", ["stream", "invoke"])
def test_a_200_that_is_not_an_event_stream_says_what_it_was(
    body: bytes, content_type: str, said: str, api: str
) -> None:
    def answer(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(200, body, content_type=content_type))

    with raw_server(answer) as server:
        llm = _model(server, max_retries=0)
        with pytest.raises(WandbStreamError, match=said):
            _call(llm, api)


_CUT_JSON = b'{"id":"x","object":"chat.completion","choices":[{"message":{"content":"Hello th'


def _cut_at_length(conn: socket.socket, request: bytes) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
        + _CUT_JSON
    )


def _cut_in_a_chunk(conn: socket.socket, request: bytes) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % (len(_CUT_JSON) + 50)
        + _CUT_JSON
    )


def _plain_call(llm: ChatWandbInference, api: str) -> object:
    plain = llm.model_copy(update={"streaming": False})
    calls: dict[str, Callable[[], object]] = {
        "invoke": lambda: plain.invoke("hi"),
        "ainvoke": lambda: asyncio.run(plain.ainvoke("hi")),
        "list_models": llm.list_models,
        "alist_models": lambda: asyncio.run(llm.alist_models()),
    }
    return calls[api]()


@pytest.mark.parametrize("api", ["invoke", "ainvoke", "list_models", "alist_models"])
@pytest.mark.parametrize("handler", [_cut_at_length, _cut_in_a_chunk], ids=lambda h: h.__name__)
def test_a_plain_body_cut_short_says_the_connection_broke(api: str, handler: Handler) -> None:
    """Before: "W&B sent a response body that is not a JSON object", as if the server had
    sent that; the framing (Content-Length, chunks) shows that the connection broke."""
    from langchain_wandb.errors import StreamEndedEarlyError

    with raw_server(handler) as server:
        error, _ = _timed(
            lambda: _plain_call(_model(server), api), StreamEndedEarlyError, "cut short"
        )
    assert f"after {len(_CUT_JSON)} bytes" in str(error)
    assert "Hello th" in str(error)  # what arrived is shown
    assert "is not a JSON object" not in str(error)
