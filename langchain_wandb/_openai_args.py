"""ChatOpenAI's constructor arguments, and what each one does on `ChatWandbInference`.

Users switch from `ChatOpenAI(base_url="https://api.inference.wandb.ai/v1", ...)`. Every
public argument of `ChatOpenAI` (names and aliases) is in `OPENAI_ARGS`, handled on purpose:

- `same`: a field of ours (or of `BaseChatModel`) with this name and the same meaning;
- `alias`: renamed to our field `target` (`openai_api_key` -> `api_key`);
- `request`: a Chat Completions request field W&B's vLLM reads: sent in the body as given;
- `refused`: W&B has no such thing; any value but ChatOpenAI's default (`None`, `False`,
  `1`), which asks for nothing, is refused at construction with `note`.

Nothing ChatOpenAI-specific reaches the request body. Unknown arguments: a name that
looks like a credential is refused (a key must never travel as a body field), a name
difflib-close to one of ours is refused as a typo, a known server extra (vLLM's `top_k`,
...) is never taken for a typo, and every other name goes to `model_kwargs` with core's
warning.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Handling = Literal["same", "alias", "request", "refused"]


@dataclass(frozen=True)
class OpenAIArg:
    """How one ChatOpenAI constructor argument is handled."""

    handling: Handling
    note: str = ""
    """What it does here: the refusal sentence, or a remark for the README table."""
    target: str | None = None
    """Our field name, for an alias."""


def _same(note: str = "") -> OpenAIArg:
    return OpenAIArg("same", note)


def _alias(target: str, note: str = "") -> OpenAIArg:
    return OpenAIArg("alias", note, target)


def _refused(note: str) -> OpenAIArg:
    return OpenAIArg("refused", note)


_NO_SDK_CLIENT = _refused(
    "ChatWandbInference does not use an openai SDK client: pass your own httpx2 client "
    "as http_client / http_async_client instead."
)
_NO_RESPONSES = "W&B Inference serves the Chat Completions API, not OpenAI's Responses API."
_RESPONSES_ONLY = _NO_RESPONSES[:-1] + ", which {name} belongs to."


_NO_ORGANIZATION = _refused(
    "W&B Inference has no OpenAI organizations: usage is attributed to a W&B team and "
    "project, given as project='team/project'."
)


def _responses_only(name: str) -> OpenAIArg:
    return _refused(_RESPONSES_ONLY.format(name=name))


OPENAI_ARGS: dict[str, OpenAIArg] = {
    # BaseChatModel / BaseLanguageModel: the same fields, inherited.
    **{
        name: _same("LangChain's standard field")
        for name in (
            "name",
            "cache",
            "verbose",
            "callbacks",
            "tags",
            "metadata",
            "custom_get_token_ids",
            "rate_limiter",
            "profile",
        )
    },
    "disable_streaming": _same(
        '`True`: plain (non-streamed) requests; `"tool_calling"`: plain when tools are bound'
    ),
    "output_version": _same('"v0" or "v1"; "responses/v1" is refused (no Responses API)'),
    # Sampling and request fields with the same names.
    **{
        name: _same()
        for name in (
            "temperature",
            "top_p",
            "presence_penalty",
            "frequency_penalty",
            "seed",
            "logprobs",
            "top_logprobs",
            "reasoning_effort",
            "model_kwargs",
            "extra_body",
            "streaming",
            "default_headers",
            "http_client",
            "http_async_client",
        )
    },
    "max_retries": _same("None means the default (2)"),
    "stream_usage": _same("None means the default (True)"),
    "model_name": _same("also `model`"),
    "model": _alias("model_name"),
    "max_tokens": _same("sent as `max_tokens`, the name W&B reads"),
    "max_completion_tokens": _alias("max_tokens", "sent as `max_tokens`, the name W&B reads"),
    "stop": _same("also `stop_sequences`"),
    "stop_sequences": _alias("stop"),
    "n": OpenAIArg(
        "refused",
        "ChatWandbInference returns one answer per request (as LangChain keeps one message "
        "per call): n must be 1; ask for several answers with batch() instead.",
    ),
    "reasoning": _same(
        '`True`/`False` switches thinking; ChatOpenAI\'s `{"effort": ...}` dict sets '
        "`reasoning_effort`"
    ),
    "logit_bias": OpenAIArg("request", "sent in the body (vLLM reads it)"),
    # Credentials and endpoint.
    "openai_api_key": _alias("api_key", "a SecretStr, sent only in the Authorization header"),
    "api_key": _same("a SecretStr, sent only in the Authorization header"),
    "openai_api_base": _alias("base_url"),
    "base_url": _same(),
    "request_timeout": _alias(
        "timeout", "one number: total seconds for the whole request; None means the default"
    ),
    "timeout": _same("one number: total seconds for the whole request; None means the default"),
    "stream_chunk_timeout": _alias(
        "stream_idle_timeout",
        "seconds the server may stay silent, sync and async; None means the default",
    ),
    "openai_organization": _NO_ORGANIZATION,
    "organization": _NO_ORGANIZATION,
    "openai_proxy": _refused(
        "Pass a proxy through your own client instead: "
        "http_client=httpx2.Client(proxy=...) (and http_async_client)."
    ),
    "http_socket_options": _refused(
        "Pass socket options through your own client instead: http_client=httpx2.Client("
        "transport=httpx2.HTTPTransport(socket_options=...))."
    ),
    "default_query": _refused(
        "W&B Inference takes no query parameters; a proxy that needs some can get them "
        "from your own http_client."
    ),
    "client": _NO_SDK_CLIENT,
    "async_client": _NO_SDK_CLIENT,
    "root_client": _NO_SDK_CLIENT,
    "root_async_client": _NO_SDK_CLIENT,
    "tiktoken_model_name": _refused(
        "W&B's models do not use tiktoken's encodings: pass custom_get_token_ids=... for "
        "exact token ids (get_num_tokens estimates offline)."
    ),
    "include_response_headers": _refused(
        "Response headers are not put in response_metadata; what W&B reports about the "
        "answer (model, id, usage, finish reason) is there already."
    ),
    "disabled_params": _refused(
        "ChatWandbInference sends only the parameters you set, so there is nothing to "
        "disable: leave the parameter unset instead."
    ),
    "verbosity": _refused(
        "Verbosity is a setting of OpenAI's GPT-5 models; W&B's models have none."
    ),
    "service_tier": _refused("W&B Inference has no service tiers."),
    "store": _refused("W&B Inference has no stored-completions API to keep responses in."),
    "prompt_cache_options": _refused(
        "W&B caches prompt prefixes on its own; to keep requests apart use cache_salt=... instead."
    ),
    "use_responses_api": _responses_only("use_responses_api=True"),
    "use_previous_response_id": _responses_only("use_previous_response_id"),
    "context_management": _responses_only("context_management"),
    "include": _responses_only("include"),
    "truncation": _responses_only("truncation"),
}
"""Every ChatOpenAI constructor argument (field names and aliases), and its handling here."""

# Names that mean what ChatOpenAI's do, beyond ChatOpenAI's own: W&B's key variable.
EXTRA_ALIASES = {"wandb_api_key": "api_key"}
_KEY_NAMES = frozenset({"api_key", "openai_api_key", "wandb_api_key"})

# OpenAI's defaults for what W&B lacks: passing one asks for nothing, so it is dropped,
# at construction, per call and in a batch row alike (OpenAI code passes them).
_HARMLESS: dict[str, tuple[Any, ...]] = {
    "n": (None, 1),
    "store": (None, False),
    "service_tier": (None, "auto", "default"),
}
_DEFAULT_HARMLESS = (None, False)


def _is_openai_default(name: str, value: Any) -> bool:
    # Same type too: `True == 1`, and n=True is not n=1.
    return any(
        value is default or (type(value) is type(default) and value == default)
        for default in _HARMLESS.get(name, _DEFAULT_HARMLESS)
    )


# ChatOpenAI's `None` for these means "the default": so it does here.
_NONE_MEANS_DEFAULT = frozenset(
    {"max_retries", "stream_usage", "timeout", "request_timeout", "stream_chunk_timeout"}
)

# Request fields vLLM (W&B's server) documents beyond OpenAI's: never taken for typos.
SERVER_EXTRAS = frozenset(
    {
        "top_k",
        "min_p",
        "repetition_penalty",
        "length_penalty",
        "min_tokens",
        "stop_token_ids",
        "ignore_eos",
        "include_stop_str_in_output",
        "skip_special_tokens",
        "spaces_between_special_tokens",
        "truncate_prompt_tokens",
        "allowed_token_ids",
        "bad_words",
        "prompt_logprobs",
        "chat_template_kwargs",
        "structured_outputs",
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "priority",
        "user",
        "parallel_tool_calls",
    }
)

# Per-call options ChatOpenAI takes that W&B cannot honour.
_CALL_REFUSALS = {
    "previous_response_id": _RESPONSES_ONLY.format(name="previous_response_id"),
    "include": _RESPONSES_ONLY.format(name="include"),
    "truncation": _RESPONSES_ONLY.format(name="truncation"),
    "text": _RESPONSES_ONLY.format(name="text"),
    "context_management": _RESPONSES_ONLY.format(name="context_management"),
    "service_tier": OPENAI_ARGS["service_tier"].note,
    "store": OPENAI_ARGS["store"].note,
    "verbosity": OPENAI_ARGS["verbosity"].note,
}
# The openai SDK's per-call options: refused at bind() as `_request.check_body` refuses
# them per call.
_SDK_OPTIONS = frozenset({"extra_headers", "extra_query", "http_client", "timeout"})

_CREDENTIAL = re.compile(
    r"(^|[-_])(api[-_]?key|secret|password|passwd|token|auth|authorization|bearer|credentials?)$"
    r"|(^|(?<!cache)[-_])key$",
    re.IGNORECASE,
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TYPO_CUTOFF = 0.85  # "top_k" vs "top_p" is 0.8: a genuine extra, not a typo


def translate_openai_args(values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Constructor arguments with ChatOpenAI's names turned into ours, in a new dict.

    `fields` are the names (and aliases) the model accepts as they are. What is left
    unknown is for core's `_build_model_kwargs` (to `model_kwargs`, with its warning).

    Raises:
        ValueError: For a refused argument, a name that looks like a credential, a
            typo of an argument, or one argument given under two names. The message
            never shows a value.
    """
    known = set(fields)
    out: dict[str, Any] = {}
    extras = dict(values.get("model_kwargs") or {})
    for name, value in values.items():
        if _asks_for_nothing(name, value):
            continue
        to_extras, field, field_value = _destination(name, value, known)
        _put(extras if to_extras else out, field, field_value, name)
    if extras or "model_kwargs" in values:
        out["model_kwargs"] = extras
    for where in ("model_kwargs", "extra_body"):
        check_call_options(out.get(where) or {}, as_sent=True)
    return out


