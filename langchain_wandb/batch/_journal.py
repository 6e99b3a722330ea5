"""The output file as a crash-safe journal, and the settings it was written with.

Rows are appended, one `os.write` per line (a killed process loses none it finished),
with `fsync` at most every `fsync_interval` seconds and at the end (an OS crash loses at
most that much, and what it loses is redone). On start the existing output is read:
rows answered or failed for good are skipped, a torn last line (a line cut by a kill
or power cut) is cut off and its row redone, and rows whose failure may pass on a retry
(`error.retry_on_resume`) are dropped from the file so that they run again and the
output keeps one line per request. The run's settings live in `<output>.settings.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_wandb.batch._idset import IdSet


class OutputError(ValueError):
    """The output file cannot be resumed (a damaged line, or settings changed)."""


@dataclass
class Existing:
    """What an earlier run left in the output file."""

    done: IdSet = field(default_factory=IdSet)
    """custom_ids not to run again."""
    answered: int = 0
    """Rows answered."""
    failed: int = 0
    """Rows failed for good (invalid input included)."""
    retried: int = 0
    """Rows whose failure may pass: dropped from the file, run again."""
    torn: bool = False
    """Whether a torn last line was cut off."""


def settings_path(output: Path) -> Path:
    """Where the settings of the run writing `output` are kept."""
    return output.with_name(output.name + ".settings.json")


def settings_hash(settings: dict[str, Any]) -> str:
    """A short, stable digest of the settings."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_settings(output: Path, settings: dict[str, Any], *, allow_changed: bool) -> None:
    """Refuse to add to `output` with settings other than those it was written with.

    Raises:
        OutputError: If the output has rows and its recorded settings differ (or are
            missing), unless `allow_changed`.

    """
    record = settings_path(output)
    has_rows = output.exists() and output.stat().st_size > 0
    if has_rows and not allow_changed:
        if not record.exists():
            raise OutputError(
                f"{output} has rows but no settings record ({record.name}), so it cannot "
                "be checked that they were made with these settings; pass --force "
                "(allow_changed_settings=True) to add to it anyway."
            )
        before = json.loads(record.read_text()).get("settings", {})
        if before != settings:
            changed = sorted(
                key for key in set(before) | set(settings) if before.get(key) != settings.get(key)
            )
            details = "; ".join(
                f"{key}: {before.get(key)!r} -> {settings.get(key)!r}" for key in changed
            )
            raise OutputError(
                f"{output} was written with other settings ({details}). Resuming would mix "
                "answers of different settings in one file; write to a new output, or pass "
                "--force (allow_changed_settings=True) to resume anyway."
            )
    payload = {"settings": settings, "settings_hash": settings_hash(settings)}
    _write_atomically(record, [json.dumps(payload, indent=1, sort_keys=True).encode() + b"\n"])


def read_existing(output: Path) -> Existing:
    """Read the output an earlier run left; cut a torn tail and drop rows to retry.

    Raises:
        OutputError: If a line before the last is damaged (not written by this runner).

    """
    existing = Existing()
    if not output.exists():
        return existing
    damaged_at: int | None = None  # where the first damaged line starts
    start = 0
    for end, record in _records(output):
        if record is None:
            damaged_at = start if damaged_at is None else damaged_at
        elif damaged_at is not None:
            raise OutputError(
                f"{output} has a damaged line at byte {damaged_at} followed by whole rows: "
                "it was not written by this runner alone. Fix or remove that line, then "
                "run again."
            )
        else:
            _count(existing, record)
        start = end
    if damaged_at is not None:  # a torn tail: cut it; its row runs again
        existing.torn = True
        with output.open("r+b") as handle:
            handle.truncate(damaged_at)
            os.fsync(handle.fileno())
    if existing.retried:
        _write_atomically(output, _kept_lines(output))
    return existing


def _count(existing: Existing, record: dict[str, Any]) -> None:
    error = record.get("error")
    if error and error.get("retry_on_resume"):
        existing.retried += 1
        return
    existing.done.add(str(record.get("custom_id")))
    if error:
        existing.failed += 1
    else:
        existing.answered += 1


def _records(output: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(offset after the line, its record or None when damaged), streamed."""
    for end, line in _lines(output):
        record: dict[str, Any] | None = None
        if line.endswith(b"\n"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(line)
                record = parsed if isinstance(parsed, dict) and "custom_id" in parsed else None
        yield end, record


def _lines(output: Path) -> Iterator[tuple[int, bytes]]:
    offset = 0
    with output.open("rb") as handle:
        for line in handle:
            offset += len(line)
            yield offset, line


def _kept_lines(output: Path) -> Iterator[bytes]:
    """The output's lines without the rows to retry."""
    for _, line in _lines(output):
        error = json.loads(line).get("error")
        if not (error and error.get("retry_on_resume")):
            yield line


def _write_atomically(path: Path, lines: Iterator[bytes] | list[bytes]) -> None:
    """Replace `path` with `lines` so that a crash leaves the old file or the new one."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        for line in lines:
            handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open a directory (Windows)
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Journal:
    """Appends output rows so that a kill loses none written and tears at most one."""

    def __init__(self, output: Path, *, fsync_interval: float = 0.2) -> None:
        """Open `output` for appending (creating it)."""
        self._fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fsync_interval = fsync_interval
        self._synced = time.monotonic()
        self._unsynced = False

    def write(self, line: bytes) -> None:
        """Append one whole line (one system call: a kill cannot split it in two rows)."""
        written = os.write(self._fd, line)
        while written < len(line):  # a short write (disk full, signal): finish it
            written += os.write(self._fd, line[written:])
        self._unsynced = True
        if time.monotonic() - self._synced >= self._fsync_interval:
            self.sync()

    def sync(self) -> None:
        """Make what was written durable."""
        if self._unsynced:
            os.fsync(self._fd)
            self._unsynced = False
        self._synced = time.monotonic()

    def close(self) -> None:
        """Sync and close."""
        self.sync()
        os.close(self._fd)
