"""`python -m langchain_wandb` where the answer or the terminal does not go as planned."""

from __future__ import annotations

import io
import sys
import uuid

import pytest

from langchain_wandb.__main__ import main
from langchain_wandb.testing import Reply, WandbEmulator
from langchain_wandb.testing._concurrency import concurrency_refusal

DIM, RESET = "\033[2m", "\033[0m"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _GoneReader(io.StringIO):
    """A pipe whose reader went away (`| head`): every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


class _CtrlC(io.StringIO):
    """A terminal where the user presses Ctrl-C as the answer starts."""

    def write(self, text: str) -> int:
        raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def test_a_terminal_is_not_left_dimmed_when_the_budget_ends_in_reasoning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    with pytest.warns(UserWarning, match="reasoning"):
        assert main(["--max-tokens", "2", "Tell me a rambling joke"]) == 0
    out = terminal.getvalue()
    assert out.startswith(DIM)
    assert out.endswith(RESET + "\n")
    assert "finish length" in capsys.readouterr().err


def test_a_reader_that_goes_away_ends_the_run_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", _GoneReader())
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["--hide-reasoning", "hello"]) == 0
    assert err.closed  # nothing more to say, and no traceback on the way out


def test_ctrl_c_while_answering_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", _CtrlC())
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["--hide-reasoning", "hello"]) == 130
    assert err.getvalue().endswith("\ninterrupted\n")
    assert "Traceback" not in err.getvalue()


def test_says_when_the_concurrency_limit_held_the_answer_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = "meta-llama/Llama-3.1-8B-Instruct"
    with WandbEmulator(api_key="key") as emulator:
        emulator.script(Reply(status=429, error_body=concurrency_refusal(None, model)), Reply())
        monkeypatch.setenv("WANDB_INFERENCE_BASE_URL", emulator.base_url)
        monkeypatch.setenv("WANDB_API_KEY", "key")
        project = f"team/{uuid.uuid4().hex}"  # a governor of its own, starting cold
        assert main(["--model", model, "--project", project, "hello"]) == 0
        assert len(emulator.chat_requests) == 2
    out, err = capsys.readouterr()
    assert out.strip() == "You said: hello"
    assert "W&B refused a request for its concurrency limit; sending at most" in err


def test_ctrl_c_before_a_batch_run_starts_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import langchain_wandb.batch._cli as batch_cli

    def pressed(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_cli, "execute", pressed)  # Ctrl-C before the run takes it over
    assert main(["batch", "in.jsonl", "-o", "out.jsonl"]) == 130
    err = capsys.readouterr().err
    assert err.endswith("\ninterrupted\n")
    assert "Traceback" not in err
