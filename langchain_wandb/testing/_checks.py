"""The refusals W&B's vLLM backends send before generating: pure functions of a request.

Messages are vLLM's own words (v0.10.2 to v0.17, the OpenAI server's `_validate_input`
and the multimodal registry), in vLLM's error envelope, so code that reads them (retry
logic, "context length" detection, trimming) behaves as it would against W&B.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_wandb.testing._models import EmulatedModel

_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})


@dataclass(frozen=True)
class Refusal:
    """An HTTP error answer: status and the `error` object's fields."""

    status: int
    message: str
    type: str
    param: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body, in vLLM's envelope (`code` repeats the status)."""
        error = {"message": self.message, "type": self.type, "param": self.param}
        return {"error": {**error, "code": self.status}}


def unknown_model(model_id: str) -> Refusal:
    """The 404 for a model id that is not served."""
    return Refusal(404, f"The model `{model_id}` does not exist.", "NotFoundError", "model")


def requested_max_tokens(body: dict[str, Any]) -> int | None:
    """The completion budget a request asks for (`max_completion_tokens` wins, as in vLLM)."""
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def has_images(body: dict[str, Any]) -> bool:
    """Whether any message carries an image content part."""
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(part, dict) and part.get("type") in _IMAGE_PARTS for part in content
        ):
            return True
    return False


def refusal_for(body: dict[str, Any], model: EmulatedModel, prompt_tokens: int) -> Refusal | None:
    """What vLLM would refuse this request with, or None when it would answer."""
    max_tokens = requested_max_tokens(body)
    if max_tokens is not None and max_tokens < 1:
        return _bad_request(f"max_tokens must be at least 1, got {max_tokens}.", "max_tokens")
    if has_images(body) and not model.vision:
        return _bad_request(f"{model.id} is not a multimodal model")
    window = model.context_window
    if window is None:
        return None
    if prompt_tokens >= window:
        return _bad_request(
            f"This model's maximum context length is {window} tokens. However, your request "
            f"has {prompt_tokens} input tokens. Please reduce the length of the input messages."
        )
    if max_tokens is not None and prompt_tokens + max_tokens > window:
        return _bad_request(
            f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's "
            f"maximum context length is {window} tokens and your request has {prompt_tokens} "
            f"input tokens ({max_tokens} > {window} - {prompt_tokens})."
        )
    return None


def _bad_request(message: str, param: str | None = None) -> Refusal:
    return Refusal(400, message, "BadRequestError", param)
