"""W&B-specific request and response rules, named once, here.

- Reasoning is switched with `chat_template_kwargs.enable_thinking` (W&B's documented
  field); always-on models cannot switch it off.
- W&B documents only `tool_choice="auto"`; a forced choice that a model's server
  rejects is retried once as `"auto"` instead of failing the call.
- W&B takes the token limit as `max_tokens` (LiteLLM maps `max_completion_tokens` to it);
  OpenAI's newer name, which users of ChatOpenAI pass, is renamed.
- Reasoning tokens count against `max_tokens`: a small budget on a reasoning model can
  end with `finish_reason="length"` and no answer at all, which deserves a warning.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from langchain_wandb.models import lookup

logger = logging.getLogger("langchain_wandb")
_warned: set[tuple[str, str]] = set()


def warn_once(key: tuple[str, str], message: str) -> None:
    """Emit a `UserWarning` once per process for this key."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def check_reasoning_switch(model: str, reasoning: bool | None) -> None:
    """Reject turning reasoning off where W&B cannot (always-reasoning models).

    Raises:
        ValueError: If `reasoning=False` is asked of an always-reasoning model.
    """
    if reasoning is False and lookup(model).reasoning == "always":
        raise ValueError(
            f"{model} always reasons on W&B Inference; reasoning=False cannot turn it off. "
            "Use reasoning_effort='low' to shorten it, or pick a model whose reasoning "
            "can be switched off (see `python -m langchain_wandb --list-models`)."
        )


def apply_reasoning_switch(body: dict[str, Any], reasoning: bool | None) -> None:
    """Set `chat_template_kwargs.enable_thinking` for `reasoning=True/False` (None: default)."""
    if reasoning is None:
        return
    model = str(body["model"])
    check_reasoning_switch(model, reasoning)
    mode = lookup(model).reasoning
    if mode == "always" or (mode == "none" and reasoning is False):
        return  # already so; nothing to switch
    if mode == "none":
        warn_once(
            ("no-reasoning", model), f"{model} does not reason; reasoning=True has no effect."
        )
        return
    template_kwargs = dict(body.get("chat_template_kwargs") or {})
    template_kwargs["enable_thinking"] = reasoning
    body["chat_template_kwargs"] = template_kwargs


def use_max_tokens(params: dict[str, Any]) -> None:
    """Rename `max_completion_tokens` to `max_tokens` in place (the newer name wins)."""
    if "max_completion_tokens" in params:
        params["max_tokens"] = params.pop("max_completion_tokens")


def warn_if_deprecated(model: str) -> None:
    """Warn once when the catalogue lists `model` as deprecated."""
    info = lookup(model)
    if info.status == "deprecated":
        instead = f"; W&B recommends {info.replacement}" if info.replacement else ""
        warn_once(
            ("deprecated", model),
            f"{model} is deprecated on W&B Inference and will be retired{instead}.",
        )


def warn_if_thinking_ate_budget(
    model: str, finish_reason: str | None, has_text: bool, has_reasoning: bool
) -> None:
    """Warn once when a reasoning model used the whole `max_tokens` before answering."""
    if finish_reason == "length" and has_reasoning and not has_text:
        warn_once(
            ("length", model),
            f"{model} spent the whole max_tokens budget reasoning and returned no answer "
            "(finish_reason='length'). Raise max_tokens: reasoning tokens count against it.",
        )


def relaxed_tool_choice(body: dict[str, Any], error: BaseException) -> dict[str, Any] | None:
    """The body to retry with when a forced `tool_choice` was rejected, else None."""
    choice = body.get("tool_choice")
    if choice in (None, "auto", "none") or getattr(error, "status_code", None) not in (400, 422):
        return None
    if "tool_choice" not in str(error) and "tool choice" not in str(error).lower():
        return None
    logger.warning(
        "%s rejected tool_choice=%r; retrying with tool_choice='auto' (W&B documents "
        "only 'auto'). The model may answer without calling a tool.",
        body.get("model"),
        choice,
    )
    return {**body, "tool_choice": "auto"}
