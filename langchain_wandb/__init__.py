"""LangChain integration for W&B Inference (https://api.inference.wandb.ai/v1).

Names load on first use, so that `import langchain_wandb` (and the pytest plugin that
every pytest run of an installing project imports) costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

__version__ = "0.2.0"

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
    "get_wandb_callback",
]


def __getattr__(name: str) -> Any:
    """Load a public name from the module it lives in, once."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'langchain_wandb' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not."""
    return sorted(__all__)
