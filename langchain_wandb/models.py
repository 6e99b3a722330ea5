"""W&B Inference's model catalogue, packaged with the code as LangChain partners keep it.

`data/_profiles.py` is written by the `langchain-profiles` CLI from models.dev's `wandb`
provider merged with `data/profile_augmentations.toml`, which carries what W&B's docs
say (a dated snapshot, `data/models.json`; see `scripts/update_models.py`). It feeds
`ChatWandbInference.profile`, the reasoning switch and `list_models()`. It is never an
allow-list: ids it does not know (new models, LoRA `wandb-artifact:///...` ids) work,
they just have no profile.

`data/models.json` also keeps W&B's retirement dates (retired models are not served, so
they are not in the catalogue, but `lookup` knows them), and `data/prices.json` is the
dated price snapshot (USD per 1M tokens) that `response_metadata["cost"]` is priced from.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, NotRequired, cast, get_args, get_type_hints

from langchain_core.language_models import ModelProfile
from pydantic import AfterValidator, BeforeValidator
from typing_extensions import TypedDict

ReasoningMode = Literal["none", "always", "default_on", "default_off"]
"""How a model reasons on W&B: never, always (cannot be turned off), on unless
`enable_thinking=false`, or off unless `enable_thinking=true`."""

Status = Literal["ga", "experimental", "deprecated", "retired"]
"""W&B's lifecycle stage for a model (W&B answers a retired model with 404)."""

# models.dev's lifecycle words, for models only models.dev lists (absent means active).
_MODELS_DEV_STATUS: dict[str, Status] = {
    "alpha": "experimental",
    "beta": "experimental",
    "deprecated": "deprecated",
}


@dataclass(frozen=True)
class ModelPrice:
    """What W&B charges for a model, in USD per 1M tokens."""

    input: float
    """Per 1M input (prompt) tokens."""
    output: float
    """Per 1M output tokens, reasoning tokens included."""
    cached_input: float | None = None
    """Per 1M input tokens served from the prefix cache; None: W&B publishes no cached
    rate, so cached tokens cost the `input` rate."""

    def __post_init__(self) -> None:
        """Refuse what cannot be a price: every cost from it would look right and be wrong.

        Raises:
            ValueError: If a rate is not a finite number >= 0 (`cached_input` may be None).
        """
        for name, value in dataclasses.asdict(self).items():
            if value is None and name == "cached_input":
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"ModelPrice.{name} must be USD per 1M tokens, a finite number >= 0; "
                    f"got {value!r}"
                )


class PriceFields(TypedDict):
    """A `ModelPrice` as a dict: how a chat model keeps `prices` (so it serializes)."""

    input: float
    output: float
    cached_input: NotRequired[float | None]


_PRICE_KEYS = frozenset(field.name for field in dataclasses.fields(ModelPrice))


def _price_fields(prices: Any) -> Any:
    """`ModelPrice` values as dicts; anything else is left for pydantic to check.

    Raises:
        ValueError: If a price dict has a key `ModelPrice` does not (a misspelt
            `cached_input` would otherwise be dropped, and cached tokens billed in full).
    """
    if not isinstance(prices, Mapping):
        return prices
    for model, price in prices.items():
        unknown = sorted(set(price) - _PRICE_KEYS) if isinstance(price, Mapping) else []
        if unknown:
            raise ValueError(
                f"prices[{model!r}] has {', '.join(map(repr, unknown))}: a price has only "
                f"{', '.join(sorted(_PRICE_KEYS))}"
            )
    return {
        model: dataclasses.asdict(price) if isinstance(price, ModelPrice) else price
        for model, price in prices.items()
    }


def _check_prices(prices: dict[str, Any]) -> dict[str, Any]:
    """Every price a `ModelPrice` can hold; every base model id one a price can come from.

    A base model id must name a model the caller prices, or one the snapshot knows (it
    may have no price yet: the cost is then None). Chains are never followed.

    Raises:
        ValueError: Naming the model id whose price cannot be right or can never be found.
    """
    for model, price in prices.items():
        if isinstance(price, str):
            target = prices.get(price)
            if isinstance(target, str) or (target is None and not _known(price)):
                why = "itself priced as another model" if target else "no model W&B lists"
                raise ValueError(
                    f"prices[{model!r}] = {price!r}: that is {why}; give the id of a model "
                    "with a price, or a price"
                )
            continue
        try:
            ModelPrice(**price)
        except ValueError as error:
            raise ValueError(f"prices[{model!r}]: {error}") from None
    return prices


