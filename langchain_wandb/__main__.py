"""`python -m langchain_wandb "prompt"`: stream an answer from W&B Inference to the terminal.

`python -m langchain_wandb batch requests.jsonl -o results.jsonl` runs a batch file
instead (see `langchain_wandb.batch`; `... batch --help` lists its options).

Without `WANDB_API_KEY` it answers from the embedded emulator and says so. The answer
goes to stdout; where it came from, usage and timing go to stderr, so piping stays clean.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from langchain_core.exceptions import ModelError
from pydantic import ValidationError

from langchain_wandb._argparse import OneLineParser, positive_int
from langchain_wandb._redact import redact
from langchain_wandb.chat_models import DEFAULT_BASE_URL, DEFAULT_MODEL, ChatWandbInference
from langchain_wandb.models import WandbModel, price_date

_DIM, _RESET = "\033[2m", "\033[0m"
# The model field each option sets, to name the option when the model rejects a value.
_OPTION_OF_FIELD = {"model": "--model", "project": "--project", "max_tokens": "--max-tokens"}


class CliError(Exception):
    """A problem with what the user asked for, reported as one `error:` line."""


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m langchain_wandb",
        description="Stream a chat answer from W&B Inference (or the offline emulator "
        "when WANDB_API_KEY is not set).",
        epilog="Batch jobs: python -m langchain_wandb batch requests.jsonl -o results.jsonl "
        "(see: python -m langchain_wandb batch --help).",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt; read from stdin if omitted")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id (default: %(default)s)")
    parser.add_argument("--system", help="a system message to send first")
    parser.add_argument("--project", help="W&B team/project to attribute usage to")
    parser.add_argument(
        "--max-tokens", type=positive_int, help="max tokens to generate (at least 1)"
    )
    reasoning = parser.add_mutually_exclusive_group()
    reasoning.add_argument(
        "--show-reasoning",
        dest="show_reasoning",
        action="store_true",
        default=None,
        help="print the model's reasoning (dimmed); default when stdout is a terminal",
    )
    reasoning.add_argument(
        "--hide-reasoning",
        dest="show_reasoning",
        action="store_false",
        help="do not print the model's reasoning",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per chunk")
    parser.add_argument("--list-models", action="store_true", help="list served models and exit")
    parser.add_argument("--check", action="store_true", help="check the API key and exit")
    return parser


@contextmanager
def _backend(*, paced: bool = True) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield model kwargs and a line saying where answers come from.

    That is W&B when `WANDB_API_KEY` is set, else an embedded emulator (whose first
    answer streams visibly when `paced`).
    """
    if os.environ.get("WANDB_API_KEY"):
        url = os.environ.get("WANDB_INFERENCE_BASE_URL") or DEFAULT_BASE_URL
        yield {}, f"Using W&B Inference at {url} (WANDB_API_KEY is set)."
        return
    from langchain_wandb.testing import Reply, WandbEmulator

    notice = (
        "WANDB_API_KEY is not set: answering from the embedded W&B Inference emulator "
        "(offline, canned answers). Set WANDB_API_KEY to use W&B."
    )
    with WandbEmulator() as emulator:
        if paced:
            emulator.script(Reply(delay=0.015))  # so the demo visibly streams
        yield {"base_url": emulator.base_url, "api_key": "emulator"}, notice


def _read_prompt(args: argparse.Namespace, stdin: TextIO) -> str:
    """The prompt from the argument or a piped stdin; never an empty one."""
    if args.prompt is not None:
        prompt, where = str(args.prompt), "the prompt argument"
    elif stdin.isatty():
        raise CliError('give a prompt, e.g. python -m langchain_wandb "Hello"')
    else:
        prompt, where = stdin.read(), "stdin"
    if not prompt.strip():
        raise CliError(f"the prompt is empty ({where} had no text), so there is nothing to send.")
    return prompt.strip()


class _AnswerPrinter:
    """Writes an answer's chunks as they arrive: reasoning dimmed, or one JSON line each."""

    def __init__(self, out: TextIO, *, as_json: bool, show_reasoning: bool | None) -> None:
        self.out = out
        self.as_json = as_json
        self.show_reasoning = out.isatty() if show_reasoning is None else show_reasoning
        self.dim, self.reset = (_DIM, _RESET) if out.isatty() else ("", "")
        self.in_reasoning = False

    def write(self, chunk: Any) -> None:
        if self.as_json:
            self.out.write(json.dumps(_chunk_json(chunk)) + "\n")
            return
        reasoning = chunk.additional_kwargs.get("reasoning_content", "")
        if reasoning and self.show_reasoning:
            self.out.write(("" if self.in_reasoning else self.dim) + reasoning)
            self.in_reasoning = True
        if chunk.text:
            if self.in_reasoning:
                self.out.write(self.reset + "\n\n")
                self.in_reasoning = False
            self.out.write(chunk.text)
        self.out.flush()

    def close(self) -> None:
        if self.in_reasoning:
            self.out.write(self.reset)
        if not self.as_json:
            self.out.write("\n")
        self.out.flush()


