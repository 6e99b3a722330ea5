"""A real vLLM server for the compatibility suite, started once per session.

The suite runs only when `.ci/compat` (or a developer) sets one of:

- `LANGCHAIN_WANDB_VLLM_PYTHON`: the python of the vLLM venv; the suite builds the tiny
  model, starts vLLM on a free loopback port and stops it at the end;
- `LANGCHAIN_WANDB_VLLM_URL`: the root URL of a server already started with
  `scripts/compat/vllm_server.py` (quicker when iterating on tests).

Otherwise every test here is skipped, so plain `python -m pytest` never starts vLLM.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from langchain_wandb import ChatWandbInference
from scripts.compat.vllm_server import SECOND_MODEL, SERVED_MODEL, VllmServer

VLLM_PYTHON = os.environ.get("LANGCHAIN_WANDB_VLLM_PYTHON", "")
VLLM_URL = os.environ.get("LANGCHAIN_WANDB_VLLM_URL", "").rstrip("/")
ENABLED = bool(VLLM_PYTHON or VLLM_URL)
SKIP_REASON = (
    "compat suite: set LANGCHAIN_WANDB_VLLM_PYTHON or LANGCHAIN_WANDB_VLLM_URL (.ci/compat)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(skip)


@dataclass(frozen=True)
class Vllm:
    """A running vLLM server and what tests need to know about its model."""

    root_url: str
    """`http://127.0.0.1:PORT`."""
    token_ids: dict[str, int]
    """Token ids of `<think>`, `</think>`, `<tool_call>`, `<|im_end|>`, ... ."""
    model: str = SERVED_MODEL
    second_model: str = SECOND_MODEL

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def chat_model(self, **kwargs: Any) -> ChatWandbInference:
        """Our model pointed at the server (kwargs override the defaults).

        `max_completion_tokens` (ChatOpenAI's name) replaces the default `max_tokens`:
        the model refuses both at once.
        """
        params: dict[str, Any] = {
            "model": self.model,
            "base_url": self.base_url,
            "api_key": "x",
            "max_retries": 0,
        }
        if "max_completion_tokens" not in kwargs:
            params["max_tokens"] = 24
        params.update(kwargs)
        return ChatWandbInference(**params)

    def prompt_text(self, body: dict[str, object]) -> str:
        """The prompt vLLM built for a chat request, detokenized (via `return_token_ids`)."""
        answer = httpx2.post(
            f"{self.base_url}/chat/completions",
            json={"model": self.model, "max_tokens": 1, **body, "return_token_ids": True},
            timeout=60,
        )
        answer.raise_for_status()
        ids = answer.json()["prompt_token_ids"]
        text = httpx2.post(
            f"{self.root_url}/detokenize", json={"model": self.model, "tokens": ids}, timeout=60
        )
        text.raise_for_status()
        return str(text.json()["prompt"])


def _token_ids(root_url: str) -> dict[str, int]:
    names = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<|im_end|>", '"', "}"]
    ids: dict[str, int] = {}
    for name in names:
        answer = httpx2.post(
            f"{root_url}/tokenize",
            json={"model": SERVED_MODEL, "prompt": name, "add_special_tokens": False},
            timeout=60,
        )
        answer.raise_for_status()
        tokens = answer.json()["tokens"]
        assert len(tokens) == 1, f"{name!r} is not one token: {tokens}"
        ids[name] = tokens[0]
    return ids


@pytest.fixture(scope="session")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vllm]:
    if not ENABLED:
        pytest.skip(SKIP_REASON)
    if VLLM_URL:
        yield Vllm(VLLM_URL, _token_ids(VLLM_URL))
        return
    model_dir = tmp_path_factory.mktemp("tiny-qwen3")
    log_path = tmp_path_factory.getbasetemp() / "vllm.log"
    with VllmServer(VLLM_PYTHON, model_dir, log_path=log_path) as server:
        yield Vllm(server.root_url, _token_ids(server.root_url))
