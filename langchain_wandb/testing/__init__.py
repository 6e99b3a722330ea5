"""Test your LangChain code against W&B Inference offline.

`WandbEmulator` is a local HTTP server that speaks W&B's wire format (streaming and
non-streaming chat completions, `GET /models`, errors and stream faults) byte-shaped like
the vLLM 0.32 servers behind W&B (see `langchain_wandb.testing._server` for what is
matched and what is not), answers with scripted `Reply`s, refuses what W&B refuses
(unknown models, context overflow, images to text-only models, the concurrency limit),
and records every request. The
`wandb_emulator` pytest fixture (a pytest plugin installed with this package) gives each
test a running one.

Names are imported on first use, so loading the pytest plugin costs nothing until a test
uses the fixture.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_wandb.testing._checks import WANDB_ERROR_KINDS
    from langchain_wandb.testing._models import EmulatedModel
    from langchain_wandb.testing._replies import RAMBLING_JOKE, Reply, ToolCallReply
    from langchain_wandb.testing._server import EMULATED_MODELS, RecordedRequest, WandbEmulator

_HOMES = {
    "EMULATED_MODELS": "_server",
    "EmulatedModel": "_models",
    "RAMBLING_JOKE": "_replies",
    "RecordedRequest": "_server",
    "Reply": "_replies",
    "WANDB_ERROR_KINDS": "_checks",
    "ToolCallReply": "_replies",
    "WandbEmulator": "_server",
}

__all__ = [
    "EMULATED_MODELS",
    "RAMBLING_JOKE",
    "WANDB_ERROR_KINDS",
    "EmulatedModel",
    "RecordedRequest",
    "Reply",
    "ToolCallReply",
    "WandbEmulator",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Public names, for completion."""
    return sorted(__all__)
