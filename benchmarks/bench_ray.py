"""One W&B limit across Ray workers: the shared Ray governor against per-process governors.

Run by hand (not in CI): `python benchmarks/bench_ray.py [--limit 8 --hold 0.1 -n 320]`.
Starts a local Ray cluster (`ray.init(num_cpus=2)`) and the emulator in this process; 4
worker processes (Ray actors) each run `abatch` on their share of the prompts. Contenders,
each on a project of its own (cold governors), measured in the same run:

- shared: every worker leases slots from one `RayGovernorBackend` actor (adaptive);
- per-process: each worker's own in-process governor (adaptive), what 0.2 does;
- oracle: each worker told limit/4 (`max_concurrency`, adaptation off): the reference;
- one process: all prompts from this process's in-process governor (no Ray).

Then two keys sharing nothing (the emulator's limit is per key): workers 0-1 use key A,
2-3 key B; the oracle tells each worker limit/2. Last, the lease's cost: an acquire and
release through the actor against the in-process governor, per request.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import ray

from benchmarks._measure import Outcome, measure
from langchain_wandb import ChatWandbInference
from langchain_wandb._governor import IN_PROCESS, Target
from langchain_wandb.ray import RayGovernorBackend
from langchain_wandb.testing import WandbEmulator

MODEL = "openai/gpt-oss-120b"
WORKERS = 4
_runs = itertools.count(1)


class Worker:
    """A worker process running `abatch` on its prompts."""

    def run(self, llm: ChatWandbInference, prompts: list[Any]) -> int:
        """Lost requests of `abatch` over `prompts`."""
        results = asyncio.run(llm.abatch(prompts, return_exceptions=True))
        return sum(isinstance(r, BaseException) for r in results)

    def warm(self, llm: ChatWandbInference) -> int:
        """Import and connect outside the timings."""
        llm.invoke("warm up")
        return os.getpid()


def model(emu: WandbEmulator, key: str, **kwargs: Any) -> ChatWandbInference:
    """A cold model (a project of its own) on the emulator."""
    params: dict[str, Any] = {
        "base_url": emu.base_url,
        "api_key": key,
        "model": MODEL,
        "project": f"bench/run{next(_runs)}-{uuid.uuid4().hex[:6]}",
    }
    params.update(kwargs)
    return ChatWandbInference(**params)


def on_workers(
    emu: WandbEmulator, workers: list[Any], llms: list[ChatWandbInference], n: int
) -> Outcome:
    """Run n prompts split over the workers (worker i uses llms[i])."""
    share = n // len(workers)

    def run() -> int:
        prompts = [f"p{i}" for i in range(share)]
        return sum(
            ray.get([w.run.remote(llm, prompts) for w, llm in zip(workers, llms, strict=True)])
        )

    return measure(run, emu)


def in_one_process(emu: WandbEmulator, llm: ChatWandbInference, n: int) -> Outcome:
    """Run n prompts from this process."""
    llm.invoke("warm up")

    def run() -> int:
        results = asyncio.run(llm.abatch([f"p{i}" for i in range(n)], return_exceptions=True))
        return sum(isinstance(r, BaseException) for r in results)

    return measure(run, emu)


def table(title: str, n: int, ideal: float, runs: dict[str, Outcome], oracle: str) -> None:
    """Print one workload's rows."""
    print(f"\n{title}; ideal {ideal:.2f} s")
    print(f"{'contender':34}{'lost':>5}{'429s':>6}{'429/req':>8}{'wall s':>8}{'x oracle':>9}")
    for name, got in runs.items():
        print(
            f"{name:34}{got.lost:5d}{got.refused:6d}{got.refused / n:8.2f}{got.wall:8.2f}"
            f"{got.wall / runs[oracle].wall:9.2f}"
        )


def contest(
    emu: WandbEmulator, workers: list[Any], contenders: dict[str, list[ChatWandbInference]], n: int
) -> dict[str, Outcome]:
    """Warm every contender's clients on every worker, then time each in turn."""
    for llms in contenders.values():
        ray.get([w.warm.remote(llm) for w, llm in zip(workers, llms, strict=True)])
    return {name: on_workers(emu, workers, llms, n) for name, llms in contenders.items()}


