"""`ChatWandbInference` itself against real vLLM: the fields we send, what we make of replies."""

from __future__ import annotations

import json

import pytest
from langchain_core.exceptions import ContextOverflowError, ModelNotFoundError
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from pydantic import BaseModel

from langchain_wandb import WandbStreamError
from langchain_wandb._tools import StructuredMethod
from tests.compat.conftest import Vllm

NO_THINK = {"reasoning": False}


def merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


def test_stream_gives_text_usage_and_finish_reason(vllm: Vllm) -> None:
    llm = vllm.chat_model(max_tokens=5, min_tokens=5, **NO_THINK)
    full = merged(list(llm.stream("hi")))
    assert full.text
    assert full.response_metadata["finish_reason"] == "length"
    assert full.response_metadata["model_name"] == vllm.model
    assert full.usage_metadata is not None
    assert full.usage_metadata["output_tokens"] == 5
    assert full.usage_metadata["output_token_details"] == {"reasoning": 0}


def test_reasoning_arrives_as_reasoning_content(vllm: Vllm) -> None:
    think_end = str(vllm.token_ids["</think>"])
    llm = vllm.chat_model(max_tokens=40, model_kwargs={"logit_bias": {think_end: 6.0}})
    full = merged(list(llm.stream("hi")))
    assert full.additional_kwargs["reasoning_content"]
    assert any(block["type"] == "reasoning" for block in full.content_blocks)
    assert full.usage_metadata is not None
    assert full.usage_metadata["output_token_details"]["reasoning"] > 0


@pytest.mark.parametrize("streaming", [True, False])
def test_every_field_we_send_is_accepted(vllm: Vllm, streaming: bool) -> None:
    llm = vllm.chat_model(
        streaming=streaming,
        reasoning=True,
        reasoning_effort="low",
        cache_salt="tenant-a",
        seed=3,
        temperature=0.7,
        top_p=0.9,
        stop=["zz"],
        logprobs=True,
        top_logprobs=2,
        project="team/project",
        max_completion_tokens=3,
    )
    answer = llm.invoke("hi")
    assert answer.response_metadata["finish_reason"] in {"stop", "length"}


def test_logprobs_reach_response_metadata(vllm: Vllm) -> None:
    llm = vllm.chat_model(max_tokens=3, min_tokens=3, logprobs=True, top_logprobs=2, **NO_THINK)
    full = merged(list(llm.stream("hi")))
    entries = full.response_metadata["logprobs"]["content"]
    assert len(entries) == 3
    assert all(len(entry["top_logprobs"]) == 2 for entry in entries)


def test_reasoning_is_sent_back_within_a_tool_loop_only_if_we_send_it(vllm: Vllm) -> None:
    """Today we send no reasoning back: this shows what the template then renders."""
    call = {"name": "f", "args": {"x": 1}, "id": "call_1", "type": "tool_call"}
    history = [
        HumanMessage("hi"),
        AIMessage("", tool_calls=[call], additional_kwargs={"reasoning_content": "THOUGHT"}),
        ToolMessage("42", tool_call_id="call_1"),
    ]
    from langchain_wandb._messages import messages_to_dicts

    prompt = vllm.prompt_text({"messages": messages_to_dicts(history)})
    assert '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>' in prompt
    # With reasoning sent back, the template would render "<think>\nTHOUGHT\n</think>".
    assert ("THOUGHT" in prompt) == ("reasoning" in messages_to_dicts(history)[1])


class Pick(BaseModel):
    input: int


def test_forced_tool_call_parses(vllm: Vllm) -> None:
    def magic_function(input: int) -> int:
        """Apply a magic function to an input."""
        return input + 2

    llm = vllm.chat_model(max_tokens=80, **NO_THINK)
    for choice in ("any", "magic_function"):
        answer = llm.bind_tools([magic_function], tool_choice=choice, strict=True).invoke("hi")
        (call,) = answer.tool_calls
        assert call["name"] == "magic_function"
        assert isinstance(call["args"]["input"], int)
        assert call["id"]


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_parses(vllm: Vllm, method: StructuredMethod) -> None:
    llm = vllm.chat_model(max_tokens=300, seed=5, **NO_THINK)
    schema = Pick if method != "json_mode" else None
    if schema is None:
        raw = llm.with_structured_output(method="json_mode").invoke("hi")
        assert isinstance(raw, dict)
        return
    result = llm.with_structured_output(schema, method=method, strict=True).invoke("hi")
    assert isinstance(result, Pick)


def test_unknown_model_raises_model_not_found(vllm: Vllm) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        vllm.chat_model(model="no-such-model").invoke("hi")


def test_error_event_in_a_200_stream_raises(vllm: Vllm) -> None:
    llm = vllm.chat_model(logprobs=True, top_logprobs=30)
    with pytest.raises(WandbStreamError, match="max allowed: 20"):
        llm.invoke("hi")


def test_prompt_over_the_window_is_a_context_overflow(vllm: Vllm) -> None:
    with pytest.raises(ContextOverflowError, match="maximum context length is 2048"):
        vllm.chat_model().invoke("hi " * 2100)


def test_max_tokens_over_the_window_is_a_context_overflow(vllm: Vllm) -> None:
    with pytest.raises(ContextOverflowError, match="cannot be greater than max_model_len"):
        vllm.chat_model(max_tokens=4096).invoke("hi")


def test_list_models_lists_both_served_names(vllm: Vllm) -> None:
    ids = [model.id for model in vllm.chat_model().list_models()]
    assert ids == [vllm.model, vllm.second_model]
    assert json.dumps(ids)
