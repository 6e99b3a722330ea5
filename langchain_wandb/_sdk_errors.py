"""Transport failures -> errors that are both the SDK's type and langchain-core's type.

Code that catches `openai.RateLimitError` and code that catches
`langchain_core.exceptions.ModelRateLimitError` both keep working. Messages say what the
server said and what to do next, and never contain the API key: errors are classified
on the server's own text first, then masked (see `_redact`). Imported only once a
request fails.
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx2
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

from langchain_wandb._deadline import CUT
from langchain_wandb._errors import (
    EventTooLargeError,
    StreamEndedEarlyError,
    StreamTimeoutError,
    WandbStreamError,
    excerpt,
)
from langchain_wandb._redact import MASK, redact, redact_chain, redact_value


class WandbBadRequestError(openai.BadRequestError, ModelInvalidRequestError):
    """W&B rejected the request as invalid (HTTP 400/422)."""


class WandbContextOverflowError(openai.BadRequestError, ContextOverflowError):
    """The input is longer than the model's context window."""


class WandbAuthenticationError(openai.AuthenticationError, ModelAuthenticationError):
    """The API key, or the team/project, was rejected (HTTP 401)."""


class WandbPaymentRequiredError(openai.APIStatusError, ModelPermissionDeniedError):
    """The W&B account is out of inference credits (HTTP 402)."""


class WandbQuotaExceededError(openai.RateLimitError, ModelPermissionDeniedError):
    """A 429 saying the account's inference quota is used up; never retried.

    Older W&B accounts get it; newer ones a 402 (`WandbPaymentRequiredError`). Not a rate
    limit to wait out, so not a `ModelRateLimitError`.
    """


class WandbPersonalAccountError(openai.RateLimitError, ModelPermissionDeniedError):
    """A 429 saying W&B Inference is not available for personal accounts. Never retried."""


class WandbPermissionDeniedError(openai.PermissionDeniedError, ModelPermissionDeniedError):
    """Inference is not available to this account, organization or region (HTTP 403)."""


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


_CONTEXT_OVERFLOW_MARKERS = (
    "context length",
    "context window",
    "maximum context",
    "too long",
    "too many tokens",
    "max_model_len",  # vLLM: "max_tokens=4096 cannot be greater than max_model_len=2048"
    # vLLM 0.32 when the prompt fills the window exactly: the budget left is 0. Requests
    # never carry max_tokens < 1 (refused before sending), so it can only mean that.
    "must be at least 1, got 0",
)
_EXCERPT = 300

_Rule = tuple[int, tuple[str, ...], type[openai.APIStatusError], str]

# W&B's documented errors (docs.wandb.ai, Inference "errors" and support articles), first
# match wins: (status, markers in the server's text (any; empty: any text), type, hint).
_RULES: tuple[_Rule, ...] = (
    (
        401,
        (),
        WandbAuthenticationError,
        "W&B rejected the API key or the team/project. Check WANDB_API_KEY (get a key at "
        "https://wandb.ai/authorize) and that `project` is a 'team/project' you can use.",
    ),
    (
        402,
        (),
        WandbPaymentRequiredError,
        "The W&B account is out of inference credits or reached its spending cap: check "
        "the plan and billing details (W&B settings, Billing). Not retried.",
    ),
    (
        403,
        ("country", "region", "territory"),
        WandbPermissionDeniedError,
        "W&B Inference is not offered where this request comes from (an unsupported "
        "country, region or territory). Not retried.",
    ),
    (
        403,
        ("not enabled", "gateway"),
        WandbPermissionDeniedError,
        "W&B Inference is not enabled for this organization: an organization admin must "
        "enable it, or use a team/project of an organization that has it. Not retried.",
    ),
    (
        403,
        (),
        WandbPermissionDeniedError,
        "W&B Inference refused this account, organization or region. Not retried.",
    ),
    (
        429,
        ("personal account",),
        WandbPersonalAccountError,
        "W&B Inference is not available for personal accounts: switch to a non-personal "
        "account (a W&B team: its API key and a 'team/project' as `project`). Not retried.",
    ),
    (
        429,
        ("quota", "billing", "credit", "payment"),
        WandbQuotaExceededError,
        "The W&B account has used up its inference quota: check the plan and billing "
        "details (W&B settings, Billing). Not retried: waiting or lowering concurrency "
        "will not help.",
    ),
    (
        429,
        (),
        WandbRateLimitError,
        "Too many requests in flight for this W&B project (or model); retry later or lower "
        "concurrency.",
    ),
    (
        500,
        (),
        WandbServerError,
        "W&B Inference had a server error (W&B advises waiting 30-60 s before retrying).",
    ),
    (
        503,
        (),
        WandbServerError,
        "W&B Inference is overloaded (W&B advises waiting 60-120 s before retrying).",
    ),
)


