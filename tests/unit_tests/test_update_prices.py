"""`scripts/update_models.py`: prices from W&B's catalogue (else models.dev), lifecycle dates.

`samples/wandb_modelsdev_models.json` is written in the shape W&B's Weave service answers
`GET https://trace.wandb.ai/inference/modelsdev/models` with (models.dev's `api.json`
shape, as models.dev's own sync of W&B reads it): the network is closed here, so it is a
sample of that shape, not a capture.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.update_models_script import load_update_script

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).parent / "samples" / "wandb_modelsdev_models.json"
WANDB_FEED = SAMPLE.read_text("utf-8")
MODELS_DEV = json.loads((ROOT / "scripts" / "models_dev_wandb.json").read_text("utf-8"))


def test_prices_parse_from_wandbs_catalogue() -> None:
    prices = load_update_script().parse_prices(json.loads(WANDB_FEED))
    assert prices["openai/gpt-oss-120b"] == {"input": 0.03, "output": 0.17, "cached_input": 0.015}
    # A cache_read of 0 is "no cached rate published", not free tokens.
    assert prices["moonshotai/Kimi-K2.5"]["cached_input"] is None
    assert prices["example/New-Model-2026"] == {"input": 1.0, "output": 2.0, "cached_input": None}
    assert "example/No-Price-Yet" not in prices


def test_any_provider_key_of_wandbs_feed_is_read_but_only_wandb_from_models_dev() -> None:
    script = load_update_script()
    feed = json.loads(WANDB_FEED)
    assert script.parse_prices({"coreweave": feed["wandb"]}) == script.parse_prices(feed)
    other = {"models": {"x/y": {"id": "x/y", "cost": {"input": 9, "output": 9}}}}
    assert "x/y" not in script.parse_prices({**MODELS_DEV["api"], "other": other})


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([], ValueError),
        ({}, ValueError),
        ({"wandb": {"models": []}}, TypeError),
        ({"wandb": {"models": {"m/x": {"cost": {"input": "1", "output": 1}}}}}, ValueError),
        ({"wandb": {"models": {"m/x": {"cost": {"input": -1, "output": 1}}}}}, ValueError),
        ({"wandb": {"models": {"m/x": {"cost": {"input": True, "output": 1}}}}}, ValueError),
        ({"wandb": {"models": {"m/x": {"cost": None}}}}, ValueError),
        ({"wandb": {"models": {"m/x": {"name": "no cost"}}}}, ValueError),
    ],
)
def test_a_catalogue_that_is_not_prices_is_refused(payload: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_update_script().parse_prices(payload)


def _fetcher(answers: dict[str, str | Exception], asked: list[str]) -> Any:
    def fetch(url: str) -> str:
        asked.append(url)
        answer = answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fetch


def test_refresh_asks_wandb_first() -> None:
    script = load_update_script()
    asked: list[str] = []
    snapshot = script.fetch_prices(
        "2026-12-07", _fetcher({script.WANDB_PRICES_URL: WANDB_FEED}, asked)
    )
    assert asked == [script.WANDB_PRICES_URL]
    assert snapshot["source"] == script.WANDB_PRICES_URL
    assert (snapshot["retrieved"], snapshot["unit"]) == ("2026-12-07", "USD per 1M tokens")


@pytest.mark.parametrize("wandb_answer", [OSError("unreachable"), "<html>gateway</html>", "{}"])
def test_refresh_falls_back_to_models_dev(
    wandb_answer: str | Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_update_script()
    answers = {
        script.WANDB_PRICES_URL: wandb_answer,
        script.MODELS_DEV_URL: json.dumps(MODELS_DEV["api"]),
    }
    snapshot = script.fetch_prices("2026-12-07", _fetcher(answers, []))
    assert snapshot["source"].startswith(script.MODELS_DEV_URL)
    assert snapshot["prices"]["openai/gpt-oss-120b"]["input"] == 0.04
    assert "using models.dev" in capsys.readouterr().out


def test_the_packaged_prices_are_what_the_script_writes_from_the_stored_copy() -> None:
    script = load_update_script()
    packaged = (ROOT / "langchain_wandb" / "data" / "prices.json").read_text("utf-8")
    head = json.loads(packaged)
    rebuilt = script.prices_from_file(
        ROOT / "scripts" / "models_dev_wandb.json", head["retrieved"], head["source"]
    )
    assert script.prices_json(rebuilt) == packaged
    # The date and source are those of the commit every price in the copy was read from.
    priced = {MODELS_DEV["source"]["files"][model_id].split(":")[0] for model_id in head["prices"]}
    assert len(priced) == 1
    assert f"commit/{priced.pop()}" in head["source"]


def test_prices_from_a_stored_catalogue_file_with_its_date_and_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = load_update_script()
    feed = tmp_path / "api.json"
    feed.write_text(WANDB_FEED, "utf-8")
    target = tmp_path / "prices.json"
    monkeypatch.setattr(script, "PRICES", target)
    monkeypatch.setattr(script, "_fetch", None)  # no network: calling it would fail
    argv = ["x", "--prices", "--from-file", str(feed), "--retrieved", "2026-08-01"]
    monkeypatch.setattr(sys, "argv", [*argv, "--source", "https://example.test/commit/abc"])
    script.main()
    written = json.loads(target.read_text("utf-8"))
    assert (written["retrieved"], written["source"]) == (
        "2026-08-01",
        "https://example.test/commit/abc",
    )
    assert written["prices"]["openai/gpt-oss-120b"]["output"] == 0.17


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from-file", "f.json", "--retrieved", "2026-08-01", "--source", "s"], "--prices"),
        (["--prices", "--from-file", "f.json", "--source", "s"], "--retrieved"),
        (["--prices", "--from-file", "f.json", "--retrieved", "2026-08-01"], "--source"),
    ],
)
def test_a_file_refresh_must_say_when_and_where_from(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = load_update_script()
    monkeypatch.setattr(sys, "argv", ["update_models.py", *argv])
    with pytest.raises(SystemExit):
        script.main()
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("retrieved", "source"), [("August", "s"), ("2026-08-01", " ")])
def test_a_file_refresh_refuses_a_date_that_is_not_one_or_no_source(
    retrieved: str, source: str, tmp_path: Path
) -> None:
    feed = tmp_path / "api.json"
    feed.write_text(WANDB_FEED, "utf-8")
    with pytest.raises(ValueError, match=r"--retrieved|--source"):
        load_update_script().prices_from_file(feed, retrieved, source)


def test_main_with_prices_refreshes_only_the_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = load_update_script()
    target = tmp_path / "prices.json"
    monkeypatch.setattr(script, "PRICES", target)
    monkeypatch.setattr(script, "SNAPSHOT", tmp_path / "absent.json")  # must not be read
    monkeypatch.setattr(script, "_fetch", _fetcher({script.WANDB_PRICES_URL: WANDB_FEED}, []))
    monkeypatch.setattr(sys, "argv", ["update_models.py", "--prices"])
    script.main()
    written = json.loads(target.read_text("utf-8"))
    assert written["prices"]["openai/gpt-oss-120b"]["output"] == 0.17


LIFECYCLE_MD = """
## Deprecated models

