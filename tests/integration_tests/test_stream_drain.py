"""A server that floods bytes after `[DONE]`: the answer is what came before; the client lets go.

After `[DONE]` the client drains a little of the body (so a connection can be reused),
then hangs up: a flood never holds the caller or becomes part of the answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from tests.integration_tests.raw_server import SSE_HEAD, raw_server, wait_until


def _event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def _done_then_a_flood(conn: socket.socket, request: bytes) -> None:
    answer = _event({"content": "Hi"}) + _event({}, "stop") + b"data: [DONE]\n\n"
    conn.sendall(SSE_HEAD + answer)
    flood = b'data: {"choices": [{"index": 0, "delta": {"content": "MORE"}}]}\n\n' * 256
    while True:  # until the client hangs up (sendall raises) or the server stops
        conn.sendall(flood)


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_bytes_flooding_after_done_are_not_read_as_the_answer(api: str) -> None:
    with raw_server(_done_then_a_flood) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr("k"), timeout=60.0, max_retries=0
        )
        if api == "stream":
            texts = [str(chunk.text) for chunk in llm.stream("hi")]
        else:

            async def collect() -> list[str]:
                return [str(chunk.text) async for chunk in llm.astream("hi")]

            texts = asyncio.run(collect())
        assert texts == ["Hi", "", ""]
        llm.close()
        assert wait_until(lambda: server.open == 0), "the client still reads the flood"
