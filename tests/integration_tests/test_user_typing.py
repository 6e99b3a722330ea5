"""A user's `mypy --strict` over code that uses the installed package: no import or Any errors."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

_USER_CODE = """
from langchain_core.messages import AIMessage

from langchain_wandb import ChatWandbInference
from langchain_wandb.errors import OutputTruncatedError, WandbRateLimitError
from langchain_wandb.testing import Reply, emulated


def answer(question: str) -> str:
    llm = ChatWandbInference(model="openai/gpt-oss-120b", max_tokens=256)
    reveal_type(llm.max_tokens)
    reveal_type(llm.temperature)
    try:
        message: AIMessage = llm.invoke(question)
    except (WandbRateLimitError, OutputTruncatedError) as error:
        return str(error)
    return message.text


def budget(llm: ChatWandbInference) -> int:
    # Under --strict, an Any here would be "Returning Any from function declared to return int".
    return llm.max_tokens or 0


def offline() -> str:
    with emulated() as emulator:
        emulator.script(Reply(content="hi"))
        return answer("hello")
"""


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    project = tmp_path_factory.mktemp("user_project")
    (project / "user_code.py").write_text(textwrap.dedent(_USER_CODE))
    # A misspelt name must be an error for the user, not a silent Any from __getattr__.
    (project / "typo.py").write_text("from langchain_wandb.errors import WandbRateLimitErr\n")
    # Run from the user's directory, so the package is found where it is installed.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "user_code.py",
            "typo.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return run.stdout + run.stderr


def test_the_package_is_typed_for_its_users(mypy_output: str) -> None:
    assert "import-untyped" not in mypy_output
    assert "missing library stubs" not in mypy_output
    revealed = re.findall(r'Revealed type is "(?:builtins\.)?(\w+) \| None"', mypy_output)
    assert revealed == ["int", "float"], mypy_output


def test_user_code_has_no_errors_and_no_any(mypy_output: str) -> None:
    errors = [line for line in mypy_output.splitlines() if ": error:" in line]
    assert [e for e in errors if e.startswith("user_code.py")] == [], mypy_output


def test_a_misspelt_import_is_an_error_not_any(mypy_output: str) -> None:
    errors = [line for line in mypy_output.splitlines() if line.startswith("typo.py")]
    assert len(errors) == 1, mypy_output
    assert 'has no attribute "WandbRateLimitErr"' in errors[0]
    assert "[attr-defined]" in errors[0]
