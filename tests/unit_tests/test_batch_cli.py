"""`python -m langchain_wandb batch`: options, help and exit codes (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_wandb.__main__ import main
from langchain_wandb.batch import BatchSummary
from langchain_wandb.batch._cli import exit_code, model_params, parser, resume_command


def test_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match=r"^0$"):
        main(["batch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for action in parser()._actions:
        assert action.help, action.dest
        for option in action.option_strings:
            assert option in text
    for words in ("OpenAI Batch API", "resume", "Exit status", "130", "WANDB_API_KEY"):
        assert words in text


def test_the_chat_cli_points_to_batch(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match=r"^0$"):
        main(["--help"])
    assert "langchain_wandb batch" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--max-cost", "-1"], "--max-cost"),
        (["--max-cost", "lots"], "--max-cost"),
        (["--max-cost", "inf"], "--max-cost"),
        (["--in-flight", "many"], "--in-flight"),
        (["--in-flight", "0"], "--in-flight"),
        (["--max-concurrency", "0"], "--max-concurrency"),
    ],
)
def test_bad_options_are_one_line(
    options: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match=r"^2$"):
        main(["batch", "in.jsonl", "-o", "out.jsonl", *options])
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert named in err


@pytest.mark.parametrize(("text", "usd"), [("0", 0.0), ("2.5", 2.5), ("1e-3", 0.001)])
def test_a_spending_cap_is_read_in_usd(text: str, usd: float) -> None:
    assert parser().parse_args(["in.jsonl", "-o", "out.jsonl", "--max-cost", text]).max_cost == usd
    assert parser().parse_args(["in.jsonl", "-o", "out.jsonl"]).max_cost is None


def test_output_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match=r"^2$"):
        main(["batch", "in.jsonl"])
    assert "-o/--output" in capsys.readouterr().err


def test_options_become_model_settings() -> None:
    options = "--model m --project t/p --max-tokens 9 --temperature 0.3 --timeout 60"
    args = parser().parse_args(["in", "-o", "out", *options.split(), "--max-concurrency", "8"])
    assert model_params(args, {"api_key": "k"}) == {
        "model": "m",
        "max_retries": 2,
        "api_key": "k",
        "project": "t/p",
        "max_tokens": 9,
        "temperature": 0.3,
        "timeout": 60.0,
        "max_concurrency": 8,
    }


def test_exit_codes_and_the_resume_command() -> None:
    summary = BatchSummary(output_path=Path("o"), total=1, answered=1)
    assert exit_code(summary) == 0
    summary.retry_later = 1
    assert exit_code(summary) == 3
    summary.stop_reason = "WandbPaymentRequiredError: ..."
    assert exit_code(summary) == 1
    summary.interrupted = True
    assert exit_code(summary) == 130
    assert resume_command(["my file.jsonl", "-o", "out.jsonl"]) == (
        "python -m langchain_wandb batch 'my file.jsonl' -o out.jsonl"
    )
