"""Build the tiny Qwen3 model and run a real vLLM (CPU) server on loopback for compat tests.

Runs in the project's venv (stdlib only); the model is built and served by the python of
the vLLM venv that `scripts/compat/install_vllm.sh` makes. From a shell:

    python scripts/compat/vllm_server.py VLLM_PYTHON [PORT]   # serve until Ctrl-C

Tests use `VllmServer` as a context manager.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

SERVED_MODEL = "tiny-qwen3"
"""The name vLLM serves the model under (`model=` of requests)."""
SECOND_MODEL = "tiny-qwen3-alias"
"""A second served name of the same model, for per-call model overrides."""
_BUILDER = Path(__file__).with_name("build_tiny_qwen3.py")
_STARTUP_SECONDS = 240.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_model(vllm_python: str, out_dir: Path) -> dict[str, int]:
    """Build the tiny model into `out_dir` (reused when already built); its token ids."""
    ids_file = out_dir / "token_ids.json"
    if not ids_file.exists():
        subprocess.run([vllm_python, str(_BUILDER), str(out_dir)], check=True)  # noqa: S603
    ids: dict[str, int] = json.loads(ids_file.read_text())
    return ids


@dataclass
class VllmServer:
    """A vLLM OpenAI-compatible server process serving the tiny Qwen3 model."""

    vllm_python: str
    """The python of the vLLM venv."""
    model_dir: Path
    """Where the tiny model is (built there if missing)."""
    port: int = 0
    """Port to listen on (0: a free one)."""
    log_path: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "vllm-compat.log")
    """The server's stdout and stderr."""
    token_ids: dict[str, int] = field(default_factory=dict)
    """Ids of the tokens the model's bias mentions (`<think>`, `</think>`, `"`, ...)."""
    _process: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT` (for vLLM's own routes: `/health`, `/tokenize`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ending in `/v1`."""
        return f"{self.root_url}/v1"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        return [
            self.vllm_python,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            SERVED_MODEL,
            SECOND_MODEL,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--max-model-len",
            "2048",
            "--dtype",
            "float32",
            "--enforce-eager",
            "--enable-auto-tool-choice",
            "--tool-call-parser",
            "hermes",
            "--reasoning-parser",
            "qwen3",
        ]

    def start(self) -> VllmServer:
        """Build the model if needed, start the server and wait until `/health` answers.

        Raises:
            RuntimeError: If the server exits or is not healthy within four minutes
                (the message ends with the tail of its log).

        """
        self.token_ids = build_model(self.vllm_python, self.model_dir)
        self.port = self.port or free_port()
        env = {
            **os.environ,
            "VLLM_CPU_KVCACHE_SPACE": "1",
            "VLLM_CPU_OMP_THREADS_BIND": "nobind",
            "HF_HUB_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self._process.returncode}:\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.root_url}/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"vLLM was not healthy after {_STARTUP_SECONDS:.0f} s:\n{self._tail()}")

    def _tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (its whole process group), waiting for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def __enter__(self) -> VllmServer:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()


def main() -> None:
    """Serve until interrupted: `vllm_server.py VLLM_PYTHON [PORT] [MODEL_DIR]`."""
    vllm_python = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    model_dir = Path(
        sys.argv[3] if len(sys.argv) > 3 else Path(tempfile.gettempdir()) / "tiny-qwen3"
    )
    # SIGTERM must unwind through the context manager too, or vLLM outlives us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with VllmServer(vllm_python, model_dir, port=port) as server:
        print(server.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