def _stream_answer(
    llm: ChatWandbInference, args: argparse.Namespace, prompt: str, out: TextIO, err: TextIO
) -> None:
    messages: list[tuple[str, str]] = [("system", args.system)] if args.system else []
    messages.append(("human", prompt))
    import openai  # noqa: F401 - imported before the clock starts, so timings show the network

    printer = _AnswerPrinter(out, as_json=args.json, show_reasoning=args.show_reasoning)
    started = time.perf_counter()
    first_token: float | None = None
    merged = None
    for chunk in llm.stream(messages):
        merged = chunk if merged is None else merged + chunk
        if first_token is None and (chunk.text or chunk.additional_kwargs.get("reasoning_content")):
            first_token = time.perf_counter() - started
        printer.write(chunk)
    printer.close()
    _report(merged, first_token, time.perf_counter() - started, err)
    _report_concurrency(llm, err)


def _chunk_json(chunk: Any) -> dict[str, Any]:
    return {
        "content": chunk.text,
        "reasoning": chunk.additional_kwargs.get("reasoning_content", ""),
        "tool_call_chunks": chunk.tool_call_chunks,
        "usage": chunk.usage_metadata,
        "response_metadata": chunk.response_metadata,
    }


def _report(merged: Any, first_token: float | None, total: float, err: TextIO) -> None:
    if merged is None:
        return
    usage = merged.usage_metadata or {}
    meta = merged.response_metadata
    reasoning = usage.get("output_token_details", {}).get("reasoning")
    parts = [
        f"model {meta.get('model_name', '?')}",
        f"finish {meta.get('finish_reason', '?')}",
        f"tokens in {usage.get('input_tokens', '?')} / out {usage.get('output_tokens', '?')}"
        + (f" (reasoning {reasoning})" if reasoning is not None else ""),
        _cost_text(meta.get("cost")) if usage else "cost unknown (no usage)",
        f"first token {first_token:.2f} s" if first_token is not None else "no tokens",
        f"total {total:.2f} s",
    ]
    print("-- " + ", ".join(parts), file=err)


def _cost_text(cost: dict[str, Any] | None) -> str:
    if cost is None:
        return "cost unknown (no price for this model)"
    as_of = f"prices of {cost['prices_as_of']}" if cost["prices_as_of"] else "your prices"
    return f"cost ${cost['total']:.6f} ({as_of})"


def _report_concurrency(llm: ChatWandbInference, err: TextIO) -> None:
    """Say so when W&B's concurrency limit held the answer up (other clients on the project)."""
    state = llm.concurrency
    if state.learned:
        print(
            f"-- W&B refused a request for its concurrency limit; sending at most "
            f"{state.limit} at once for this project and model",
            file=err,
        )


def _model_line(model: WandbModel) -> str:
    context = f"{model.context_window // 1000}k" if model.context_window else "?"
    reasoning = model.reasoning or "?"
    price = f"${model.price.input:g}/${model.price.output:g}" if model.price else "?"
    return (
        f"{model.id:48} {model.status or 'unlisted':13} {context:>6}  "
        f"reasoning: {reasoning:8} price: {price}"
    )


def _model_params(args: argparse.Namespace, backend: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"model": args.model, **backend}
    if args.project is not None:
        params["project"] = args.project
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    return params


def _list_or_check(llm: ChatWandbInference, args: argparse.Namespace, err: TextIO) -> None:
    models = llm.list_models()
    if args.check:
        print(f"OK: the key works; {len(models)} models are served.", file=err)
        return
    for model in models:
        print(_model_line(model))
    print(
        f"price: USD per 1M input/output tokens in the package's snapshot of {price_date()} "
        "(?: unknown).",
        file=err,
    )


def _run(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> None:
    """Do what the arguments ask; problems raise, for `main` to report in one line."""
    if args.check and not os.environ.get("WANDB_API_KEY"):
        raise CliError("WANDB_API_KEY is not set, so there is no key to check.")
    wants_answer = not (args.list_models or args.check)
    prompt = _read_prompt(args, stdin) if wants_answer else ""  # before any backend notice
    with _backend() as (backend, notice):
        llm = ChatWandbInference(**_model_params(args, backend))
        print(notice, file=err)  # after the options are accepted, so errors come alone
        if wants_answer:
            _stream_answer(llm, args, prompt, out, err)
        else:
            _list_or_check(llm, args, err)


def error_line(error: BaseException) -> str:
    """`error` as one line naming the problem: pydantic's report by option, never the key."""
    if isinstance(error, ValidationError):
        text = "; ".join(
            f"{_OPTION_OF_FIELD.get(str(problem['loc'][0]), problem['loc'][0])}: "
            + problem["msg"].removeprefix("Value error, ")
            for problem in error.errors(include_input=False, include_url=False)
            if problem["loc"]
        )
    else:
        text = str(error)
    return " ".join(redact(text, os.environ.get("WANDB_API_KEY", "").strip()).split())


def _batch(argv: list[str]) -> int:
    """`python -m langchain_wandb batch ...`: run a batch file; returns the exit code."""
    from langchain_wandb.batch._cli import execute, model_params, parser

    args = parser().parse_args(argv)
    try:
        with _backend(paced=False) as (backend, notice):
            llm = ChatWandbInference(**model_params(args, backend))
            print(notice, file=sys.stderr)
            return execute(llm, args, argv, sys.stderr)
    except (ModelError, ValueError) as error:  # the batch's Input/OutputError are ValueErrors
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the run took over Ctrl-C: nothing was sent
        print("\ninterrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["batch"]:
        return _batch(argv[1:])
    args = _parser().parse_args(argv)
    try:
        _run(args, stdin or sys.stdin, sys.stdout, sys.stderr)
    except (CliError, ModelError, ValueError) as error:  # ValidationError is a ValueError
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): nothing left to say
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
