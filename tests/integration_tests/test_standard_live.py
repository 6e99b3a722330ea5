"""langchain-tests' standard integration suite against the live W&B Inference API.

Runs only when WANDB_API_KEY is set (skips cleanly otherwise). The model can be chosen
with WANDB_TEST_MODEL.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.capabilities import WandbCapabilities

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("WANDB_API_KEY"), reason="WANDB_API_KEY is not set"),
]


class TestChatWandbInferenceLive(WandbCapabilities, ChatModelIntegrationTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": os.environ.get("WANDB_TEST_MODEL", "openai/gpt-oss-120b")}

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # Reasoning tokens count against max_tokens; the suite's 100 would leave
        # reasoning models with nothing left for the answer.
        return {**super().standard_chat_model_params, "max_tokens": 2000}

    @property
    def supports_image_inputs(self) -> bool:
        return False  # gpt-oss is text-only; set WANDB_TEST_MODEL to a vision model to test

    @property
    def model_override_value(self) -> str:
        return "openai/gpt-oss-20b"
