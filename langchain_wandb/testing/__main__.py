"""`python -m langchain_wandb.testing`: run the emulator as a standalone server.

Prints its base URL on the first line of stdout and serves until interrupted. Useful to
test non-Python clients, or to measure a client without the server sharing its process.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from langchain_wandb.testing._server import WandbEmulator


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m langchain_wandb.testing")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument(
        "--concurrency-limit", type=int, help="requests in flight per project and model"
    )
    parser.add_argument(
        "--time-to-first-token", type=float, default=0.0, help="seconds before the first token"
    )
    parser.add_argument("--tokens-per-second", type=float, help="generation speed")
    args = parser.parse_args(argv)
    with WandbEmulator(
        host=args.host,
        port=args.port,
        concurrency_limit=args.concurrency_limit,
        time_to_first_token=args.time_to_first_token,
        tokens_per_second=args.tokens_per_second,
    ) as emulator:
        print(emulator.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
