"""The batch runner: stream the input, run rows through `ainvoke`, journal every answer.

Memory is O(rows in flight): the input is read one line at a time into a bounded
queue, and rows already done are known by a hash each (see `_idset`). Throughput is
bounded by the chat model's concurrency governor, which learns W&B's limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from langchain_core.messages import AIMessage

from langchain_wandb.batch._idset import IdSet
from langchain_wandb.batch._input import (
    BadRow,
    InputError,
    Row,
    custom_id_of,
    numbered_lines,
    parse_line,
)
from langchain_wandb.batch._journal import Journal, check_settings, read_existing
from langchain_wandb.batch._progress import Progress, make_progress
from langchain_wandb.batch._records import (
    bad_input_record,
    dumps,
    error_record,
    outcome_of,
    success_record,
)
from langchain_wandb.batch._summary import BatchSummary
from langchain_wandb.chat_models import ChatWandbInference

DEFAULT_IN_FLIGHT = 64
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def scan_input(path: Path) -> int:
    """Count the input's requests; refuse a file whose `custom_id`s repeat.

    Raises:
        InputError: If the file cannot be read, or two lines share a `custom_id`.

    """
    seen, total = IdSet(), 0
    for line, raw in numbered_lines(path):
        total += 1
        if not seen.add(custom_id_of(line, raw)):
            duplicate = custom_id_of(line, raw)
            first = next(
                n for n, text in numbered_lines(path) if custom_id_of(n, text) == duplicate
            )
            raise InputError(
                f"custom_id {duplicate!r} is on line {first} and again on line {line}: each "
                "request needs its own custom_id (the output is matched to requests by it)."
            )
    return total


def count_done(path: Path, done: IdSet) -> int:
    """How many of the input's rows are done already (for the progress bar's start)."""
    return sum(custom_id_of(line, raw) in done for line, raw in numbered_lines(path))


def settings_of(llm: ChatWandbInference, *, row_models: bool) -> dict[str, Any]:
    """The settings that shape answers, as recorded next to the output."""
    settings = {
        "model": llm.model_name,
        "params": llm._default_params,
        "reasoning": llm.reasoning,
        "send_reasoning": llm.send_reasoning,
        "extra_body": llm.extra_body,
        "endpoint": _endpoint(llm.base_url),
        "row_models": row_models,
    }
    normalized: dict[str, Any] = json.loads(json.dumps(settings, sort_keys=True, default=str))
    return normalized


def _endpoint(base_url: str) -> str:
    """The endpoint; a loopback emulator's port (new each run) left out."""
    parts = urlsplit(base_url)
    if parts.hostname in _LOOPBACK:
        return f"{parts.scheme}://{parts.hostname}{parts.path} (local)"
    return base_url


