"""What a batch run did: counts by outcome, tokens by kind, dollars and time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.messages import AIMessage

from langchain_wandb.callbacks import ModelUsage

_LISTED_LINES = 10


@dataclass
class BatchSummary:
    """The result of `run`/`arun`: what happened to every row of the input."""

    output_path: Path
    """The output file (OpenAI batch output format, one line per request)."""
    total: int = 0
    """Requests in the input (non-blank lines)."""
    skipped: int = 0
    """Rows already in the output from an earlier run, not run again."""
    answered: int = 0
    """Rows answered in this run."""
    failed: int = 0
    """Rows that failed for good in this run (their error is in the output)."""
    retry_later: int = 0
    """Rows that failed in a way that may pass (5xx, timeouts, ...): run again on resume."""
    invalid_input: int = 0
    """Input lines that cannot be a request (reported in the output with their line)."""
    bad_lines: list[int] = field(default_factory=list)
    """Line numbers of the first invalid input lines."""
    usage: ModelUsage = field(default_factory=ModelUsage)
    """Requests, tokens by kind and USD of the rows W&B billed in this run (answered, or
    failed after the answer arrived, e.g. cut off at `max_tokens`), counted as
    `get_wandb_callback` counts calls (answers from LangChain's cache are not billed)."""
    wall_time: float = 0.0
    """Seconds the run took."""
    stop_reason: str | None = None
    """Why the run stopped before the end (None: it read the whole input)."""
    stop_error: BaseException | None = None
    """The error that stopped it, when one did (401, 402, 403, quota 429)."""
    interrupted: bool = False
    """Whether Ctrl-C (SIGINT) stopped it."""

    @property
    def not_run(self) -> int:
        """Rows neither in the output before nor handled in this run."""
        handled = self.answered + self.failed + self.retry_later + self.invalid_input
        return max(self.total - self.skipped - handled, 0)

    @property
    def complete(self) -> bool:
        """Whether every row now has its final line in the output."""
        return self.stop_reason is None and self.retry_later == 0 and self.not_run == 0

    @property
    def cost_known(self) -> bool:
        """Whether every answered row had a price."""
        return self.unpriced == 0

    @property
    def input_tokens(self) -> int:
        """Prompt tokens of the rows billed in this run (see `usage`)."""
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        """Completion tokens (reasoning included) of the rows billed in this run."""
        return self.usage.output_tokens

    @property
    def reasoning_tokens(self) -> int:
        """Reasoning tokens, where the server reported them."""
        return self.usage.reasoning_tokens

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens served from the cache, where the server reported them."""
        return self.usage.cached_tokens

    @property
    def cost(self) -> float:
        """USD of the billed rows whose price is known (see `unpriced`)."""
        return self.usage.priced_cost

    @property
    def unpriced(self) -> int:
        """Billed rows without a known price: then `cost` is a lower bound."""
        return self.usage.unpriced_requests

    def add_answer(self, message: AIMessage) -> None:
        """Count an answered row's tokens and cost."""
        self.answered += 1
        self.add_billed(message)

    def add_billed(self, message: AIMessage) -> None:
        """Count the tokens and cost of an answer W&B billed (a failed row's too)."""
        self.usage.add(message.usage_metadata, message.response_metadata.get("cost"))

    def add_bad_line(self, line: int) -> None:
        """Count an invalid input line."""
        self.invalid_input += 1
        if len(self.bad_lines) < _LISTED_LINES:
            self.bad_lines.append(line)

    def cost_text(self) -> str:
        """The cost in words: exact, a lower bound, or unknown; never a made-up 0."""
        if self.unpriced == 0:
            return f"${self.cost:.6f}"
        if self.cost > 0:
            return f"at least ${self.cost:.6f} ({self.unpriced} rows unpriced)"
        return f"unknown ({self.unpriced} rows without a price)"

    def text(self) -> str:
        """The summary as a few lines for a terminal."""
        outcome = (
            f"rows: {self.total} in input, {self.skipped} done before, {self.answered} "
            f"answered, {self.failed} failed, {self.retry_later} to retry, "
            f"{self.invalid_input} invalid input, {self.not_run} not run"
        )
        lines = [outcome]
        if self.bad_lines:
            more = ", ..." if self.invalid_input > len(self.bad_lines) else ""
            listed = ", ".join(map(str, self.bad_lines))
            lines.append(f"invalid input on lines: {listed}{more}")
        lines.append(
            f"tokens: {self.input_tokens} in ({self.cached_tokens} cached), "
            f"{self.output_tokens} out ({self.reasoning_tokens} reasoning)"
        )
        if self.usage.cache_hits:
            lines.append(f"{self.usage.cache_hits} answers from LangChain's cache (not billed)")
        lines.append(f"cost of this run: {self.cost_text()}; wall time {self.wall_time:.1f} s")
        if self.stop_reason:
            lines.append(f"stopped: {self.stop_reason}")
        return "\n".join(lines)
