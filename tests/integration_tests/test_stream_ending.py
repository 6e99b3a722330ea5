"""A stream ends where W&B says it ends: at `[DONE]`, whatever the connection does next.

Raw-socket servers, because the point is a body that stays open after `[DONE]`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from tests.integration_tests.raw_server import SSE_HEAD, RawServer, raw_server, wait_until

KEPT_OPEN = 30.0  # seconds the server keeps the body open after [DONE]
BOUND = 5.0  # the whole call must end well before that
AFTER_LAST = 0.5  # seconds from the closing chunk to the stream's end (it was 1 s)


def _event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def _done_then_comments(conn: socket.socket, request: bytes) -> None:
    conn.sendall(SSE_HEAD + _event({"content": "Hi"}) + _event({}, "stop") + b"data: [DONE]\n\n")
    end = time.monotonic() + KEPT_OPEN
    while time.monotonic() < end:
        time.sleep(0.5)
        conn.sendall(b": keep-alive\n\n")


def _model(server: RawServer) -> ChatWandbInference:
    return ChatWandbInference(
        base_url=server.base_url, api_key=SecretStr("k"), timeout=60.0, max_retries=0
    )


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_the_stream_ends_at_done_though_the_body_stays_open(api: str) -> None:
    with raw_server(_done_then_comments) as server:
        llm = _model(server)
        started = time.monotonic()
        texts, last_at = (_stream if api == "stream" else _astream)(llm)
        ended = time.monotonic()
    assert texts == ["Hi", "", ""]
    assert ended - started < BOUND
    # Nothing is left to read for the answer once [DONE] came: the body is let go.
    assert ended - last_at < AFTER_LAST


def _stream(llm: ChatWandbInference) -> tuple[list[str], float]:
    texts: list[str] = []
    last_at = 0.0
    for chunk in llm.stream("hi"):
        texts.append(str(chunk.text))
        last_at = time.monotonic()
    return texts, last_at


def _astream(llm: ChatWandbInference) -> tuple[list[str], float]:
    async def collect() -> tuple[list[str], float]:
        texts: list[str] = []
        last_at = 0.0
        async for chunk in llm.astream("hi"):
            texts.append(str(chunk.text))
            last_at = time.monotonic()
        return texts, last_at

    return asyncio.run(collect())


def _done_then_a_flood(conn: socket.socket, request: bytes) -> None:
    conn.sendall(SSE_HEAD + _event({"content": "Hi"}) + _event({}, "stop") + b"data: [DONE]\n\n")
    flood = _event({"content": "MORE"}) * 512
    while True:  # until the client hangs up (sendall raises)
        conn.sendall(flood)


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_a_flood_after_done_is_not_the_answer_and_the_client_lets_go(api: str) -> None:
    # After [DONE] the client drains a little of the body (to reuse the connection), then
    # hangs up: bytes that keep coming never join the answer nor hold the caller.
    with raw_server(_done_then_a_flood) as server:
        llm = _model(server)
        texts, _ = (_stream if api == "stream" else _astream)(llm)
        assert texts == ["Hi", "", ""]
        llm.close()
        assert wait_until(lambda: server.open == 0), "the client still reads the flood"
