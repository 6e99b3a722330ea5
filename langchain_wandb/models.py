"""W&B Inference's model catalogue, packaged with the code as LangChain partners keep it.

`data/_profiles.py` is written by the `langchain-profiles` CLI from models.dev's `wandb`
provider merged with `data/profile_augmentations.toml`, which carries what W&B's docs
say (a dated snapshot, `data/models.json`; see `scripts/update_models.py`). It feeds
`ChatWandbInference.profile`, the reasoning switch and `list_models()`. It is never an
allow-list: ids it does not know (new models, LoRA `wandb-artifact:///...` ids) work,
they just have no profile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, cast, get_args, get_type_hints

from langchain_core.language_models import ModelProfile

ReasoningMode = Literal["none", "always", "default_on", "default_off"]
"""How a model reasons on W&B: never, always (cannot be turned off), on unless
`enable_thinking=false`, or off unless `enable_thinking=true`."""

Status = Literal["ga", "experimental", "deprecated"]
"""W&B's lifecycle stage for a model."""

# models.dev's lifecycle words, for models only models.dev lists (absent means active).
_MODELS_DEV_STATUS: dict[str, Status] = {
    "alpha": "experimental",
    "beta": "experimental",
    "deprecated": "deprecated",
}


@dataclass(frozen=True)
class WandbModel:
    """One model as W&B serves it, with what the catalogue snapshot knows about it."""

    id: str
    """The model id to pass as `model=`."""
    name: str | None = None
    """Display name."""
    status: Status | None = None
    """Lifecycle stage; None when the snapshot does not know the model."""
    context_window: int | None = None
    """Context window in tokens, if documented."""
    vision: bool = False
    """Whether the model accepts images."""
    reasoning: ReasoningMode | None = None
    """How the model reasons; None when unknown."""
    replacement: str | None = None
    """W&B's recommended replacement, for deprecated models."""
    max_output_tokens: int | None = None
    """Most tokens one answer may have, if a source gives it."""
    catalogue_profile: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The packaged `_profiles.py` entry this model was read from, if any."""

    @property
    def known(self) -> bool:
        """Whether the catalogue snapshot lists this model."""
        return self.status is not None

    @property
    def accepts_images(self) -> bool | None:
        """Whether W&B takes images for this model; None when the catalogue does not know it.

        Unknown ids (new models, LoRA `wandb-artifact:///...` ids) give None: let the
        request through and let W&B answer.
        """
        return self.vision if self.known else None

    def profile(self) -> ModelProfile:
        """The model's LangChain `ModelProfile`.

        For catalogue models, the packaged profile (models.dev's data with W&B's docs
        merged over it), without W&B's own keys (`wandb_*`), which `ModelProfile` lacks.

        W&B documents function tools and JSON-schema structured output for its catalogue
        as a whole, and only `tool_choice="auto"` (hence `tool_choice: False`).

        `structured_output` is False although `with_structured_output` uses W&B's native
        `json_schema`: LangChain agents read it to send `response_format` *with* their
        tools on every turn, and W&B's vLLM-style serving applies `response_format` to
        the whole reply, so the model answers in JSON without ever calling a tool
        (vllm#39929). False makes `create_agent(..., response_format=Schema)` use its
        tool strategy, which works.
        """
        if self.catalogue_profile is not None:
            declared = _profile_keys()
            return cast(
                ModelProfile,
                {k: v for k, v in self.catalogue_profile.items() if k in declared},
            )
        profile = ModelProfile(
            status=self.status or "unknown",
            open_weights=True,
            text_inputs=True,
            text_outputs=True,
            image_inputs=self.vision,
            image_url_inputs=self.vision,
            tool_calling=True,
            tool_choice=False,
            tool_call_streaming=True,
            structured_output=False,
            reasoning_output=self.reasoning not in (None, "none"),
        )
        if self.name:
            profile["name"] = self.name
        if self.context_window:
            profile["max_input_tokens"] = self.context_window
        if self.max_output_tokens:
            profile["max_output_tokens"] = self.max_output_tokens
        return profile


@cache
def _profile_keys() -> frozenset[str]:
    return frozenset(get_type_hints(ModelProfile))


@cache
def _snapshot() -> dict[str, Any]:
    text = resources.files("langchain_wandb").joinpath("data/models.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _status(profile: Mapping[str, Any]) -> Status:
    status = profile.get("status")
    if status in get_args(Status):
        return cast(Status, status)
    return _MODELS_DEV_STATUS.get(str(status), "ga")


def _reasoning(profile: Mapping[str, Any]) -> ReasoningMode | None:
    mode = profile.get("wandb_reasoning")
    if mode in get_args(ReasoningMode):
        return cast(ReasoningMode, mode)
    return "none" if profile.get("reasoning_output") is False else None


def _from_profile(model_id: str, profile: Mapping[str, Any]) -> WandbModel:
    return WandbModel(
        id=model_id,
        name=profile.get("name"),
        status=_status(profile),
        context_window=profile.get("max_input_tokens") or None,
        vision=bool(profile.get("image_inputs")),
        reasoning=_reasoning(profile),
        replacement=profile.get("wandb_replacement"),
        max_output_tokens=profile.get("max_output_tokens") or None,
        catalogue_profile=profile,
    )


@cache
def catalogue() -> dict[str, WandbModel]:
    """All models in the packaged catalogue (`data/_profiles.py`), by id."""
    from langchain_wandb.data._profiles import _PROFILES

    return {model_id: _from_profile(model_id, data) for model_id, data in _PROFILES.items()}


def vision_models() -> list[str]:
    """Ids of the catalogue models that take image inputs (W&B's docs say "Vision")."""
    return sorted(model.id for model in catalogue().values() if model.vision)


def catalogue_date() -> str:
    """The day the packaged snapshot was taken from W&B's docs (ISO date)."""
    return str(_snapshot()["retrieved"])


def lookup(model_id: str) -> WandbModel:
    """What the snapshot knows about `model_id` (an unknown id gives a bare entry)."""
    return catalogue().get(model_id) or WandbModel(id=model_id)
