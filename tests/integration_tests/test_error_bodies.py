"""Error bodies, whatever their encoding, become typed errors quoting the server's words.

Raw-socket servers (see raw_server.py): the point is exact bytes and headers, such as a
gateway that compresses its error pages because the client offered gzip.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import ModelError, ModelInvalidRequestError
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference, EventTooLargeError
from tests.integration_tests.raw_server import http_response, raw_server

KEY = "wandb_v1_SECRETKEY1234567890"
SAID = "Invalid value for temperature: must be between 0 and 2"


def _encoders() -> dict[str, Callable[[bytes], bytes]]:
    encoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "identity": lambda raw: raw,
    }
    try:
        import brotli  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        encoders["br"] = brotli.compress
    return encoders


ENCODERS = _encoders()


def _encoded_error(
    status: int, message: str, encoding: str
) -> Callable[[socket.socket, bytes], None]:
    raw = json.dumps({"error": {"message": message, "code": status}}).encode()

    def answer(conn: socket.socket, request: bytes) -> None:
        extra = f"Content-Encoding: {encoding}\r\n"
        conn.sendall(http_response(status, ENCODERS[encoding](raw), extra=extra))

    return answer


def _call(llm: ChatWandbInference, api: str) -> object:
    if api == "stream":
        return list(llm.stream("hi"))
    if api == "invoke":
        return llm.invoke("hi")
    if api == "plain":
        return llm.model_copy(update={"streaming": False}).invoke("hi")
    if api == "ainvoke":
        return asyncio.run(llm.ainvoke("hi"))
    if api == "astream":

        async def collect() -> list[Any]:
            return [chunk async for chunk in llm.astream("hi")]

        return asyncio.run(collect())
    if api == "list_models":
        return llm.list_models()
    return asyncio.run(llm.alist_models())


APIS = ["stream", "invoke", "plain", "ainvoke", "astream", "list_models", "alist_models"]


@pytest.mark.parametrize("encoding", list(ENCODERS))
@pytest.mark.parametrize("api", APIS)
def test_a_compressed_error_body_still_gives_the_typed_error(api: str, encoding: str) -> None:
    with raw_server(_encoded_error(400, SAID, encoding)) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr("k"), timeout=5.0, max_retries=0
        )
        with pytest.raises(ModelInvalidRequestError, match=r"\(400\): Invalid value") as caught:
            _call(llm, api)
    response = getattr(caught.value, "response", None)
    assert response is not None
    assert SAID in response.text  # the masked copy reads back, whatever the encoding was


@pytest.mark.parametrize("status", [401, 402, 429, 500, 503])
def test_every_error_status_survives_gzip(status: int) -> None:
    with raw_server(_encoded_error(status, "the gateway said no", "gzip")) as server:
        llm = ChatWandbInference(
            base_url=server.base_url,
            api_key=SecretStr("k"),
            timeout=2.0,
            max_retries=0,
            adaptive_concurrency=False,
        )
        with pytest.raises(ModelError, match=rf"\({status}\): the gateway said no"):
            llm.invoke("hi")


def test_a_compressed_error_echoing_the_key_never_shows_it() -> None:
    message = f"Bad key {KEY}"
    with raw_server(_encoded_error(400, message, "gzip")) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr(KEY), timeout=5.0, max_retries=0
        )
        with pytest.raises(ModelInvalidRequestError) as caught:
            llm.invoke("hi")
    shown = "".join(traceback.format_exception(caught.value))
    current: BaseException | None = caught.value
    while current is not None:
        shown += str(current) + repr(getattr(current, "body", None))
        response = getattr(current, "response", None)
        if response is not None:
            shown += response.text
        current = current.__cause__ or current.__context__
    assert "Bad key ***" in shown
    assert KEY not in shown


def _trickled_error(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 500 X\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n")
    conn.sendall(b'{"error": {"message": "the engine')
    for _ in range(60):
        conn.sendall(b".")
        time.sleep(0.5)


@pytest.mark.parametrize("api", APIS)
def test_an_error_body_that_trickles_ends_at_the_timeout(api: str) -> None:
    with raw_server(_trickled_error) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr("k"), timeout=2.0, max_retries=2
        )
        _warm()
        started = time.monotonic()
        with pytest.raises(ModelError, match=r"\(500\): .*the engine.*cut short") as caught:
            _call(llm, api)
        elapsed = time.monotonic() - started
    assert elapsed < 3.5, f"a 2 s timeout held for {elapsed:.1f} s"
    assert "timeout ran out" in str(caught.value)


def _warm() -> None:
    """Import the SDK before timing (its cold import is not the request's)."""
    import openai  # noqa: F401


def _bomb() -> bytes:
    """A gzip body that inflates to 512 MiB of spaces, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * 2**20
    parts = [packer.compress(b'{"error": {"message": "boom')]
    parts += [packer.compress(block) for _ in range(512)]
    parts.append(packer.flush())
    return b"".join(parts)


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.mark.parametrize("api", ["invoke", "ainvoke", "list_models"])
def test_a_gzip_bomb_error_body_is_capped(api: str) -> None:
    bomb = _bomb()

    def answer(conn: socket.socket, request: bytes) -> None:
        extra = "Content-Encoding: gzip\r\n"
        conn.sendall(http_response(400, bomb, extra=extra))

    peak = [_rss()]
    before = peak[0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    with raw_server(answer) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr("k"), timeout=20.0, max_retries=0
        )
        sampler.start()
        try:
            with pytest.raises(ModelInvalidRequestError, match=r"\(400\): .*boom.*cut short"):
                _call(llm, api)
        finally:
            stop.set()
            sampler.join()
    assert peak[0] - before < 64 * 2**20, f"RSS grew by {(peak[0] - before) / 2**20:.0f} MiB"


@pytest.mark.parametrize("api", ["plain", "aplain"])
def test_a_gzip_bomb_json_answer_is_capped(api: str) -> None:
    bomb = _bomb()

    def answer(conn: socket.socket, request: bytes) -> None:
        conn.sendall(http_response(200, bomb, extra="Content-Encoding: gzip\r\n"))

    with raw_server(answer) as server:
        llm = ChatWandbInference(
            base_url=server.base_url,
            api_key=SecretStr("k"),
            timeout=20.0,
            max_retries=0,
            streaming=False,
        )
        with pytest.raises(EventTooLargeError, match=r"larger than 16,777,216 bytes.*boom"):
            if api == "plain":
                llm.invoke("hi")
            else:
                asyncio.run(llm.ainvoke("hi"))


def _error_body_broken_off(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 503 X\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
    conn.sendall(b'{"error": {"message": "The engine is currently')  # then the connection closes


@pytest.mark.parametrize("api", ["invoke", "ainvoke", "stream", "astream"])
def test_an_error_body_broken_off_quotes_what_arrived(api: str) -> None:
    with raw_server(_error_body_broken_off) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr("k"), timeout=5.0, max_retries=0
        )
        with pytest.raises(
            ModelError, match=r"\(503\): .*The engine is currently.*cut short: \w+Error while"
        ):
            _call(llm, api)
