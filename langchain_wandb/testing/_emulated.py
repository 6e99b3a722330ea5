"""Start an emulator configured in one call, and point the environment at it for a block."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from langchain_wandb.testing._models import EmulatedModel
from langchain_wandb.testing._server import WandbEmulator

#: The key `emulated()` puts in `WANDB_API_KEY` (the emulator accepts any key).
EMULATOR_KEY = "emulator-key"
_BASE_URL_VARIABLE = "WANDB_INFERENCE_BASE_URL"
_KEY_VARIABLE = "WANDB_API_KEY"


def configured_emulator(
    *,
    models: Iterable[str | EmulatedModel] = (),
    concurrency_limit: int | None = None,
    time_to_first_token: float = 0.0,
    tokens_per_second: float | None = None,
) -> WandbEmulator:
    """A `WandbEmulator`, not yet started, that also serves `models`.

    Args:
        models: Extra model ids to serve (text only, no context limit), or
            `EmulatedModel`s to give an id a context window, vision or a reasoning mode.
        concurrency_limit: Chat requests allowed in flight per project and model; one
            more gets W&B's 429. None: no limit.
        time_to_first_token: Seconds before the first token of each answer.
        tokens_per_second: Generation speed; None: as fast as possible.

    """
    emulator = WandbEmulator(
        concurrency_limit=concurrency_limit,
        time_to_first_token=time_to_first_token,
        tokens_per_second=tokens_per_second,
    )
    for model in models:
        if isinstance(model, str):
            emulator.add_model(model)
        else:
            emulator.add_model(
                model.id,
                context_window=model.context_window,
                vision=model.vision,
                reasoning=model.reasoning,
            )
    return emulator


@contextmanager
def emulated(
    *,
    models: Iterable[str | EmulatedModel] = (),
    concurrency_limit: int | None = None,
    time_to_first_token: float = 0.0,
    tokens_per_second: float | None = None,
) -> Iterator[WandbEmulator]:
    """Run the block offline: every `ChatWandbInference` built in it talks to an emulator.

    Starts a `WandbEmulator` (arguments as for `configured_emulator`), sets
    `WANDB_INFERENCE_BASE_URL` to its URL and `WANDB_API_KEY` to `EMULATOR_KEY`, and
    restores both variables (set or unset, as they were) and stops the emulator when the
    block ends. Models keep the URL they were built with, so build them inside the block.
    The environment is process-wide: don't use it while other threads build models that
    must reach W&B.

    Example:
        ```python
        from langchain_wandb import ChatWandbInference
        from langchain_wandb.testing import emulated

        with emulated():
            print(ChatWandbInference().invoke("Tell me a joke").content)
        ```

    """
    emulator = configured_emulator(
        models=models,
        concurrency_limit=concurrency_limit,
        time_to_first_token=time_to_first_token,
        tokens_per_second=tokens_per_second,
    )
    saved = {name: os.environ.get(name) for name in (_BASE_URL_VARIABLE, _KEY_VARIABLE)}
    with emulator:
        os.environ[_BASE_URL_VARIABLE] = emulator.base_url
        os.environ[_KEY_VARIABLE] = EMULATOR_KEY
        try:
            yield emulator
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
