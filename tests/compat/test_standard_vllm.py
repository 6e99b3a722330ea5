"""langchain-tests' standard integration suite against real vLLM serving a random model.

The model's answers are noise, so what needs a sensible answer is marked xfail with the
reason; everything about the wire (streaming, usage, tool-call deltas, guided JSON,
model override, async) runs for real.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.capabilities import WandbCapabilities
from tests.compat.conftest import Vllm

# Without `strict`, vLLM's forced-call grammar lets the model write any JSON value as the
# arguments (seen: `null`, `-4`); a random model often writes a non-object, which we
# rightly report as an invalid tool call.
NON_STRICT = "random weights + non-strict tool: forced-call arguments may be a non-object JSON"
RANDOM_ARGS = "random weights: a forced call has schema-valid but random arguments, not input=3"


class TestChatWandbInferenceOnVllm(WandbCapabilities, ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _point_at_vllm(self, vllm: Vllm) -> None:
        self._vllm = vllm

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": self._vllm.model,
            "base_url": self._vllm.base_url,
            "api_key": "x",
            "max_retries": 0,
            # Thinking off: this model thinks until it stops, leaving no answer text.
            "reasoning": False,
            # Room for guided JSON. (No min_tokens: with a forced tool call it makes vLLM
            # stream a stray second call fragment, see samples/.)
            "max_tokens": 300,
            # Greedy and seeded: sampled random weights sometimes end at once (an empty
            # answer, seen in CI), which the standard checks rightly refuse.
            "temperature": 0,
            "seed": 7,
        }

    @property
    def supports_model_override(self) -> bool:
        # One server, one model: vLLM answers every served alias with its first name
        # (test_vllm_wire pins that), so an override cannot show in model_name.
        return False

    @pytest.mark.xfail(reason=RANDOM_ARGS, strict=True)
    def test_tool_calling(self, model: BaseChatModel) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=RANDOM_ARGS, strict=True)
    async def test_tool_calling_async(self, model: BaseChatModel) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason="random weights: JSON mode keys are random, not setup/punchline")
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(reason="random weights: a non-strict schema lets guided JSON omit keys")
    def test_structured_output_optional_param(self, model: BaseChatModel) -> None:
        super().test_structured_output_optional_param(model)

    @pytest.mark.xfail(reason=NON_STRICT)
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)

    @pytest.mark.xfail(reason=NON_STRICT)
    def test_tool_calling_with_no_arguments(self, model: BaseChatModel) -> None:
        super().test_tool_calling_with_no_arguments(model)

    @pytest.mark.xfail(reason=NON_STRICT)
    def test_bind_runnables_as_tools(self, model: BaseChatModel) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(reason=NON_STRICT)
    def test_unicode_tool_call_integration(
        self,
        model: BaseChatModel,
        *,
        tool_choice: str | None = None,  # noqa: PT028 - the base signature
        force_tool_call: bool = True,  # noqa: PT028
    ) -> None:
        super().test_unicode_tool_call_integration(
            model, tool_choice=tool_choice, force_tool_call=force_tool_call
        )

    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    @pytest.mark.xfail(reason="random weights: the agent loop needs the model to call the tool")
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)
