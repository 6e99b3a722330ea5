"""W&B-native behaviour: clean environment, project, catalogue, reasoning switch, quirks."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import NoReturn

import httpx2
import pytest
from langchain_core.exceptions import ModelAuthenticationError
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, WandbEmulator


def test_openai_environment_never_reaches_wandb(
    emulator: WandbEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-should-not-be-sent")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-openai")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Openai-Secret: leak\nAuthorization: Bearer x")
    llm = emulator.chat_model(timeout=41)
    assert llm.invoke("hi").content == "You said: hi"  # routed to our base_url, not OPENAI's
    llm.list_models()
    assert len(emulator.requests) == 2
    for request in emulator.requests:
        assert request.headers["authorization"] == "Bearer emulator-key"
        for header in ("openai-organization", "openai-project", "x-openai-secret"):
            assert header not in request.headers


def test_project_header_on_chat_and_models(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(project="my-team/my-project", timeout=42)
    llm.invoke("hi")
    llm.list_models()
    assert [r.headers["openai-project"] for r in emulator.requests] == ["my-team/my-project"] * 2


def test_project_from_environment(emulator: WandbEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_INFERENCE_PROJECT", "env-team/env-project")
    emulator.chat_model(timeout=43).invoke("hi")
    assert emulator.requests[-1].headers["openai-project"] == "env-team/env-project"


def test_emulator_answers_malformed_project_with_401(emulator: WandbEmulator) -> None:
    response = httpx2.post(
        f"{emulator.base_url}/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": "Bearer k", "OpenAI-Project": "nope"},
    )
    assert response.status_code == 401
    assert "team/project" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "model_id", ["some-org/brand-new-model", "wandb-artifact:///team/project/my-lora:v3"]
)
def test_unknown_and_lora_ids_work_without_profile(emulator: WandbEmulator, model_id: str) -> None:
    if not model_id.startswith("wandb-artifact:"):
        emulator.add_model(model_id)  # new on W&B since the catalogue snapshot
    llm = emulator.chat_model(model=model_id, project="team/project")
    assert llm.profile is None
    assert llm.invoke("hi").response_metadata["model_name"] == model_id


def test_list_models_merges_catalogue(llm: ChatWandbInference) -> None:
    models = llm.list_models()
    by_id = {m.id: m for m in models}
    assert by_id["openai/gpt-oss-120b"].reasoning == "always"
    assert by_id["openai/gpt-oss-120b"].context_window == 131000


async def test_alist_models(llm: ChatWandbInference) -> None:
    assert [m.id for m in await llm.alist_models()] == [m.id for m in llm.list_models()]


def test_list_models_with_a_bad_key_is_an_auth_error() -> None:
    with WandbEmulator(api_key="right") as emulator:
        llm = ChatWandbInference(
            base_url=emulator.base_url, api_key=SecretStr("wrong"), max_retries=0
        )
        with pytest.raises(ModelAuthenticationError, match="WANDB_API_KEY"):
            llm.list_models()


def test_reasoning_off_on_a_default_on_model(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(model="zai-org/GLM-5.1", reasoning=False)
    message = llm.invoke("hi")
    assert emulator.chat_requests[-1]["chat_template_kwargs"] == {"enable_thinking": False}
    assert "reasoning_content" not in message.additional_kwargs
    assert (
        "reasoning_content"
        in emulator.chat_model(model="zai-org/GLM-5.1").invoke("hi").additional_kwargs
    )


def test_reasoning_on_for_a_default_off_model_per_call(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(model="deepseek-ai/DeepSeek-V4-Flash")
    assert "reasoning_content" not in llm.invoke("hi").additional_kwargs
    message = llm.invoke("hi", reasoning=True)
    assert emulator.chat_requests[-1]["chat_template_kwargs"] == {"enable_thinking": True}
    assert message.additional_kwargs["reasoning_content"]


def test_reasoning_switch_keeps_other_template_kwargs(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(
        model="Qwen/Qwen3.5-27B", extra_body={"chat_template_kwargs": {"custom": 1}}
    )
    llm.invoke("hi", reasoning=False)
    assert emulator.chat_requests[-1]["chat_template_kwargs"] == {
        "custom": 1,
        "enable_thinking": False,
    }


def test_reasoning_unset_sends_no_switch(llm: ChatWandbInference, emulator: WandbEmulator) -> None:
    llm.invoke("hi")
    assert "chat_template_kwargs" not in emulator.chat_requests[-1]


def test_reasoning_off_on_an_always_on_model_is_an_error(llm: ChatWandbInference) -> None:
    with pytest.raises(ValueError, match="always reasons"):
        ChatWandbInference(api_key=SecretStr("k"), model="openai/gpt-oss-20b", reasoning=False)
    with pytest.raises(ValueError, match="always reasons"):
        llm.invoke("hi", reasoning=False)


def test_reasoning_on_for_a_non_reasoning_model_warns(emulator: WandbEmulator) -> None:
    with pytest.warns(UserWarning, match="does not reason"):
        emulator.chat_model(model="meta-llama/Llama-3.1-8B-Instruct", reasoning=True).invoke("hi")
    assert "chat_template_kwargs" not in emulator.chat_requests[-1]


@pytest.mark.parametrize("streaming", [True, False])
def test_reasoning_that_eats_the_budget_warns_once(
    emulator: WandbEmulator, streaming: bool
) -> None:
    emulator.script(*[Reply(content="", reasoning="thinking hard", finish_reason="length")] * 2)
    llm = emulator.chat_model(streaming=streaming)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")  # Python's own once-per-place-and-text rule
        llm.invoke("hi")
        llm.invoke("hi")
    budget = [w for w in record if "Raise max_tokens" in str(w.message)]
    assert len(budget) == 1
    assert budget[0].category is UserWarning


def test_no_budget_warning_when_there_is_an_answer(emulator: WandbEmulator) -> None:
    emulator.script(Reply(content="partial answer", reasoning="r", finish_reason="length"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emulator.chat_model().invoke("hi")


def test_rejected_tool_choice_is_retried_as_auto(
    llm: ChatWandbInference, emulator: WandbEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    from langchain_core.tools import tool

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    emulator.script(
        Reply(status=400, error_message="tool_choice 'required' is not supported for this model"),
        Reply(content="answered without the tool"),
    )
    with caplog.at_level(logging.WARNING, logger="langchain_wandb"):
        message = llm.bind_tools([ping], tool_choice="required").invoke("hi")
    assert message.content == "answered without the tool"
    assert [b["tool_choice"] for b in emulator.chat_requests] == ["required", "auto"]
    assert "retrying with tool_choice='auto'" in caplog.text


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
async def test_rejected_tool_choice_is_retried_as_auto_in_async_code(
    emulator: WandbEmulator, streaming: bool
) -> None:
    ping = {"type": "function", "function": {"name": "ping", "parameters": {}}}
    emulator.script(
        Reply(status=400, error_message="tool_choice 'required' is not supported for this model"),
        Reply(content="answered without the tool"),
    )
    llm = emulator.chat_model(max_retries=0, streaming=streaming)
    message = await llm.bind_tools([ping], tool_choice="required").ainvoke("hi")
    assert message.content == "answered without the tool"
    assert [b["tool_choice"] for b in emulator.chat_requests] == ["required", "auto"]


def test_other_bad_requests_are_not_retried(
    llm: ChatWandbInference, emulator: WandbEmulator
) -> None:
    from langchain_core.exceptions import ModelInvalidRequestError

    emulator.script(Reply(status=400, error_message="messages too short"))
    with pytest.raises(ModelInvalidRequestError, match=r"Server said \(400\): messages too short"):
        llm.invoke("hi", tool_choice="required", tools=[])
    assert len(emulator.chat_requests) == 1


def test_sdk_create_is_never_called_so_weave_records_once(
    llm: ChatWandbInference, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openai.resources.chat.completions as completions

    calls: list[str] = []

    def spy(name: str) -> Callable[..., NoReturn]:
        def record(*args: object, **kwargs: object) -> NoReturn:
            calls.append(name)
            raise AssertionError("chat.completions.create must not be used")

        return record

    monkeypatch.setattr(completions.Completions, "create", spy("sync"))
    monkeypatch.setattr(completions.AsyncCompletions, "create", spy("async"))
    llm.invoke("hi")
    list(llm.stream("hi"))
    llm.invoke("hi", stream=False)
    assert calls == []
