"""What ChatWandbInference supports, declared once for every standard-suite class."""

from __future__ import annotations

from langchain_wandb import ChatWandbInference


class WandbCapabilities:
    """Mix into langchain-tests' suites before the suite class."""

    @property
    def chat_model_class(self) -> type[ChatWandbInference]:
        return ChatWandbInference

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True