def _rule_for(status: int, said: str) -> tuple[type[openai.APIStatusError], str] | None:
    lowered = said.lower()
    for rule_status, markers, cls, hint in _RULES:
        if rule_status == status and (not markers or any(m in lowered for m in markers)):
            return cls, hint
    return None


def _not_found_hint(model: str) -> str:
    """Why `model` was not found: retired (with W&B's replacement), or unknown."""
    from langchain_wandb import models

    entry = models.lookup(model)
    retired = getattr(entry, "retired", None)
    if retired:
        replacement = getattr(entry, "replacement", None)
        use = f"; use {replacement!r} instead" if replacement else ""
        return f"Model {model!r} was retired on {retired}{use}."
    return (
        f"Model {model!r} was not found. List the served models with "
        "`python -m langchain_wandb --list-models` or ChatWandbInference.list_models()."
    )


def server_text(error: openai.APIStatusError) -> str:
    """What the server said, from whichever shape its error body has.

    W&B and vLLM send `{"error": {"message": ...}}`; W&B documents `{"detail": ...}`
    for 422 (a string, or FastAPI's list of `{"loc", "msg"}`); proxies send HTML or text.
    A body cut short (too slow or too large, see `_deadline.read_error_body`) is quoted as
    far as it arrived, with why it was cut.
    """
    said = _said(error)
    why = error.response.extensions.get(CUT)
    return f"{said} [the body was cut short: {why}]" if why else said


def _said(error: openai.APIStatusError) -> str:
    body: Any = error.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "msg"):
            said = _text_of(body[key]) if body.get(key) else None
            if said is not None:
                return said
    if isinstance(body, str) and body.strip():
        return excerpt(body, _EXCERPT)
    # No message in a shape we know: the body as the server sent it, never a Python repr.
    text = _response_text(error.response)
    return excerpt(text, _EXCERPT) if text.strip() else f"HTTP {error.status_code} with no message"


def _text_of(value: Any) -> str | None:
    """The message in `value` (None: an object with no message key)."""
    if isinstance(value, str):
        return excerpt(value, _EXCERPT)
    if isinstance(value, dict):
        for key in ("message", "msg", "detail"):
            if value.get(key):
                return _text_of(value[key])
        return None
    if isinstance(value, list):
        items = [_detail_item(item) for item in value[:5]]
        return None if None in items else "; ".join(str(item) for item in items)
    return excerpt(str(value), _EXCERPT)


def _detail_item(item: Any) -> str | None:
    if isinstance(item, dict) and "msg" in item:
        where = ".".join(str(part) for part in item.get("loc") or [])
        return f"{where}: {item['msg']}" if where else str(item["msg"])
    return _text_of(item)


def _response_text(response: httpx2.Response) -> str:
    try:
        return response.text
    except (httpx2.ResponseNotRead, httpx2.StreamError, UnicodeDecodeError):
        return ""


def _masked_request(request: httpx2.Request, secret: str) -> httpx2.Request:
    """A copy of `request` (method, URL, headers) with the key masked."""
    headers = {
        name: ("Bearer " + MASK if name.lower() == "authorization" else redact(value, secret))
        for name, value in request.headers.items()
    }
    return httpx2.Request(request.method, redact(str(request.url), secret), headers=headers)


