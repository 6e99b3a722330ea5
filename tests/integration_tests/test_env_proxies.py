"""Sync and async calls honour the environment's proxy settings alike.

A user behind a proxy sets HTTPS_PROXY / HTTP_PROXY (NO_PROXY); httpx2 honours them for
the clients it builds. A raw server plays the proxy (it answers what it is asked for),
another the W&B endpoint: every call must reach the proxy, never go around it.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from tests.integration_tests.raw_server import http_response, raw_server


def _models(name: str) -> object:
    def handler(conn: socket.socket, request: bytes) -> None:
        body = f'{{"object": "list", "data": [{{"id": "{name}"}}]}}'.encode()
        conn.sendall(http_response(200, body))

    return handler


@pytest.mark.parametrize("api", ["list_models", "alist_models"])
def test_calls_go_through_the_environments_proxy(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        raw_server(_models("via-proxy")) as proxy,  # type: ignore[arg-type]
        raw_server(_models("around-the-proxy")) as endpoint,  # type: ignore[arg-type]
    ):
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        # A key of its own: a client cached before the environment changed is not reused.
        llm = ChatWandbInference(base_url=endpoint.base_url, api_key=SecretStr(f"proxy-{api}"))
        models = llm.list_models() if api == "list_models" else asyncio.run(llm.alist_models())
        assert [m.id for m in models] == ["via-proxy"]
        assert endpoint.connections == 0
