"""LangChain integration for W&B Inference (https://api.inference.wandb.ai/v1)."""

from langchain_wandb.chat_models import ChatWandbInference

__version__ = "0.1.0"

__all__ = ["ChatWandbInference", "__version__"]
