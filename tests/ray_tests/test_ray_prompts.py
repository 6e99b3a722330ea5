"""Ray Data prompt cells: text that merely starts with "[" is a prompt, not broken JSON."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_wandb._json import JsonTooDeepError


def _as_input(cell: str) -> object:
    from langchain_wandb.ray import _as_input  # imports Ray: only where the suite runs

    return _as_input(cell)


@pytest.mark.parametrize(
    "prompt", ["[Draft] Write a haiku about rain.", "[1] Summarize this.", "[1, 2, 3]", "[]"]
)
def test_a_prompt_starting_with_a_bracket_is_a_prompt(prompt: str) -> None:
    assert _as_input(prompt) == prompt


def test_a_json_list_of_messages_is_messages() -> None:
    cell = '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]'
    assert _as_input(cell) == [SystemMessage("Be brief."), HumanMessage("hi")]


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ('[{"role": "user"}]', ValueError),  # a message without content: the row's own error
        ("[" * 5000 + "]" * 5000, JsonTooDeepError),
    ],
)
def test_a_broken_message_list_fails_its_row(cell: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        _as_input(cell)