def _asks_for_nothing(name: str, value: Any) -> bool:
    """Whether an argument can be dropped: ChatOpenAI's default for what W&B lacks.

    Raises:
        ValueError: If it asks for something W&B lacks.
    """
    if name == "model_kwargs" or (value is None and name in _NONE_MEANS_DEFAULT):
        return True
    arg = OPENAI_ARGS.get(name)
    if arg is not None and arg.handling == "refused":
        if _is_openai_default(name, value):
            return True
        raise ValueError(f"{name} is not supported: {arg.note}")
    if name in _CALL_REFUSALS and _is_openai_default(name, value):
        return True  # a per-call option of ChatOpenAI's, at its default
    if name == "output_version" and value == "responses/v1":
        raise ValueError(f"output_version='responses/v1' is not supported: {_NO_RESPONSES}")
    if name in _KEY_NAMES and callable(value):
        raise ValueError(
            f"{name} takes the key itself (a str or SecretStr), not a function that returns "
            "it: ChatWandbInference reads it once, when built."
        )
    return False


def _destination(name: str, value: Any, known: set[str]) -> tuple[bool, str, Any]:
    """(to model_kwargs?, our name, value) for one argument ChatOpenAI might take.

    Raises:
        ValueError: If an unknown name is a typo or looks like a credential.
    """
    arg = OPENAI_ARGS.get(name)
    if name == "reasoning" and isinstance(value, Mapping):
        return False, "reasoning_effort", _effort(value)
    target = EXTRA_ALIASES.get(name) or (arg.target if arg else None)
    if target is not None or name in known:
        return False, target or name, value
    if arg is not None:
        return True, name, value  # ChatOpenAI's own request field, which W&B reads: quietly
    if name in _CALL_REFUSALS or name in _SDK_OPTIONS:
        check_call_options({name: value})  # a call would refuse it in model_kwargs: now
    check_unknown_name(name, known)
    return False, name, value  # for core: to model_kwargs, with its warning


