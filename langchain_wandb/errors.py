"""Every typed error `ChatWandbInference` raises, importable from one public place.

Each is also a langchain-core type (`langchain_core.exceptions.Model*Error` or
`OutputParserException`), and the HTTP ones are also the openai SDK's type, so code that
catches either keeps working. Messages never contain the API key.

| error | raised when | also a |
| --- | --- | --- |
| `WandbAuthenticationError` | 401: the key or `team/project` was rejected | `openai.AuthenticationError`, `ModelAuthenticationError` |
| `WandbPaymentRequiredError` | 402: the account is out of inference credits | `openai.APIStatusError`, `ModelPermissionDeniedError` |
| `WandbPermissionDeniedError` | 403: not offered in this region, or not enabled for the organization | `openai.PermissionDeniedError`, `ModelPermissionDeniedError` |
| `WandbNotFoundError` | 404: unknown or retired model, or endpoint | `openai.NotFoundError`, `ModelNotFoundError` |
| `WandbBadRequestError` | 400/422: the request was refused as invalid | `openai.BadRequestError`, `ModelInvalidRequestError` |
| `WandbContextOverflowError` | the prompt (plus `max_tokens`) exceeds the context window | `openai.BadRequestError`, `ContextOverflowError` |
| `WandbQuotaExceededError` | 429 saying the quota is exceeded (older accounts; newer ones get a 402): add credits or change the plan; never retried | `openai.RateLimitError`, `ModelPermissionDeniedError` |
| `WandbPersonalAccountError` | 429: W&B Inference is not available to personal accounts: switch to a team account | `openai.RateLimitError`, `ModelPermissionDeniedError` |
| `WandbRateLimitError` | 429 about concurrency (or naming no reason) after `max_retries` ran out; a concurrency 429 is retried this way only with `adaptive_concurrency=False`, else it is queued | `openai.RateLimitError`, `ModelRateLimitError` |
| `WandbConcurrencyTimeoutError` | `timeout` ran out while the request queued behind a limit W&B showed (a concurrency 429) or you set (`max_concurrency`); otherwise running out of time in the queue is a `StreamTimeoutError` | `ModelRateLimitError` |
| `WandbServerError` | 5xx after the retries ran out | `openai.InternalServerError`, `ModelAPIError` |
| `WandbAPIStatusError` | any other error status | `openai.APIStatusError`, `ModelError` |
| `WandbConnectionError` | W&B could not be reached | `openai.APIConnectionError`, `ModelConnectionError` |
| `WandbTimeoutError` | connecting, or waiting for the response's headers, ran past `timeout` (or past `stream_idle_timeout` of silence) | `openai.APITimeoutError`, `ModelTimeoutError` |
| `WandbStreamError` | base of the errors below: the reply broke after it began (`.partial` keeps what arrived) | `ModelAPIError` |
| `StreamEndedEarlyError` | the connection closed before the answer finished | `WandbStreamError` |
| `StreamTimeoutError` | the answer went silent past `stream_idle_timeout`, or the request ran past `timeout` (also while queued with no known concurrency limit to blame) | `WandbStreamError`, `ModelTimeoutError` |
| `MalformedResponseError` | the server sent data that cannot be read | `WandbStreamError` |
| `NoAnswerError` | the reply ended with neither an answer nor a finish reason | `WandbStreamError` |
| `EventTooLargeError` | one stream event grew past the size limit | `WandbStreamError` |
| `ToolCallCutOffError` | the stream ended inside a tool call's arguments (not at `max_tokens`) | `MalformedResponseError` |
| `OutputTruncatedError` | `max_tokens` cut off a tool call or structured output (`.ai_message` keeps it) | `OutputParserException` |

Names load on first use: `import langchain_wandb.errors` costs nothing, while the first
HTTP error class you touch imports the openai SDK (they subclass its errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_wandb._lazy import lazy_names

if TYPE_CHECKING:
    from langchain_wandb._errors import (
        EventTooLargeError,
        MalformedResponseError,
        NoAnswerError,
        StreamEndedEarlyError,
        StreamTimeoutError,
        ToolCallCutOffError,
        WandbStreamError,
    )
    from langchain_wandb._sdk_errors import (
        WandbAPIStatusError,
        WandbAuthenticationError,
        WandbBadRequestError,
        WandbConcurrencyTimeoutError,
        WandbConnectionError,
        WandbContextOverflowError,
        WandbNotFoundError,
        WandbPaymentRequiredError,
        WandbPermissionDeniedError,
        WandbPersonalAccountError,
        WandbQuotaExceededError,
        WandbRateLimitError,
        WandbServerError,
        WandbTimeoutError,
    )
    from langchain_wandb._tools import OutputTruncatedError

_STREAM = "langchain_wandb._errors"
_HTTP = "langchain_wandb._sdk_errors"
_HOMES = {
    "EventTooLargeError": _STREAM,
    "MalformedResponseError": _STREAM,
    "NoAnswerError": _STREAM,
    "StreamEndedEarlyError": _STREAM,
    "StreamTimeoutError": _STREAM,
    "ToolCallCutOffError": _STREAM,
    "WandbStreamError": _STREAM,
    "WandbAPIStatusError": _HTTP,
    "WandbAuthenticationError": _HTTP,
    "WandbBadRequestError": _HTTP,
    "WandbConcurrencyTimeoutError": _HTTP,
    "WandbConnectionError": _HTTP,
    "WandbContextOverflowError": _HTTP,
    "WandbNotFoundError": _HTTP,
    "WandbPaymentRequiredError": _HTTP,
    "WandbPermissionDeniedError": _HTTP,
    "WandbPersonalAccountError": _HTTP,
    "WandbQuotaExceededError": _HTTP,
    "WandbRateLimitError": _HTTP,
    "WandbServerError": _HTTP,
    "WandbTimeoutError": _HTTP,
    "OutputTruncatedError": "langchain_wandb._tools",
}

__all__ = [
    "EventTooLargeError",
    "MalformedResponseError",
    "NoAnswerError",
    "OutputTruncatedError",
    "StreamEndedEarlyError",
    "StreamTimeoutError",
    "ToolCallCutOffError",
    "WandbAPIStatusError",
    "WandbAuthenticationError",
    "WandbBadRequestError",
    "WandbConcurrencyTimeoutError",
    "WandbConnectionError",
    "WandbContextOverflowError",
    "WandbNotFoundError",
    "WandbPaymentRequiredError",
    "WandbPermissionDeniedError",
    "WandbPersonalAccountError",
    "WandbQuotaExceededError",
    "WandbRateLimitError",
    "WandbServerError",
    "WandbStreamError",
    "WandbTimeoutError",
]


if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(globals(), _HOMES)
