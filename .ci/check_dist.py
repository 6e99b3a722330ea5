"""CI: check what the built wheel and sdist hold and declare (`python .ci/check_dist.py dist`).

Both must carry the license and the typing marker; the wheel must carry the model catalogue
and no tests; the metadata must say MIT, typed, Python 3.11-3.13, and must not publish
developer extras or a pytest entry point.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

WHEEL_MUST_HOLD = (
    "langchain_wandb/__init__.py",
    "langchain_wandb/py.typed",
    "langchain_wandb/errors.py",
    "langchain_wandb/data/__init__.py",
    "langchain_wandb/data/_profiles.py",
    "langchain_wandb/data/models.json",
    "langchain_wandb/data/profile_augmentations.toml",
    "langchain_wandb/testing/pytest_plugin.py",
)
SDIST_MUST_HOLD = (
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "pyproject.toml",
    "langchain_wandb/py.typed",
    "langchain_wandb/data/models.json",
)
CLASSIFIERS = (
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
    "Typing :: Typed",
)


def _check_wheel(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        metadata = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
        entry_points = (
            wheel.read(f"{dist_info}/entry_points.txt").decode()
            if f"{dist_info}/entry_points.txt" in names
            else ""
        )
    problems = [f"wheel lacks {name}" for name in WHEEL_MUST_HOLD if name not in names]
    if f"{dist_info}/licenses/LICENSE" not in names:
        problems.append("wheel lacks the LICENSE file")
    problems += [f"wheel holds {n}" for n in names if n.startswith(("tests/", "benchmarks/"))]
    if "pytest11" in entry_points:
        problems.append("the wheel registers a pytest11 entry point")
    return problems + _check_metadata(metadata)


def _check_metadata(metadata: Message) -> list[str]:
    problems = []
    if metadata["License-Expression"] != "MIT":
        problems.append(f"License-Expression is {metadata['License-Expression']!r}")
    classifiers = metadata.get_all("Classifier") or []
    problems += [f"classifier missing: {c}" for c in CLASSIFIERS if c not in classifiers]
    extras = set(metadata.get_all("Provides-Extra") or [])
    problems += [f"developer extra published: {e}" for e in extras & {"test", "lint", "bench"}]
    if not metadata.get_all("Project-URL"):
        problems.append("no project URLs")
    return problems


def _check_sdist(path: Path) -> list[str]:
    with tarfile.open(path) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    problems = [f"sdist lacks {name}" for name in SDIST_MUST_HOLD if name not in names]
    problems += [f"sdist holds {n}" for n in names if n.startswith(("tests/", ".ci/"))]
    return problems


def main(folder: str) -> int:
    """Check the one wheel and one sdist in `folder`; print what is wrong; 0 when nothing is."""
    wheels = sorted(Path(folder).glob("*.whl"))
    sdists = sorted(Path(folder).glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {folder}, found {wheels + sdists}")
        return 1
    problems = _check_wheel(wheels[0]) + _check_sdist(sdists[0])
    for problem in problems:
        print(f"dist: {problem}")
    if not problems:
        print(f"dist: {wheels[0].name} and {sdists[0].name} hold and declare what they must")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
