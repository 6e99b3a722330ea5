"""The key never shows in any error of the chain: text, traceback, body, request, response."""

from __future__ import annotations

import json
import socket
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.exceptions import ModelError
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from tests.integration_tests.raw_server import http_response, raw_server

KEY = "wandb_v1_SECRETKEY1234567890"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _everything_shown(error: BaseException) -> list[str]:
    shown = ["".join(traceback.format_exception(error))]
    for link in _chain(error):
        shown += [str(link), repr(link), repr(getattr(link, "body", None))]
        for name in ("request", "response"):
            try:
                value: Any = getattr(link, name, None)
            except RuntimeError:
                continue
            request = getattr(value, "request", value)
            if request is not None and hasattr(request, "headers"):
                shown.append(repr(dict(request.headers)))
            if name == "response" and value is not None:
                shown.append(value.text)
    return shown


def _echoing(status: int) -> Any:
    def answer(conn: socket.socket, request: bytes) -> None:
        body = {"error": {"message": f"Too many requests for api key {KEY}"}}
        conn.sendall(http_response(status, json.dumps(body).encode()))

    return answer


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (429, {}),  # the governor requeues until the timeout: a chained 429 behind it
        (429, {"adaptive_concurrency": False}),
        (400, {}),
        (500, {}),
    ],
)
def test_a_server_echoing_the_key_never_shows_it(status: int, kwargs: dict[str, Any]) -> None:
    with raw_server(_echoing(status)) as server:
        llm = ChatWandbInference(
            base_url=server.base_url, api_key=SecretStr(KEY), timeout=1.0, max_retries=0, **kwargs
        )
        with pytest.raises(ModelError, match=r"\*\*\*|concurrency slot") as caught:
            llm.invoke("hi")
    for text in _everything_shown(caught.value):
        assert KEY not in text


def test_a_connection_error_does_not_carry_the_key_in_its_request() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    llm = ChatWandbInference(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=SecretStr(KEY), max_retries=0
    )
    with pytest.raises(ModelError, match="Could not reach W&B Inference") as caught:
        llm.invoke("hi")
    for text in _everything_shown(caught.value):
        assert KEY not in text
