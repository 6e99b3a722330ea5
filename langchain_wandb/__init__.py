"""LangChain integration for W&B Inference (https://api.inference.wandb.ai/v1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_wandb._errors import (
    EventTooLargeError,
    MalformedResponseError,
    NoAnswerError,
    StreamEndedEarlyError,
    StreamTimeoutError,
    WandbStreamError,
)
from langchain_wandb._governor import ConcurrencySnapshot
from langchain_wandb.chat_models import ChatWandbInference
from langchain_wandb.models import WandbModel

if TYPE_CHECKING:
    from langchain_wandb._tools import OutputTruncatedError

__version__ = "0.2.0"

__all__ = [
    "ChatWandbInference",
    "ConcurrencySnapshot",
    "EventTooLargeError",
    "MalformedResponseError",
    "NoAnswerError",
    "OutputTruncatedError",
    "StreamEndedEarlyError",
    "StreamTimeoutError",
    "WandbModel",
    "WandbStreamError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Structured-output helpers import LangChain's output parsers: loaded on first use.
    if name == "OutputTruncatedError":
        from langchain_wandb._tools import OutputTruncatedError

        return OutputTruncatedError
    raise AttributeError(f"module 'langchain_wandb' has no attribute {name!r}")
