"""`python -m langchain_wandb` as a user runs it: argument and prompt errors (no network)."""

from __future__ import annotations

import io

import pytest

from langchain_wandb.__main__ import main

KEY = "sk-secret-key-123"


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def test_check_needs_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 1
    assert "WANDB_API_KEY is not set" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_max_tokens_below_one_is_refused_not_ignored(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match=r"^2$"):  # argparse's usage-error exit code
        main(["--max-tokens", value, "hi"])
    line = _one_error_line(capsys.readouterr().err)
    assert "--max-tokens" in line
    assert repr(value) in line


def test_unknown_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match=r"^2$"):  # argparse's usage-error exit code
        main(["--temperature", "2", "hi"])
    assert "--temperature" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("piped", ["", "  \n\n"])
def test_empty_stdin_is_refused_before_the_emulator_starts(
    piped: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Sockets are disabled here: starting the emulator would fail, so this also shows
    # nothing was started or sent.
    assert main([], stdin=io.StringIO(piped)) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "prompt is empty" in line
    assert "stdin" in line


def test_blank_prompt_argument_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["   "], stdin=io.StringIO("not read")) == 1
    assert "prompt is empty" in _one_error_line(capsys.readouterr().err)


def test_no_prompt_at_a_terminal_asks_for_one_without_the_emulator_notice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([], stdin=_Terminal()) == 1
    err = capsys.readouterr().err
    assert "give a prompt" in _one_error_line(err)
    assert "emulator" not in err


def test_bad_project_is_one_line_naming_the_option_and_never_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    assert main(["--project", KEY, "hi"]) == 1  # a key pasted in the wrong place
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: --project: project must be 'team/project'")
    assert "validation error" not in line
    assert KEY not in line
