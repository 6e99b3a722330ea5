"""Regenerate the packaged model catalogue: W&B's docs snapshot, its profile augmentations.

    python scripts/update_models.py             # fetch W&B's docs; rewrite the snapshot,
                                                # the augmentations and the README table
    python scripts/update_models.py --offline   # no fetch: augmentations + README from the snapshot
    python scripts/update_models.py --prices    # only refresh data/prices.json (network)
    python scripts/update_models.py --prices --from-file scripts/models_dev_wandb.json \
        --retrieved 2026-06-28 --source "<commit URL>"
                                                # prices from a stored catalogue (no network):
                                                # an api.json-shaped file, or the stored
                                                # models.dev copy; say when and where from
    python scripts/update_models.py --offline --profiles
                                                # also write data/_profiles.py with the
                                                # langchain-profiles CLI, from the stored
                                                # models.dev copy (scripts/models_dev_wandb.json)
    langchain-profiles refresh --provider wandb --data-dir langchain_wandb/data
                                                # (network) the standard refresh from models.dev

Layout (as LangChain partner packages have it): `data/_profiles.py` is written by the
`langchain-profiles` CLI from models.dev's `wandb` provider merged with
`data/profile_augmentations.toml`. W&B's own docs are the authority on what W&B serves,
so the augmentations carry what they say (status, context window, vision, reasoning
switch mode, replacement), written here from the dated snapshot `data/models.json`.
Figures W&B's docs leave out live in the snapshot's `supplements`, each with its source.

W&B sources (markdown served by docs.wandb.ai): the model catalogue (generally available,
experimental and deprecated tables), the reasoning page (which models always reason,
reason by default, or not by default) and the lifecycle page (recommended replacements).
Prices (`data/prices.json`, USD per 1M tokens) come from W&B's own machine-readable
catalogue, the Weave service's `GET https://trace.wandb.ai/inference/modelsdev/models`
(no key needed; it answers in models.dev's `api.json` shape: provider id -> `{"models":
{id: {"cost": {"input", "output", "cache_read"?}, ...}}}`), falling back to models.dev's
`https://models.dev/api.json` (provider `wandb`) when W&B's endpoint does not answer.
The lifecycle page gives retirement dates: of deprecated models (scheduled) and of
retired ones (which W&B answers with 404), kept in the snapshot's `retired` list.

Reviewed by a person before committing: W&B's tables change every few weeks.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "langchain_wandb" / "data"
SNAPSHOT = DATA / "models.json"
PRICES = DATA / "prices.json"
AUGMENTATIONS = DATA / "profile_augmentations.toml"
MODELS_DEV_COPY = ROOT / "scripts" / "models_dev_wandb.json"
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
#: W&B's catalogue with per-token USD prices (Weave service API, no key needed).
WANDB_PRICES_URL = "https://trace.wandb.ai/inference/modelsdev/models"
#: models.dev's catalogue of all providers; W&B's is under `wandb`.
MODELS_DEV_URL = "https://models.dev/api.json"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
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


def parse_lifecycle(markdown: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Retirement dates from the lifecycle page.

    Returns the scheduled retirement date of each deprecated model (its table's last
    date) and the retired models: id, retirement date, W&B's replacement or None.
    """
    scheduled: dict[str, str] = {}
    retired: list[dict[str, Any]] = []
    for heading, cells in table_rows(markdown):
        dates = [cell for cell in cells if _DATE.fullmatch(cell)]
        ids = [cell for cell in cells if "/" in cell]
        if not dates or not ids:
            continue
        if "retired" in heading:
            replacement = ids[1] if len(ids) > 1 else None
            retired.append({"id": ids[0], "retired": dates[0], "replacement": replacement})
        elif "deprecated" in heading:
            scheduled[ids[0]] = dates[-1]
    return scheduled, retired


def build_snapshot(pages: dict[str, str], retrieved: str) -> dict[str, Any]:
    """The snapshot JSON from the three pages' markdown."""
    reasoning = parse_reasoning(pages["reasoning"])
    replacements = parse_replacements(pages["lifecycle"])
    scheduled, retired = parse_lifecycle(pages["lifecycle"])
    models = []
    for model in parse_models(pages["models"]):
        model["reasoning"] = reasoning.get(model["id"], "none")
        if model["status"] == "deprecated" and model["id"] in replacements:
            model["replacement"] = replacements[model["id"]]
        if model["status"] == "deprecated" and model["id"] in scheduled:
            model["retired"] = scheduled[model["id"]]
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
    return {
        "retrieved": retrieved,
        "sources": list(SOURCES.values()),
        "retired": retired,
        "models": models,
    }


