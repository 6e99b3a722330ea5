"""Concurrency-limit benchmark: ChatWandbInference against the oracle (and ChatOpenAI).

Run by hand (not in CI): `python benchmarks/bench_concurrency.py [--limit 4 --hold 0.1
-n 80 --reps 7 --workloads abatch32,batch --chatopenai]`. The emulator refuses more than
`--limit` requests in flight with W&B's 429 (no Retry-After) and holds each admitted
request `--hold` seconds before its first token. The oracle is ours told the limit
(`max_concurrency=limit`, adaptation off): the best any client can do on this machine.

On a loaded machine one run says little (the oracle itself varies 1.4-2x ideal), so each
workload runs `--reps` times, the contenders interleaved (and rotated) within each rep;
"x oracle" is each run's wall over the oracle's in the same rep. The table shows requests
lost (raised), refused requests per request and wall time against the ideal
`n x hold / limit` and against the oracle, each as median (range) over the reps. Each
contender starts cold: ours gets a fresh governor (its own W&B project) per run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import statistics
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from benchmarks._measure import Outcome, measure
from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

MODEL = "openai/gpt-oss-120b"
_runs = itertools.count(1)


OURS = "ChatWandbInference"
ORACLE = "ours, cap=limit (oracle)"
"""Ours told the exact limit, not adapting: the best any client can do (the reference)."""


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


def _spread(values: list[float]) -> str:
    """Median and range of `values`, e.g. `1.08 (0.97-1.21)`."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    """Print the table: medians over `--reps` interleaved runs, ratios within each run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=4, help="requests allowed in flight")
    parser.add_argument("--hold", type=float, default=0.1, help="seconds each holds its slot")
    parser.add_argument("-n", type=int, default=80, help="prompts per workload")
    parser.add_argument("--reps", type=int, default=7, help="interleaved runs per workload")
    parser.add_argument(
        "--workloads", default="abatch32,batch", help=f"comma-separated, of {','.join(WORKLOADS)}"
    )
    parser.add_argument(
        "--chatopenai", action="store_true", help="also run ChatOpenAI(base_url) (it loses answers)"
    )
    args = parser.parse_args()
    n, ideal = args.n, args.n * args.hold / args.limit
    contenders = [OURS, ORACLE] + (["ChatOpenAI"] if args.chatopenai else [])
    print(
        f"limit {args.limit} in flight, hold {args.hold} s, {n} prompts; ideal {ideal:.2f} s; "
        f"median (range) over {args.reps} interleaved runs"
    )
    print(
        f"{'workload':28}{'contender':27}{'lost':>5}{'429/req':>18}{'x ideal':>18}{'x oracle':>18}"
    )
    with WandbEmulator(concurrency_limit=args.limit, time_to_first_token=args.hold) as emu:
        for contender in contenders:  # warm imports and connections outside the timings
            make(contender, emu, args.limit).invoke("warm up")
        for name in args.workloads.split(","):
            work = WORKLOADS[name]
            runs: dict[str, list[Outcome]] = {contender: [] for contender in contenders}
            ratios: dict[str, list[float]] = {contender: [] for contender in contenders}
            for rep in range(args.reps):
                # Rotate who goes first: a load spike on the shared machine hits all alike.
                order = contenders[rep % len(contenders) :] + contenders[: rep % len(contenders)]
                got: dict[str, Outcome] = {}
                for contender in order:
                    llm = make(contender, emu, args.limit)
                    got[contender] = measure(functools.partial(work, llm, n, emu), emu)
                for contender in contenders:
                    runs[contender].append(got[contender])
                    ratios[contender].append(got[contender].wall / got[ORACLE].wall)
            for contender in contenders:
                outcomes = runs[contender]
                print(
                    f"{WORKLOAD_NAMES[name]:28}{contender:27}"
                    f"{sum(o.lost for o in outcomes):5d}"
                    f"{_spread([o.refused / n for o in outcomes]):>18}"
                    f"{_spread([o.wall / ideal for o in outcomes]):>18}"
                    f"{_spread(ratios[contender]):>18}"
                )


WORKLOADS: dict[str, Callable[[BaseChatModel, int, WandbEmulator], int]] = {
    "abatch32": lambda llm, n, _e: abatch(llm, n, 32),
    "abatch": lambda llm, n, _e: abatch(llm, n, None),
    "batch": lambda llm, n, _e: batch(llm, n),
    "agent": agent,
}
WORKLOAD_NAMES = {
    "abatch32": "abatch(max_concurrency=32)",
    "abatch": "abatch (unlimited)",
    "batch": "batch (32 threads)",
    "agent": "agent, parallel tool calls",
}


if __name__ == "__main__":
    main()
