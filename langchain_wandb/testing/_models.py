"""Which model ids the emulator serves, and what each one can do.

An id is served when the packaged catalogue lists it, when it is a LoRA id
(`wandb-artifact:///...`, which W&B resolves per project), or when a test registered it
with `WandbEmulator.add_model`. Anything else gets the 404 W&B sends for an unknown model.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_wandb.models import ReasoningMode, catalogue

LORA_PREFIX = "wandb-artifact:///"

# Ids outside the catalogue that the emulator plays as always reasoning.
_REASONING_MARKERS = ("gpt-oss", "thinking")


@dataclass(frozen=True)
class EmulatedModel:
    """A served model as the emulator plays it."""

    id: str
    """The model id clients send."""
    context_window: int | None = None
    """Prompt plus completion tokens the model accepts; None: no limit is checked."""
    vision: bool = False
    """Whether image inputs are accepted."""
    reasoning: ReasoningMode | None = None
    """How the model reasons; None guesses from the id (gpt-oss, thinking: always)."""

    @property
    def reasoning_mode(self) -> ReasoningMode:
        """The reasoning mode, with the guess for ids that do not say."""
        if self.reasoning is not None:
            return self.reasoning
        lowered = self.id.lower()
        return "always" if any(m in lowered for m in _REASONING_MARKERS) else "none"


def catalogue_model(model_id: str) -> EmulatedModel | None:
    """The catalogue's properties for `model_id`, or None when it is not listed."""
    known = catalogue().get(model_id)
    if known is None:
        return None
    return EmulatedModel(
        id=known.id,
        context_window=known.context_window,
        vision=known.vision,
        reasoning=known.reasoning,
    )


def resolve_model(model_id: str, registered: dict[str, EmulatedModel]) -> EmulatedModel | None:
    """The served model for `model_id`, or None when W&B would answer 404.

    Registered ids win over the catalogue, so a test can give a known id a small
    context window. LoRA ids are served with no known window, text only.
    """
    if model_id in registered:
        return registered[model_id]
    if (known := catalogue_model(model_id)) is not None:
        return known
    if model_id.startswith(LORA_PREFIX) and len(model_id) > len(LORA_PREFIX):
        return EmulatedModel(id=model_id)
    return None