def _put(out: dict[str, Any], name: str, value: Any, given_as: str) -> None:
    if name in out and out[name] is not value:
        raise ValueError(f"{given_as} and {name} name the same argument; give it once (as {name}).")
    out[name] = value


def drop_openai_defaults(options: dict[str, Any]) -> None:
    """Drop per-call options, in place, that pass OpenAI's default for what W&B lacks."""
    for name in [name for name in options if name in _CALL_REFUSALS]:
        if _is_openai_default(name, options[name]):
            del options[name]


def effort_as_field(options: dict[str, Any]) -> None:
    """Per-call ChatOpenAI `reasoning={"effort": ...}` becomes `reasoning_effort`, in place.

    (`reasoning=True/False`, ours, switches thinking and is left alone.)

    Raises:
        ValueError: If `reasoning` holds more than an effort, or names another effort than
            `reasoning_effort` does.
    """
    reasoning = options.get("reasoning")
    if not isinstance(reasoning, Mapping):
        return
    said = _effort(reasoning)
    if options.get("reasoning_effort") not in (None, said):
        raise ValueError(
            "reasoning={'effort': ...} and reasoning_effort name the same setting; give it "
            "once (as reasoning_effort)."
        )
    del options["reasoning"]
    options["reasoning_effort"] = said


