"""What a call cost in USD, from its `usage_metadata` and W&B's prices (pure).

Prices are USD per 1M tokens: the packaged snapshot (`data/prices.json`, dated), or the
caller's own (negotiated prices, a LoRA billed at its base model's rate). Input tokens
served from the prefix cache (`input_token_details.cache_read`) cost the cached rate,
the rest the input rate; reasoning tokens are output tokens, as W&B bills them.

The cost goes into `response_metadata["cost"]`, never into `usage_metadata`: langchain-
core adds usage dicts with `add_usage`, which accepts only ints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_wandb.models import ModelPrice, lookup, price_date

Prices = Mapping[str, "ModelPrice | Mapping[str, Any] | str"]
"""The caller's prices by model id: a `ModelPrice` (or a dict of its fields), or a model
id whose price applies (a LoRA id mapped to its base model)."""

_PER = 1_000_000
_DIGITS = 12  # a millionth of a micro-dollar: drops float noise, keeps every real digit


def model_price(model: str, prices: Prices | None = None) -> tuple[ModelPrice, str | None] | None:
    """The price `model` is billed at and the date of that price, or None when unknown.

    The caller's `prices` win over the snapshot; a model id as value means "priced as
    that model" (followed once, to the caller's price or the snapshot's). Caller prices
    carry no date (None). LoRA ids (`wandb-artifact:///...`) have no price of their own.
    """
    given = (prices or {}).get(model)
    if isinstance(given, str):
        model, given = given, (prices or {}).get(given)
        if isinstance(given, str):
            return None  # a chain of aliases is a mistake, not a price
    if isinstance(given, Mapping):
        given = ModelPrice(**given)
    if isinstance(given, ModelPrice):
        return given, None
    price = lookup(model).price
    return (price, price_date()) if price is not None else None


def call_cost(
    model: str, usage: Mapping[str, Any], prices: Prices | None = None
) -> dict[str, Any] | None:
    """The USD cost of one call to `model` with LangChain `usage` (`UsageMetadata`).

    Returns:
        `{"input", "output", "total", "currency": "USD", "prices_as_of"}` (plus
        `"cached_input"`, the part of `input` for cached tokens, when the server reported
        cached tokens), or None when the price is unknown or the usage cannot be priced
        (cached tokens above input tokens). `prices_as_of` is the snapshot's date, or
        None for the caller's own prices.
    """
    found = model_price(model, prices)
    if found is None:
        return None
    price, as_of = found
    input_tokens = int(usage.get("input_tokens") or 0)
    output_tokens = int(usage.get("output_tokens") or 0)
    cached = (usage.get("input_token_details") or {}).get("cache_read")
    if cached is not None and not 0 <= cached <= input_tokens:
        return None
    cached_rate = price.input if price.cached_input is None else price.cached_input
    cached_cost = round((cached or 0) * cached_rate / _PER, _DIGITS)
    input_cost = round((input_tokens - (cached or 0)) * price.input / _PER + cached_cost, _DIGITS)
    output_cost = round(output_tokens * price.output / _PER, _DIGITS)
    cost: dict[str, Any] = {"input": input_cost, "output": output_cost}
    if cached is not None:
        cost["cached_input"] = cached_cost
    total = round(input_cost + output_cost, _DIGITS)
    cost.update(total=total, currency="USD", prices_as_of=as_of)
    return cost


def add_cost(message: BaseMessage, model: str, prices: Prices | None = None) -> None:
    """Put the cost in `response_metadata["cost"]` of a message that carries usage.

    None there means the usage arrived but the price is unknown; a message without
    usage (a streamed chunk before the last) is left as it is.
    """
    usage = getattr(message, "usage_metadata", None)
    if usage:
        message.response_metadata["cost"] = call_cost(model, usage, prices)
