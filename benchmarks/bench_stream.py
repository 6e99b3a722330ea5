"""Streaming benchmarks: ChatWandbInference against its peers, measured in one run.

Run by hand (not in CI): `pip install -e ".[bench]" && python benchmarks/bench_stream.py`.
The emulator runs in a separate process so the server's work is not billed to the
client; per-chunk cost is the client process's CPU time divided by the chunk count.
Contenders run interleaved, several repetitions each; the table shows medians and
ratios against ChatOpenAI and against langchain-core's own floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx2
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from langchain_wandb import ChatWandbInference

MODEL = "openai/gpt-oss-120b"


class CoreFloor(BaseChatModel):
    """langchain-core's own per-chunk cost: `_stream` yields ready-made chunks."""

    n: int = 1000

    @property
    def _llm_type(self) -> str:
        return "floor"

    def _generate(self, messages: list[BaseMessage], **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for _ in range(self.n):
            yield ChatGenerationChunk(message=AIMessageChunk(content="tok "))

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for _ in range(self.n):
            yield ChatGenerationChunk(message=AIMessageChunk(content="tok "))


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "langchain_wandb.testing"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def reply(n: int) -> dict[str, Any]:
    return {"emulator_reply": {"content": "tok " * n, "reasoning": ""}}


def contenders(base_url: str) -> dict[str, Callable[[int], int]]:
    ours = ChatWandbInference(base_url=base_url, api_key="bench", model=MODEL)
    peer = ChatOpenAI(base_url=base_url, api_key="bench", model=MODEL, stream_usage=True)
    raw = openai.OpenAI(base_url=base_url, api_key="bench")

    def run_ours(n: int) -> int:
        return sum(1 for _ in ours.stream("hi", **reply(n)))

    loop = asyncio.new_event_loop()  # one long-lived loop, as in a server

    def run_ours_async(n: int) -> int:
        async def go() -> int:
            return sum([1 async for _ in ours.astream("hi", **reply(n))])

        return loop.run_until_complete(go())

    def run_peer(n: int) -> int:
        return sum(1 for _ in peer.stream("hi", extra_body=reply(n)))

    def run_raw(n: int) -> int:
        stream = raw.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_body=reply(n),
        )
        return sum(1 for _ in stream)

    def run_floor(n: int) -> int:
        return sum(1 for _ in CoreFloor(n=n).stream("hi"))

    def run_floor_async(n: int) -> int:
        async def go() -> int:
            return sum([1 async for _ in CoreFloor(n=n).astream("hi")])

        return loop.run_until_complete(go())

    return {
        "ChatWandbInference.stream": run_ours,
        "ChatWandbInference.astream": run_ours_async,
        "ChatOpenAI.stream": run_peer,
        "openai SDK stream=True": run_raw,
        "core floor (trivial _stream)": run_floor,
        "core floor (trivial _astream)": run_floor_async,
    }


def per_chunk_table(base_url: str, sizes: list[int], repeats: int) -> None:
    runners = contenders(base_url)
    for run in runners.values():  # warm up connections, imports and caches
        run(50)
    results: dict[tuple[str, int], list[float]] = {}
    for n in sizes:
        for _ in range(repeats):
            for name, run in runners.items():
                cpu = time.process_time()
                count = run(n)
                cost = (time.process_time() - cpu) / n * 1e6
                assert count >= n, f"{name} yielded {count} chunks for {n}"
                results.setdefault((name, n), []).append(cost)
    print(f"\nPer-chunk client CPU (µs, median of {repeats}); ratios vs ChatOpenAI and core floor")
    print(
        f"{'contender':32}" + "".join(f"{n:>10}" for n in sizes) + f"{'x OpenAI':>10}{'x floor':>9}"
    )
    largest = sizes[-1]
    for name in runners:
        medians = [statistics.median(results[(name, n)]) for n in sizes]
        vs_peer = medians[-1] / statistics.median(results[("ChatOpenAI.stream", largest)])
        vs_floor = medians[-1] / statistics.median(
            results[("core floor (trivial _stream)", largest)]
        )
        print(
            f"{name:32}"
            + "".join(f"{m:10.1f}" for m in medians)
            + f"{vs_peer:10.2f}{vs_floor:9.2f}"
        )


def import_times(repeats: int) -> None:
    statements = {
        "langchain_core BaseChatModel": "from langchain_core.language_models import BaseChatModel",
        "import langchain_wandb": "import langchain_wandb",
        "import langchain_openai": "import langchain_openai",
        "import openai": "import openai",
    }
    core = statements["langchain_core BaseChatModel"]
    # What each package adds once core's BaseChatModel is loaded (the fair comparison:
    # both integrations need core), measured in the same interpreter.
    increments = {
        "langchain_wandb after core": f"{core}; t = time.perf_counter(); import langchain_wandb",
        "langchain_openai after core": f"{core}; t = time.perf_counter(); import langchain_openai",
    }
    timings: dict[str, list[float]] = {name: [] for name in [*statements, *increments]}
    for _ in range(repeats):
        for name, statement in statements.items():
            timings[name].append(
                _time_in_fresh_interpreter(f"t = time.perf_counter(); {statement}")
            )
        for name, statement in increments.items():
            timings[name].append(_time_in_fresh_interpreter(statement))
    print(f"\nImport time in a fresh interpreter (ms, median of {repeats})")
    for name, values in timings.items():
        print(f"  {name:32}{statistics.median(values) * 1000:8.1f}")


