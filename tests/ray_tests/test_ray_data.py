"""Ray Data batch inference: every row answered or given its own error, one shared limit."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import WandbEmulator

MODEL = "openai/gpt-oss-120b"
IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
    }
]


def prompt(i: int) -> str:
    """A prompt, or (every 10th row) one over the context window (W&B answers 400), or an
    image for a text-only model (refused before sending)."""
    if i % 10 == 3:
        return "word " * 400
    if i % 10 == 7:
        return json.dumps(IMAGE)
    return f"say {i}"


def rows(n: int) -> list[dict[str, Any]]:
    """The job's input rows."""
    return [{"id": i, "prompt": prompt(i)} for i in range(n)]


@pytest.mark.parametrize("batch_format", ["pandas", "numpy"])
def test_a_job_of_hundreds_of_rows_keeps_per_row_errors(backend: Any, batch_format: str) -> None:
    import ray

    from langchain_wandb.ray import OUTPUT_COLUMNS, WandbChatPredictor

    n = 300
    with WandbEmulator(concurrency_limit=6) as emu:
        emu.add_model(MODEL, context_window=256)
        llm = ChatWandbInference(
            base_url=emu.base_url,
            api_key="ray-data-key",
            model=MODEL,
            project=f"team/{uuid.uuid4().hex[:8]}",
            max_retries=0,
        )
        out = (
            ray.data.from_items(rows(n))
            .map_batches(
                WandbChatPredictor,
                fn_constructor_kwargs={"llm": llm, "backend": backend},
                concurrency=2,
                batch_size=50,
                batch_format=batch_format,
            )
            .take_all()
        )
        assert len(out) == n
        assert set(OUTPUT_COLUMNS) <= set(out[0])
        failed = [row for row in out if row["error"] is not None]
        assert sorted(row["id"] for row in failed) == [i for i in range(n) if i % 10 in (3, 7)]
        for row in failed:
            kind = "WandbContextOverflowError" if row["id"] % 10 == 3 else "ValueError"
            assert row["error"].startswith(kind), row["error"]
            assert row["text"] is None
        for row in out:
            if row["error"] is None:
                assert row["text"]
                assert json.loads(row["usage"])["output_tokens"] > 0
                assert row["cost"] is None or row["cost"] >= 0
        assert emu.refused_requests <= 0.25 * n
        assert "ray-data-key" not in json.dumps(out, default=str)


class City(BaseModel):
    """A city."""

    name: str


def test_structured_rows_and_messages_become_columns(backend: Any) -> None:
    import pandas as pd

    from langchain_wandb.ray import WandbChatPredictor

    with WandbEmulator() as emu:
        predictor = WandbChatPredictor(
            schema=City,
            column="messages",
            backend=backend,
            base_url=emu.base_url,
            api_key="k",
            model=MODEL,
            max_retries=0,
        )
        batch = pd.DataFrame(
            {"messages": [[{"role": "user", "content": "a city"}], '[{"role": "user"}]']}
        )
        out = predictor(batch)
    assert list(out["messages"]) == list(batch["messages"])
    assert out["error"][0] is None, out["error"][0]
    assert json.loads(out["parsed"][0])["name"]
    assert out["error"][1] is not None  # a message without content fails its row only
    assert out["parsed"][1] is None


def test_a_row_keeps_reasoning_tool_calls_and_cost() -> None:
    from langchain_wandb.ray import _row

    message = AIMessage(
        content="done",
        additional_kwargs={"reasoning_content": "thinking"},
        tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}],
        response_metadata={"cost": {"total": 0.5, "currency": "USD"}},
    )
    row = _row(message, structured=False)
    assert (row["text"], row["reasoning"], row["cost"]) == ("done", "thinking", 0.5)
    assert json.loads(row["tool_calls"])[0]["args"] == {"x": 1}
    failed = _row(
        {"raw": message, "parsed": None, "parsing_error": ValueError("bad")}, structured=True
    )
    assert failed["error"] == "ValueError: bad"