_REASONING_LABEL = {
    "always": "always on",
    "default_on": "on by default",
    "default_off": "off by default",
    "none": "no",
}


def context_window(model: dict[str, Any], snapshot: dict[str, Any]) -> int | None:
    """The context window W&B's docs give, else the snapshot's sourced supplement."""
    supplement = snapshot.get("supplements", {}).get(model["id"], {})
    found: int | None = model["context_window"] or supplement.get("context_window")
    return found


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
        window = context_window(model, snapshot)
        context = f"{window // 1000}k" if window else "?"
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


def snapshot_json(snapshot: dict[str, Any]) -> str:
    """The snapshot as the packaged file keeps it: one model per line, for readable diffs."""
    head = {key: value for key, value in snapshot.items() if key != "models"}
    text = json.dumps(head, indent=2)[: -len("\n}")]
    models = ",\n".join(f"    {json.dumps(model)}" for model in snapshot["models"])
    return f'{text},\n  "models": [\n{models}\n  ]\n}}\n'


# Provider-wide profile keys: what W&B documents for its whole catalogue.
_PROVIDER_OVERRIDES = """\
[overrides]
text_inputs = true
text_outputs = true
tool_calling = true
tool_call_streaming = true
# W&B documents only tool_choice="auto".
tool_choice = false
# with_structured_output uses W&B's native json_schema all the same; False makes
# create_agent(response_format=...) use its tool strategy, because W&B's vLLM-style
# serving applies response_format to the whole reply and tools are never called
# (vllm#39929). See WandbModel.profile.
structured_output = false
"""


def _toml_value(value: Any) -> str:
    return json.dumps(value)  # bools, ints and plain strings are spelled alike in TOML


