"""W&B's concurrency limit: at most N chat requests in flight per (project, model).

W&B refuses one more with 429 "Concurrency limit reached for requests" at once, without a
`Retry-After` header; the limit is per W&B project (the `OpenAI-Project` header, or the
key's default project when there is none) and per model.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

ConcurrencyKey = tuple[str | None, str]
"""(the `OpenAI-Project` header or None, the model id)."""

CONCURRENCY_MESSAGE = "Concurrency limit reached for requests"


@dataclass
class ConcurrencyGate:
    """Admits chat requests up to `limit` per key and counts what it refused."""

    limit: int | None = None
    """Requests in flight allowed per key; None: unlimited."""
    in_flight: Counter[ConcurrencyKey] = field(default_factory=Counter)
    """Requests holding a slot right now, per key."""
    peak_in_flight: Counter[ConcurrencyKey] = field(default_factory=Counter)
    """The most requests that held a slot at once, per key."""
    refused: Counter[ConcurrencyKey] = field(default_factory=Counter)
    """Requests refused with 429, per key."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        """Refuse a limit that can admit nothing."""
        if self.limit is not None and self.limit < 1:
            msg = f"concurrency_limit must be at least 1 (or None), got {self.limit}"
            raise ValueError(msg)

    def acquire(self, key: ConcurrencyKey) -> bool:
        """Take a slot for `key`; False (and counted as refused) when all are taken."""
        with self._lock:
            if self.limit is not None and self.in_flight[key] >= self.limit:
                self.refused[key] += 1
                return False
            self.in_flight[key] += 1
            self.peak_in_flight[key] = max(self.peak_in_flight[key], self.in_flight[key])
            return True

    def release(self, key: ConcurrencyKey) -> None:
        """Give back a slot taken by `acquire`."""
        with self._lock:
            self.in_flight[key] -= 1
            if not self.in_flight[key]:
                del self.in_flight[key]

    def reset_counts(self) -> None:
        """Forget peaks and refusals (slots held right now stay held)."""
        with self._lock:
            self.refused.clear()
            self.peak_in_flight = Counter(self.in_flight)

    @property
    def refused_total(self) -> int:
        """Requests refused with 429 over all keys."""
        return sum(self.snapshot().refused.values())

    def snapshot(self) -> ConcurrencyCounts:
        """A consistent copy of the counters."""
        with self._lock:
            return ConcurrencyCounts(
                dict(self.in_flight), dict(self.peak_in_flight), dict(self.refused)
            )


@dataclass(frozen=True)
class ConcurrencyCounts:
    """The gate's counters at one moment, per key."""

    in_flight: dict[ConcurrencyKey, int]
    peak_in_flight: dict[ConcurrencyKey, int]
    refused: dict[ConcurrencyKey, int]
