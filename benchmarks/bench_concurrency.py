"""Concurrency-limit benchmark: ChatWandbInference against ChatOpenAI(base_url), one run.

Run by hand (not in CI): `python benchmarks/bench_concurrency.py [--limit 4 --hold 0.1 -n 80]`.
The emulator refuses more than `--limit` requests in flight with W&B's 429 (no
Retry-After) and holds each admitted request `--hold` seconds before its first token.
For each workload and contender the table shows requests lost (raised), 429s the
server sent, refusals per request, and wall time against the ideal `n x hold / limit`.
Each contender starts cold: ours gets a fresh governor (its own W&B project) per run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

MODEL = "openai/gpt-oss-120b"
_runs = itertools.count(1)


@dataclass
class Outcome:
    """What one workload run cost."""

    lost: int
    refused: int
    wall: float


ORACLE = "ours, cap=limit (oracle)"
"""Ours told the exact limit, not adapting: the best any client can do (the reference)."""
CONTENDERS = ("ChatWandbInference", "ChatOpenAI", ORACLE)


def make(contender: str, emu: WandbEmulator, limit: int) -> BaseChatModel:
    """A cold model of `contender` pointed at the emulator (defaults otherwise)."""
    if contender != "ChatOpenAI":
        oracle = contender == ORACLE
        # A project of its own: a fresh governor, and its own limit at the emulator.
        return ChatWandbInference(
            base_url=emu.base_url,
            api_key="bench",  # type: ignore[arg-type]
            model=MODEL,
            project=f"bench/run{next(_runs)}",
            max_concurrency=limit if oracle else None,
            adaptive_concurrency=not oracle,
        )
    return ChatOpenAI(base_url=emu.base_url, api_key="bench", model=MODEL)  # type: ignore[arg-type]


def abatch(llm: BaseChatModel, n: int, max_concurrency: int | None) -> int:
    """Lost requests of `abatch` over n prompts."""

    async def go() -> list[Any]:
        config: Any = {"max_concurrency": max_concurrency} if max_concurrency else None
        return await llm.abatch([f"prompt {i}" for i in range(n)], config, return_exceptions=True)

    return sum(isinstance(r, BaseException) for r in asyncio.run(go()))


def batch(llm: BaseChatModel, n: int) -> int:
    """Lost requests of threaded `batch` (32 worker threads) over n prompts."""
    results = llm.batch(
        [f"prompt {i}" for i in range(n)], {"max_concurrency": 32}, return_exceptions=True
    )
    return sum(isinstance(r, BaseException) for r in results)


def agent(llm: BaseChatModel, n: int, emu: WandbEmulator) -> int:
    """Lost sub-requests of a LangGraph agent whose one turn makes n parallel tool calls.

    Each tool call asks the same model a question (a fan-out, as research agents do); a
    lost sub-request is one whose tool raised.
    """
    from langchain.agents import create_agent

    lost = 0

    @tool
    def ask(question: str) -> str:
        """Ask the model a sub-question."""
        nonlocal lost
        try:
            return str(llm.invoke(question).content)
        except Exception as error:  # the agent carries on without this answer
            lost += 1
            return f"failed: {error}"

    calls = [ToolCallReply(name="ask", arguments={"question": f"q{i}"}) for i in range(n)]
    emu.script(Reply(tool_calls=calls))
    graph = create_agent(llm, tools=[ask])
    graph.invoke({"messages": [("user", "research")]}, {"max_concurrency": 32})  # type: ignore[call-overload]
    return lost


def measure(work: Callable[[], int], emu: WandbEmulator) -> Outcome:
    """Run `work` with the emulator's counts reset; returns what it cost."""
    emu.reset()
    start = time.perf_counter()
    lost = work()
    return Outcome(lost, emu.refused_requests, time.perf_counter() - start)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=4, help="requests allowed in flight")
    parser.add_argument("--hold", type=float, default=0.1, help="seconds each holds its slot")
    parser.add_argument("-n", type=int, default=80, help="prompts per workload")
    args = parser.parse_args()
    n, ideal = args.n, args.n * args.hold / args.limit
    workloads: dict[str, Callable[[BaseChatModel, WandbEmulator], int]] = {
        "abatch(max_concurrency=32)": lambda llm, _e: abatch(llm, n, 32),
        "abatch (unlimited)": lambda llm, _e: abatch(llm, n, None),
        "batch (32 threads)": lambda llm, _e: batch(llm, n),
        "agent, parallel tool calls": lambda llm, emu: agent(llm, n, emu),
    }
    print(f"limit {args.limit} in flight, hold {args.hold} s, {n} prompts; ideal {ideal:.2f} s")
    print(
        f"{'workload':28}{'contender':27}{'lost':>5}{'429s':>6}{'429/req':>8}"
        f"{'x ideal':>8}{'x oracle':>9}"
    )
    with WandbEmulator(concurrency_limit=args.limit, time_to_first_token=args.hold) as emu:
        for contender in CONTENDERS:  # warm imports and connections outside the timings
            make(contender, emu, args.limit).invoke("warm up")
        for name, work in workloads.items():
            runs: dict[str, Outcome] = {}
            for contender in CONTENDERS:
                llm = make(contender, emu, args.limit)
                runs[contender] = measure(lambda llm=llm, work=work: work(llm, emu), emu)  # type: ignore[misc]
            for contender, got in runs.items():
                print(
                    f"{name:28}{contender:27}{got.lost:5d}{got.refused:6d}{got.refused / n:8.2f}"
                    f"{got.wall / ideal:8.2f}{got.wall / runs[ORACLE].wall:9.2f}"
                )


if __name__ == "__main__":
    main()
