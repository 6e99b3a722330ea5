"""The refusals W&B's vLLM backends send before generating: pure functions of a request.

Messages, `param`s and order are vLLM 0.32's (the version tests/compat pins and records
in tests/compat/samples/vllm-0.32.0.json), in vLLM's error envelope
`{"error": {"message", "type", "param", "code"}}`, so code that reads them (retry logic,
"context length" detection, trimming) behaves as it would against W&B. W&B serves recent
vLLM: its catalogue (Qwen3.5, Gemma-4, GLM-5.1, DeepSeek-V4) needs releases far newer
than 0.17, whose wording ("'max_tokens' or 'max_completion_tokens' is too large") the
emulator used before.

The context window, as vLLM 0.32 guards it: `max_tokens` over the window is refused; a
prompt over it is refused (`param` `input_tokens`); otherwise the budget is cut to what
the prompt leaves, so a prompt that fills the window exactly leaves a budget of 0 and gets
"max_tokens must be at least 1, got 0" (a context overflow in disguise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_wandb.testing._models import EmulatedModel

_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})

#: vLLM's `max_logprobs` default: more `top_logprobs` than this is refused.
MAX_LOGPROBS = 20

# vLLM names errors by exception class; W&B's gateway answers 401/402/403/429 itself, in
# OpenAI's words (W&B documents their messages only).
_ERROR_TYPES = {
    400: "BadRequestError",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_denied",
    404: "NotFoundError",
    429: "rate_limit_exceeded",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


def error_type(status: int) -> str:
    """The error `type` sent with an HTTP status (vLLM's names; the gateway's for its own)."""
    return _ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError")


def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    """An error body in vLLM's envelope: `code` repeats the HTTP status."""
    return {
        "error": {"message": message, "type": error_type(status), "param": param, "code": status}
    }


@dataclass(frozen=True)
class Refusal:
    """An HTTP error answer: status and the `error` object's fields."""

    status: int
    message: str
    type: str
    param: str | None = None
    in_stream: bool = False
    """vLLM finds this one while generating: a streamed request gets a 200 stream holding
    one `data: {"error": ...}` event, then `data: [DONE]`."""

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


def _budget_field(body: dict[str, Any]) -> str:
    return (
        "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    )


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
    """What vLLM 0.32 would refuse this request with, or None when it would answer."""
    max_tokens = requested_max_tokens(body)
    if max_tokens is not None and max_tokens < 1:
        return _too_small(max_tokens)
    window = model.context_window
    if window is not None and max_tokens is not None and max_tokens > window:
        field = _budget_field(body)
        return _bad_request(
            f"{field}={max_tokens} cannot be greater than max_model_len={window}. Please "
            f"request fewer output tokens. (parameter={field}, value={max_tokens})",
            field,
        )
    if has_images(body) and not model.vision:
        return _bad_request(f"{model.id} is not a multimodal model")
    if window is not None and prompt_tokens > window:
        # vLLM tokenizes at most window + 1 tokens, so it reports "at least" that many.
        return _bad_request(
            f"This model's maximum context length is {window} tokens. However, your prompt "
            f"contains at least {window + 1} input tokens, which exceeds this limit even "
            "without any output tokens. Please reduce the length of the input prompt. "
            f"(parameter=input_tokens, value={window + 1})",
            "input_tokens",
        )
    if window is not None and prompt_tokens == window:
        return _too_small(0)
    top = body.get("top_logprobs")
    if body.get("logprobs") and isinstance(top, int) and top > MAX_LOGPROBS:
        message = (
            f"Requested sample logprobs of {top}, which is greater than max allowed: "
            f"{MAX_LOGPROBS} (parameter=logprobs, value={top})"
        )
        return Refusal(400, message, "BadRequestError", "logprobs", in_stream=True)
    return None


def _too_small(max_tokens: int) -> Refusal:
    return _bad_request(
        f"max_tokens must be at least 1, got {max_tokens}. "
        f"(parameter=max_tokens, value={max_tokens})",
        "max_tokens",
    )


def _bad_request(message: str, param: str | None = None) -> Refusal:
    return Refusal(400, message, "BadRequestError", param)


# W&B's documented errors (docs.wandb.ai: Inference "errors" page and support articles),
# texts verbatim. Envelopes: the 401 and concurrency-429 ones as recorded off W&B's
# gateway (string `code`s: `{"error": {"code": "rate_limit_exceeded", ...}}`); the others
# as W&B's support article prints its 403, `{"error": {"code": <status>, "message"}}`; a
# 422 as FastAPI's `detail` list, the field W&B documents for invalid parameters.
_WANDB_ERRORS: dict[str, tuple[int, str | dict[str, Any]]] = {
    "auth": (
        401,
        {
            "error": {
                "code": "invalid_api_key",
                "message": "Authentication failed",
                "type": "invalid_request_error",
            }
        },
    ),
    "quota": (402, "You exceeded your current quota, please check your plan and billing details"),
    "quota_429": (
        429,
        "You exceeded your current quota, please check your plan and billing details",
    ),
    "region": (403, "Country, region, or territory not supported"),
    "gateway_disabled": (403, "The inference gateway is not enabled for your organization"),
    "not_found": (404, "The requested resource was not found"),
    "invalid_parameters": (
        422,
        {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "unsupported_parameter"],
                    "msg": "Extra inputs are not permitted",
                    "input": True,
                }
            ]
        },
    ),
    "invalid_request": (400, "Invalid request parameters"),
    "concurrency": (
        429,
        {
            "error": {
                "code": "rate_limit_exceeded",
                "message": "Concurrency limit reached for requests",
            }
        },
    ),
    "personal_account": (
        429,
        "W&B Inference isn't available for personal accounts. Please switch to a "
        "non-personal account to access W&B Inference.",
    ),
    "server_error": (500, "The server had an error while processing your request"),
    "overloaded": (503, "The engine is currently overloaded, please try again later"),
}

WANDB_ERROR_KINDS = tuple(_WANDB_ERRORS)
"""The names `Reply.wandb_error` takes, one per documented W&B error."""


def wandb_error_body(kind: str) -> tuple[int, dict[str, Any]]:
    """The status and exact JSON body of W&B's documented error `kind`.

    Raises:
        ValueError: For a `kind` not in `WANDB_ERROR_KINDS`.

    """
    if kind not in _WANDB_ERRORS:
        raise ValueError(f"unknown W&B error {kind!r}; one of: {', '.join(WANDB_ERROR_KINDS)}")
    status, body = _WANDB_ERRORS[kind]
    if isinstance(body, str):
        return status, {"error": {"code": status, "message": body}}
    return status, body