# Headers that describe the bytes as they came over the wire: the copy holds the decoded
# text, so they no longer apply (a copy that kept `Content-Encoding: gzip` over decoded
# bytes could not be read).
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _masked_response(response: httpx2.Response, secret: str) -> httpx2.Response:
    """A readable copy of `response` (and its request) with the key masked in text and headers.

    The copy holds the decoded body, re-encoded in the response's charset.
    """
    encoding = response.encoding or "utf-8"
    return httpx2.Response(
        response.status_code,
        headers={
            name: redact(value, secret)
            for name, value in response.headers.items()
            if name.lower() not in _WIRE_HEADERS
        },
        content=redact(_response_text(response), secret).encode(encoding, "replace"),
        request=_masked_request(response.request, secret),
    )


def mask_everywhere(error: BaseException, secret: str) -> None:
    """Mask the key in `error` and in every error it was raised from.

    Text, body, request and response: SDK and httpx2 errors carry the request, its
    Authorization header included.
    """
    redact_chain(error, secret)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for name in ("response", "request"):
            try:
                value = getattr(current, name, None)
            except RuntimeError:  # httpx2 errors raise when no request was attached
                continue
            with contextlib.suppress(AttributeError):
                if isinstance(value, httpx2.Response):
                    setattr(current, name, _masked_response(value, secret))
                elif isinstance(value, httpx2.Request):
                    setattr(current, name, _masked_request(value, secret))
        current = current.__cause__ or current.__context__


def convert_sdk_error(error: openai.OpenAIError, *, model: str, secret: str) -> Exception:
    """Map an SDK error to the matching typed error with a helpful, key-free message."""
    if isinstance(error, openai.APIConnectionError):
        detail = redact(str(error.__cause__ or error), secret)
        return WandbConnectionError(
            message=f"Could not reach W&B Inference: {detail}", request=error.request
        )
    if not isinstance(error, openai.APIStatusError):
        return error
    status = error.status_code
    said = server_text(error)  # classified on the server's own words, masked after
    cls, hint = _status_class(status, said, model)
    if status == 404 and error.request.url.path.endswith("/models"):
        # No model was asked for: the model list itself is missing at this base URL.
        hint = (
            f"W&B Inference has no model list at {error.request.url.copy_with(query=None)}: "
            "check base_url (W&B's is https://api.inference.wandb.ai/v1)."
        )
    return cls(
        redact(f"{hint} Server said ({status}): {said}", secret),
        response=_masked_response(error.response, secret),
        body=redact_value(error.body, secret),
    )


def _status_class(status: int, said: str, model: str) -> tuple[type[openai.APIStatusError], str]:
    """The typed error and hint for an HTTP error `status` whose text is `said`."""
    rule = _rule_for(status, said)
    if rule is not None:
        return rule
    if status == 404:
        return WandbNotFoundError, _not_found_hint(model)
    if status in (400, 413, 422):
        overflow = any(marker in said.lower() for marker in _CONTEXT_OVERFLOW_MARKERS)
        return (WandbContextOverflowError if overflow else WandbBadRequestError), (
            "W&B rejected the request."
        )
    if status >= 500:
        return WandbServerError, "W&B Inference had a server error."
    return WandbAPIStatusError, "W&B Inference returned an error."


class WandbConcurrencyTimeoutError(ModelRateLimitError):
    """The request waited for a concurrency slot until its `timeout` ran out."""

    def __init__(self, message: str, *, limit: int | None, in_flight: int, waited: float) -> None:
        """Keep the limit, the in-flight count and the seconds waited."""
        super().__init__(message)
        self.limit = limit
        """The limit in force when the request gave up (None: no limit)."""
        self.in_flight = in_flight
        """Requests in flight when it gave up."""
        self.waited = waited
        """Seconds it waited."""


