"""Cost per call: prices, cached and reasoning tokens, overrides, LoRA, retired models."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from pydantic import SecretStr, ValidationError

from langchain_wandb import ChatWandbInference, ModelPrice
from langchain_wandb._cost import add_cost, call_cost, model_price
from langchain_wandb.models import (
    catalogue,
    check_not_retired,
    lookup,
    price_date,
    price_source,
)

DATA = Path(__file__).resolve().parents[2] / "langchain_wandb" / "data"
LORA = "wandb-artifact:///my-team/my-project/my-lora:v3"


def usage(inputs: int, outputs: int, *, cached: int | None = None, reasoning: int = 0) -> Any:
    found = UsageMetadata(input_tokens=inputs, output_tokens=outputs, total_tokens=inputs + outputs)
    if cached is not None:
        found["input_token_details"] = {"cache_read": cached}
    if reasoning:
        found["output_token_details"] = {"reasoning": reasoning}
    return found


def test_snapshot_prices_every_catalogue_model_and_is_dated_with_its_source() -> None:
    snapshot = json.loads((DATA / "prices.json").read_text("utf-8"))
    assert snapshot["unit"] == "USD per 1M tokens"
    assert price_date() == snapshot["retrieved"] >= "2026-01-01"
    assert "models.dev" in price_source()
    # The price source (W&B's June 2026 catalogue) no longer lists these two: their cost
    # is unknown (None), never a stale price under a newer date.
    unpriced = sorted(model.id for model in catalogue().values() if model.price is None)
    assert unpriced == ["meta-llama/Llama-4-Scout-17B-16E-Instruct", "zai-org/GLM-5-FP8"]
    # Issue 19: $0.15/$0.60 in May 2026, cheaper since; a snapshot with May's price would
    # report every gpt-oss-120b call about 4x too high.
    assert lookup("openai/gpt-oss-120b").price == ModelPrice(0.04, 0.14, 0.04)


def test_cost_of_a_call_in_usd_with_the_price_date() -> None:
    # gpt-oss-120b: $0.04 in, $0.14 out per 1M tokens in the snapshot.
    cost = call_cost("openai/gpt-oss-120b", usage(1_000_000, 2_000_000, reasoning=1_500_000))
    assert cost == {
        "input": 0.04,
        "output": 0.28,  # reasoning tokens are output tokens
        "total": 0.32,
        "currency": "USD",
        "prices_as_of": price_date(),
    }


def test_cached_input_tokens_cost_the_cached_rate_and_are_part_of_input() -> None:
    # DeepSeek-V4-Flash: $0.14 in, $0.07 cached, $0.28 out.
    cost = call_cost("deepseek-ai/DeepSeek-V4-Flash", usage(3_000_000, 0, cached=2_000_000))
    assert cost is not None
    assert cost["cached_input"] == pytest.approx(0.14)
    assert cost["input"] == pytest.approx(0.14 + 0.14)
    assert cost["total"] == pytest.approx(0.28)


def test_cached_tokens_without_a_published_cached_rate_cost_the_input_rate() -> None:
    no_cached_rate = {"moonshotai/Kimi-K2.5": ModelPrice(0.5, 2.85, None)}
    cost = call_cost("moonshotai/Kimi-K2.5", usage(2_000_000, 0, cached=1_000_000), no_cached_rate)
    assert cost is not None
    assert (cost["input"], cost["cached_input"]) == (1.0, 0.5)


def test_no_cached_key_when_the_server_reported_no_cached_tokens() -> None:
    cost = call_cost("openai/gpt-oss-120b", usage(10, 10))
    assert cost is not None
    assert "cached_input" not in cost
    zero = call_cost("openai/gpt-oss-120b", usage(10, 10, cached=0))
    assert zero is not None
    assert zero["cached_input"] == 0


@pytest.mark.parametrize("cached", [11, -1])
def test_cached_tokens_outside_the_input_make_the_cost_unknown(cached: int) -> None:
    assert call_cost("openai/gpt-oss-120b", usage(10, 10, cached=cached)) is None


@pytest.mark.parametrize("model", ["new/model-from-next-week", LORA, "zai-org/GLM-4.5"])
def test_unpriced_models_cost_none_never_zero(model: str) -> None:
    assert call_cost(model, usage(100, 100)) is None


def test_overrides_win_and_carry_no_snapshot_date() -> None:
    negotiated = {"openai/gpt-oss-120b": ModelPrice(input=0.03, output=0.17)}
    cost = call_cost("openai/gpt-oss-120b", usage(1_000_000, 1_000_000), negotiated)
    assert cost is not None
    assert (cost["total"], cost["prices_as_of"]) == (0.2, None)


def test_a_lora_is_priced_at_its_base_models_rate() -> None:
    prices = {LORA: "OpenPipe/Qwen3-14B-Instruct"}
    assert model_price(LORA, prices) == (lookup("OpenPipe/Qwen3-14B-Instruct").price, price_date())
    cost = call_cost(LORA, usage(1_000_000, 1_000_000), prices)
    assert cost is not None
    assert cost["total"] == pytest.approx(0.05 + 0.22)
    # ... or at the caller's price for the base, when there is one.
    own: dict[str, ModelPrice | str] = {LORA: "base/model", "base/model": ModelPrice(1.0, 2.0)}
    assert model_price(LORA, own) == (ModelPrice(1.0, 2.0), None)


def test_a_chain_of_aliases_is_not_followed() -> None:
    assert model_price(LORA, {LORA: "a/b", "a/b": "openai/gpt-oss-120b"}) is None


def test_add_cost_only_to_the_message_that_carries_usage() -> None:
    chunk = AIMessageChunk(content="partial")
    add_cost(chunk, "openai/gpt-oss-120b")
    assert "cost" not in chunk.response_metadata
    unknown = AIMessage(content="", usage_metadata=usage(1, 1))
    add_cost(unknown, "new/model")
    assert unknown.response_metadata["cost"] is None
    known = AIMessage(content="", usage_metadata=usage(1, 1))
    add_cost(known, "openai/gpt-oss-120b")
    assert known.response_metadata["cost"]["currency"] == "USD"
    assert all(isinstance(v, int) for k, v in known.usage_metadata.items())  # type: ignore[union-attr]


def test_prices_field_takes_model_prices_dicts_and_base_model_ids() -> None:
    llm = ChatWandbInference(
        api_key=SecretStr("k"),
        model=LORA,
        prices={
            "openai/gpt-oss-120b": ModelPrice(input=0.03, output=0.17),
            "a/b": {"input": 1, "output": 2, "cached_input": 0.5},
            LORA: "openai/gpt-oss-20b",
        },
    )
    assert llm.prices == {
        "openai/gpt-oss-120b": {"input": 0.03, "output": 0.17, "cached_input": None},
        "a/b": {"input": 1.0, "output": 2.0, "cached_input": 0.5},
        LORA: "openai/gpt-oss-20b",
    }
    assert call_cost("a/b", usage(1_000_000, 0), llm.prices) == {
        "input": 1.0,
        "output": 0.0,
        "total": 1.0,
        "currency": "USD",
        "prices_as_of": None,
    }
    for bad in ({"m/x": {"input": "cheap", "output": 1}}, {"m/x": {"input": 1}}, ["m/x"]):
        with pytest.raises(ValidationError):
            ChatWandbInference(api_key=SecretStr("k"), prices=bad)


def test_a_model_with_prices_survives_serialization(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.load import dumps, loads

    monkeypatch.setenv("WANDB_API_KEY", "k")
    llm = ChatWandbInference(prices={"a/b": ModelPrice(1.0, 2.0), LORA: "a/b"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loads is in beta
        back = loads(
            dumps(llm),
            valid_namespaces=["langchain_wandb"],
            secrets_from_env=True,
            allowed_objects=[ChatWandbInference],
        )
    assert back.prices == llm.prices


# -- lifecycle -------------------------------------------------------------------------
RETIRED = {
    "deepseek-ai/DeepSeek-R1-0528": None,
    "deepseek-ai/DeepSeek-V3-0324": None,
    "moonshotai/Kimi-K2-Instruct": "moonshotai/Kimi-K2.5",
    "moonshotai/Kimi-K2-Instruct-0905": "moonshotai/Kimi-K2.5",
    "Qwen/Qwen2.5-14B-Instruct": "OpenPipe/Qwen3-14B-Instruct",
    "zai-org/GLM-4.5": "zai-org/GLM-5-FP8",
}


@pytest.mark.parametrize(("model_id", "replacement"), RETIRED.items())
def test_the_six_models_retired_on_2026_03_04_are_known(
    model_id: str, replacement: str | None
) -> None:
    model = lookup(model_id)
    assert (model.status, model.retired, model.replacement) == (
        "retired",
        "2026-03-04",
        replacement,
    )
    assert model.known
    assert model.profile() is None  # not served: no profile
    assert model_id not in catalogue()  # the catalogue lists what W&B serves


def test_a_retired_model_fails_at_construction_naming_date_and_replacement() -> None:
    with pytest.raises(ValidationError, match=r"retired .* on 2026-03-04.*zai-org/GLM-5-FP8"):
        ChatWandbInference(api_key=SecretStr("k"), model="zai-org/GLM-4.5")
    with pytest.raises(ValueError, match=r"2026-03-04.*--list-models"):
        check_not_retired("deepseek-ai/DeepSeek-R1-0528")
    check_not_retired("openai/gpt-oss-120b")  # served: no error


def test_a_per_call_retired_model_fails_before_sending() -> None:
    llm = ChatWandbInference(api_key=SecretStr("k"), base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match=r"Kimi-K2\.5"):  # raised before any socket opens
        llm.invoke([HumanMessage("hi")], model="moonshotai/Kimi-K2-Instruct")


def test_the_deprecation_warning_gives_the_retirement_date() -> None:
    deprecated = lookup("meta-llama/Llama-4-Scout-17B-16E-Instruct")
    assert (deprecated.status, deprecated.retired) == ("deprecated", "2026-04-21")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ChatWandbInference(api_key=SecretStr("k"), model=deprecated.id)
    said = str(caught[0].message)
    assert "retired on 2026-04-21; W&B recommends Qwen/Qwen3.5-35B-A3B" in said
    # That date has passed: "will be retired" would be untrue, and W&B may answer 404.
    assert "will be retired" not in said
    assert "was due to be retired on 2026-04-21" in said


def test_a_retirement_still_ahead_is_announced_as_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import langchain_wandb.chat_models as chat_models

    later = dataclasses.replace(
        lookup("meta-llama/Llama-4-Scout-17B-16E-Instruct"), retired="2999-01-01"
    )
    monkeypatch.setattr(chat_models, "lookup", lambda _: later)
    with pytest.warns(UserWarning, match="will be retired on 2999-01-01"):
        ChatWandbInference(api_key=SecretStr("k"), model=later.id)


def test_unknown_ids_have_no_profile_price_or_dates() -> None:
    model = lookup(LORA)
    assert (model.profile(), model.price, model.retired, model.known) == (None, None, None, False)


@pytest.mark.parametrize(
    ("profile", "status", "reasoning"),
    [
        ({"status": "beta", "reasoning_output": False}, "experimental", "none"),
        ({"status": "deprecated", "wandb_reasoning": "always"}, "deprecated", "always"),
        ({}, "ga", None),
    ],
)
def test_models_dev_only_entries_read_its_lifecycle_words(
    profile: dict[str, Any], status: str, reasoning: str | None
) -> None:
    from langchain_wandb.models import _from_profile

    model = _from_profile("some/model", profile)
    assert (model.status, model.reasoning) == (status, reasoning)


# -- the CLI's usage line --------------------------------------------------------------
@pytest.mark.parametrize(
    ("cost", "has_usage", "shown"),
    [
        (
            {"total": 0.0000123, "prices_as_of": "2026-07-02"},
            True,
            "cost $0.000012 (prices of 2026-07-02)",
        ),
        ({"total": 0.5, "prices_as_of": None}, True, "cost $0.500000 (your prices)"),
        (None, True, "cost unknown (no price for this model)"),
        (None, False, "cost unknown (no usage)"),
    ],
)
def test_cli_usage_line_shows_the_cost(
    cost: dict[str, Any] | None, *, has_usage: bool, shown: str
) -> None:
    import io

    from langchain_wandb.__main__ import _report

    meta: dict[str, Any] = {"model_name": "m/x", "finish_reason": "stop"}
    if has_usage:
        meta["cost"] = cost
    chunk = AIMessageChunk(
        content="", response_metadata=meta, usage_metadata=usage(3, 4) if has_usage else None
    )
    err = io.StringIO()
    _report(chunk, 0.1, 0.2, err)
    assert f", {shown}, first token" in err.getvalue()


@pytest.mark.parametrize(
    ("price", "named"),
    [
        ({"input": -0.1, "output": 1}, "input"),
        ({"input": 0.1, "output": float("nan")}, "output"),
        ({"input": 0.1, "output": 1, "cached_input": float("inf")}, "cached_input"),
        ({"input": 0.1, "output": 1, "cached": 0.01}, "cached"),  # a typo of cached_input
    ],
)
def test_a_price_that_cannot_be_right_is_refused_naming_the_field(price: Any, named: str) -> None:
    # A negative, NaN or infinite price, or a misspelt field silently dropped (cached tokens
    # then billed at the full input rate), would give costs that look right and are not.
    with pytest.raises(ValueError, match=rf"openai/gpt-oss-120b.*\b{named}\b"):
        ChatWandbInference(api_key=SecretStr("k"), prices={"openai/gpt-oss-120b": price})


@pytest.mark.parametrize(
    "prices",
    [
        {LORA: "openai/gpt-oss-12b"},  # a typo: no model has that id
        {LORA: "a/b", "a/b": "openai/gpt-oss-120b"},  # a chain, never followed
    ],
)
def test_a_base_model_id_that_can_never_price_is_refused(prices: dict[str, Any]) -> None:
    # Accepted, each would make every call's cost None with no word of why.
    with pytest.raises(ValueError, match=LORA.replace("/", ".")):
        ChatWandbInference(api_key=SecretStr("k"), model=LORA, prices=prices)


def test_a_base_model_the_snapshot_knows_without_a_price_is_accepted() -> None:
    # Known but unpriced today (a later snapshot may price it): cost None, not an error.
    llm = ChatWandbInference(api_key=SecretStr("k"), model=LORA, prices={LORA: "zai-org/GLM-5-FP8"})
    assert call_cost(LORA, usage(1, 1), llm.prices) is None


def test_model_price_refuses_what_is_not_a_price() -> None:
    with pytest.raises(ValueError, match="output"):
        ModelPrice(0.1, -1.0)
    with pytest.raises(ValueError, match="input"):
        ModelPrice(True, 1.0)
    with pytest.raises(ValueError, match="cached_input"):
        ModelPrice(0.1, 1.0, float("inf"))


def test_a_model_priced_by_the_snapshot_but_newer_than_the_catalogue_is_priced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `update_models.py --prices` refreshes only the prices: W&B's feed prices models the
    # docs snapshot does not list yet. Their price must not be thrown away.
    import langchain_wandb.models as models

    snapshot = {
        "retrieved": "2026-08-01",
        "source": "test",
        "prices": {"new/Model-2026": {"input": 1.0, "output": 2.0, "cached_input": None}},
    }
    monkeypatch.setattr(models, "_prices", lambda: snapshot)
    assert "new/Model-2026" not in models.catalogue()
    cost = call_cost("new/Model-2026", usage(1_000_000, 1_000_000))
    assert cost is not None
    assert (cost["total"], cost["prices_as_of"]) == (3.0, "2026-08-01")
