"""A client of a loop that closed makes no noise when it is collected later."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import pytest

from langchain_wandb.testing import WandbEmulator


def test_forty_threads_each_closing_its_own_loop_print_nothing(
    emulator: WandbEmulator, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    llm = emulator.chat_model(max_retries=0)
    errors: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(llm.ainvoke("hi"))
            # A second loop in the same thread: collecting the first one's client here
            # is what used to schedule a doomed `aclose()` on this loop.
            gc.collect()
        except BaseException as error:
            errors.append(error)
        finally:
            loop.close()

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        threads = [threading.Thread(target=run) for _ in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        async def one_more() -> None:
            gc.collect()  # collected while another loop runs
            await llm.ainvoke("hi")
            gc.collect()
            await asyncio.sleep(0.05)

        asyncio.run(one_more())
        gc.collect()
    assert errors == []
    out, err = capfd.readouterr()
    shown = out + err + caplog.text
    assert "Task exception was never retrieved" not in shown
    assert "aclose" not in shown
