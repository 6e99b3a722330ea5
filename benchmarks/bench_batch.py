"""Batch runner benchmark: throughput vs the oracle, memory vs rows, kill -9 and resume.

Run by hand (not in CI); each part prints its figures and ratios against peers measured
in the same run:

    python -m benchmarks.bench_batch throughput [-n 10000 --limit 8 --hold 0.02]
    python -m benchmarks.bench_batch memory [--rows 10000 200000]
    python -m benchmarks.bench_batch kill [--repeat 20 -n 1000 --hold 0.02]

The emulator runs in its own process (`python -m langchain_wandb.testing`), so its CPU
and its memory (it records every request) are not the runner's.

- throughput: `batch.run` with the model's defaults (the governor learns W&B's limit
  from its 429s) against the oracle: the same run told the limit (`max_concurrency` =
  limit, adaptation off). Target <= 1.2x. Then per-row overhead against plain `abatch`
  of the same rows with the same model, with no hold (client CPU only).
- memory: peak RSS of a fresh process running `batch.run` over N rows of small replies;
  growth from the smallest N to the largest. Target <= 50 MB from 10k to 1M rows.
- kill: start the CLI, `kill -9` it once a random number of rows is written (or at a
  random moment of start-up), resume; repeated. Counts rows lost and rows written twice
  (target 0 and 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL = "meta-llama/Llama-3.1-8B-Instruct"  # no reasoning: small replies
ORACLE = "oracle (max_concurrency=limit, no adaptation)"
OURS = "batch.run, model defaults (adaptive)"


@contextmanager
def emulator(*options: str) -> Iterator[str]:
    """A standalone emulator process; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "langchain_wandb.testing", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait()


def write_rows(path: Path, count: int, **body: Any) -> Path:
    """`count` OpenAI batch lines with short prompts."""
    with path.open("w") as handle:
        for n in range(count):
            request = {"model": MODEL, "messages": [{"role": "user", "content": f"p{n}"}]}
            request.update(body)
            row = {
                "custom_id": f"r{n}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": request,
            }
            handle.write(json.dumps(row) + "\n")
    return path


def model(base_url: str, **kwargs: Any) -> Any:
    """A cold model on the emulator (its own project: a fresh governor)."""
    from langchain_wandb import ChatWandbInference

    return ChatWandbInference(
        base_url=base_url,
        api_key="bench",
        model=MODEL,
        project=f"bench/{uuid.uuid4().hex[:12]}",
        **kwargs,
    )


# -- throughput ------------------------------------------------------------------------
def throughput(args: argparse.Namespace) -> None:
    """Wall time of `run` against the oracle, and per-row overhead against `abatch`."""
    from langchain_wandb.batch import run

    with tempfile.TemporaryDirectory() as scratch:
        source = write_rows(Path(scratch) / "in.jsonl", args.n)
        if args.skip_wall:
            overhead(args, source, scratch)
            return
        limits = ("--concurrency-limit", str(args.limit))
        with emulator(*limits, "--time-to-first-token", str(args.hold)) as url:
            ideal = args.n * args.hold / args.limit
            contenders: dict[str, dict[str, Any]] = {
                ORACLE: {"max_concurrency": args.limit, "adaptive_concurrency": False},
                OURS: {},
            }
            warm = write_rows(Path(scratch) / "warm.jsonl", 50)
            run(model(url), warm, Path(scratch) / "warm.out")  # imports, first connections
            walls: dict[str, list[float]] = {name: [] for name in contenders}
            for round_ in range(args.rounds):  # alternated: load drifts on a shared machine
                for name, settings in contenders.items():
                    output = Path(scratch) / f"{round_}-{len(walls[name])}{name[:4]}.jsonl"
                    started = time.perf_counter()
                    summary = run(model(url, **settings), source, output)
                    walls[name].append(time.perf_counter() - started)
                    assert summary.complete, summary.text()
                    print(f"{name:48} {walls[name][-1]:7.2f} s  (ideal n*hold/limit {ideal:.2f} s)")
            ratios = [
                ours / oracle for ours, oracle in zip(walls[OURS], walls[ORACLE], strict=True)
            ]
            print(
                f"ratio ours/oracle per round: {', '.join(f'{r:.3f}' for r in ratios)}; "
                f"best-of: {min(walls[OURS]) / min(walls[ORACLE]):.3f}x (target <= 1.2x)"
            )
        overhead(args, source, scratch)


