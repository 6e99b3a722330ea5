"""Test your LangChain code against W&B Inference offline.

`WandbEmulator` is a local HTTP server that speaks W&B's wire format (streaming and
non-streaming chat completions, `GET /models`, errors and stream faults) byte-shaped like
the vLLM 0.32 servers behind W&B (see `langchain_wandb.testing._server` for what is
matched and what is not), answers with scripted `Reply`s, refuses what W&B refuses
(unknown models, context overflow, images to text-only models, the concurrency limit),
and records every request.

- `with emulated():` runs a block offline: `ChatWandbInference`s built in it talk to a
  fresh emulator (it sets `WANDB_INFERENCE_BASE_URL` and `WANDB_API_KEY` for the block).
- `configured_emulator(models=..., concurrency_limit=..., ...)` builds one in one call.
- The `wandb_emulator` pytest fixture gives each test a running one: enable it with
  `pytest_plugins = ["langchain_wandb.testing.pytest_plugin"]` in your conftest.py.

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_wandb._lazy import lazy_names

if TYPE_CHECKING:
    from langchain_wandb.testing._checks import WANDB_ERROR_KINDS
    from langchain_wandb.testing._emulated import EMULATOR_KEY, configured_emulator, emulated
    from langchain_wandb.testing._models import EmulatedModel
    from langchain_wandb.testing._replies import RAMBLING_JOKE, Reply, ToolCallReply
    from langchain_wandb.testing._server import EMULATED_MODELS, RecordedRequest, WandbEmulator

_HOMES = {
    "EMULATED_MODELS": "_server",
    "EMULATOR_KEY": "_emulated",
    "EmulatedModel": "_models",
    "RAMBLING_JOKE": "_replies",
    "RecordedRequest": "_server",
    "Reply": "_replies",
    "WANDB_ERROR_KINDS": "_checks",
    "ToolCallReply": "_replies",
    "WandbEmulator": "_server",
    "configured_emulator": "_emulated",
    "emulated": "_emulated",
}

__all__ = [
    "EMULATED_MODELS",
    "EMULATOR_KEY",
    "RAMBLING_JOKE",
    "WANDB_ERROR_KINDS",
    "EmulatedModel",
    "RecordedRequest",
    "Reply",
    "ToolCallReply",
    "WandbEmulator",
    "configured_emulator",
    "emulated",
]


if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(
        globals(), {name: f"{__name__}.{home}" for name, home in _HOMES.items()}
    )
