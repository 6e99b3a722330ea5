"""`python -m langchain_wandb` as a user runs it."""

from __future__ import annotations

import pytest

from langchain_wandb.__main__ import main


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def test_check_needs_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 1
    assert "WANDB_API_KEY is not set" in capsys.readouterr().err
