"""A request's deadline belongs to that request: never to the pooled connection it used.

Raw-socket servers (see raw_server.py) that keep connections alive, so the client's pool
hands a finished request's connection to the next request.
"""

from __future__ import annotations

import json
import socket
import threading
import time

from langchain_wandb._clients import ClientConfig, sync_client
from langchain_wandb._transport import RequestLimits, post_json, stream_bytes
from tests.integration_tests.raw_server import RawServer, http_response, raw_server, read_request

ANSWER = {"id": "x", "object": "chat.completion", "choices": [], "model": "m"}


def _keep_alive(slow_after_first: float) -> tuple[RawServer, list[int]]:
    """Answers every request on one connection; all but the first after a pause."""
    served: list[int] = []

    def answer(conn: socket.socket, request: bytes) -> None:
        while request:
            served.append(id(conn))
            if len(served) == 1:
                body = b"data: [DONE]\n\n"
                conn.sendall(http_response(200, body, content_type="text/event-stream"))
            else:
                time.sleep(slow_after_first)
                conn.sendall(http_response(200, json.dumps(ANSWER).encode()))
            request = read_request(conn)

    return RawServer(answer), served


def test_a_late_deadline_never_cuts_the_next_request_on_the_same_connection() -> None:
    server, served = _keep_alive(slow_after_first=1.0)
    with raw_server(server.handler) as server:
        config = ClientConfig(api_key="k", base_url=server.base_url, project=None)
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        short = RequestLimits(timeout=0.5, idle_timeout=5.0, max_retries=0)
        done = threading.Event()
        results: list[object] = []

        def later_request() -> None:
            done.wait(10)
            long = RequestLimits(timeout=10.0, idle_timeout=10.0, max_retries=0)
            try:
                results.append(post_json(config, {**body, "stream": False}, long))
            except Exception as error:
                results.append(error)

        sync_client(config)  # warm: the 0.5 s below is for the request, not for imports
        other = threading.Thread(target=later_request, daemon=True)
        other.start()
        with stream_bytes(config, body, short) as chunks:
            assert b"".join(chunks) == b"data: [DONE]\n\n"
            done.set()  # the body is read: its connection is back in the pool
            time.sleep(1.5)  # the caller holds on past its deadline (0.5 s)
        other.join(10)
    assert results == [ANSWER]
    assert len(set(served)) == 1  # the later request did reuse the connection
