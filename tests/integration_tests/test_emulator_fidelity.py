"""The emulator fails where W&B fails: seen over HTTP and through `ChatWandbInference`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from langchain_core.exceptions import ModelError

from langchain_wandb.__main__ import main
from langchain_wandb.testing import Reply, WandbEmulator
from tests.integration_tests.raw_server import wait_until

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
GPT_OSS = "openai/gpt-oss-20b"
HELD = Reply(content="one two three", stall_after=1, stall_seconds=60)
"""A stream that stays open (and holds its slot) until the client hangs up."""


@pytest.fixture
def http(emulator: WandbEmulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer k"}) as c:
        yield c


def chat(model: str = LLAMA, content: Any = "hi", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **fields}


# -- unknown models ------------------------------------------------------------------------
def test_an_unknown_model_gets_404_without_using_the_script(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.script(Reply(content="scripted"))
    response = http.post("/chat/completions", json=chat("meta-llama/Llama-3.1-8B-Instrukt"))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "The model `meta-llama/Llama-3.1-8B-Instrukt` does not exist."
    )
    assert (
        http.post("/chat/completions", json=chat()).json()["choices"][0]["message"]["content"]
        == "scripted"
    )


def test_an_unknown_model_is_a_typed_error_naming_the_id(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(model="org/typo", max_retries=0)
    with pytest.raises(ModelError, match="org/typo"):
        llm.invoke("hi")


def test_registered_and_lora_ids_are_served_and_listed(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.add_model("my/fine-tune")
    lora = "wandb-artifact:///team/project/adapter:v3"
    for model in ("my/fine-tune", lora):
        answer = http.post("/chat/completions", json=chat(model)).json()
        assert answer["model"] == model
    listed = [m["id"] for m in http.get("/models").json()["data"]]
    assert "my/fine-tune" in listed


def test_the_cli_exits_non_zero_for_a_mistyped_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["--model", "openai/gpt-oss-12b", "hi"]) == 1
    assert "openai/gpt-oss-12b" in capsys.readouterr().err


# -- max_tokens ------------------------------------------------------------------------------
def test_max_tokens_cuts_the_answer_with_length_and_usage_that_adds_up(
    emulator: WandbEmulator,
) -> None:
    llm = emulator.chat_model(model=LLAMA, max_tokens=5)
    message = llm.invoke("Tell me a rambling joke")
    assert message.content == "So a man walks into"
    assert message.response_metadata["finish_reason"] == "length"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 5
    usage = message.usage_metadata
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_reasoning_spends_the_budget_first(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(model=GPT_OSS, max_tokens=3)
    with pytest.warns(UserWarning, match="spent the whole max_tokens budget reasoning"):
        message = llm.invoke("Tell me a joke")
    assert message.content == ""
    assert message.additional_kwargs["reasoning_content"] == "The user wants"
    assert message.response_metadata["finish_reason"] == "length"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 3}


def test_a_scripted_reply_is_cut_too(emulator: WandbEmulator, http: httpx2.Client) -> None:
    emulator.script(Reply(content="alpha beta gamma"))
    answer = http.post("/chat/completions", json=chat(max_completion_tokens=2)).json()
    assert answer["choices"][0]["message"]["content"] == "alpha beta"
    assert answer["choices"][0]["finish_reason"] == "length"


# -- context windows and images --------------------------------------------------------------
def test_a_prompt_over_the_window_gets_vllms_400(emulator: WandbEmulator) -> None:
    emulator.add_model("my/small", context_window=8)
    llm = emulator.chat_model(model="my/small", max_retries=0)
    with pytest.raises(ModelError, match="maximum context length is 8 tokens") as info:
        llm.invoke("one two three four five six seven eight")
    assert isinstance(info.value, openai.BadRequestError)


def test_max_tokens_over_the_window_gets_400_and_prompt_plus_max_tokens_is_cut(
    emulator: WandbEmulator, http: httpx2.Client
) -> None:
    emulator.add_model(LLAMA, context_window=20)
    response = http.post("/chat/completions", json=chat(max_tokens=21))
    assert response.status_code == 400
    assert "max_tokens=21 cannot be greater than max_model_len=20" in response.text
    # vLLM 0.32 answers prompt + max_tokens over the window, cut where the window ends.
    emulator.script(Reply(content=" ".join(["word"] * 40)))
    answer = http.post("/chat/completions", json=chat(max_tokens=20)).json()
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["total_tokens"] == 20


def test_images_to_a_text_only_model_get_400_and_a_vision_model_answers(
    http: httpx2.Client,
) -> None:
    parts = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    refused = http.post("/chat/completions", json=chat(LLAMA, parts))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == f"{LLAMA} is not a multimodal model"
    assert http.post("/chat/completions", json=chat("moonshotai/Kimi-K2.5", parts)).is_success


# -- concurrency -----------------------------------------------------------------------------
@pytest.fixture
def limited() -> Iterator[WandbEmulator]:
    with WandbEmulator(concurrency_limit=1) as emulator:
        yield emulator


class HeldStream:
    """A stream the emulator holds open until `close()` (the client hanging up)."""

    def __init__(self, client: httpx2.Client, body: dict[str, Any]) -> None:
        self._stream = client.stream("POST", "/chat/completions", json={**body, "stream": True})
        response = self._stream.__enter__()
        assert response.status_code == 200
        # Keep the iterator: dropping it closes the response, which hangs up.
        self._lines = response.iter_lines()
        assert next(self._lines).startswith("data: ")  # the request is in flight

    def close(self) -> None:
        self._stream.__exit__(None, None, None)


def test_one_request_over_the_limit_gets_429_at_once_without_retry_after(
    limited: WandbEmulator,
) -> None:
    headers = {"Authorization": "Bearer k", "OpenAI-Project": "team/project"}
    with httpx2.Client(base_url=limited.base_url, headers=headers, timeout=10) as client:
        limited.script(HELD, Reply(content="second"))
        held = HeldStream(client, chat())
        refused = client.post("/chat/completions", json=chat())
        assert refused.status_code == 429
        assert refused.json()["error"]["message"] == "Concurrency limit reached for requests"
        assert "retry-after" not in refused.headers
        # Other keys have their own slots: another model (which gets the reply the
        # refused request left in the script), another project.
        other_model = client.post("/chat/completions", json=chat("deepseek-ai/DeepSeek-V3.1"))
        assert other_model.json()["choices"][0]["message"]["content"] == "second"
        other_project = client.post(
            "/chat/completions", json=chat(), headers={"OpenAI-Project": "team/other"}
        )
        assert other_project.status_code == 200
        assert limited.refused_requests == 1
        assert limited.refused_by_key() == {("team/project", LLAMA): 1}

        held.close()  # hanging up gives the slot back
        assert wait_until(lambda: not limited.in_flight())
        assert client.post("/chat/completions", json=chat()).status_code == 200
        assert limited.peak_in_flight()[("team/project", LLAMA)] == 1


# -- latency ---------------------------------------------------------------------------------
def test_time_to_first_token_holds_the_answer_and_a_hang_up_ends_it() -> None:
    with WandbEmulator(time_to_first_token=60.0, concurrency_limit=1) as emulator:
        llm = emulator.chat_model(model=LLAMA, max_retries=0, stream_idle_timeout=0.2)
        with pytest.raises(ModelError, match="stream_idle_timeout"):
            llm.invoke("hi")
        assert wait_until(lambda: not emulator.in_flight())


def test_a_reply_overrides_the_emulators_latency() -> None:
    with WandbEmulator(time_to_first_token=60.0) as emulator:
        emulator.script(Reply(content="quick", time_to_first_token=0.0))
        assert emulator.chat_model(model=LLAMA).invoke("hi").content == "quick"