def to_typed_error(
    error: BaseException, *, model: str, secret: str, timeout: float, idle_timeout: float
) -> BaseException:
    """The typed, key-free error for anything a request raised (`error` itself if typed).

    `timeout`/`idle_timeout` are the request's limits, named in timeout messages. The
    error is classified on the server's own words first; then the key is masked in it,
    in the error it stays chained to, and in everything that error was raised from.
    """
    try:
        typed = _classified(
            error, model=model, secret=secret, timeout=timeout, idle_timeout=idle_timeout
        )
    finally:
        # Even if classifying failed, nothing chained to what propagates shows the key.
        mask_everywhere(error, secret)
    if typed is not error:
        mask_everywhere(typed, secret)
    return typed


def _classified(
    error: BaseException, *, model: str, secret: str, timeout: float, idle_timeout: float
) -> BaseException:
    from langchain_wandb._governor import ConcurrencyLimitTimeout
    from langchain_wandb._transport import (
        BodyCutShortError,
        BodyTooLargeError,
        DeadlineExceededError,
        MalformedBodyError,
    )

    if isinstance(error, openai.APITimeoutError):
        timed_out = WandbTimeoutError(request=error.request)
        timed_out.message = (
            f"W&B Inference did not answer in time (model {model!r}; timeout={timeout:g} s "
            f"in all, stream_idle_timeout={idle_timeout:g} s of silence)."
        )
        timed_out.args = (timed_out.message,)
        return timed_out
    if isinstance(error, openai.OpenAIError):
        return convert_sdk_error(error, model=model, secret=secret)
    if isinstance(error, DeadlineExceededError):
        return StreamTimeoutError(
            f"The W&B request ran past its total timeout of {timeout:g} s; the answer is "
            "incomplete. Raise `timeout` for long answers."
        )
    if isinstance(error, httpx2.TimeoutException):
        return StreamTimeoutError(
            f"The W&B stream sent nothing for {idle_timeout:g} s (stream_idle_timeout); "
            "the answer is incomplete."
        )
    if isinstance(error, httpx2.TransportError):
        return StreamEndedEarlyError(
            f"The W&B stream broke off mid-answer ({type(error).__name__}: "
            f"{redact(str(error), secret)}); the answer is incomplete."
        )
    if isinstance(error, ConcurrencyLimitTimeout) and not error.blamed:
        # Only W&B's own limit (a 429) or the user's cap may be blamed; the starting guess
        # is ours, and a server that does not answer is a timeout.
        return StreamTimeoutError(
            f"The W&B request ran past its total timeout of {timeout:g} s before an answer "
            f"began ({error.in_flight} requests to {model!r} in flight; {error.situation}). "
            "Raise `timeout` if W&B is slow to answer."
        )
    if isinstance(error, ConcurrencyLimitTimeout):
        refusal = error.__cause__
        said = (
            f" W&B's last refusal ({refusal.status_code}): {server_text(refusal)}"
            if isinstance(refusal, openai.APIStatusError)
            else ""
        )
        return WandbConcurrencyTimeoutError(
            redact(str(error) + said, secret),
            limit=error.limit,
            in_flight=error.in_flight,
            waited=error.waited,
        )
    if isinstance(error, BodyTooLargeError):
        began = redact(excerpt(error.head.decode("utf-8", "replace"), _EXCERPT), secret)
        return EventTooLargeError(
            f"W&B sent a JSON answer larger than {error.limit:,} bytes; reading stopped "
            f"there. It began: {began!r}"
        )
    if isinstance(error, BodyCutShortError):
        return StreamEndedEarlyError(
            f"W&B's answer {redact(error.why, secret)}; the answer is incomplete. It began: "
            f"{redact(excerpt(error.raw.decode('utf-8', 'replace'), _EXCERPT), secret)!r}"
        )
    if isinstance(error, MalformedBodyError):
        return WandbStreamError(
            f"W&B sent a response body that {error.why}: "
            f"{redact(excerpt(error.raw.decode('utf-8', 'replace'), _EXCERPT), secret)!r}"
        )
    if isinstance(error, UnicodeEncodeError):
        where = error.object[max(error.start - 20, 0) : error.end + 20]
        return ValueError(
            f"The request contains text that cannot be sent as UTF-8 ({error.reason} near "
            f"{redact(repr(where), secret)}): a lone surrogate from a broken decode. "
            "Clean the text first."
        )
    return error