def augmentations_toml(snapshot: dict[str, Any]) -> str:
    """`profile_augmentations.toml`: what W&B's docs say, merged over models.dev's data."""
    supplements = snapshot.get("supplements", {})
    parts = [
        "# W&B-specific profile data, merged over models.dev's `wandb` provider by\n"
        "#   langchain-profiles refresh --provider wandb --data-dir langchain_wandb/data\n"
        "# Written by scripts/update_models.py from data/models.json (W&B's docs, retrieved\n"
        f"# {snapshot['retrieved']}): edit that snapshot or the script, not this file.\n"
        "# `wandb_reasoning` (how enable_thinking switches reasoning) and\n"
        "# `wandb_replacement` are W&B's own keys: langchain_wandb.models reads them and\n"
        "# leaves them out of `ModelProfile`.\n"
        'provider = "wandb"\n',
        _PROVIDER_OVERRIDES,
    ]
    for model in snapshot["models"]:
        keys: dict[str, Any] = {
            "name": model["name"],
            "status": model["status"],
            "image_inputs": model["vision"],
            "image_url_inputs": model["vision"],
            "reasoning_output": model["reasoning"] != "none",
            "wandb_reasoning": model["reasoning"],
        }
        if model.get("replacement"):
            keys["wandb_replacement"] = model["replacement"]
        lines = [f"[overrides.{json.dumps(model['id'])}]"]
        lines += [f"{key} = {_toml_value(v)}" for key, v in keys.items() if v is not None]
        if model["context_window"]:
            lines.append(f"max_input_tokens = {model['context_window']}")
        elif model["id"] in supplements:
            supplement = supplements[model["id"]]
            lines.append(f"# W&B's docs give no context window. {supplement['source']}")
            lines.append(f"max_input_tokens = {supplement['context_window']}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


@contextlib.contextmanager
def _models_dev_served_from(api: dict[str, Any]) -> Iterator[None]:
    """Answer the CLI's one request for models.dev's api.json with a stored copy."""
    import httpx

    def get(url: str, **_: Any) -> httpx.Response:
        return httpx.Response(200, json=api, request=httpx.Request("GET", url))

    with mock.patch("langchain_model_profiles.cli.httpx.get", get):
        yield


def refresh_offline(data_dir: Path = DATA, models_dev_copy: Path = MODELS_DEV_COPY) -> None:
    """Write `_profiles.py` with the `langchain-profiles` CLI's own code, offline.

    The CLI reads `profile_augmentations.toml` from `data_dir`; models.dev's api.json is
    answered from the stored copy, so the file is byte for byte what a refresh with that
    data writes (a later networked refresh changes only the data).
    """
    from langchain_model_profiles.cli import refresh  # type: ignore[import-untyped]

    stored = json.loads(models_dev_copy.read_text("utf-8"))
    with _models_dev_served_from(stored["api"]), contextlib.chdir(data_dir):
        refresh("wandb", Path())


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - fixed https URLs
        return str(response.read().decode("utf-8"))


def lifecycle_changes(previous: dict[str, Any], snapshot: dict[str, Any]) -> list[str]:
    """What a refresh changed in W&B's line-up: new, dropped and newly retired ids."""
    before = {model["id"] for model in previous["models"]}
    after = {model["id"] for model in snapshot["models"]}
    retired_before = {model["id"] for model in previous.get("retired", [])}
    return [
        *(f"new: {model_id}" for model_id in sorted(after - before)),
        *(f"no longer listed: {model_id}" for model_id in sorted(before - after)),
        *(
            f"retired {model['retired']}: {model['id']}"
            for model in snapshot.get("retired", [])
            if model["id"] not in retired_before
        ),
    ]


def fetch_snapshot(previous: dict[str, Any]) -> dict[str, Any]:
    """A new snapshot from W&B's docs, keeping the previous snapshot's supplements."""
    pages = {name: _fetch(url) for name, url in SOURCES.items()}
    snapshot = build_snapshot(pages, datetime.date.today().isoformat())
    for change in lifecycle_changes(previous, snapshot):
        print(change)
    return {**snapshot, "supplements": previous.get("supplements", {})}


#: USD per 1M tokens that no W&B model has ever come near: outside, the catalogue is in
#: another unit (per token, per 1K; LiteLLM's W&B prices were 100,000x off for months).
_PLAUSIBLE = (0.001, 1_000.0)


def _plausible(model_id: str, key: str, value: float) -> float:
    low, high = _PLAUSIBLE
    if value and not low <= value <= high:
        raise ValueError(
            f"{model_id}: cost.{key} = {value!r} is not a price in USD per 1M tokens "
            f"(W&B's are between {low} and {high}); is the catalogue in another unit?"
        )
    return float(value)


def _price(cost: Any, model_id: str) -> dict[str, float | None]:
    """One model's price (USD per 1M tokens) from a models.dev-shaped `cost` object."""
    cost = cost if isinstance(cost, dict) else {}
    fields = {"input": cost.get("input"), "output": cost.get("output")}
    for key, value in fields.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{model_id}: cost.{key} is not a price: {value!r}")
        _plausible(model_id, key, value)
    cached = cost.get("cache_read")
    # models.dev writes 0 where a provider publishes no cached rate: not a free token.
    cached_input = (
        _plausible(model_id, "cache_read", cached)
        if isinstance(cached, int | float) and cached > 0
        else None
    )
    return {
        "input": float(fields["input"]),
        "output": float(fields["output"]),
        "cached_input": cached_input,
    }


def parse_prices(payload: Any, provider: str = "wandb") -> dict[str, dict[str, float | None]]:
    """Model id -> price from a models.dev-shaped catalogue (W&B's feed or models.dev's).

    Takes the `provider` entry when there is one (models.dev lists every provider),
    else every provider the payload has (W&B's feed lists only its own).

    Raises:
        TypeError: If the payload does not have that shape.
        ValueError: If it lists no price, or a price is not a number.
    """
    if not isinstance(payload, dict) or not payload:
        raise ValueError("the catalogue is not a JSON object of providers")
    providers = [payload[provider]] if provider in payload else list(payload.values())
    prices: dict[str, dict[str, float | None]] = {}
    for entry in providers:
        models = entry.get("models") if isinstance(entry, dict) else None
        if not isinstance(models, dict):
            raise TypeError("a provider in the catalogue has no `models` object")
        for model_id, model in models.items():
            if isinstance(model, dict) and "cost" in model:
                prices[model_id] = _price(model["cost"], model_id)
    if not prices:
        raise ValueError("the catalogue lists no model with a price")
    return dict(sorted(prices.items(), key=lambda item: item[0].lower()))


def fetch_prices(retrieved: str, fetch: Any = None) -> dict[str, Any]:
    """Prices from W&B's catalogue endpoint, else from models.dev (printing why)."""
    fetch = fetch or _fetch
    try:
        prices = parse_prices(json.loads(fetch(WANDB_PRICES_URL)))
        source = WANDB_PRICES_URL
    except (OSError, TypeError, ValueError) as error:
        print(f"W&B's catalogue did not answer with prices ({error}); using models.dev")
        prices = parse_prices(json.loads(fetch(MODELS_DEV_URL)))
        source = f"{MODELS_DEV_URL} (provider wandb)"
    return {"retrieved": retrieved, "source": source, "unit": "USD per 1M tokens", "prices": prices}


def prices_from_file(path: Path, retrieved: str, source: str) -> dict[str, Any]:
    """Prices from a stored catalogue file instead of the network.

    The file has models.dev's `api.json` shape (W&B's feed has it too), or is the stored
    copy `scripts/models_dev_wandb.json` (that shape under its `api` key). A file does not
    say when its prices were true nor where they came from, so the caller does: `retrieved`
    is the date of the prices (for a repository, its commit's date), `source` where they
    came from (a commit URL).

    Raises:
        ValueError: If `retrieved` is not an ISO date or `source` is empty.
    """
    if not _DATE.fullmatch(retrieved):
        raise ValueError(f"--retrieved must be a date like 2026-06-28, not {retrieved!r}")
    if not source.strip():
        raise ValueError("--source must say where the prices come from")
    payload = json.loads(path.read_text("utf-8"))
    if isinstance(payload, dict) and isinstance(payload.get("api"), dict):
        payload = payload["api"]
    return {
        "retrieved": retrieved,
        "source": source,
        "unit": "USD per 1M tokens",
        "prices": parse_prices(payload),
    }


def prices_json(snapshot: dict[str, Any]) -> str:
    """`data/prices.json` as packaged: one model per line, for readable diffs."""
    head = {key: value for key, value in snapshot.items() if key != "prices"}
    text = json.dumps(head, indent=2)[: -len("\n}")]
    rows = ",\n".join(
        f"    {json.dumps(model_id)}: {json.dumps(price)}"
        for model_id, price in snapshot["prices"].items()
    )
    return f'{text},\n  "prices": {{\n{rows}\n  }}\n}}\n'


def main() -> None:
    """Fetch (unless --offline), then rewrite the snapshot, augmentations and README."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--offline", action="store_true", help="do not fetch W&B's docs")
    parser.add_argument("--readme", action="store_true", help="only regenerate the README table")
    parser.add_argument("--prices", action="store_true", help="only refresh data/prices.json")
    parser.add_argument(
        "--profiles",
        action="store_true",
        help="also write data/_profiles.py from the stored models.dev copy (no network)",
    )
    parser.add_argument(
        "--from-file",
        type=Path,
        help="with --prices: read prices from this stored catalogue, not the network",
    )
    parser.add_argument("--retrieved", help="with --from-file: the date of its prices")
    parser.add_argument("--source", help="with --from-file: where its prices come from")
    args = parser.parse_args()
    today = datetime.date.today().isoformat()
    if args.offline and args.prices and not args.from_file:
        parser.error("--prices fetches W&B's catalogue; offline, use --prices --from-file FILE")
    if args.from_file:
        if not (args.prices and args.retrieved and args.source):
            parser.error("--from-file needs --prices, --retrieved and --source")
        snapshot = prices_from_file(args.from_file, args.retrieved, args.source)
        PRICES.write_text(prices_json(snapshot), "utf-8")
        return
    if args.prices or not (args.offline or args.readme):
        PRICES.write_text(prices_json(fetch_prices(today)), "utf-8")
    if args.prices:
        return
    snapshot = json.loads(SNAPSHOT.read_text("utf-8"))
    if not args.readme:
        if not args.offline:
            snapshot = fetch_snapshot(snapshot)
            SNAPSHOT.write_text(snapshot_json(snapshot), "utf-8")
        AUGMENTATIONS.write_text(augmentations_toml(snapshot), "utf-8")
        if args.profiles:
            refresh_offline()
    write_readme(snapshot)


if __name__ == "__main__":
    main()
