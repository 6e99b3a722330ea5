"""A queue timeout blames W&B's concurrency limit only when W&B showed one or the user set one."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
from langchain_core.exceptions import ModelTimeoutError

from langchain_wandb import ChatWandbInference
from langchain_wandb._sdk_errors import WandbConcurrencyTimeoutError
from langchain_wandb.testing import WandbEmulator
from tests.integration_tests.raw_server import RawServer, raw_server

MODEL = "openai/gpt-oss-120b"


def on(base_url: str, **kwargs: object) -> ChatWandbInference:
    params: dict[str, object] = {
        "base_url": base_url,
        "api_key": "k",
        "model": MODEL,
        "max_retries": 0,
        "project": f"team/{uuid.uuid4().hex}",  # a cold governor
    }
    params.update(kwargs)
    return ChatWandbInference(**params)


def _hang(server: list[RawServer]) -> object:
    def handler(_conn: socket.socket, _request: bytes) -> None:
        while not server[0].stopped():
            server[0]._stop.wait(0.05)

    return handler


async def test_a_hung_server_is_a_timeout_not_wandbs_concurrency_limit() -> None:
    holder: list[RawServer] = []
    with raw_server(_hang(holder)) as server:  # type: ignore[arg-type]
        holder.append(server)
        llm = on(server.base_url, timeout=1.0, stream_idle_timeout=1.0)
        results = await asyncio.gather(
            *(llm.ainvoke(f"p{i}") for i in range(16)), return_exceptions=True
        )
    assert all(isinstance(r, ModelTimeoutError) for r in results), results
    blamed = [r for r in results if isinstance(r, WandbConcurrencyTimeoutError)]
    assert blamed == []
    assert "concurrency limit" not in " ".join(map(str, results))
    assert llm.concurrency.in_flight == 0


def test_a_budget_spent_before_sending_is_a_plain_timeout(wandb_emulator: WandbEmulator) -> None:
    llm = on(wandb_emulator.base_url, timeout=1e-6)
    with pytest.raises(ModelTimeoutError) as raised:
        llm.invoke("hi")
    assert not isinstance(raised.value, WandbConcurrencyTimeoutError)
    assert "concurrency limit" not in str(raised.value)
    assert "timeout" in str(raised.value)


async def test_a_learned_limit_is_still_named_when_it_made_the_request_wait() -> None:
    with WandbEmulator(concurrency_limit=1, time_to_first_token=0.5) as emu:
        holder = on(emu.base_url, timeout=30)
        llm = holder.model_copy(update={"timeout": 0.3})
        stream = holder.astream("hold the slot")
        await anext(aiter(stream))
        # The second is refused (W&B shows its limit), then queues until the timeout.
        with pytest.raises(WandbConcurrencyTimeoutError, match="learned from W&B's 429s"):
            await llm.ainvoke("wait")
        await stream.aclose()  # type: ignore[attr-defined]
