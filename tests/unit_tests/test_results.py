"""ChatOpenAI's result fields, built from what the message holds."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_wandb._results import combine_llm_outputs, token_usage, with_openai_outputs


def test_token_usage_in_openai_shape() -> None:
    assert token_usage(None) == {}
    assert token_usage({"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}) == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }
    detailed = token_usage(
        {
            "input_tokens": 10,
            "output_tokens": 4,
            "total_tokens": 14,
            "input_token_details": {"cache_read": 8},
            "output_token_details": {"reasoning": 2},
        }
    )
    assert detailed["prompt_tokens_details"] == {"cached_tokens": 8}
    assert detailed["completion_tokens_details"] == {"reasoning_tokens": 2}


def test_a_result_without_usage_or_fingerprint() -> None:
    message = AIMessage("hi", response_metadata={"finish_reason": "stop"})
    result = with_openai_outputs(ChatResult(generations=[ChatGeneration(message=message)]), "m")
    assert result.llm_output == {"token_usage": {}, "model_name": "m"}
    assert result.generations[0].generation_info == {"finish_reason": "stop"}


def test_combining_sums_nested_counts_and_skips_cached_answers() -> None:
    one = {
        "token_usage": {"prompt_tokens": 1, "completion_tokens_details": {"reasoning_tokens": 2}},
        "model_name": "m",
    }
    two = {
        "token_usage": {"prompt_tokens": 3, "completion_tokens_details": {"reasoning_tokens": 5}},
        "model_name": "m",
        "system_fingerprint": "fp",
    }
    assert combine_llm_outputs([one, None, two], "m") == {
        "token_usage": {"prompt_tokens": 4, "completion_tokens_details": {"reasoning_tokens": 7}},
        "model_name": "m",
        "system_fingerprint": "fp",
    }
    assert combine_llm_outputs([None], "m") == {"token_usage": {}, "model_name": "m"}
