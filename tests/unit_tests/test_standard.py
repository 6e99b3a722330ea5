"""langchain-tests' standard unit suite."""

from __future__ import annotations

from langchain_tests.unit_tests import ChatModelUnitTests

from tests.capabilities import WandbCapabilities


class TestChatWandbInferenceStandard(WandbCapabilities, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict:
        return {"model": "openai/gpt-oss-120b", "api_key": "test-key"}

    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return (
            {
                "WANDB_API_KEY": "env-key",
                "WANDB_INFERENCE_BASE_URL": "https://example.test/v1",
                "WANDB_INFERENCE_PROJECT": "team/proj",
            },
            {"model": "openai/gpt-oss-20b"},
            {
                "api_key": "env-key",
                "base_url": "https://example.test/v1",
                "project": "team/proj",
                "model_name": "openai/gpt-oss-20b",
            },
        )

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True