ORACLE = "oracle (limit/W each, fixed)"


def one_key(emu: WandbEmulator, workers: list[Any], args: argparse.Namespace) -> None:
    """One project, one model, one key."""
    n, limit = args.n, args.limit
    backend = RayGovernorBackend(f"bench-{uuid.uuid4().hex[:6]}")
    fixed = {"max_concurrency": limit // WORKERS, "adaptive_concurrency": False}
    try:
        runs = contest(
            emu,
            workers,
            {
                ORACLE: [model(emu, "key-a", **fixed)] * WORKERS,
                "shared Ray governor": [model(emu, "key-a", governor_backend=backend)] * WORKERS,
                "per-process governors": [model(emu, "key-a")] * WORKERS,
            },
            n,
        )
        runs["in-process, one process (no Ray)"] = in_one_process(emu, model(emu, "key-a"), n)
    finally:
        backend.shutdown()
    title = f"one key: {n} prompts, limit {limit}, hold {args.hold} s, {WORKERS} workers"
    table(title, n, n * args.hold / limit, runs, ORACLE)


def two_keys(args: argparse.Namespace, workers: list[Any]) -> None:
    """Two keys whose limits share nothing (the emulator counts per key)."""
    n, limit = args.n, args.limit
    with WandbEmulator(
        concurrency_limit=limit, concurrency_scope="user", time_to_first_token=args.hold
    ) as emu:
        backend = RayGovernorBackend(f"bench-{uuid.uuid4().hex[:6]}")

        def pair(**kwargs: Any) -> list[ChatWandbInference]:
            a, b = model(emu, "key-a", **kwargs), model(emu, "key-b", **kwargs)
            return [a, a, b, b]

        fixed = {"max_concurrency": limit // 2, "adaptive_concurrency": False}
        try:
            runs = contest(
                emu,
                workers,
                {
                    ORACLE: pair(**fixed),
                    "shared Ray governor": pair(governor_backend=backend),
                    "per-process governors": pair(),
                },
                n,
            )
        finally:
            backend.shutdown()
    title = f"two keys: {n} prompts (half each), limit {limit} per key, 2 workers per key"
    table(title, n, n / 2 * args.hold / limit, runs, ORACLE)


def lease_cost(rounds: int = 500) -> None:
    """Seconds per acquire+release: through the actor, and in process."""
    backend = RayGovernorBackend(f"bench-{uuid.uuid4().hex[:6]}")
    try:
        target = Target("http://lease.test", "fp", None, "m")
        costs = {}
        for name, governor in (
            ("Ray actor (shared)", backend.governor(target, cap=None, adaptive=True)),
            ("in process", IN_PROCESS.governor(target, cap=None, adaptive=True)),
        ):
            governor.acquire(time.monotonic() + 30).release()  # type: ignore[union-attr]
            start = time.perf_counter()
            for _ in range(rounds):
                slot = governor.acquire(time.monotonic() + 30)
                assert slot is not None
                governor.admitted(slot)
                slot.release()
            costs[name] = (time.perf_counter() - start) / rounds
    finally:
        backend.shutdown()
    print("\nlease cost per request (acquire + admitted + release, sequential):")
    for name, cost in costs.items():
        print(f"  {name:20}{cost * 1e3:8.3f} ms")


def main() -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=8, help="requests allowed in flight")
    parser.add_argument("--hold", type=float, default=0.1, help="seconds each holds its slot")
    parser.add_argument("-n", type=int, default=320, help="prompts per workload")
    args = parser.parse_args()
    root = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    sys.path.insert(0, root)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        workers = [ray.remote(num_cpus=0.5)(Worker).remote() for _ in range(WORKERS)]
        with WandbEmulator(concurrency_limit=args.limit, time_to_first_token=args.hold) as emu:
            one_key(emu, workers, args)
        two_keys(args, workers)
        lease_cost()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
