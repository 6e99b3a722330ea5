"""LangChain integration for W&B Inference (https://api.inference.wandb.ai/v1)."""

from langchain_wandb.chat_models import ChatWandbInference
from langchain_wandb.models import WandbModel

__version__ = "0.1.0"

__all__ = ["ChatWandbInference", "WandbModel", "__version__"]