def _time_in_fresh_interpreter(code: str) -> float:
    program = f"import time; {code}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


def time_to_first_token(base_url: str, repeats: int) -> None:
    ours = ChatWandbInference(base_url=base_url, api_key="bench", model=MODEL)
    peer = ChatOpenAI(base_url=base_url, api_key="bench", model=MODEL, stream_usage=True)
    client = httpx2.Client()
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        **reply(1),
    }

    def first_ours() -> float:
        start = time.perf_counter()
        for chunk in ours.stream("hi", **reply(1)):
            if chunk.content:
                return time.perf_counter() - start
        raise AssertionError

    def first_peer() -> float:
        start = time.perf_counter()
        for chunk in peer.stream("hi", extra_body=reply(1)):
            if chunk.content:
                return time.perf_counter() - start
        raise AssertionError

    def first_raw() -> float:
        start = time.perf_counter()
        with client.stream(
            "POST",
            f"{base_url}/chat/completions",
            json=body,
            headers={"Authorization": "Bearer bench"},
        ) as response:
            for line in response.iter_lines():
                if '"content": "tok' in line:
                    return time.perf_counter() - start
        raise AssertionError

    runners = {"ChatWandbInference": first_ours, "ChatOpenAI": first_peer, "raw httpx2": first_raw}
    for run in runners.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            samples[name].append(run())
    raw_median = statistics.median(samples["raw httpx2"])
    print(f"\nTime to first token (ms, median of {repeats}); overhead over a raw httpx2 request")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:20}{median * 1000:8.2f}   +{(median - raw_median) * 1000:.2f} ms")


MEMORY_SCRIPT = """
import sys, tracemalloc
from langchain_openai import ChatOpenAI
from langchain_wandb import ChatWandbInference
base_url, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def reply(count):
    return {"emulator_reply": {"content": "tok " * count, "reasoning": ""}}
if who == "ours":
    llm = ChatWandbInference(base_url=base_url, api_key="b", model="openai/gpt-oss-120b")
    stream = lambda count: llm.stream("hi", **reply(count))
else:
    llm = ChatOpenAI(base_url=base_url, api_key="b", model="openai/gpt-oss-120b", stream_usage=True)
    stream = lambda count: llm.stream("hi", extra_body=reply(count))
for _ in stream(10):
    pass
tracemalloc.start()
full = None
for chunk in stream(n):
    full = chunk if full is None else full + chunk
print(tracemalloc.get_traced_memory()[1])
"""


def memory(base_url: str, n: int) -> None:
    print(f"\nPeak Python memory streaming and merging {n} chunks (MiB, tracemalloc)")
    for who in ("ours", "ChatOpenAI"):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, base_url, who, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"  {who:20}{int(out.stdout) / 2**20:8.1f}")


CONCURRENCY_SCRIPT = """
import asyncio, statistics, sys, time
from langchain_openai import ChatOpenAI
from langchain_wandb import ChatWandbInference
base_url, who, streams, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reply = {"emulator_reply": {"content": "tok " * n, "reasoning": ""}}
if who == "ours":
    llm = ChatWandbInference(base_url=base_url, api_key="b", model="openai/gpt-oss-120b")
    kwargs = reply
else:
    llm = ChatOpenAI(base_url=base_url, api_key="b", model="openai/gpt-oss-120b", stream_usage=True)
    kwargs = {"extra_body": reply}

async def many():
    async def one():
        return sum([1 async for _ in llm.astream("hi", **kwargs)])
    start = time.perf_counter()
    counts = await asyncio.gather(*(one() for _ in range(streams)))
    assert all(c >= n for c in counts)
    return time.perf_counter() - start

async def main():
    await many()
    return statistics.median([await many() for _ in range(3)])

print(asyncio.run(main()))
"""


def concurrency(base_url: str, streams: int, n: int) -> None:
    # Each contender in a fresh interpreter, on one event loop.
    results = {}
    for name, who in (("ChatWandbInference", "ours"), ("ChatOpenAI", "peer")):
        out = subprocess.run(
            [sys.executable, "-c", CONCURRENCY_SCRIPT, base_url, who, str(streams), str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = float(out.stdout)
    print(f"\n{streams} concurrent astreams of {n} chunks (s, median of 3)")
    for name, seconds in results.items():
        print(f"  {name:20}{seconds:8.2f}   {streams * n / seconds:10.0f} chunks/s")
    print(
        "  ChatOpenAI / ChatWandbInference = "
        f"{results['ChatOpenAI'] / results['ChatWandbInference']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument(
        "--only",
        default="chunks,imports,ttft,memory,concurrency",
        help="comma-separated sections to run",
    )
    args = parser.parse_args()
    sections = set(args.only.split(","))
    sizes = [int(s) for s in args.sizes.split(",")]
    repeats = args.repeats
    if args.quick:
        sizes, repeats = [1000, 5000], 3
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, "
        f"langchain-core {__import__('langchain_core').__version__}, openai {openai.__version__}"
    )
    proc, base_url = start_server()
    try:
        if "chunks" in sections:
            per_chunk_table(base_url, sizes, repeats)
        if "imports" in sections:
            import_times(repeats)
        if "ttft" in sections:
            time_to_first_token(base_url, 50 if args.quick else 200)
        if "memory" in sections:
            memory(base_url, sizes[-1])
        if "concurrency" in sections:
            concurrency(base_url, 200, 100)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