class _Run:
    """One run over an input file: the state its tasks share."""

    def __init__(
        self,
        llm: ChatWandbInference,
        summary: BatchSummary,
        journal: Journal,
        progress: Progress,
        *,
        max_cost: float | None,
        row_models: bool,
    ) -> None:
        self.llm, self.summary, self.journal, self.progress = llm, summary, journal, progress
        self.max_cost, self.row_models = max_cost, row_models
        self.stopping = False  # start no more rows
        self.cancel = asyncio.Event()  # and cancel those in flight

    def stop(
        self,
        reason: str,
        *,
        cancel: bool,
        error: BaseException | None = None,
        interrupted: bool = False,
    ) -> None:
        """Start no more rows; with `cancel`, abandon those in flight (they run on resume)."""
        if self.summary.stop_reason is None:
            self.summary.stop_reason, self.summary.stop_error = reason, error
            self.summary.interrupted = interrupted
        self.stopping = True
        if cancel:
            self.cancel.set()

    async def produce(
        self,
        rows: Iterator[tuple[int, bytes]],
        queue: asyncio.Queue[Row | None],
        workers: int,
        done: IdSet,
    ) -> None:
        """Feed the queue with the rows still to run; write invalid lines' error rows."""
        for line, raw in rows:
            if self.stopping:
                break
            row = parse_line(line, raw)
            if row.custom_id in done:
                self.summary.skipped += 1
                continue
            if isinstance(row, BadRow):
                self.journal.write(dumps(bad_input_record(row.custom_id, row.problem)))
                self.summary.add_bad_line(row.line)
                self.progress.update(self.summary)
                continue
            await queue.put(row)
        for _ in range(workers):
            await queue.put(None)

    async def work(self, queue: asyncio.Queue[Row | None]) -> None:
        """Run rows from the queue until it says to stop."""
        while (row := await queue.get()) is not None:
            if not self.stopping:
                await self.run_row(row)

    async def run_row(self, row: Row) -> None:
        """Run one row and journal its answer or its error (a stopping error is not kept)."""
        params = dict(row.params)
        if not self.row_models:
            params.pop("model", None)
        config: Any = {"metadata": {**row.metadata, "batch_custom_id": row.custom_id}}
        try:
            message = await self.llm.ainvoke(row.messages, config, **params)
        except Exception as error:  # every failure is the row's result
            self.record_error(row, error)
        else:
            self.record_answer(row, message)
        self.progress.update(self.summary)

    def record_error(self, row: Row, error: BaseException) -> None:
        """Journal a failed row, or stop the run when continuing is pointless."""
        outcome = outcome_of(error)
        if outcome == "stop":
            # Rows in flight finish (tokens they generate are paid for); none start.
            self.stop(
                f"{type(error).__name__}: {error}; rows in flight were finished, the rest "
                "run on resume",
                cancel=False,
                error=error,
            )
            return
        self.journal.write(dumps(error_record(row.custom_id, error)))
        if outcome == "transient":
            self.summary.retry_later += 1
        else:
            self.summary.failed += 1
        # An answer that arrived with usage and failed after (cut off at max_tokens, a
        # stream broken after its usage): W&B billed it, so it counts, toward the cap too.
        billed = getattr(error, "ai_message", None) or getattr(error, "partial", None)
        if isinstance(billed, AIMessage) and billed.usage_metadata:
            self.summary.add_billed(billed)
            self.check_cap()

    def record_answer(self, row: Row, message: AIMessage) -> None:
        """Journal an answered row; stop at the spending cap."""
        self.journal.write(dumps(success_record(row.custom_id, message)))
        self.summary.add_answer(message)
        self.check_cap()

    def check_cap(self) -> None:
        """Stop the run once the spending cap is reached (or cannot be enforced)."""
        if self.max_cost is None:
            return
        if self.summary.unpriced:
            self.stop(
                f"--max-cost {self.max_cost:g} cannot be enforced: an answer came without a "
                "price (the model's price is unknown)",
                cancel=False,
            )
        elif self.summary.cost >= self.max_cost:
            self.stop(
                f"the spending cap was reached (${self.summary.cost:.6f} of "
                f"${self.max_cost:g}); rows in flight were finished",
                cancel=False,
            )


