"""LangChain integration for W&B Inference (https://api.inference.wandb.ai/v1).

Names load on first use, so that `import langchain_wandb` costs almost nothing. Every typed
error is also in `langchain_wandb.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_wandb._lazy import lazy_names

if TYPE_CHECKING:
    from langchain_wandb import errors
    from langchain_wandb._errors import (
        EventTooLargeError,
        MalformedResponseError,
        NoAnswerError,
        StreamEndedEarlyError,
        StreamTimeoutError,
        WandbStreamError,
    )
    from langchain_wandb._governor import ConcurrencySnapshot
    from langchain_wandb._tools import OutputTruncatedError
    from langchain_wandb.callbacks import get_wandb_callback
    from langchain_wandb.chat_models import ChatWandbInference
    from langchain_wandb.models import ModelPrice, WandbModel

__version__ = "0.3.0"

_HOMES = {
    "ChatWandbInference": "langchain_wandb.chat_models",
    "ConcurrencySnapshot": "langchain_wandb._governor",
    "EventTooLargeError": "langchain_wandb._errors",
    "MalformedResponseError": "langchain_wandb._errors",
    "ModelPrice": "langchain_wandb.models",
    "NoAnswerError": "langchain_wandb._errors",
    "OutputTruncatedError": "langchain_wandb._tools",
    "StreamEndedEarlyError": "langchain_wandb._errors",
    "StreamTimeoutError": "langchain_wandb._errors",
    "WandbModel": "langchain_wandb.models",
    "WandbStreamError": "langchain_wandb._errors",
    "errors": "langchain_wandb.errors",
    "get_wandb_callback": "langchain_wandb.callbacks",
}

__all__ = [
    "ChatWandbInference",
    "ConcurrencySnapshot",
    "EventTooLargeError",
    "MalformedResponseError",
    "ModelPrice",
    "NoAnswerError",
    "OutputTruncatedError",
    "StreamEndedEarlyError",
    "StreamTimeoutError",
    "WandbModel",
    "WandbStreamError",
    "__version__",
    "errors",
    "get_wandb_callback",
]


if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(globals(), _HOMES)
