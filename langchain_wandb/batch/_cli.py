"""`python -m langchain_wandb batch`: the command line of the batch runner.

`langchain_wandb.__main__` picks the backend (W&B, or the embedded emulator without a
key) and hands over; this module owns the options, the run and what is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from typing import Any, TextIO

from langchain_wandb._argparse import OneLineParser, positive_int
from langchain_wandb.batch._runner import DEFAULT_IN_FLIGHT, arun
from langchain_wandb.batch._summary import BatchSummary
from langchain_wandb.chat_models import DEFAULT_MODEL, ChatWandbInference

EXIT_STOPPED = 1
EXIT_RETRY_LEFT = 3
EXIT_INTERRUPTED = 130
PROG = "python -m langchain_wandb batch"


def _amount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of USD >= 0, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    """The `batch` subcommand's options, each documented in `--help`."""
    batch = OneLineParser(
        prog=PROG,
        description="Run every request of a batch file on W&B Inference (or the offline "
        "emulator when WANDB_API_KEY is not set), writing one result line per request. "
        "Run the same command again to resume: answered rows and rows failed for good are "
        "skipped, the rest run.",
        epilog="Input lines: OpenAI Batch API JSONL ({custom_id, method, url, body}), "
        '{"custom_id", "messages"} objects, or plain text (one prompt per line). Output: '
        "OpenAI's batch output format, with usage and cost. Exit status: 0 when every row "
        "has its result, 3 when some failed in a way that may pass (run again), 1 when "
        "the run stopped (401/402/403, quota, --max-cost) or could not start, 130 on "
        "Ctrl-C; then the command that resumes is printed.",
    )
    batch.add_argument("input", help="the batch file (JSONL or one prompt per line)")
    batch.add_argument(
        "-o", "--output", required=True, help="the results file; appended to when it exists"
    )
    batch.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="model for rows whose body names none (default: %(default)s)",
    )
    batch.add_argument(
        "--override-model",
        action="store_true",
        help="send every row to --model, ignoring the rows' body.model",
    )
    batch.add_argument("--project", help="W&B team/project to attribute usage to")
    batch.add_argument(
        "--max-tokens", type=positive_int, help="max tokens per answer, unless a row sets it"
    )
    batch.add_argument(
        "--temperature", type=float, help="sampling temperature, unless a row sets it"
    )
    batch.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="retries of a failing request (5xx, timeouts, ...) (default: %(default)s)",
    )
    batch.add_argument(
        "--timeout", type=float, help="seconds allowed per request (default: the model's)"
    )
    batch.add_argument(
        "--max-concurrency",
        type=positive_int,
        help="requests in flight at most (default: learned from W&B's concurrency limit)",
    )
    batch.add_argument(
        "--in-flight",
        type=positive_int,
        default=DEFAULT_IN_FLIGHT,
        help="rows handed to the model at once; bounds memory (default: %(default)s)",
    )
    batch.add_argument(
        "--max-cost",
        type=_amount,
        help="stop starting rows once this many USD are spent (rows in flight finish)",
    )
    batch.add_argument(
        "--force",
        action="store_true",
        help="resume even though the model or its settings changed since the output began",
    )
    batch.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (it is also off when stdout is not a terminal)",
    )
    return batch


def model_params(args: argparse.Namespace, backend: dict[str, Any]) -> dict[str, Any]:
    """`ChatWandbInference` arguments from the options (and the backend's URL and key)."""
    params: dict[str, Any] = {"model": args.model, "max_retries": args.max_retries, **backend}
    optional = {
        "project": args.project,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "timeout": args.timeout,
        "max_concurrency": args.max_concurrency,
    }
    params.update({name: value for name, value in optional.items() if value is not None})
    return params


def execute(llm: ChatWandbInference, args: argparse.Namespace, argv: list[str], err: TextIO) -> int:
    """Run the batch, print the summary (and how to resume); returns the exit code."""
    summary = asyncio.run(
        arun(
            llm,
            args.input,
            args.output,
            max_cost=args.max_cost,
            allow_changed_settings=args.force,
            row_models=not args.override_model,
            max_in_flight=args.in_flight,
            progress=not args.quiet and sys.stdout.isatty(),
            progress_stream=err,
        )
    )
    print(summary.text(), file=err)
    code = exit_code(summary)
    if code:
        print(f"resume with: {resume_command(argv)}", file=err)
    return code


def exit_code(summary: BatchSummary) -> int:
    """0 when every row has its result; else why not (see `--help`)."""
    if summary.stop_reason is not None:
        return EXIT_INTERRUPTED if summary.interrupted else EXIT_STOPPED
    return EXIT_RETRY_LEFT if summary.retry_later else 0


def resume_command(argv: list[str]) -> str:
    """The exact command that resumes this run."""
    return shlex.join(["python", "-m", "langchain_wandb", "batch", *argv])
