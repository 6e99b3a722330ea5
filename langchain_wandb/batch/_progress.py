"""The progress display: a tqdm bar when tqdm is installed, else one rewritten line.

tqdm (extra `batch`) is imported only when a display is shown. The bar shows done/total,
rate, failures, tokens, dollars so far and the governor's in-flight/limit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from langchain_wandb.batch._summary import BatchSummary

_REFRESH = 0.25  # seconds between redraws of the details

Governor = Callable[[], Any]
"""Returns the concurrency snapshot (`limit`, `in_flight`); read only when redrawing."""


class Progress(Protocol):
    """Something that shows how far the run is."""

    def update(self, summary: BatchSummary) -> None:
        """Show one more row handled."""

    def close(self) -> None:
        """Stop showing progress."""


class NoProgress:
    """The display when progress is off."""

    def update(self, summary: BatchSummary) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


def details(summary: BatchSummary, governor: Any) -> str:
    """Failures, tokens, dollars so far and the governor's in-flight/limit."""
    failed = summary.failed + summary.retry_later + summary.invalid_input
    dollars = f"${summary.cost:.6f}" + ("+?" if summary.unpriced else "")
    limit = "-" if governor.limit is None else str(governor.limit)
    tokens = summary.input_tokens + summary.output_tokens
    return f"fail {failed} | tok {tokens} | {dollars} | in flight {governor.in_flight}/{limit}"


class _Bar:
    def __init__(self, total: int, initial: int, stream: TextIO, governor: Governor) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

        self._bar = tqdm(total=total, initial=initial, unit="row", file=stream, dynamic_ncols=True)
        self._governor, self._shown = governor, 0.0

    def update(self, summary: BatchSummary) -> None:
        now = time.monotonic()
        if now - self._shown >= _REFRESH:
            self._bar.set_postfix_str(details(summary, self._governor()), refresh=False)
            self._shown = now
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class _Line:
    """Without tqdm: `done/total` and the details, rewritten in place a few times a second."""

    def __init__(self, total: int, initial: int, stream: TextIO, governor: Governor) -> None:
        self._total, self._initial, self._done = total, initial, initial
        self._stream, self._governor = stream, governor
        self._started, self._shown = time.monotonic(), 0.0

    def update(self, summary: BatchSummary) -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._shown >= _REFRESH or self._done == self._total:
            rate = (self._done - self._initial) / max(now - self._started, 1e-9)
            self._stream.write(
                f"\r{self._done}/{self._total} rows, {rate:.1f} rows/s | "
                + details(summary, self._governor())
            )
            self._stream.flush()
            self._shown = now

    def close(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def make_progress(
    shown: bool, total: int, initial: int, governor: Governor, stream: TextIO | None = None
) -> Progress:
    """The display for a run: off unless `shown`; tqdm's bar when it is installed.

    `initial` of the `total` rows were done before the run.
    """
    if not shown:
        return NoProgress()
    stream = stream or sys.stderr
    try:
        return _Bar(total, initial, stream, governor)
    except ImportError:
        return _Line(total, initial, stream, governor)