def _effort(reasoning: Mapping[str, Any]) -> Any:
    unknown = set(reasoning) - {"effort"}
    if unknown:
        raise ValueError(
            f"reasoning={{...}} is ChatOpenAI's Responses API setting; here only its "
            f"'effort' has a meaning (as reasoning_effort), not {sorted(unknown)}. "
            "W&B returns the model's whole reasoning, in additional_kwargs['reasoning_content']."
        )
    return reasoning.get("effort")


def check_unknown_name(name: str, known: Iterable[str], other: str = "model_kwargs={...}") -> None:
    """Refuse an unknown argument that is a credential or a typo of a known one.

    `other` is where other request fields go, for the message.

    Raises:
        ValueError: If `name` looks like a credential, or is close to a known name.
    """
    if name not in SERVER_EXTRAS:
        candidates = {*known, *OPENAI_ARGS, *EXTRA_ALIASES}
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=_TYPO_CUTOFF)
        if close:
            raise ValueError(
                f"{name} is not an argument of ChatWandbInference: did you mean {close[0]}? "
                f"(Other request fields go in {other}.)"
            )
    check_not_a_credential(name, "the request body")


def _looks_like_a_credential(name: str) -> bool:
    # camelCase words are words too: `openAIApiKey` (LangChain.js's name), `accessToken`.
    return bool(_CREDENTIAL.search(_CAMEL_BOUNDARY.sub("_", name)))


# W&B keys: 40 hex digits, or (newer) wandb_v1_...: never echoed in an error.
_KEY_LIKE = re.compile(r"^\s*(wandb_v\d+_\S+|[A-Za-z0-9_\-]{32,})\s*$")


def looks_like_a_key(value: str) -> bool:
    """Whether `value` looks like a W&B API key (given by mistake for another setting)."""
    return bool(_KEY_LIKE.match(value))


def shown_value(value: str) -> str:
    """`value` for an error message, unless it looks like a key given in the wrong place."""
    return "what looks like an API key (not shown)" if looks_like_a_key(value) else repr(value)


def check_not_a_credential(name: str, where: str) -> None:
    """Refuse a credential-looking name bound for the request body (never sent there).

    Raises:
        ValueError: If `name` looks like a key, token or password.
    """
    if _looks_like_a_credential(name):
        raise ValueError(
            f"{name} looks like a credential and would be sent in {where}; pass the W&B "
            "key as api_key=... (or set WANDB_API_KEY): it goes only in the Authorization "
            "header."
        )


def check_headers(headers: Mapping[str, str] | None) -> None:
    """Refuse a credential in `default_headers`, a plain field shown by `repr` and `dumps`.

    Raises:
        ValueError: If a header name looks like a credential (`Authorization`, ...).
    """
    for name in headers or {}:
        if name.strip().lower() == "authorization":
            raise ValueError(
                "default_headers may not set Authorization: pass the W&B key as api_key=... "
                "(a SecretStr, hidden from repr and dumps); it is sent in that header."
            )
        if _looks_like_a_credential(name.strip()):
            raise ValueError(
                f"The {name} header looks like a credential, and default_headers are shown "
                "by repr and dumps: send it from your own client instead, "
                "http_client=httpx2.Client(headers={...}) (and http_async_client)."
            )