| Deprecation date | Retirement date | Model ID | Recommended replacement |
| ---------------- | --------------- | -------- | ----------------------- |
| 2026-04-07 | 2026-04-21 | `meta-llama/Llama-4-Scout-17B-16E-Instruct` | `Qwen/Qwen3.5-35B-A3B` |

## Retired models

| Retirement date | Model ID | Recommended replacement |
| --------------- | -------- | ----------------------- |
| 2026-03-04 | `deepseek-ai/DeepSeek-R1-0528` | |
| 2026-03-04 | `zai-org/GLM-4.5` | `zai-org/GLM-5-FP8` |
"""
MODELS_MD = """
## Deprecated models
| Model | Model ID | Type | Context | Parameters | Description |
| --- | --- | --- | --- | --- | --- |
| Meta Llama 4 Scout | `meta-llama/Llama-4-Scout-17B-16E-Instruct` | Text, Vision | 64K | 17B | x |
"""


def test_lifecycle_dates_are_read_from_wandbs_page() -> None:
    script = load_update_script()
    scheduled, retired = script.parse_lifecycle(LIFECYCLE_MD)
    assert scheduled == {"meta-llama/Llama-4-Scout-17B-16E-Instruct": "2026-04-21"}
    assert retired == [
        {"id": "deepseek-ai/DeepSeek-R1-0528", "retired": "2026-03-04", "replacement": None},
        {"id": "zai-org/GLM-4.5", "retired": "2026-03-04", "replacement": "zai-org/GLM-5-FP8"},
    ]
    snapshot = script.build_snapshot(
        {"models": MODELS_MD, "reasoning": "", "lifecycle": LIFECYCLE_MD}, "2026-12-07"
    )
    assert snapshot["retired"] == retired
    assert snapshot["models"][0]["retired"] == "2026-04-21"


def test_a_refresh_reports_new_dropped_and_retired_models(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_update_script()
    previous = {
        "models": [{"id": "zai-org/GLM-4.5"}, {"id": "meta-llama/Llama-4-Scout-17B-16E-Instruct"}],
        "retired": [{"id": "deepseek-ai/DeepSeek-R1-0528", "retired": "2026-03-04"}],
        "supplements": {},
    }
    answers = {
        script.SOURCES["models"]: MODELS_MD.replace("Scout", "Scout2"),
        script.SOURCES["reasoning"]: "",
        script.SOURCES["lifecycle"]: LIFECYCLE_MD,
    }
    monkeypatch.setattr(script, "_fetch", _fetcher(answers, []))  # type: ignore[arg-type]
    script.fetch_snapshot(previous)
    assert capsys.readouterr().out.splitlines() == [
        "new: meta-llama/Llama-4-Scout2-17B-16E-Instruct",
        "no longer listed: meta-llama/Llama-4-Scout-17B-16E-Instruct",
        "no longer listed: zai-org/GLM-4.5",
        "retired 2026-03-04: zai-org/GLM-4.5",
    ]


@pytest.mark.parametrize(
    "cost",
    [
        {"input": 0.00000004, "output": 0.00000014},  # USD per token: 1,000,000x too low
        {"input": 40.0, "output": 140_000.0},  # per 1B tokens, or a slipped decimal point
        {"input": 0.04, "output": 0.14, "cache_read": 0.00000004},
    ],
)
def test_prices_in_another_unit_are_refused_not_written(
    cost: dict[str, float], capsys: pytest.CaptureFixture[str]
) -> None:
    # LiteLLM's W&B prices were 100,000x too high for months: a unit mix-up reads as a
    # price. Nothing W&B serves costs under $0.001 or over $1,000 per 1M tokens.
    script = load_update_script()
    feed = {"wandb": {"models": {"openai/gpt-oss-120b": {"cost": cost}}}}
    with pytest.raises(ValueError, match=r"openai/gpt-oss-120b.*per 1M tokens"):
        script.parse_prices(feed)
    answers: dict[str, str | Exception] = {
        script.WANDB_PRICES_URL: json.dumps(feed),
        script.MODELS_DEV_URL: json.dumps(MODELS_DEV["api"]),
    }
    snapshot = script.fetch_prices("2026-12-07", _fetcher(answers, []))
    assert snapshot["source"].startswith(script.MODELS_DEV_URL)
    assert "per 1M tokens" in capsys.readouterr().out


def test_offline_prices_do_not_fetch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --offline promises no network; with --prices it used to fetch W&B's catalogue.
    script = load_update_script()
    asked: list[str] = []
    monkeypatch.setattr(script, "_fetch", _fetcher({}, asked))
    monkeypatch.setattr(sys, "argv", ["update_models.py", "--offline", "--prices"])
    with pytest.raises(SystemExit):
        script.main()
    assert asked == []
    assert "--from-file" in capsys.readouterr().err
