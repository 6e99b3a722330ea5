"""Regenerate the packaged model catalogue from W&B's public docs, and the README table.

    python scripts/update_models.py            # fetch W&B's docs, rewrite the snapshot + README
    python scripts/update_models.py --readme   # only rewrite the README table from the snapshot

Sources (markdown served by docs.wandb.ai): the model catalogue (generally available,
experimental and deprecated tables), the reasoning page (which models always reason,
reason by default, or not by default) and the lifecycle page (recommended replacements).
Reviewed by a person before committing: W&B's tables change every few weeks.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "langchain_wandb" / "data" / "models.json"
README = ROOT / "README.md"
DOCS = "https://docs.wandb.ai/inference"
SOURCES = {
    "models": f"{DOCS}/models.md",
    "reasoning": f"{DOCS}/response-settings/reasoning.md",
    "lifecycle": f"{DOCS}/lifecycle.md",
}
_SECTION_STATUS = (("deprecated", "deprecated"), ("experimental", "experimental"))
_REASONING = {
    "always on": "always",
    "enabled by default": "default_on",
    "disabled by default": "default_off",
}
_README_START, _README_END = "<!-- models:start -->", "<!-- models:end -->"


def table_rows(markdown: str) -> list[tuple[str, list[str]]]:
    """Every markdown table row as (the heading it stands under, its cells)."""
    rows: list[tuple[str, list[str]]] = []
    heading = ""
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip().lower()
        elif stripped.startswith("|") and not re.fullmatch(r"[|\s:-]+", stripped):
            cells = [cell.strip().strip("`").strip() for cell in stripped.strip("|").split("|")]
            rows.append((heading, cells))
    return rows


def _context(text: str) -> int | None:
    match = re.fullmatch(r"([\d.]+)\s*([kKmM]?)", text.strip())
    if not match:
        return None
    scale = {"k": 1_000, "m": 1_000_000}.get(match.group(2).lower(), 1)
    return round(float(match.group(1)) * scale)


def parse_models(markdown: str) -> list[dict[str, Any]]:
    """Models from the catalogue page: id, name, status, context window, vision."""
    models = []
    for heading, cells in table_rows(markdown):
        if len(cells) < 4 or "/" not in cells[1] or cells[1].lower().startswith("model id"):
            continue
        status = next((s for word, s in _SECTION_STATUS if word in heading), "ga")
        name = re.sub(r"\s*\((deprecated|experimental)\)\s*$", "", cells[0], flags=re.I)
        if "(deprecated)" in cells[0].lower():
            status = "deprecated"
        models.append(
            {
                "id": cells[1],
                "name": name,
                "status": status,
                "context_window": _context(cells[3]),
                "vision": "vision" in cells[2].lower(),
            }
        )
    return models


def parse_reasoning(markdown: str) -> dict[str, str]:
    """Model id -> reasoning mode, from the reasoning page's table."""
    modes = {}
    for _, cells in table_rows(markdown):
        if len(cells) >= 2 and cells[1].lower() in _REASONING:
            modes[cells[0]] = _REASONING[cells[1].lower()]
    return modes


def parse_replacements(markdown: str) -> dict[str, str]:
    """Deprecated or retired model id -> W&B's recommended replacement."""
    replacements = {}
    for _, cells in table_rows(markdown):
        ids = [cell for cell in cells if "/" in cell]
        if len(ids) >= 2:
            replacements[ids[0]] = ids[1]
    return replacements


def build_snapshot(pages: dict[str, str], retrieved: str) -> dict[str, Any]:
    """The snapshot JSON from the three pages' markdown."""
    reasoning = parse_reasoning(pages["reasoning"])
    replacements = parse_replacements(pages["lifecycle"])
    models = []
    for model in parse_models(pages["models"]):
        model["reasoning"] = reasoning.get(model["id"], "none")
        if model["status"] == "deprecated" and model["id"] in replacements:
            model["replacement"] = replacements[model["id"]]
        models.append(model)
    known = {model["id"] for model in models}
    models += [
        {
            "id": model_id,
            "name": None,
            "status": "ga",
            "context_window": None,
            "vision": False,
            "reasoning": mode,
        }
        for model_id, mode in reasoning.items()
        if model_id not in known
    ]
    return {"retrieved": retrieved, "sources": list(SOURCES.values()), "models": models}


_REASONING_LABEL = {
    "always": "always on",
    "default_on": "on by default",
    "default_off": "off by default",
    "none": "no",
}


def readme_table(snapshot: dict[str, Any]) -> str:
    """The README's model table (between its markers) for a snapshot."""
    lines = [
        f"Snapshot of W&B's docs taken {snapshot['retrieved']} "
        "(`python scripts/update_models.py` refreshes it).",
        "",
        "| model id | status | context | vision | reasoning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for model in snapshot["models"]:
        context = f"{model['context_window'] // 1000}k" if model["context_window"] else "?"
        lines.append(
            f"| `{model['id']}` | {model['status']} | {context} | "
            f"{'yes' if model['vision'] else 'no'} | {_REASONING_LABEL[model['reasoning']]} |"
        )
    return "\n".join(lines)


def write_readme(snapshot: dict[str, Any], readme: Path = README) -> None:
    """Replace the table between the README's markers."""
    text = readme.read_text("utf-8")
    start, end = text.index(_README_START), text.index(_README_END)
    table = readme_table(snapshot)
    readme.write_text(f"{text[: start + len(_README_START)]}\n{table}\n{text[end:]}", "utf-8")


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - fixed https URLs
        return str(response.read().decode("utf-8"))


def main() -> None:
    """Fetch, rebuild and write (or only rewrite the README table)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--readme", action="store_true", help="only regenerate the README table")
    args = parser.parse_args()
    if args.readme:
        snapshot = json.loads(SNAPSHOT.read_text("utf-8"))
    else:
        pages = {name: _fetch(url) for name, url in SOURCES.items()}
        snapshot = build_snapshot(pages, datetime.date.today().isoformat())
        SNAPSHOT.write_text(json.dumps(snapshot, indent=2) + "\n", "utf-8")
    write_readme(snapshot)


if __name__ == "__main__":
    main()
