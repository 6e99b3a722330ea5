"""Each of W&B's documented errors, spoken by the emulator, becomes the right typed error.

The hint must be true for that error (billing for quota, switching account for personal
accounts, W&B's advised waits for 500/503), the server's words are quoted, and what W&B
says cannot be waited out (402, 403, quota and personal-account 429s) is never retried.
"""

from __future__ import annotations

import re

import openai
import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import WANDB_ERROR_KINDS, Reply, WandbEmulator

# kind: (LangChain type, SDK type, what the message must say, whether it is retried)
EXPECTED: dict[str, tuple[type[Exception], type[Exception], str, bool]] = {
    "auth": (ModelAuthenticationError, openai.AuthenticationError, "WANDB_API_KEY", False),
    "quota": (ModelPermissionDeniedError, openai.APIStatusError, "billing details", False),
    "quota_429": (
        ModelPermissionDeniedError,
        openai.RateLimitError,
        "used up its inference quota",
        False,
    ),
    "region": (
        ModelPermissionDeniedError,
        openai.PermissionDeniedError,
        "country, region or territory",
        False,
    ),
    "gateway_disabled": (
        ModelPermissionDeniedError,
        openai.PermissionDeniedError,
        "organization admin must enable it",
        False,
    ),
    "not_found": (ModelNotFoundError, openai.NotFoundError, "List the served models", False),
    "invalid_parameters": (
        ModelInvalidRequestError,
        openai.BadRequestError,
        "body.unsupported_parameter: Extra inputs are not permitted",
        False,
    ),
    "invalid_request": (
        ModelInvalidRequestError,
        openai.BadRequestError,
        "Invalid request parameters",
        False,
    ),
    "concurrency": (ModelRateLimitError, openai.RateLimitError, "lower concurrency", True),
    "personal_account": (
        ModelPermissionDeniedError,
        openai.RateLimitError,
        "switch to a non-personal account",
        False,
    ),
    "server_error": (ModelAPIError, openai.InternalServerError, "waiting 30-60 s", True),
    "overloaded": (ModelAPIError, openai.InternalServerError, "waiting 60-120 s", True),
}


def test_every_documented_error_is_covered() -> None:
    assert set(EXPECTED) == set(WANDB_ERROR_KINDS)


def _model(emulator: WandbEmulator, streaming: bool) -> ChatWandbInference:
    # Without the governor, so a concurrency 429 is an ordinary retry, counted like the rest.
    return emulator.chat_model(
        max_retries=1, timeout=5.0, streaming=streaming, adaptive_concurrency=False
    )


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_a_documented_error_gives_its_typed_error_and_a_true_hint(
    emulator: WandbEmulator, kind: str, streaming: bool
) -> None:
    core_type, sdk_type, hint, retried = EXPECTED[kind]
    reply = Reply.wandb_error(kind)
    emulator.script(reply, reply)
    with pytest.raises(core_type) as caught:
        _model(emulator, streaming).invoke("hi")
    error = caught.value
    assert isinstance(error, sdk_type)
    assert hint in str(error)
    if kind in ("invalid_parameters",):
        assert "(422)" in str(error)
    else:
        message = reply.error_body["error"]["message"]  # type: ignore[index]
        assert f"({reply.status}): {message}" in str(error)
    assert len(emulator.chat_requests) == (2 if retried else 1)


@pytest.mark.parametrize("kind", ["quota_429", "personal_account"])
def test_quota_and_personal_account_429s_are_not_queued_as_concurrency_refusals(
    emulator: WandbEmulator, kind: str
) -> None:
    emulator.script(*[Reply.wandb_error(kind)] * 5)
    with pytest.raises(ModelPermissionDeniedError):
        emulator.chat_model(max_retries=3, timeout=5.0).invoke("hi")  # adaptive governor
    assert len(emulator.chat_requests) == 1


def test_a_quota_error_is_not_a_rate_limit_to_wait_out(emulator: WandbEmulator) -> None:
    # `with_retry(retry_if_exception_type=(ModelRateLimitError,))` must not retry it.
    emulator.script(Reply.wandb_error("quota_429"))
    with pytest.raises(ModelPermissionDeniedError) as caught:
        emulator.chat_model(max_retries=0).invoke("hi")
    assert not isinstance(caught.value, ModelRateLimitError)


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown W&B error 'nope'; one of: auth, quota"):
        Reply.wandb_error("nope")


@pytest.mark.parametrize(
    ("replacement", "said"),
    [
        ("new/model", "was retired on 2026-03-04; use 'new/model' instead."),
        (None, "was retired on 2026-03-04. Server said (404)"),
    ],
)
def test_a_retired_models_404_says_when_and_what_to_use(
    emulator: WandbEmulator,
    monkeypatch: pytest.MonkeyPatch,
    replacement: str | None,
    said: str,
) -> None:
    from dataclasses import dataclass

    from langchain_wandb import models

    @dataclass
    class Retired:  # the catalogue's entry once it records retirements
        id: str
        retired: str | None = "2026-03-04"
        replacement: str | None = None

    real_lookup = models.lookup
    monkeypatch.setattr(
        models,
        "lookup",
        lambda model_id: (
            Retired(model_id, replacement=replacement)
            if model_id == "old/model"
            else real_lookup(model_id)
        ),
    )
    emulator.script(Reply.wandb_error("not_found"))
    with pytest.raises(ModelNotFoundError, match=re.escape(f"'old/model' {said}")):
        emulator.chat_model(model="old/model", max_retries=0).invoke("hi")
