"""Every Python example in README.md and docs/**/*.mdx runs, offline, as a reader runs it.

The blocks of one file run in order in one namespace (a reader pastes them one after the
other) inside `langchain_wandb.testing.emulated()`, so `ChatWandbInference(...)` talks to
the emulator. A `test_*` function a block defines is called too, with a `wandb_emulator`
configured by its marker, as pytest would. A block that cannot run offline is preceded
by `<!-- not-run: why -->` (README) or `{/* not-run: why */}` (MDX): keep those rare. A
block that needs an optional extra is preceded by `<!-- needs: MODULE -->`: it runs where
MODULE is installed (the Ray stage of CI runs this test with the `ray` extra, and there a
missing MODULE fails), and is skipped elsewhere.
The files are read at test time, so the final text is what is tested.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langchain_wandb.testing import configured_emulator, emulated

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.mdx"))]
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>\w*)[^\n]*$")
_NOT_RUN = re.compile(r"^\s*(?:<!--|\{/\*)\s*not-run:\s*(?P<why>.*?)\s*(?:-->|\*/\})\s*$")
_NEEDS = re.compile(r"^\s*(?:<!--|\{/\*)\s*needs:\s*(?P<module>[\w.]+)\s*(?:-->|\*/\})\s*$")
# Set by .ci/ray, where the `ray` extra is installed: there every block must run.
_EXTRAS_INSTALLED = os.environ.get("LANGCHAIN_WANDB_RAY_TESTS") == "1"


@dataclass(frozen=True)
class Block:
    """One fenced Python block: where it starts, its code, and why it is not run (if so)."""

    line: int
    code: str
    not_run: str | None
    needs: str | None = None


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown/MDX text, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        if opening["lang"] == "python":
            previous = next((ln for ln in reversed(lines[:index]) if ln.strip()), "")
            marker = _NOT_RUN.match(previous)
            needs = _NEEDS.match(previous)
            code = textwrap.dedent("\n".join(lines[index + 1 : end]))
            blocks.append(
                Block(
                    index + 2,
                    code,
                    marker["why"] if marker else None,
                    needs["module"] if needs else None,
                )
            )
        index = end + 1
    return blocks


def _run_test_functions(namespace: dict[str, Any], seen: set[str]) -> None:
    """Call the `test_*` functions a block defined, as pytest would with our plugin."""
    for name, function in list(namespace.items()):
        if not name.startswith("test_") or name in seen or not callable(function):
            continue
        seen.add(name)
        marks = [m for m in getattr(function, "pytestmark", []) if m.name == "wandb_emulator"]
        options = marks[0].kwargs if marks else {}
        parameters = list(inspect.signature(function).parameters)
        assert parameters in ([], ["wandb_emulator"]), f"{name} needs fixtures {parameters}"
        with configured_emulator(**options) as emulator:
            function(*[emulator][: len(parameters)])


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_runs_offline(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("WANDB_INFERENCE_PROJECT", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(variable, raising=False)
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    assert blocks, f"{path.name} has no python block: is the fence spelled ```python?"
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    seen: set[str] = set()
    printed = io.StringIO()
    with emulated(), contextlib.redirect_stdout(printed):
        for block in blocks:
            if block.not_run is not None:
                assert block.not_run, f"{path.name}:{block.line}: say why it is not run"
                continue
            where = f"{path.relative_to(ROOT)}:{block.line}"
            if block.needs and importlib.util.find_spec(block.needs) is None:
                assert not _EXTRAS_INSTALLED, f"{where} needs {block.needs}, not installed"
                continue
            exec(compile(block.code, where, "exec"), namespace)
            _run_test_functions(namespace, seen)


def test_the_docs_site_pages_exist() -> None:
    names = {str(p.relative_to(ROOT)) for p in DOC_FILES}
    assert {"docs/chat/wandb.mdx", "docs/providers/wandb.mdx"} <= names


def test_the_block_reader_finds_fences_markers_and_indented_blocks() -> None:
    text = (
        "intro\n```python\na = 1\n```\n<!-- not-run: needs a GPU -->\n\n```python\nb\n```\n"
        "```bash\nls\n```\n  ```python\n  c = 3\n  ```\n"
    )
    blocks = python_blocks(text)
    assert [(b.line, b.code, b.not_run) for b in blocks] == [
        (3, "a = 1", None),
        (8, "b", "needs a GPU"),
        (14, "c = 3", None),
    ]
