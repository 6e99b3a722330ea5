"""CI: pins of the lowest versions pyproject.toml declares (`python .ci/lowest_constraints.py`).

Prints `name==bound` for each `>=` bound of the runtime dependencies and the `fast` extra,
for `uv pip install -c`: the install then either has exactly those versions or fails,
which means a declared bound is wrong.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+")


def lowest_pins(pyproject: Path) -> list[str]:
    """The `name==version` pins of every `>=` bound in dependencies and the `fast` extra."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["fast"]]
    pins = []
    for requirement in requirements:
        name = _NAME.match(requirement)
        rest = requirement.split(";")[0][name.end() if name else 0 :].split("]")[-1]
        lower = [s.strip()[2:].strip() for s in rest.split(",") if s.strip().startswith(">=")]
        if name is None or len(lower) != 1:
            raise SystemExit(f"no single lower bound in {requirement!r}: declare one")
        pins.append(f"{name[0]}=={lower[0]}")
    return pins


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    print("\n".join(lowest_pins(root / "pyproject.toml")))