def overhead(args: argparse.Namespace, source: Path, scratch: str) -> None:
    """Per-row cost of the runner over `abatch` of the same rows, with no hold.

    Measured as this process's CPU time (the emulator has its own process), which other
    jobs on the machine disturb far less than wall time; best of `--rounds`, alternated.
    """
    from langchain_core.messages import HumanMessage

    from langchain_wandb.batch import run

    rows = min(args.n, args.overhead_rows)
    small = write_rows(Path(scratch) / "small.jsonl", rows)
    settings = {"max_concurrency": args.limit, "adaptive_concurrency": False}
    inputs = [[HumanMessage(f"p{n}")] for n in range(rows)]
    cpu: dict[str, list[float]] = {"batch.run": [], "abatch": []}
    wall: dict[str, list[float]] = {"batch.run": [], "abatch": []}
    with emulator() as url:
        run(model(url, **settings), small, Path(scratch) / "overhead-warm.out")  # warm imports
        for round_ in range(args.rounds):
            for name in ("batch.run", "abatch"):
                llm = model(url, **settings)
                started, started_cpu = time.perf_counter(), time.process_time()
                if name == "abatch":
                    config: Any = {"max_concurrency": 64}
                    asyncio.run(llm.abatch(inputs, config, return_exceptions=True))
                else:
                    run(llm, small, Path(scratch) / f"overhead{round_}.jsonl")
                cpu[name].append(time.process_time() - started_cpu)
                wall[name].append(time.perf_counter() - started)
    ours, plain = min(cpu["batch.run"]), min(cpu["abatch"])
    print(
        f"{rows} rows, no hold, client CPU (best of {args.rounds}): batch.run {ours:.2f} s, "
        f"abatch {plain:.2f} s; ratio {ours / plain:.2f}x; overhead "
        f"{(ours - plain) / rows * 1e6:.0f} us/row of {plain / rows * 1e6:.0f} us/row; "
        f"wall: batch.run {min(wall['batch.run']):.2f} s, abatch {min(wall['abatch']):.2f} s"
    )


# -- memory ------------------------------------------------------------------------------
def memory(args: argparse.Namespace) -> None:
    """Peak RSS of a fresh process per input size; growth from the smallest to the largest.

    With `--stub`, the model answers in-process without HTTP (a canned reply, real usage
    fields): the runner's own memory (input, ids, output, tasks) at sizes the emulator
    cannot serve in reasonable time on a small machine.
    """
    with tempfile.TemporaryDirectory() as scratch, emulator() as url:
        peaks: dict[int, dict[str, float]] = {}
        for rows in args.rows:
            source = write_rows(Path(scratch) / f"in{rows}.jsonl", rows)
            started = time.perf_counter()
            target = "stub" if args.stub else url
            command = ["-m", "benchmarks.bench_batch", "_measure", target, str(source)]
            result = subprocess.run(
                [sys.executable, *command, str(source) + ".out"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            peaks[rows] = json.loads(result.stdout.splitlines()[-1])
            wall = time.perf_counter() - started
            print(
                f"{rows:>9} rows ({'stub model' if args.stub else 'emulator'}): peak RSS "
                f"{peaks[rows]['peak_mb']:7.1f} MB, before the run "
                f"{peaks[rows]['start_mb']:6.1f} MB, {rows / wall:6.0f} rows/s"
            )
        small, large = min(peaks), max(peaks)
        growth = peaks[large]["peak_mb"] - peaks[small]["peak_mb"]
        print(f"RSS growth {small} -> {large} rows: {growth:.1f} MB (target <= 50 MB at 1M)")


def stub_model() -> Any:
    """A model that answers at once, in-process: usage and metadata like a real answer."""
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    from langchain_wandb import ChatWandbInference

    class Stub(ChatWandbInference):
        async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
            usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
            metadata = {"id": "chatcmpl-x", "model_name": MODEL, "finish_reason": "stop"}
            message = AIMessage("ok", usage_metadata=usage, response_metadata=metadata)
            return ChatResult(generations=[ChatGeneration(message=message)])

    return Stub(api_key="stub", model=MODEL, streaming=False)


def _measure(url: str, source: str, output: str) -> None:
    """(child) Run the batch and print peak RSS as JSON."""
    from langchain_wandb.batch import run

    llm = stub_model() if url == "stub" else model(url)
    start_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = run(llm, source, output, max_in_flight=64)
    assert summary.complete, summary.text()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"start_mb": start_mb, "peak_mb": peak_mb}))


