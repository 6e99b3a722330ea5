"""W&B-native behaviour: clean environment, project, catalogue, reasoning switch, quirks."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference, WandbModel
from langchain_wandb.models import catalogue, lookup, price_date
from tests.update_models_script import load_update_script

ROOT = Path(__file__).resolve().parents[2]
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "model": "openai/gpt-oss-120b",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
}


def test_default_base_url_is_wandb_even_with_openai_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("WANDB_INFERENCE_BASE_URL", raising=False)
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(200, json=COMPLETION)

    llm = ChatWandbInference(
        api_key=SecretStr("k"),
        streaming=False,
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )
    assert llm.base_url == "https://api.inference.wandb.ai/v1"
    assert llm.invoke("hi").content == "ok"
    assert seen == ["https://api.inference.wandb.ai/v1/chat/completions"]


@pytest.mark.parametrize("project", ["just-a-name", "a/b/c", "team/ proj"])
def test_malformed_project_is_rejected_before_any_request(project: str) -> None:
    with pytest.raises(ValueError, match="team/project"):
        ChatWandbInference(api_key=SecretStr("k"), project=project)


def test_profile_of_a_known_model() -> None:
    profile = ChatWandbInference(api_key=SecretStr("k"), model="openai/gpt-oss-120b").profile
    assert profile is not None
    assert profile["max_input_tokens"] == 131000
    assert profile["reasoning_output"] is True
    assert profile["tool_calling"] is True
    # False on purpose (see WandbModel.profile): agents then keep response_format and
    # tools apart; with_structured_output still uses native json_schema.
    assert profile["structured_output"] is False
    assert profile["image_inputs"] is False
    vision = ChatWandbInference(api_key=SecretStr("k"), model="moonshotai/Kimi-K2.5").profile
    assert vision is not None
    assert vision["image_inputs"] is True


def test_catalogue_is_dated_and_consistent() -> None:
    assert price_date() >= "2026-01-01"
    models = catalogue()
    assert "openai/gpt-oss-120b" in models
    assert {m.status for m in models.values()} <= {"ga", "experimental", "deprecated"}
    assert {m.reasoning for m in models.values()} <= {"none", "always", "default_on", "default_off"}
    assert lookup("not/listed") == WandbModel(id="not/listed")


def test_deprecated_model_warns_once_naming_the_status() -> None:
    deprecated = next(m for m in catalogue().values() if m.status == "deprecated")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")  # Python's own once-per-place-and-text rule
        for _ in range(2):
            ChatWandbInference(api_key=SecretStr("k"), model=deprecated.id)
    record = [w for w in record if "deprecated" in str(w.message)]
    assert len(record) == 1
    assert record[0].category is UserWarning
    assert record[0].filename == __file__  # points at the caller's line
    assert deprecated.replacement is not None
    assert deprecated.replacement in str(record[0].message)


MODELS_MD = """
## Model catalog
| Model | Model ID (for API usage) | Type | Context Window | Parameters | Description |
| --- | --- | --- | --- | --- | --- |
| OpenAI GPT OSS 120B | `openai/gpt-oss-120b` | Text | 131k | 5.1B-117B | Reasoning. |
| Qwen3.5 35B A3B | `Qwen/Qwen3.5-35B-A3B` | Text, Vision | 262k | 3B-35B | Multimodal. |
## Experimental Models
| Model | Model ID (for API usage) | Type | Context Window | Parameters | Description |
| --- | --- | --- | --- | --- | --- |
| Z.AI GLM 5.1 | `zai-org/GLM-5.1` | Text | 203k | 40B-744B | Agentic. |
## Deprecated Models
| Model | Model ID (for API usage) | Type | Context Window | Parameters | Description |
| --- | --- | --- | --- | --- | --- |
| Llama 4 Scout | `meta-llama/Llama-4-Scout-17B-16E-Instruct` | Text, Vision | 64k | 17B | x |
"""


REASONING_MD = """
| Model ID (for API usage) | Reasoning support |
|---|---|
| openai/gpt-oss-120b | Always on |
| Qwen/Qwen3.5-35B-A3B | Enabled by default |
| zai-org/GLM-5.1 | Enabled by default |
| deepseek-ai/DeepSeek-V4-Flash | Disabled by default |
"""


LIFECYCLE_MD = """
| Deprecation date | Retirement date | Model ID | Recommended replacement |
| --- | --- | --- | --- |
| 2026-04-07 | 2026-04-21 | `meta-llama/Llama-4-Scout-17B-16E-Instruct` | `Qwen/Qwen3.5-35B-A3B` |
"""


def test_update_script_parses_wandb_docs(tmp_path: Path) -> None:
    script = load_update_script()
    snapshot = script.build_snapshot(
        {"models": MODELS_MD, "reasoning": REASONING_MD, "lifecycle": LIFECYCLE_MD}, "2026-11-26"
    )
    by_id = {m["id"]: m for m in snapshot["models"]}
    assert by_id["openai/gpt-oss-120b"] == {
        "id": "openai/gpt-oss-120b",
        "name": "OpenAI GPT OSS 120B",
        "status": "ga",
        "context_window": 131000,
        "vision": False,
        "reasoning": "always",
    }
    assert by_id["Qwen/Qwen3.5-35B-A3B"]["vision"] is True
    assert by_id["zai-org/GLM-5.1"]["status"] == "experimental"
    scout = by_id["meta-llama/Llama-4-Scout-17B-16E-Instruct"]
    assert scout["status"] == "deprecated"
    assert scout["replacement"] == "Qwen/Qwen3.5-35B-A3B"
    assert by_id["deepseek-ai/DeepSeek-V4-Flash"]["reasoning"] == "default_off"
    assert all(WandbModel(**m) for m in snapshot["models"])  # loadable by the package
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- models:start -->\nold\n<!-- models:end -->\nrest\n")
    script.write_readme(snapshot, readme)
    text = readme.read_text()
    assert "| `zai-org/GLM-5.1` | experimental | 203k | no | on by default |" in text
    assert "old" not in text
    assert text.endswith("<!-- models:end -->\nrest\n")


def test_readme_table_matches_the_packaged_snapshot() -> None:
    import json

    script = load_update_script()
    snapshot = json.loads((ROOT / "langchain_wandb" / "data" / "models.json").read_text())
    assert script.readme_table(snapshot) in (ROOT / "README.md").read_text()
