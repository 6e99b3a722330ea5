"""SDK and transport errors -> typed errors: what each W&B answer becomes, with no key shown."""

from __future__ import annotations

import httpx2
import openai
import pytest

from langchain_wandb import _sdk_errors

KEY = "wandb_v1_SECRETKEY1234567890"


def _status_error(status: int, body: object, text: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "https://api.inference.wandb.ai/v1/chat/completions")
    response = httpx2.Response(status, text=text, request=request)
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


def test_a_failing_conversion_still_leaves_no_key_in_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = _status_error(400, {"message": f"bad key {KEY}"}, f"bad key {KEY}")

    def broken(*args: object, **kwargs: object) -> BaseException:
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(_sdk_errors, "_classified", broken)
    with pytest.raises(RuntimeError, match="conversion failed"):
        _sdk_errors.to_typed_error(error, model="m", secret=KEY, timeout=1, idle_timeout=1)
    assert KEY not in repr(error.body)
    assert KEY not in error.response.text
