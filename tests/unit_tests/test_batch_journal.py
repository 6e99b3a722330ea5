"""The batch output as a journal: torn tails, rows to retry, damage, settings on resume."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from langchain_wandb.batch import OutputError
from langchain_wandb.batch._journal import (
    Journal,
    check_settings,
    read_existing,
    settings_path,
)


def _line(custom_id: str, error: dict[str, object] | None = None) -> bytes:
    return json.dumps({"id": "r", "custom_id": custom_id, "error": error}).encode() + b"\n"


ANSWERED = _line("a")
FAILED = _line("b", {"code": "WandbBadRequestError", "message": "m", "retry_on_resume": False})
RETRY = _line("c", {"code": "WandbServerError", "message": "m", "retry_on_resume": True})


def test_no_output_means_nothing_done(tmp_path: Path) -> None:
    existing = read_existing(tmp_path / "out.jsonl")
    assert len(existing.done) == 0
    assert not existing.torn


def test_answered_and_failed_rows_are_done_rows_to_retry_leave_the_file(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_bytes(ANSWERED + RETRY + FAILED)
    existing = read_existing(output)
    assert ("a" in existing.done, "b" in existing.done, "c" in existing.done) == (
        True,
        True,
        False,
    )
    assert (existing.answered, existing.failed, existing.retried) == (1, 1, 1)
    # One line per request: the row to retry is gone, to be written again by the run.
    assert output.read_bytes() == ANSWERED + FAILED
    assert not (tmp_path / "out.jsonl.tmp").exists()


@pytest.mark.parametrize(
    "tail",
    [
        ANSWERED[:-1],  # cut just before its newline
        b'{"id": "r", "custom_id": "z", "err',  # cut mid-line
        b"\0" * 300,  # a power cut: the length grew, the bytes never landed
        b"garbage\n",  # a whole line that is not a record
    ],
)
def test_a_torn_last_line_is_cut_off_and_its_row_redone(tmp_path: Path, tail: bytes) -> None:
    output = tmp_path / "out.jsonl"
    output.write_bytes(FAILED + tail)
    existing = read_existing(output)
    assert existing.torn
    assert output.read_bytes() == FAILED
    assert "z" not in existing.done


def test_damage_before_whole_rows_is_refused_not_cut(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_bytes(ANSWERED + b"{broken\n" + FAILED)
    with pytest.raises(
        OutputError, match=rf"damaged line at byte {len(ANSWERED)} followed by whole rows"
    ):
        read_existing(output)
    assert output.read_bytes() == ANSWERED + b"{broken\n" + FAILED  # left as it was


def test_journal_appends_whole_lines(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_bytes(ANSWERED)
    journal = Journal(output, fsync_interval=0.0)
    journal.write(FAILED)
    journal.close()
    assert output.read_bytes() == ANSWERED + FAILED


def test_a_short_write_is_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "out.jsonl"
    journal = Journal(output)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:10]))
    journal.write(ANSWERED)
    monkeypatch.setattr(os, "write", real_write)
    journal.close()
    assert output.read_bytes() == ANSWERED


SETTINGS = {"model": "m", "params": {"temperature": 0.5}}


def test_settings_are_recorded_and_the_same_settings_resume(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    check_settings(output, SETTINGS, allow_changed=False)
    assert json.loads(settings_path(output).read_text())["settings"] == SETTINGS
    output.write_bytes(ANSWERED)
    check_settings(output, dict(SETTINGS), allow_changed=False)


def test_changed_settings_are_refused_naming_what_changed(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    check_settings(output, SETTINGS, allow_changed=False)
    output.write_bytes(ANSWERED)
    changed = {"model": "other", "params": {"temperature": 0.5}}
    with pytest.raises(OutputError, match=r"model: 'm' -> 'other'.*--force"):
        check_settings(output, changed, allow_changed=False)
    assert json.loads(settings_path(output).read_text())["settings"] == SETTINGS
    check_settings(output, changed, allow_changed=True)  # the user said so: recorded anew
    assert json.loads(settings_path(output).read_text())["settings"] == changed


def test_an_output_without_a_settings_record_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_bytes(ANSWERED)
    with pytest.raises(OutputError, match="no settings record"):
        check_settings(output, SETTINGS, allow_changed=False)
    check_settings(output, SETTINGS, allow_changed=True)


def test_an_empty_output_takes_any_settings(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    check_settings(output, SETTINGS, allow_changed=False)
    output.write_bytes(b"")
    check_settings(output, {"model": "other"}, allow_changed=False)
