"""One request body for W&B, built top-down: messages, parameters, W&B's rules, validation.

Pure: it raises on bad input before anything is sent, and leaves warnings to the caller.
W&B's rules are named once, here:
- the token limit travels as `max_tokens` (LiteLLM maps `max_completion_tokens` to it for
  W&B); ChatOpenAI's newer name is renamed;
- a schema class as `response_format` (as ChatOpenAI accepts) is sent as W&B's
  `json_schema` format;
- reasoning is switched with `chat_template_kwargs.enable_thinking`; always-reasoning
  models cannot switch it off;
- images to a model the catalogue knows to be text-only fail here, not at the server;
- the reasoning of the tool loop in progress is sent back where the model needs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_wandb._messages import (
    has_image_content,
    messages_to_dicts,
)
from langchain_wandb.models import lookup, vision_models

# Models whose serving needs the reasoning of the current tool loop back: DeepSeek's
# thinking mode rejects a follow-up turn whose tool-calling assistant message lacks
# its `reasoning_content`; gpt-oss (harmony) reads the analysis of the current loop.
_TOOL_LOOP_REASONING_FAMILIES = ("deepseek-ai/", "openai/gpt-oss")


@dataclass
class RequestOptions:
    """What a request is made of, before W&B's rules are applied."""

    model: str
    messages: Sequence[BaseMessage]
    params: dict[str, Any] = field(default_factory=dict)
    """Sampling and other request fields: the model's defaults, then per-call ones."""
    stop: list[str] | None = None
    stream: bool = True
    stream_usage: bool = True
    reasoning: bool | None = None
    send_reasoning: bool | None = None


def build_body(options: RequestOptions) -> dict[str, Any]:
    """The JSON body for `POST /chat/completions`.

    Raises:
        ValueError: If a parameter's value is invalid for W&B (named in the message).
        TypeError: If a parameter has the wrong type.

    """
    model = options.model
    body: dict[str, Any] = {"model": model, **options.params}
    body["messages"] = messages_to_dicts(
        options.messages, send_reasoning=sends_tool_loop_reasoning(model, options.send_reasoning)
    )
    body["stream"] = options.stream
    if options.stop is not None:
        body["stop"] = options.stop
    if not body.get("stop"):
        body.pop("stop", None)
    if options.stream and options.stream_usage:
        body["stream_options"] = {"include_usage": True}
    _apply_wandb_rules(body, options)
    check_body(body)
    return body


def _apply_wandb_rules(body: dict[str, Any], options: RequestOptions) -> None:
    use_max_tokens(body)
    if not isinstance(body.get("response_format", {}), dict):
        from langchain_wandb._tools import json_schema_response_format

        body["response_format"] = json_schema_response_format(body["response_format"], strict=None)
    apply_reasoning_switch(body, options.reasoning)
    check_images(options.model, options.messages)


def use_max_tokens(params: dict[str, Any]) -> None:
    """Rename `max_completion_tokens` to `max_tokens` in place (the newer name wins)."""
    if "max_completion_tokens" in params:
        params["max_tokens"] = params.pop("max_completion_tokens")


def sends_tool_loop_reasoning(model: str, send_reasoning: bool | None) -> bool:
    """Whether the reasoning of the current tool loop goes back (None: where needed)."""
    if send_reasoning is not None:
        return send_reasoning
    return model.startswith(_TOOL_LOOP_REASONING_FAMILIES)


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


def reasoning_switch_is_moot(model: str, reasoning: bool | None) -> bool:
    """Whether `reasoning=True` was asked of a model that never reasons."""
    return reasoning is True and lookup(model).reasoning == "none"


def apply_reasoning_switch(body: dict[str, Any], reasoning: bool | None) -> None:
    """Set `chat_template_kwargs.enable_thinking` for `reasoning=True/False` (None: default)."""
    if reasoning is None:
        return
    model = str(body["model"])
    check_reasoning_switch(model, reasoning)
    if lookup(model).reasoning in ("always", "none"):
        return  # nothing to switch
    template_kwargs = dict(body.get("chat_template_kwargs") or {})
    template_kwargs["enable_thinking"] = reasoning
    body["chat_template_kwargs"] = template_kwargs


