"""openai SDK errors -> errors that are both the SDK's type and langchain-core's type.

Code that catches `openai.RateLimitError` and code that catches
`langchain_core.exceptions.ModelRateLimitError` both keep working. Messages say what to
do next and never contain the API key. Imported only once a request fails.
"""

from __future__ import annotations

import openai
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)


class WandbBadRequestError(openai.BadRequestError, ModelInvalidRequestError):
    """W&B rejected the request as invalid (HTTP 400/422)."""


class WandbContextOverflowError(openai.BadRequestError, ContextOverflowError):
    """The input is longer than the model's context window."""


class WandbAuthenticationError(openai.AuthenticationError, ModelAuthenticationError):
    """The API key, or the team/project, was rejected (HTTP 401)."""


class WandbPaymentRequiredError(openai.APIStatusError, ModelPermissionDeniedError):
    """The W&B account is out of inference credits (HTTP 402)."""


class WandbPermissionDeniedError(openai.PermissionDeniedError, ModelPermissionDeniedError):
    """Inference is not available to this account or region (HTTP 403)."""


class WandbNotFoundError(openai.NotFoundError, ModelNotFoundError):
    """The model (or endpoint) does not exist (HTTP 404)."""


class WandbRateLimitError(openai.RateLimitError, ModelRateLimitError):
    """Too many requests in flight for this W&B project or model (HTTP 429)."""


class WandbServerError(openai.InternalServerError, ModelAPIError):
    """W&B Inference failed or is overloaded (HTTP 5xx)."""


class WandbAPIStatusError(openai.APIStatusError, ModelError):
    """W&B answered with an unexpected error status."""


class WandbConnectionError(openai.APIConnectionError, ModelConnectionError):
    """W&B Inference could not be reached."""


class WandbTimeoutError(openai.APITimeoutError, ModelTimeoutError):
    """The request to W&B Inference timed out."""


_CONTEXT_OVERFLOW_MARKERS = ("context length", "context window", "maximum context", "too long")

_STATUS_HINTS: dict[int, tuple[type[openai.APIStatusError], str]] = {
    401: (
        WandbAuthenticationError,
        "W&B rejected the API key or the team/project. Check WANDB_API_KEY (get a key at "
        "https://wandb.ai/authorize) and that `project` is a 'team/project' you can use.",
    ),
    402: (
        WandbPaymentRequiredError,
        "The W&B account is out of inference credits; add credits or upgrade the plan.",
    ),
    403: (
        WandbPermissionDeniedError,
        "W&B Inference is not available to this account, organization or region.",
    ),
    429: (
        WandbRateLimitError,
        "Too many requests in flight for this W&B project (or model); retry later or lower "
        "concurrency.",
    ),
}


def convert_sdk_error(error: openai.OpenAIError, *, model: str, secret: str) -> Exception:
    """Map an SDK error to the matching typed error with a helpful, key-free message."""
    scrub(error, secret)
    if isinstance(error, openai.APITimeoutError):
        timeout = WandbTimeoutError(request=error.request)
        timeout.message = f"Request to W&B Inference timed out (model {model!r})."
        return timeout
    if isinstance(error, openai.APIConnectionError):
        detail = _redact(str(error.__cause__ or error), secret)
        return WandbConnectionError(
            message=f"Could not reach W&B Inference: {detail}", request=error.request
        )
    if not isinstance(error, openai.APIStatusError):
        return error
    status = error.status_code
    server_text = error.message
    cls: type[openai.APIStatusError]
    if status in _STATUS_HINTS:
        cls, hint = _STATUS_HINTS[status]
    elif status == 404:
        cls = WandbNotFoundError
        hint = (
            f"Model {model!r} was not found. List the served models with "
            "`python -m langchain_wandb --list-models` or ChatWandbInference.list_models()."
        )
    elif status in (400, 422):
        overflow = any(marker in server_text.lower() for marker in _CONTEXT_OVERFLOW_MARKERS)
        cls = WandbContextOverflowError if overflow else WandbBadRequestError
        hint = "W&B rejected the request."
    elif status >= 500:
        cls, hint = WandbServerError, "W&B Inference had a server error."
    else:
        cls, hint = WandbAPIStatusError, "W&B Inference returned an error."
    return cls(
        f"{hint} Server said ({status}): {server_text}", response=error.response, body=error.body
    )


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def scrub(error: BaseException, secret: str) -> None:
    """Remove the API key from an SDK error's text in place (it stays the cause)."""
    if not secret:
        return
    error.args = tuple(_redact(arg, secret) if isinstance(arg, str) else arg for arg in error.args)
    message = getattr(error, "message", None)
    if isinstance(message, str):
        error.message = _redact(message, secret)  # type: ignore[attr-defined]
