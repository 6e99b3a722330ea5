"""Every scope of W&B's limit against an emulator enforcing it: nothing lost, no key waits."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, WandbEmulator
from tests.integration_tests.raw_server import wait_until

MODEL = "openai/gpt-oss-120b"
OTHER = "deepseek-ai/DeepSeek-V3.1"


def on(emu: WandbEmulator, key: str, project: str, **kwargs: object) -> ChatWandbInference:
    model: ChatWandbInference = emu.chat_model(
        api_key=key, project=project, max_retries=0, **kwargs
    )
    return model


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_slow_requests_on_one_key_never_make_another_key_wait() -> None:
    with WandbEmulator() as emu:
        project = unique("team/p")
        a = on(emu, unique("key-a"), project)
        # B's cap of 2 counts B's pool only: in one pool, A's 8 would hold it back.
        b = on(emu, unique("key-b"), project, timeout=1.0, max_concurrency=2)
        emu.script(*[Reply(content="slow", time_to_first_token=1.5)] * 8)
        slow = [asyncio.ensure_future(a.ainvoke(f"a{i}")) for i in range(8)]
        assert await asyncio.to_thread(wait_until, lambda: emu.active_requests == 8)
        assert (await b.ainvoke("b")).content  # key B goes at once
        assert b.concurrency.in_flight == 0
        await asyncio.gather(*slow)


@pytest.mark.parametrize(
    ("scope", "keys", "projects", "models"),
    [
        ("project", ["k1", "k2"], ["team/p"], [MODEL]),  # two keys, one project limit
        ("user", ["k1"], ["team/p", "team/q"], [MODEL]),  # one key, two projects
        (None, ["k1"], ["team/p"], [MODEL]),  # the documented text, no scope named
        ("project-all-models", ["k1"], ["team/p"], [MODEL, OTHER]),
    ],
)
async def test_each_scope_loses_nothing_and_stays_near_its_limit(
    scope: str | None, keys: list[str], projects: list[str], models: list[str]
) -> None:
    with WandbEmulator(
        concurrency_limit=3,
        concurrency_scope=scope,  # type: ignore[arg-type]
        time_to_first_token=0.05,
    ) as emu:
        tag = uuid.uuid4().hex[:8]
        llms = [
            on(emu, f"{key}-{tag}", f"{project}-{tag}", model=model)
            for key in keys
            for project in projects
            for model in models
        ]
        batches = [llm.abatch([f"p{i}" for i in range(24)], return_exceptions=True) for llm in llms]
        results = [r for batch in await asyncio.gather(*batches) for r in batch]
        assert [r for r in results if isinstance(r, BaseException)] == []
        sent = len(emu.chat_requests)
        assert sent - emu.refused_requests == len(results)
        assert max(emu.peak_in_flight().values()) <= 3
        if scope in ("project", "user"):  # the pools joined: one learned limit for all
            assert {llm.concurrency.scope for llm in llms} == {scope}
            assert len({llm.concurrency.limit for llm in llms}) == 1
