"""`on_retry` callbacks get tenacity's genuine retry state: every field real."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest
import tenacity
from langchain_core.callbacks import BaseCallbackHandler

from langchain_wandb.testing import Reply, WandbEmulator


class ReadsEverything(BaseCallbackHandler):
    """Reads every field of the state, as tenacity's own `before_sleep` hooks may."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_retry(self, retry_state: tenacity.RetryCallState, **kwargs: Any) -> None:
        rs = retry_state
        assert rs.outcome is not None
        assert rs.next_action is not None
        self.seen.append(
            {
                "retrying": rs.retry_object,
                "stop": rs.retry_object.stop(rs),
                "retry": rs.retry_object.retry(rs),
                "wait": rs.retry_object.wait(rs),
                "statistics": dict(rs.retry_object.statistics),
                "fn": rs.fn,
                "args": rs.args,
                "kwargs": rs.kwargs,
                "attempt_number": rs.attempt_number,
                "failed": rs.outcome.failed,
                "error": rs.outcome.exception(),
                "outcome_attempt": rs.outcome.attempt_number,
                "outcome_timestamp": rs.outcome_timestamp,
                "idle_for": rs.idle_for,
                "sleep": rs.next_action.sleep,
                "upcoming_sleep": rs.upcoming_sleep,
                "start_time": rs.start_time,
                "seconds_since_start": rs.seconds_since_start,
                "repr": repr(rs),
            }
        )


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_on_retry_gets_a_genuine_retry_call_state(
    emulator: WandbEmulator, asynchronous: bool
) -> None:
    busy = Reply.wandb_error("overloaded", headers={"Retry-After": "0.1"})
    emulator.script(busy, busy, Reply(content="ok"))
    llm = emulator.chat_model(max_retries=3, timeout=30.0)
    handler = ReadsEverything()
    started = time.monotonic()
    config: Any = {"callbacks": [handler]}
    if asynchronous:
        answer = asyncio.run(llm.ainvoke("hi", config=config))
    else:
        answer = llm.invoke("hi", config=config)
    assert answer.text == "ok"
    first, second = handler.seen
    expected_kind = tenacity.AsyncRetrying if asynchronous else tenacity.Retrying
    for number, seen in enumerate((first, second), start=1):
        assert isinstance(seen["retrying"], expected_kind)
        assert seen["stop"] is False  # 3 retries allowed: not stopping yet
        assert seen["retry"] is True  # a 503 is retried
        assert seen["wait"] == pytest.approx(0.1)  # the server's Retry-After
        if not asynchronous:  # tenacity keeps statistics per thread; LangChain runs a
            # sync handler of an async run in a worker thread, which sees none
            assert seen["statistics"]["attempt_number"] == number + 1
            assert seen["statistics"]["idle_for"] == pytest.approx(0.1 * number)
        assert callable(seen["fn"])
        assert len(seen["args"]) == 1
        assert 0 < seen["args"][0] <= 30.0  # the seconds the attempt was given
        assert seen["kwargs"] == {}
        assert seen["attempt_number"] == number
        assert seen["failed"] is True
        assert isinstance(seen["error"], openai.InternalServerError)
        assert seen["outcome_attempt"] == number
        assert seen["sleep"] == seen["upcoming_sleep"] == pytest.approx(0.1)
        assert seen["idle_for"] == pytest.approx(0.1 * number)
        assert started <= seen["start_time"] <= seen["outcome_timestamp"]
        assert seen["seconds_since_start"] >= 0
        assert f"attempt #{number}" in seen["repr"]
    assert first["start_time"] == second["start_time"]
    assert second["args"][0] < first["args"][0]