async def arun(
    llm: ChatWandbInference,
    input_path: str | Path,
    output_path: str | Path,
    *,
    max_cost: float | None = None,
    allow_changed_settings: bool = False,
    row_models: bool = True,
    max_in_flight: int = DEFAULT_IN_FLIGHT,
    progress: bool = False,
    progress_stream: TextIO | None = None,
) -> BatchSummary:
    """Run every request of `input_path` with `llm`; write results to `output_path`.

    Resumable: run it again with the same arguments and it does only what is left.
    See `langchain_wandb.batch` for the formats, what stops a run and what resumes.

    Args:
        llm: The chat model; all its settings apply to every row (rows may add per-call
            parameters, and name their own `model` unless `row_models` is False).
        input_path: JSONL in OpenAI's Batch API format, `{"custom_id", "messages"}`
            lines, or one prompt per line.
        output_path: Where results go (OpenAI batch output format), appended to.
        max_cost: Stop starting rows once this many USD are spent (rows in flight
            finish). An answer without a known price stops the run too.
        allow_changed_settings: Add to an output written with other model settings.
        row_models: Honour each row's `body.model`; False sends every row to `llm`'s model.
        max_in_flight: Rows handed to the model at once (the governor bounds the
            requests actually sent); it also bounds memory.
        progress: Show a progress bar (tqdm, else a plain line) on `progress_stream`.
        progress_stream: Where the bar goes (default: stderr).

    Returns:
        What happened: counts by outcome, tokens, cost, time and why it stopped.

    Raises:
        InputError: If the input cannot be read, repeats a `custom_id` or is the output
            (nothing is run).
        OutputError: If the output is damaged, or was written with other settings.
        ValueError: If `max_in_flight` < 1 or `max_cost` is negative.

    """
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}.")
    if max_cost is not None and not max_cost >= 0:
        raise ValueError(f"max_cost must be a number of USD >= 0, got {max_cost!r}.")
    started = time.monotonic()
    source, target = Path(input_path), Path(output_path)
    settings = settings_of(llm, row_models=row_models)
    # File work before the run, off the event loop (a large input takes a while to scan).
    total, done, before = await asyncio.to_thread(
        _prepare, source, target, settings, allow_changed_settings, count=progress
    )
    summary = BatchSummary(output_path=target, total=total)
    journal = Journal(target)
    display = make_progress(progress, total, before, lambda: llm.concurrency, progress_stream)
    run = _Run(llm, summary, journal, display, max_cost=max_cost, row_models=row_models)
    try:
        with _stop_on_sigint(run):
            await _run_all(run, source, done, max_in_flight)
    finally:
        journal.close()
        display.close()
        summary.wall_time = time.monotonic() - started
    return summary


def _prepare(
    source: Path, target: Path, settings: dict[str, Any], allow_changed: bool, *, count: bool
) -> tuple[int, IdSet, int]:
    """Check the input and the output; (rows in the input, ids done, how many of them).

    The input is checked first, so that a refused input leaves the output untouched.
    """
    if target.exists() and source.exists() and target.samefile(source):
        raise InputError(f"the output {str(target)!r} is the input file; name another output.")
    total = scan_input(source)
    check_settings(target, settings, allow_changed=allow_changed)
    existing = read_existing(target)
    before = count_done(source, existing.done) if count and len(existing.done) else 0
    return total, existing.done, before


async def _run_all(run: _Run, source: Path, done: IdSet, workers: int) -> None:
    queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=workers)
    tasks = [asyncio.ensure_future(run.work(queue)) for _ in range(workers)]
    tasks.append(asyncio.ensure_future(run.produce(numbered_lines(source), queue, workers, done)))
    cancelled = asyncio.ensure_future(run.cancel.wait())
    pending: set[asyncio.Future[Any]] = {*tasks, cancelled}
    try:
        while pending != {cancelled} and not cancelled.done():
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(task.exception() for task in finished if task is not cancelled):
                break  # a bug or a write error: stop, and raise it below
    finally:
        for task in (*tasks, cancelled):
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome


@contextlib.contextmanager
def _stop_on_sigint(run: _Run) -> Iterator[None]:
    """Ctrl-C stops the run cleanly (where the loop can take signals: main thread, Unix)."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)
    try:
        loop.add_signal_handler(
            signal.SIGINT,
            lambda: run.stop(
                "interrupted (Ctrl-C); rows in flight were cancelled and run again on resume",
                cancel=True,
                interrupted=True,
            ),
        )
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - Windows, threads
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)


def run(
    llm: ChatWandbInference,
    input_path: str | Path,
    output_path: str | Path,
    **options: Any,
) -> BatchSummary:
    """Run a batch to the end (or until it stops); `arun`'s arguments and result.

    Call it where no event loop runs; in async code (and notebooks) `await arun(...)`.
    """
    return asyncio.run(arun(llm, input_path, output_path, **options))