# Settings of the model (endpoint, client, retries, governor, LangChain switches), not
# request fields: per call they would reach W&B as body fields that it ignores.
_MODEL_SETTINGS = frozenset(
    {
        "name",
        "model_name",
        "base_url",
        "openai_api_base",
        "project",
        "prices",
        "max_retries",
        "request_timeout",
        "stream_idle_timeout",
        "stream_chunk_timeout",
        "max_concurrency",
        "adaptive_concurrency",
        "governor_backend",
        "default_headers",
        "http_async_client",
        "streaming",
        "disable_streaming",
        "cache",
        "verbose",
        "custom_get_token_ids",
        "rate_limiter",
        "output_version",
        "profile",
    }
)
# LangChain's run options: they belong in the call's config (core raised a TypeError).
_RUN_OPTIONS = frozenset({"callbacks", "tags", "metadata", "run_name"})
# What a call may name: request fields (and what the chat model reads per call).
_CALL_FIELDS = frozenset(
    {
        "model",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "reasoning",
        "reasoning_effort",
        "send_reasoning",
        "cache_salt",
        "extra_body",
        "stream_usage",
        "tools",
        "tool_choice",
        "response_format",
        "n",
    }
)


def check_call_options(options: Mapping[str, Any], *, as_sent: bool = False) -> None:
    """Refuse per-call options W&B cannot honour (at bind time, or when called).

    OpenAI's defaults for what W&B lacks pass (they are dropped before sending), unless
    the options are sent as they are (`as_sent`: `extra_body`, `model_kwargs`).

    Raises:
        ValueError: If an option is ChatOpenAI-only, a setting of the model (not a request
            field), a typo of a request field, several choices (`n`) are asked for, or a
            credential would be sent as a body field.
    """
    for name, value in options.items():
        if name in _CALL_REFUSALS:
            if _is_openai_default(name, value) and not as_sent:
                continue  # asks for nothing: dropped before sending
            raise ValueError(f"{name} is not supported: {_CALL_REFUSALS[name]}")
        if name in _SDK_OPTIONS:
            raise ValueError(
                f"{name} is not a request field but an openai SDK option, which "
                "ChatWandbInference does not take; set it on the model as default_headers, "
                "timeout or http_client instead."
            )
        if name == "n" and not _is_openai_default(name, value):
            raise ValueError(f"n is not supported: {OPENAI_ARGS['n'].note}")
        if name == "model" and isinstance(value, str) and looks_like_a_key(value):
            # A key as model would travel in the body, and come back in W&B's 404.
            raise ValueError(f"model must be a W&B model id, got {shown_value(value)}.")
        if name == "reasoning" and isinstance(value, Mapping):
            effort_as_field(dict(options))  # refused now, at bind, if it cannot be
        check_not_a_credential(name, "the request body")
        _check_call_name(name)
        if name == "extra_body" and isinstance(value, Mapping):
            check_call_options(value, as_sent=True)  # merged into the body as it is


def _check_call_name(name: str) -> None:
    """Refuse a per-call name that is not a request field: a setting, refused, or a typo.

    Raises:
        ValueError: If `name` would reach W&B as a body field that means nothing there.
    """
    arg = OPENAI_ARGS.get(name)
    if name in _CALL_FIELDS or name in SERVER_EXTRAS:
        return
    if arg is not None and arg.handling == "refused":
        raise ValueError(f"{name} is not supported: {arg.note}")
    if name == "model_kwargs":
        raise ValueError(
            "model_kwargs is a setting of the model; per call, pass its fields themselves "
            "(e.g. top_k=5) or extra_body={...}."
        )
    if name in _MODEL_SETTINGS:
        raise ValueError(
            f"{name} is a setting of the model, not a request field: build the "
            f"ChatWandbInference with {name}=... (per call it would reach W&B as a body field "
            "that it ignores)."
        )
    if name in _RUN_OPTIONS:
        raise ValueError(
            f"{name} is a run option, not a request field: pass it in the call's config "
            f"(llm.invoke(..., config={{'{name}': ...}})) or use llm.with_config({name}=...)."
        )
    if arg is not None:  # ChatOpenAI's constructor alias (the rest is handled above)
        raise ValueError(
            f"{name} is ChatOpenAI's name for {arg.target}: per call, pass {arg.target}=..."
        )
    check_unknown_name(name, _CALL_FIELDS, "extra_body={...}")
