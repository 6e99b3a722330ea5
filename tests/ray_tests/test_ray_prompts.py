"""Ray Data prompt cells: text that merely starts with "[" is a prompt, not broken JSON."""

from __future__ import annotations

import pytest

from langchain_wandb.ray import _as_input


@pytest.mark.xfail(
    strict=True,
    reason=(
        "ray._as_input json.loads every string starting with '[': a prompt such as "
        "'[Draft] ...' or '[1] ...' fails its row with JSONDecodeError (and deep JSON with "
        "RecursionError); ray.py is the review helper's to fix"
    ),
)
@pytest.mark.parametrize("prompt", ["[Draft] Write a haiku about rain.", "[1] Summarize this."])
def test_a_prompt_starting_with_a_bracket_is_a_prompt(prompt: str) -> None:
    assert _as_input(prompt) == prompt
