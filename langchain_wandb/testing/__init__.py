"""Test your LangChain code against W&B Inference offline.

`WandbEmulator` is a local HTTP server that speaks W&B's wire format (streaming and
non-streaming chat completions, `GET /models`, errors and stream faults), answers with
scripted `Reply`s, and records every request. The `wandb_emulator` pytest fixture (a
pytest plugin installed with this package) gives each test a running one.
"""

from langchain_wandb.testing._replies import RAMBLING_JOKE, Reply, ToolCallReply
from langchain_wandb.testing._server import EMULATED_MODELS, RecordedRequest, WandbEmulator

__all__ = [
    "EMULATED_MODELS",
    "RAMBLING_JOKE",
    "RecordedRequest",
    "Reply",
    "ToolCallReply",
    "WandbEmulator",
]