PriceOverrides = Annotated[
    dict[str, PriceFields | str],
    BeforeValidator(_price_fields),
    AfterValidator(_check_prices),
]
"""Prices by model id, as `ChatWandbInference(prices=...)` takes them: a `ModelPrice`
(or a dict of its fields), or a model id whose price applies (a LoRA's base model)."""


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
    retired: str | None = None
    """The day (ISO date) W&B retired the model, or for a deprecated one will retire it."""
    price: ModelPrice | None = None
    """W&B's price in the packaged snapshot (dated by `price_date()`); None if unknown."""
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

    def profile(self) -> ModelProfile | None:
        """The model's LangChain `ModelProfile`; None for a model the catalogue lacks.

        The packaged profile (models.dev's data with W&B's docs merged over it),
        without W&B's own keys (`wandb_*`), which `ModelProfile` lacks.

        W&B documents function tools and JSON-schema structured output for its catalogue
        as a whole, and only `tool_choice="auto"` (hence `tool_choice: False`).

        `structured_output` is False although `with_structured_output` uses W&B's native
        `json_schema`: LangChain agents read it to send `response_format` *with* their
        tools on every turn, and W&B's vLLM-style serving applies `response_format` to
        the whole reply, so the model answers in JSON without ever calling a tool
        (vllm#39929). False makes `create_agent(..., response_format=Schema)` use its
        tool strategy, which works.
        """
        if self.catalogue_profile is None:
            return None
        declared = _profile_keys()
        return cast(
            ModelProfile, {k: v for k, v in self.catalogue_profile.items() if k in declared}
        )


@cache
def _profile_keys() -> frozenset[str]:
    return frozenset(get_type_hints(ModelProfile))


def _data(name: str) -> dict[str, Any]:
    text = resources.files("langchain_wandb").joinpath(f"data/{name}").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _snapshot() -> dict[str, Any]:
    """W&B's docs snapshot: models, retirement dates."""
    return _data("models.json")


@cache
def _prices() -> dict[str, Any]:
    """The dated price snapshot."""
    return _data("prices.json")


def _price(model_id: str) -> ModelPrice | None:
    found = _prices()["prices"].get(model_id)
    return ModelPrice(**found) if found else None


@cache
def _retirement_dates() -> dict[str, str]:
    """Scheduled retirement dates of deprecated catalogue models."""
    return {m["id"]: m["retired"] for m in _snapshot()["models"] if m.get("retired")}


@cache
def _retired() -> dict[str, WandbModel]:
    """Models W&B has retired (it answers them with 404), by id."""
    return {
        entry["id"]: WandbModel(
            id=entry["id"],
            status="retired",
            retired=entry["retired"],
            replacement=entry.get("replacement"),
        )
        for entry in _snapshot().get("retired", [])
    }


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
        retired=_retirement_dates().get(model_id),
        price=_price(model_id),
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


def price_date() -> str:
    """The day the packaged prices were retrieved (ISO date): what `cost` is as of."""
    return str(_prices()["retrieved"])


def price_source() -> str:
    """Where the packaged prices were read from."""
    return str(_prices()["source"])


def _known(model_id: str) -> bool:
    """Whether the snapshot knows `model_id` (served, retired, or priced)."""
    return model_id in catalogue() or model_id in _retired() or _price(model_id) is not None


def lookup(model_id: str) -> WandbModel:
    """What the snapshot knows about `model_id`, retired models included.

    An unknown id (a new model, a LoRA id) gives a bare entry, with the price snapshot's
    price if it has one (a price refresh can list models the docs snapshot does not yet).
    """
    found = catalogue().get(model_id) or _retired().get(model_id)
    return found or WandbModel(id=model_id, price=_price(model_id))


def check_not_retired(model_id: str) -> None:
    """Refuse a model W&B has retired, before any request is sent.

    Raises:
        ValueError: If the snapshot records `model_id` as retired; the message gives
            the date and W&B's recommended replacement.
    """
    model = _retired().get(model_id)
    if model is None:
        return
    instead = (
        f"; W&B recommends {model.replacement}"
        if model.replacement
        else "; pick another model (python -m langchain_wandb --list-models)"
    )
    raise ValueError(
        f"{model_id} was retired from W&B Inference on {model.retired} and is no longer "
        f"served (W&B answers it with 404){instead}."
    )