def check_images(model: str, messages: Sequence[BaseMessage]) -> None:
    """Refuse images for a model the catalogue knows to be text-only.

    Raises:
        ValueError: If a message carries an image and `model` is known not to take images.
    """
    if lookup(model).accepts_images is not False or not any(map(has_image_content, messages)):
        return
    raise ValueError(
        f"{model} takes text only, and a message contains an image. Models that take "
        f"images: {', '.join(vision_models()) or 'none in the catalogue'}."
    )


_SDK_ONLY_OPTIONS = ("extra_headers", "extra_query", "http_client", "timeout")
_NUMBER_PARAMS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")
_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, math.inf),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}


def check_body(body: dict[str, Any]) -> None:
    """Reject ill-typed or out-of-range parameters before the request is sent.

    Raises:
        TypeError: If a standard parameter has the wrong type.
        ValueError: If a value is out of range, or a name is not a request field.
    """
    for name in _NUMBER_PARAMS:
        if (value := body.get(name)) is not None:
            _check_number(name, value)
    for name in ("max_tokens", "seed", "top_logprobs"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    if (max_tokens := body.get("max_tokens")) is not None and max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}.")
    _check_fields(body)
    check_tools(body.get("tools"))


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    low, high = _RANGES[name]
    if not (math.isfinite(value) and low <= value <= high):
        bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}.")


def _check_fields(body: dict[str, Any]) -> None:
    """SDK options sent as fields, several choices, and `stop`."""
    for name in _SDK_ONLY_OPTIONS:
        if name in body:
            # The openai SDK takes these per call; as body fields they would reach W&B as such.
            raise ValueError(
                f"{name} is not a request field but an openai SDK option, which "
                "ChatWandbInference does not take per call; set it on the model instead "
                "(default_headers, timeout, http_client)."
            )
    if body.get("n", 1) != 1:
        # Several choices would interleave in one stream; LangChain keeps one message.
        raise ValueError("n must be 1: ask for several answers with batch() instead.")
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise TypeError(f"stop must be a string or a list of strings, got {stop!r}.")


def check_tools(tools: Any) -> None:
    """Reject tool definitions W&B cannot take (it serves function tools with schemas).

    Raises:
        ValueError: If a tool is not a function tool with a name and an object schema.
    """
    if tools is None:
        return
    if not isinstance(tools, list):
        raise TypeError(f"tools must be a list, got {type(tools).__name__}.")
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError(  # noqa: TRY004 - a malformed value, whatever its type
                f"Each tool must be {{'type': 'function', 'function': {{'name': ..., "
                f"'parameters': {{...}}}}}}; got {tool!r}."
            )
        name = function["name"]
        if not name.strip():
            raise ValueError(f"A tool has an empty name: {tool!r}.")
        parameters = function.get("parameters", {"type": "object"})
        if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
            raise ValueError(
                f"Tool {name!r}: `parameters` must be a JSON schema of type 'object', "
                f"got {parameters!r}."
            )


def relaxed_tool_choice(body: dict[str, Any], error: BaseException) -> dict[str, Any] | None:
    """The body to send again when the server refused a forced `tool_choice`, else None.

    W&B documents only `tool_choice="auto"`; a model whose server rejects a forced choice
    (400/422 naming it) is asked again with "auto" rather than failing the call. This is
    a request-level policy: the transport never rewrites bodies.
    """
    choice = body.get("tool_choice")
    if choice in (None, "auto", "none") or getattr(error, "status_code", None) not in (400, 422):
        return None
    text = str(error).lower()
    if "tool_choice" not in text and "tool choice" not in text:
        return None
    return {**body, "tool_choice": "auto"}
