"""The packaged catalogue: partner-package layout, filled profiles, vision, sources."""

from __future__ import annotations

import json
import shutil
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain.agents.middleware import SummarizationMiddleware
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb.models import catalogue, lookup, vision_models
from tests.update_models_script import load_update_script

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "langchain_wandb" / "data"


def _snapshot() -> dict[str, Any]:
    snapshot: dict[str, Any] = json.loads((DATA / "models.json").read_text("utf-8"))
    return snapshot


def test_augmentations_are_what_the_script_writes_from_the_snapshot() -> None:
    text = (DATA / "profile_augmentations.toml").read_text("utf-8")
    assert text == load_update_script().augmentations_toml(_snapshot())
    overrides = tomllib.loads(text)["overrides"]
    assert overrides["tool_choice"] is False
    assert overrides["openai/gpt-oss-120b"]["wandb_reasoning"] == "always"


def test_profiles_file_is_what_the_langchain_profiles_cli_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("langchain_model_profiles")
    shutil.copy(DATA / "profile_augmentations.toml", tmp_path)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the CLI's note on W&B's own `wandb_*` keys
        load_update_script().refresh_offline(tmp_path)
    written = (tmp_path / "_profiles.py").read_text("utf-8")
    assert written == (DATA / "_profiles.py").read_text("utf-8")


def test_every_catalogue_model_has_a_window_an_output_limit_and_a_status() -> None:
    for model in catalogue().values():
        assert model.known, model.id
        assert model.context_window, model.id
        assert model.max_output_tokens, model.id
        assert model.reasoning in {"none", "always", "default_on", "default_off"}, model.id


@pytest.mark.parametrize(
    "model_id",
    ["moonshotai/Kimi-K2.6", "Qwen/Qwen3.6-35B-A3B", "Qwen/Qwen3.6-27B", "Qwen/Qwen3.5-27B"],
)
def test_filled_windows_record_their_source(model_id: str) -> None:
    assert lookup(model_id).context_window == 262_144
    assert "models.dev" in _snapshot()["supplements"][model_id]["source"]


@pytest.mark.parametrize("model_id", sorted(catalogue()))
def test_summarization_by_fraction_works_for_every_catalogue_model(model_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown profile key would warn here
        warnings.filterwarnings("ignore", message=".*deprecated", category=UserWarning)
        llm = ChatWandbInference(api_key=SecretStr("k"), model=model_id)
    SummarizationMiddleware(model=llm, trigger=("fraction", 0.8), keep=("fraction", 0.3))
    assert llm.profile is not None
    assert not [key for key in llm.profile if key.startswith("wandb_")]


def test_vision_models_are_the_ones_wandb_documents_as_vision() -> None:
    documented = {m["id"] for m in _snapshot()["models"] if m["vision"]}
    assert set(vision_models()) == documented
    assert "moonshotai/Kimi-K2.5" in documented
    assert lookup("moonshotai/Kimi-K2.5").accepts_images is True
    assert lookup("openai/gpt-oss-120b").accepts_images is False
    profile = lookup("openai/gpt-oss-120b").profile()
    assert profile is not None
    assert profile["image_inputs"] is False
    assert profile["image_url_inputs"] is False


@pytest.mark.parametrize("model_id", ["new/model-from-next-week", "wandb-artifact:///t/p/lora:v1"])
def test_unknown_and_lora_ids_leave_image_support_open(model_id: str) -> None:
    assert lookup(model_id).accepts_images is None


def test_a_docs_refresh_keeps_the_sourced_supplements(monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_update_script()
    page = "| Kimi K2.6 | `moonshotai/Kimi-K2.6` | Text, Vision | - | 1T | x |\n"
    monkeypatch.setattr(script, "_fetch", lambda url: page if url.endswith("models.md") else "")
    previous = _snapshot()
    snapshot = script.fetch_snapshot(previous)
    assert snapshot["models"][0]["context_window"] is None  # W&B's docs still say nothing
    assert snapshot["supplements"] == previous["supplements"]
    assert "max_input_tokens = 262144" in script.augmentations_toml(snapshot)