# -- kill -9 -------------------------------------------------------------------------------
def kill(args: argparse.Namespace) -> None:
    """Kill the CLI at a random moment, resume, and count lost and repeated rows."""
    env = {key: value for key, value in os.environ.items() if key != "WANDB_API_KEY"}
    rng = random.Random(args.seed)
    lost_total = repeated_total = 0
    with tempfile.TemporaryDirectory() as scratch:
        source = write_rows(
            Path(scratch) / "in.jsonl", args.n, emulator_reply={"first_byte_delay": args.hold}
        )
        for attempt in range(args.repeat):
            output = Path(scratch) / f"out{attempt}.jsonl"
            command = [sys.executable, "-m", "langchain_wandb", "batch", str(source)]
            command += ["-o", str(output), "--quiet", "--in-flight", str(args.in_flight)]
            process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
            # A random row of the run (or, one time in five, a random moment of start-up).
            target = rng.randint(1, args.n - 1) if rng.random() < 0.8 else 0
            if target:
                while _lines(output) < target and process.poll() is None:
                    time.sleep(0.005)
            else:
                time.sleep(rng.uniform(0.1, args.max_wait))
            process.send_signal(signal.SIGKILL)
            process.wait()
            before = output.read_bytes() if output.exists() else b""
            torn = bool(before) and not before.endswith(b"\n")
            written = before.count(b"\n")
            resumed = subprocess.run(
                command, check=False, cwd=ROOT, env=env, capture_output=True, text=True
            )
            assert resumed.returncode == 0, resumed.stderr
            ids = [json.loads(line)["custom_id"] for line in output.read_text().splitlines()]
            lost = args.n - len(set(ids))
            repeated = len(ids) - len(set(ids))
            lost_total += lost
            repeated_total += repeated
            print(
                f"kill {attempt + 1:2}: {written} rows written before the "
                f"kill{' (torn tail)' if torn else ''}; after resume lost {lost}, "
                f"repeated {repeated}"
            )
    print(f"{args.repeat} kills: {lost_total} rows lost, {repeated_total} rows repeated")


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def main() -> None:
    """Parse the part to run and its options."""
    if sys.argv[1:2] == ["_measure"]:
        _measure(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    speed = parts.add_parser("throughput", help="wall time vs the oracle; overhead vs abatch")
    speed.add_argument("-n", type=int, default=10_000, help="rows")
    speed.add_argument("--limit", type=int, default=8, help="the emulator's concurrency limit")
    speed.add_argument("--hold", type=float, default=0.02, help="seconds each request is held")
    speed.add_argument("--overhead-rows", type=int, default=3000, help="rows for the overhead")
    speed.add_argument("--rounds", type=int, default=3, help="alternated runs of each")
    speed.add_argument("--skip-wall", action="store_true", help="only the overhead part")
    size = parts.add_parser("memory", help="peak RSS against input size")
    size.add_argument("--rows", type=int, nargs="+", default=[10_000, 200_000])
    size.add_argument("--stub", action="store_true", help="an in-process model, no HTTP")
    crash = parts.add_parser("kill", help="kill -9 at random moments, then resume")
    crash.add_argument("--repeat", type=int, default=20)
    crash.add_argument("-n", type=int, default=1000, help="rows per run")
    crash.add_argument("--hold", type=float, default=0.02, help="seconds each request is held")
    crash.add_argument("--in-flight", type=int, default=8, help="the CLI's --in-flight")
    crash.add_argument("--max-wait", type=float, default=3.0, help="latest start-up kill, seconds")
    crash.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    {"throughput": throughput, "memory": memory, "kill": kill}[args.part](args)


if __name__ == "__main__":
    main()
