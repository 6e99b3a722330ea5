"""W&B's concurrency limit: at most N chat requests in flight per scope.

W&B refuses one more with 429 at once, without a `Retry-After` header. The scope of the
limit, and the words of the 429, depend on the deployment (all real, 2025-2026):

- `None` (the default): per project (the `OpenAI-Project` header, or the key's default
  project when there is none) and model, with the documented "Concurrency limit reached
  for requests";
- `"project"`: per project and model, 2026-06's body ("...: <model>-project limit
  reached", code `rate_limit_exceeded`);
- `"user"`: per key and model, across projects, 2026-09's text ('...: model "<model>",
  per-user - see https://wandb.me/inf-err-limits');
- `"project-all-models"`: per project across models (the docs' "how many requests a
  project can have in flight"), with the documented text.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

ConcurrencyKey = tuple[str | None, str]
"""What one limit counts: (the `OpenAI-Project` header or None, the model id); for the
"user" scope ("user:<key hash>", model); for "project-all-models" (project, "*")."""

ConcurrencyScope = Literal["project", "user", "project-all-models"]
"""How the emulator counts requests against its limit (None: per project and model)."""

CONCURRENCY_MESSAGE = "Concurrency limit reached for requests"


def concurrency_refusal(scope: ConcurrencyScope | None, model: str) -> dict[str, Any]:
    """W&B's 429 body for a request to `model` over a limit of this scope."""
    if scope == "project":
        message = f"concurrency limit reached for requests: {model}-project limit reached"
    elif scope == "user":
        message = (
            f'concurrency limit reached for requests: model "{model}", per-user - see '
            "https://wandb.me/inf-err-limits"
        )
    else:
        message = CONCURRENCY_MESSAGE
    return {"error": {"code": "rate_limit_exceeded", "message": message}}


def concurrency_key(
    scope: ConcurrencyScope | None, project: str | None, bearer: str | None, model: str
) -> ConcurrencyKey:
    """The counter a request to `model` from `bearer` on `project` counts against."""
    if scope == "user":
        digest = hashlib.sha256((bearer or "").encode()).hexdigest()[:12]
        return (f"user:{digest}", model)
    if scope == "project-all-models":
        return (project, "*")
    return (project, model)


@dataclass
class ConcurrencyGate:
    """Admits chat requests up to `limit` per key and counts what it refused."""

    limit: int | None = None
    """Requests in flight allowed per key; None: unlimited."""
    scope: ConcurrencyScope | None = None
    """What one limit counts (see the module docstring); None: per project and model."""
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
