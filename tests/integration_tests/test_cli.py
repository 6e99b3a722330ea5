"""`python -m langchain_wandb` as a user runs it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from langchain_wandb.__main__ import main
from langchain_wandb.models import lookup, price_date
from langchain_wandb.testing import RAMBLING_JOKE, WandbEmulator


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def test_streams_the_joke_offline_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["Tell me a rambling joke"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == RAMBLING_JOKE  # not a terminal: answer only, no reasoning
    assert "emulator" in err
    assert "first token" in err
    assert "tokens in" in err


def test_show_reasoning_and_system(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--show-reasoning", "--system", "Be brief.", "Tell me a rambling joke"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("The user wants")
    assert RAMBLING_JOKE in out


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--model", "meta-llama/Llama-3.1-8B-Instruct", "hello"]) == 0
    out, _ = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert "".join(r["content"] for r in rows) == "You said: hello"
    assert sum(1 for r in rows if r["usage"]) == 1


def test_prompt_from_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--hide-reasoning"], stdin=io.StringIO("from a pipe\n")) == 0
    assert capsys.readouterr().out.strip() == "You said: from a pipe"


def test_list_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-models"]) == 0
    out, err = capsys.readouterr()
    line = next(line for line in out.splitlines() if line.startswith("openai/gpt-oss-120b "))
    assert "reasoning: always" in line
    price = lookup("openai/gpt-oss-120b").price
    assert price is not None
    assert line.endswith(f"price: ${price.input:g}/${price.output:g}")
    assert f"USD per 1M input/output tokens in the package's snapshot of {price_date()}" in err


def test_check_and_bad_key_fail_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with WandbEmulator(api_key="good-key") as emulator:
        monkeypatch.setenv("WANDB_INFERENCE_BASE_URL", emulator.base_url)
        monkeypatch.setenv("WANDB_API_KEY", "good-key")
        assert main(["--check"]) == 0
        err = capsys.readouterr().err
        assert "OK" in err
        assert f"Using W&B Inference at {emulator.base_url}" in err
        monkeypatch.setenv("WANDB_API_KEY", "bad-key")
        assert main(["--check"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 2  # "Using W&B Inference ..." and the one-line error
        assert "error:" in err
        assert "Traceback" not in err
        assert "bad-key" not in err
        assert main(["hi"]) == 1


def test_module_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "langchain_wandb", "--hide-reasoning", "Tell me a rambling joke"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == RAMBLING_JOKE
    assert "emulator" in result.stderr


def test_unknown_model_in_emulator_mode_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--model", "openai/gpt-oss-12b", "hi"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    notice, error = err.splitlines()  # where answers come from, then the one error line
    assert "emulator" in notice
    assert error.startswith("error: ")
    assert "openai/gpt-oss-12b" in error
    assert "--list-models" in error
    assert "Traceback" not in err


def test_max_tokens_is_sent(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--json", "--max-tokens", "1", "--model", "meta-llama/Llama-3.1-8B-Instruct", "hi"])
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(r["response_metadata"].get("finish_reason") == "length" for r in rows)
