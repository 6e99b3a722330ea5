"""langchain-tests' standard integration suite, run offline against the emulator.

Unscripted, the emulator plays an obliging model (it calls the bound tool with
arguments from the schema and the prompt's numbers, answers from tool results, returns
schema instances for `response_format`), so most of the suite runs offline too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_wandb.testing import WandbEmulator
from tests.capabilities import WandbCapabilities


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[WandbEmulator]:
    with WandbEmulator() as emulator:
        yield emulator


class TestChatWandbInferenceOnEmulator(WandbCapabilities, ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _point_at_emulator(self, module_emulator: WandbEmulator) -> None:
        self._base_url = module_emulator.base_url

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"base_url": self._base_url, "api_key": "emulator", "max_retries": 0}

    # The image tests download a picture from the internet first: live suite only.

    @property
    def model_override_value(self) -> str:
        return "meta-llama/Llama-3.1-8B-Instruct"
