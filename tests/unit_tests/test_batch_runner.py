"""The batch runner's own checks, before anything is sent (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_wandb import ChatWandbInference
from langchain_wandb.batch import InputError, run
from langchain_wandb.batch._journal import Journal
from langchain_wandb.batch._runner import settings_of


def _llm(**kwargs: object) -> ChatWandbInference:
    return ChatWandbInference(api_key="k", **kwargs)


def test_settings_name_the_model_its_parameters_and_the_endpoint() -> None:
    settings = settings_of(_llm(model="openai/gpt-oss-20b", temperature=0.2), row_models=True)
    assert settings["model"] == "openai/gpt-oss-20b"
    assert settings["params"] == {"temperature": 0.2}
    assert settings["endpoint"] == "https://api.inference.wandb.ai/v1"
    assert settings["row_models"] is True
    json.dumps(settings)  # recorded as JSON


def test_a_local_emulators_port_is_not_a_setting() -> None:
    one = settings_of(_llm(base_url="http://127.0.0.1:4001/v1"), row_models=True)
    other = settings_of(_llm(base_url="http://127.0.0.1:5002/v1"), row_models=True)
    assert one == other
    assert one["endpoint"] == "http://127.0.0.1/v1 (local)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_in_flight": 0}, "max_in_flight must be at least 1"),
        ({"max_cost": -1.0}, "max_cost must be a number of USD >= 0"),
        ({"max_cost": float("nan")}, "max_cost must be a number of USD >= 0"),
    ],
)
def test_bad_options_are_refused_before_reading(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run(_llm(), tmp_path / "absent.jsonl", tmp_path / "out.jsonl", **options)


def test_an_output_that_cannot_be_written_is_raised_not_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("{broken\n" * 3)  # invalid lines: written without any request

    def disk_full(self: Journal, line: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Journal, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run(_llm(), source, tmp_path / "out.jsonl")


def test_the_input_cannot_be_the_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("a prompt\n")
    with pytest.raises(InputError, match="is the input file"):
        run(_llm(), source, tmp_path / "." / "in.jsonl")
    assert source.read_text() == "a prompt\n"
