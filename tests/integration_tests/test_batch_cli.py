"""`python -m langchain_wandb batch` as a user runs it: offline, killed, interrupted, resumed."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from langchain_wandb.__main__ import main
from tests.integration_tests.raw_server import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "WANDB_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def slow_rows(path: Path, count: int, hold: float = 0.03, **reply: Any) -> Path:
    """Rows the emulator answers after `hold` seconds each (scripted in the row's body)."""
    lines = [
        json.dumps(
            {
                "custom_id": f"r{n}",
                "body": {
                    "messages": [{"role": "user", "content": f"row {n}"}],
                    "emulator_reply": {"first_byte_delay": hold, **reply},
                },
            }
        )
        for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def answered_ids(output: Path) -> list[str]:
    """custom_ids of the output's whole lines (a torn tail is not a row)."""
    ids = []
    for line in output.read_bytes().splitlines(keepends=True):
        if line.endswith(b"\n"):
            record = json.loads(line)
            assert record["error"] is None, record
            ids.append(record["custom_id"])
    return ids


def start(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "langchain_wandb", "batch", *args],
        cwd=ROOT,
        env=_env(),
        stdout=kwargs.pop("stdout", subprocess.PIPE),
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_offline_run_says_so_and_writes_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("first prompt\nsecond prompt\n")
    output = tmp_path / "out.jsonl"
    assert main(["batch", str(source), "-o", str(output)]) == 0
    err = capsys.readouterr().err
    assert "WANDB_API_KEY is not set" in err
    assert "emulator" in err
    assert "rows: 2 in input, 0 done before, 2 answered" in err
    # The emulator serves W&B's model ids, priced from the price list.
    cost = re.search(r"cost of this run: \$(\d+\.\d{6});", err)
    assert cost is not None, err
    assert float(cost.group(1)) > 0
    assert "resume with" not in err
    assert sorted(answered_ids(output)) == ["line-1", "line-2"]


def test_input_and_output_problems_are_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: cannot read the input file")
    source = tmp_path / "in.txt"
    source.write_text("a prompt\n")
    output = tmp_path / "out.jsonl"
    assert main(["batch", str(source), "-o", str(output), "--temperature", "0.1"]) == 0
    source.write_text("a prompt\nanother\n")
    assert main(["batch", str(source), "-o", str(output), "--temperature", "0.7"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: ")
    assert "temperature" in err[-1]
    assert "--force" in err[-1]
    assert len(answered_ids(output)) == 1
    assert main(["batch", str(source), "-o", str(output), "--temperature", "0.7", "--force"]) == 0
    assert len(answered_ids(output)) == 2


def test_a_stop_error_exits_non_zero_and_prints_the_resume_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    rows: list[dict[str, Any]] = [{"custom_id": f"r{n}", "prompt": f"row {n}"} for n in range(5)]
    rows.append(
        {
            "custom_id": "broke",
            "messages": [{"role": "user", "content": "x"}],
            "emulator_reply": {"status": 402, "error_message": "Out of credits for team"},
        }
    )
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = ["batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--in-flight", "1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "stopped: WandbPaymentRequiredError" in err
    assert "Out of credits for team" in err
    assert f"resume with: python -m langchain_wandb {' '.join(argv)}" in err
    assert sorted(answered_ids(tmp_path / "out.jsonl")) == [f"r{n}" for n in range(5)]


def test_kill_9_mid_run_then_resume_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    source = slow_rows(tmp_path / "in.jsonl", 150)
    output = tmp_path / "out.jsonl"
    for _ in range(2):  # killed twice at different points
        process = start(str(source), "-o", str(output), "--in-flight", "8")
        target = lines_in(output) + 15

        def far_enough(target: int = target) -> bool:
            return lines_in(output) >= target

        assert wait_until(far_enough, 60)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        assert len(set(answered_ids(output))) == len(answered_ids(output))
    done_before = len(answered_ids(output))
    assert 0 < done_before < 150
    finished = start(str(source), "-o", str(output), "--in-flight", "8")
    _, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    assert f"{done_before} done before" in err
    ids = answered_ids(output)
    assert len(ids) == 150
    assert sorted(ids) == sorted(f"r{n}" for n in range(150))


def test_ctrl_c_keeps_finished_rows_exits_130_and_says_how_to_resume(tmp_path: Path) -> None:
    source = slow_rows(tmp_path / "in.jsonl", 150)
    output = tmp_path / "out.jsonl"
    process = start(str(source), "-o", str(output), "--in-flight", "4")
    assert wait_until(lambda: lines_in(output) >= 10, 60)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "stopped: interrupted (Ctrl-C)" in err
    assert f"resume with: python -m langchain_wandb batch {source} -o {output}" in err
    assert "Traceback" not in err
    kept = answered_ids(output)
    assert lines_in(output) == len(kept)  # no torn line: the run stopped cleanly
    resumed = start(str(source), "-o", str(output), "--in-flight", "16")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert sorted(answered_ids(output)) == sorted(f"r{n}" for n in range(150))


def _run_with_terminal_stdout(*args: str) -> str:
    """Run the CLI with a terminal for stdout; returns its stderr."""
    leader, follower = pty.openpty()
    try:
        process = start(*args, stdout=follower)
        _, err = process.communicate(timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    assert process.returncode == 0, err
    return err


def test_the_progress_bar_shows_at_a_terminal_and_not_otherwise(tmp_path: Path) -> None:
    source = slow_rows(tmp_path / "in.jsonl", 20, hold=0.01)
    shown = _run_with_terminal_stdout(str(source), "-o", str(tmp_path / "a.jsonl"))
    assert "20/20" in shown
    assert "in flight" in shown
    quiet = _run_with_terminal_stdout(str(source), "-o", str(tmp_path / "b.jsonl"), "--quiet")
    assert "20/20" not in quiet
    assert "in flight" not in quiet
    piped = start(str(source), "-o", str(tmp_path / "c.jsonl"))
    _, err = piped.communicate(timeout=120)
    assert piped.returncode == 0
    assert "20/20" not in err
    assert "in flight" not in err
    assert "rows: 20 in input" in err  # the summary is always printed
